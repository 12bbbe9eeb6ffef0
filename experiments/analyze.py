"""
Where the meaning emerges. The paper reads its result as: a token's meaning is not in the input embedding
(frozen pictures of glyphs) but is built by the Transformer blocks. This script looks for that inside
trained checkpoints, depth by depth, at two sharp cases:

- Homoglyphs. Latin `a` and Cyrillic `а` (and `o`/`о`, `e`/`е`, `p`/`р`, `He`/`Не`, ...) have the same
  Unifont glyph, so the glyph model gets the very same input row for both: at the input it cannot tell
  them apart, only their contexts can. Per depth: the cosine between the two tokens' mean states, and the
  held-out accuracy of a linear probe (logistic regression) reading the script from one occurrence's state.
- Word groups. Words of one kind (numbers, people, body parts, ...; English and Russian) look nothing
  alike, so their glyph rows are unrelated. Per depth: the share of each word's k nearest neighbours
  (cosine between words' mean states) that are of its kind, against the share chance gives.
- The homoglyph probe's controls (experiments/probe_controls.py builds what they read). Its label, the
  token's script, is nearly always the language of the context, so a probe reading the context alone
  would score as well. Per depth: the same probe on script-neutral tokens (spaces, punctuation) labelled
  by their context's language, what the context alone gives away; and swapped twins, words spoofed with
  one twin of the other script in text of their own language (`сat` in English text), read by a probe
  trained on natural text: the share it reads by the token's script, not the context's.

    python -m experiments.analyze out/cpu/ckpt.pt                       # one checkpoint, its dataset's splits
    python -m experiments.analyze out/compare_cpu_150/{glyph,trainable}_s1337/ckpt.pt   # two, compared
    python -m experiments.analyze out/cpu/ckpt.pt --groups groups.json  # word groups of another corpus
    python -m experiments.analyze out/sweep/300/{glyph,trainable}_s133{7,8,9}/ckpt.pt --docs
Several checkpoints: each measure per depth as the mean with a 95% t-interval over the checkpoints of each
embedding (its seeds). Writes analysis.json, layers.png (the curves) and map.png (the words in 2-D) to --out;
the last also writes the small summary docs/analysis_probe.json, which the tables in docs/analysis.md are
made from by tables() below (tests/test_results.py holds them equal).

Choices, and why:
- Depth 0 is what the input embedding hands block 1; depth l is the residual stream after block l, as
  GPT.hidden computes it. ln_f is not applied to the last: it rescales each token for the head alone, and
  would make the last depth's geometry unlike the others'.
- Every occurrence is read at the last position of a window of the CONTEXT tokens that end with it: the
  same position and amount of context for all, so two homoglyphs' states differ by their contexts only.
- Homoglyph occurrences come from the val split, as many of each token of a pair as of the other, and the
  probe's folds hold those in equal numbers too: at depth 0 of a glyph model (equal rows) its accuracy is
  chance exactly. Pairs are found in the glyph matrix of the checkpoint's tokenizer, the checkpoint's own
  for a glyph model, glyphs.glyph_embeddings for any other: the same pairs, so the arms compare. A
  trainable model tells them apart at depth 0 already (its rows differ); the glyph model's rise is the point.
- Words come from the train split: the default corpus's val split (50k tokens) holds most listed words
  fewer than 5 times. A word is kept where it stands whole (after a whitespace token, before a token that
  does not start with a letter); its state is its last token's. The states measure geometry, not
  prediction, so it matters little that the runs trained on some of these windows.
- Deep states share a large common direction, so raw cosines are near 1 for any two tokens: every cosine
  here is taken after subtracting the mean of the states compared.
- A context's language is the script of at least 95% of the letters of the tokens before the occurrence;
  windows of neither (mixed, another script) are left out of the controls. Script-neutral tokens are
  balanced like the twins: as many of each token in either language's context, in every fold, so at the
  input (one row per token, in every model) the probe is at chance exactly. They are read in contexts of
  one language only, so beside them the twin probe is also scored on the twins in such contexts.
- The swapped test keeps the segmentation: a spoof swaps one token of the word for its twin and is kept
  only where it tokenizes to exactly that, so the twin is read at the same position after the same
  tokens as its natural counterpart. The probe is fitted on all the natural twin occurrences of that
  depth; a tie (a glyph model's input: one row for both twins) counts half.
"""
import argparse
import json
import os
import sys
import time
import unicodedata

import numpy as np
import torch
from torch.nn import functional as F

import glyphs
from experiments import plots, probe_controls
from experiments.results import save_summary, write_tables
from experiments.runs import ROOT
from experiments.stats import fmt, mean_ci, paired
from model import load_checkpoint
from prepare import load_meta, read_shard
from tokenizer import KIND_BYTE, KIND_TEXT
from util import atomic_write, git_commit

# whole words of one kind, by language (a group's name starts with it). One form per word (hand, not also
# hands: their glyphs look alike) and no two ending in the same token (a word's state is its last token's)
GROUPS = {
    'en numbers': 'one two three four five seven ten hundred thousand',
    'en people': 'father son daughter sister wife husband children brethren',
    'en body': 'hand head eyes face heart mouth feet blood flesh',
    'en animals': 'sheep lamb lion ass oxen goats cattle fish',
    'en time': 'day night year month hour morning season',
    'ru numbers': 'один два три четыре пять семь сто',
    'ru people': 'женщина человек жена муж девушка друг дети',
    'ru body': 'сердце глаза руки лицо ноги голову тело',
    'ru time': 'день ночь время лет час',
}
SHOW = ('one', 'father', 'heart', 'один', 'жена', 'сердце') # the words whose neighbours get printed
SCRIPTS = ('LATIN', 'CYRILLIC', 'GREEK')
CONTEXT = 64        # tokens in the window each occurrence is read with, itself the last (at most block_size)
MIN_WORD = 20       # a listed word is kept when it occurs whole this often in the train split
MAX_WORD = 32       # occurrences averaged per word
MIN_HOMOGLYPH = 5   # a homoglyph pair is kept when each token occurs this often in the val split
MAX_HOMOGLYPH = 64  # occurrences per token of a pair
K = 5               # nearest neighbours per word
FOLDS = 5           # the probe's cross-validation folds
L2 = 1e-2           # the probe's weight penalty, on standardised features
SUMMARY = os.path.join(ROOT, 'docs', 'analysis_probe.json') # what --docs writes: the tables' only source
PAGE = os.path.join(ROOT, 'docs', 'analysis.md')
FIGURE = os.path.join(ROOT, 'docs', 'analysis_layers.png') # drawn from SUMMARY alone

# -----------------------------------------------------------------------------
# the states

@torch.no_grad()
def layer_states(model, idx):
    """idx (B, T) -> the residual stream at every depth, (n_layer + 1, B, T, C): 0 is the input embedding's
    output, l the output of block l. GPT.hidden's loop (no cache, no ln_f), keeping what each block writes"""
    rope = model.rope[:idx.size(1)] # (T, hs/2, 2), positions from 0
    x = model.transformer.drop(model.transformer.wte(idx)) # (B, T, C); dropout is off in eval mode
    xs = [x]
    for block in model.transformer.h:
        x = block(x, rope)
        xs.append(x)
    return torch.stack(xs)

def states_of(model, windows, batch_size=64):
    """windows (N, T) of ids -> the states at their last position, float32 (n_layer + 1, N, C)"""
    out = []
    for b in range(0, len(windows), batch_size):
        idx = torch.from_numpy(np.asarray(windows[b:b + batch_size], np.int64)) # (B, T)
        out.append(layer_states(model, idx)[:, :, -1].float().numpy()) # the last position only
    return np.concatenate(out, axis=1)

def states_at(model, arrays, places, context):
    """the states of the tokens at places [(shard, position)], each read at the end of the context tokens
    up to it -> float32 (n_layer + 1, N, C)"""
    return states_of(model, np.stack([arrays[k][t - context + 1:t + 1] for k, t in places]))

# -----------------------------------------------------------------------------
# what to look at: homoglyph pairs, whole words, their places in a split

def script_of(text):
    """'LATIN', 'CYRILLIC' or 'GREEK' when text has letters and all are of that one script, else None"""
    scripts = {unicodedata.name(ch, '?').split(' ')[0] for ch in text if ch.isalpha()}
    return scripts.pop() if len(scripts) == 1 and scripts <= set(SCRIPTS) else None

def homoglyph_sets(tok, emb):
    """ids with identical rows of emb whose letters are of different scripts -> [[(script, id), ...]], one
    id per script. Ordinary text tokens only: specials and byte tokens are named, not drawn"""
    _, row = np.unique(np.asarray(emb), axis=0, return_inverse=True)
    by_row = {}
    for i, r in enumerate(row.ravel()):
        script = script_of(tok.token_text(i)) if tok.kinds[i] == KIND_TEXT else None
        if script:
            by_row.setdefault(int(r), {}).setdefault(script, i)
    return [sorted(d.items(), key=script_rank) for d in by_row.values() if len(d) > 1]

def script_rank(item):
    """(script, id) -> the script's place in SCRIPTS: pairs list their scripts in one order"""
    return SCRIPTS.index(item[0])

def token_classes(tok):
    """(is whitespace, may start with a letter), one bool per id: what tells a word standing whole. A byte
    token is its byte: an ASCII letter, or any byte of a multi-byte character (which may be a letter's)"""
    texts = [tok.token_text(i) for i in range(tok.vocab_size)]
    letter = [t[:1].isalpha() for t in texts]
    for i in np.flatnonzero(np.asarray(tok.kinds) == KIND_BYTE):
        b = tok.id_bytes[i][0]
        letter[i] = b >= 0x80 or chr(b).isalpha()
    return np.array([t.isspace() for t in texts]), np.array(letter)

def find(arrays, seq, context, classes=None):
    """[(shard, position of seq's last token)] for each occurrence of the id sequence seq with at least
    context - 1 tokens before it; given classes (token_classes), only where it stands whole"""
    out = []
    for k, a in enumerate(arrays):
        t = np.flatnonzero(a == seq[-1])
        t = t[(t >= max(context - 1, len(seq))) & (t < len(a) - 1)]
        for j, i in enumerate(seq[:-1]):
            t = t[a[t - len(seq) + 1 + j] == i]
        if classes is not None:
            space, letter = classes
            t = t[space[a[t - len(seq)]] & ~letter[a[t + 1]]]
        out += [(k, int(p)) for p in t]
    return out

def pick(places, n):
    """n of places at random, the same ones on every call: every checkpoint reads the same occurrences"""
    rng = np.random.default_rng(0)
    return [places[j] for j in sorted(rng.choice(len(places), size=n, replace=False))]

# -----------------------------------------------------------------------------
# the measures

def centred_unit(X):
    """rows minus their mean, at unit length: cosines without the direction every state shares"""
    X = X - X.mean(0)
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)

def fit_probe(X, y, l2=L2, steps=100, classes=None):
    """a multinomial logistic regression reading the label y from X (N, C), on features standardised by
    their mean and spread -> (mean, spread, W, b), what probe_logits applies"""
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    mu, sd = X.mean(0), X.std(0) + 1e-6
    Z = (X - mu) / sd # (N, C)
    W = torch.zeros(X.size(1), classes or int(y.max()) + 1, requires_grad=True)
    b = torch.zeros(W.size(1), requires_grad=True)
    opt = torch.optim.LBFGS([W, b], max_iter=steps, line_search_fn='strong_wolfe')
    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(Z @ W + b, y) + l2 * W.square().sum()
        loss.backward()
        return loss
    threads = torch.get_num_threads()
    # a few hundred rows: handing such small ops between threads costs more than it saves
    torch.set_num_threads(1)
    opt.step(closure) # convex, so one full-batch LBFGS run finds it
    torch.set_num_threads(threads)
    return mu, sd, W.detach(), b.detach()

def probe_logits(fitted, X):
    """a fitted probe's logits on the rows of X -> (N, classes)"""
    mu, sd, W, b = fitted
    return (((torch.as_tensor(X, dtype=torch.float32) - mu) / sd) @ W + b).numpy()

def probe(X, y, fold, l2=L2, steps=100):
    """held-out predictions of the probe reading the label y from X (N, C): for each fold, fit on the
    others, predict it"""
    X, y = np.asarray(X), np.asarray(y)
    pred = np.empty(len(y), np.int64)
    for f in np.unique(fold):
        test = fold == f
        fitted = fit_probe(X[~test], y[~test], l2, steps, classes=int(y.max()) + 1)
        pred[test] = probe_logits(fitted, X[test]).argmax(1)
    return pred

def read_as(logits, label):
    """the share of rows whose greatest logit is label's; a tie of k counts 1/k: a probe fitted on a glyph
    model's input sees one row for both twins, learns nothing (W = 0) and has no preference"""
    best = logits == logits.max(1, keepdims=True)
    return float((best[np.arange(len(label)), label] / best.sum(1)).mean())

def neighbour_share(V, group, k=K):
    """V (N, C) one state per word, group (N,) its group's index -> per word, the share of its k nearest
    neighbours (cosine, itself excluded) in its own group; and chance: k of the N - 1 others drawn at random
    are each in its group (g - 1 others) with probability (g - 1) / (N - 1)"""
    U = centred_unit(V)
    sim = U @ U.T
    np.fill_diagonal(sim, -np.inf)
    nn = np.argsort(-sim, axis=1, kind="stable")[:, :min(k, len(V) - 1)] # (N, k): never itself
    g = np.bincount(group)[group]
    return (group[nn] == group[:, None]).mean(1), (g - 1) / (len(group) - 1)

def nearest(V, words, i, k=K):
    sim = centred_unit(V) @ centred_unit(V)[i]
    return [words[j] for j in np.argsort(-sim, kind='stable') if j != i][:k]

# -----------------------------------------------------------------------------
# one checkpoint

def balanced(groups):
    """groups [(tokens, [(label, places), ...])], the sides of each: the groups that occur at least
    MIN_HOMOGLYPH times on every side, as many occurrences of each side (at most MAX_HOMOGLYPH) ->
    (kept [dict(tokens, n)], places, member (group, label) of each occurrence, fold), or None"""
    kept, places, member, fold = [], [], [], []
    for tokens, sides in groups:
        n = min(MAX_HOMOGLYPH, *(len(p) for _, p in sides))
        if n < MIN_HOMOGLYPH:
            continue
        for label, p in sides:
            places += pick(p, n)
            member += [(len(kept), label)] * n
            fold += [j % FOLDS for j in range(n)] # the j-th of every side in one fold: folds stay balanced
        kept.append(dict(tokens=tokens, n=n))
    return (kept, places, np.array(member), np.array(fold)) if kept else None

def homoglyph_occurrences(tok, sets, val, context):
    """the homoglyph sets (pairs) that occur at least MIN_HOMOGLYPH times on every side in val, as many
    occurrences of each token -> balanced()'s (pairs, places, member (pair, script), fold), or None"""
    return balanced([([(script, tok.token_text(i)) for script, i in s],
                      [(SCRIPTS.index(script), find(val, [i], context)) for script, i in s]) for s in sets])

def neutral_occurrences(tok, val, langs, context):
    """the script-neutral tokens that occur at least MIN_HOMOGLYPH times in the contexts of each language
    (langs: probe_controls.context_languages), as many in either -> balanced()'s (tokens, places, member
    (token, language), fold), or None: the twins' construction with a token's two contexts for two twins"""
    groups = []
    for i in probe_controls.neutral_ids(tok):
        p = find(val, [i], context)
        groups.append(([tok.token_text(i)], [(x, [q for q in p if langs[q[0]][q[1]] == x]) for x in (0, 1)]))
    return balanced(groups)

def swapped_occurrences(tok, sets, val, langs, context):
    """the spoofed words (probe_controls.spoof_words) put after SWAP_CONTEXTS spaces of val in text of their
    language -> (probe_controls.swap_windows' spoofed, natural, twin's script, context's language, or None
    where nothing is left), the spoofs, the words skipped"""
    spoofs, skipped = probe_controls.spoof_words(tok, probe_controls.twins(sets))
    spaces = find(val, tok.encode(' '), context)
    # langs at the position after the space: the language of the context tokens that end with it
    places = [[q for q in spaces if langs[q[0]][q[1] + 1] == x] for x in (0, 1)]
    places = [pick(p, min(probe_controls.SWAP_CONTEXTS, len(p))) for p in places]
    swap = probe_controls.swap_windows(val, places, spoofs, context)
    return (swap if len(swap[2]) else None), spoofs, skipped

def word_occurrences(tok, train, groups, context):
    """the listed words that occur at least MIN_WORD times whole in train -> (words, their group names,
    places, word (whose occurrence), how often each occurs); ValueError when fewer than two groups keep two"""
    classes, seen, kept = token_classes(tok), {}, []
    for name, line in groups.items():
        for w in (line.split() if isinstance(line, str) else line):
            seq = tok.encode(w)
            p = find(train, seq, context, classes)
            if len(p) >= MIN_WORD and seq[-1] not in seen:
                seen[seq[-1]] = w
                kept.append((w, name, pick(p, min(MAX_WORD, len(p))), len(p)))
            elif len(p) >= MIN_WORD:
                print(f"note: '{w}' ends in the same token as '{seen[seq[-1]]}', so it is left out")
    sizes = {g: sum(name == g for _, name, _, _ in kept) for g in groups}
    kept = [x for x in kept if sizes[x[1]] >= 2] # a group of one has no neighbours of its kind
    if len({name for _, name, _, _ in kept}) < 2:
        raise ValueError(f"only {len(kept)} of the listed words occur {MIN_WORD} times whole, in groups of "
                         "two or more, in this dataset's train split: give --groups a JSON file of word "
                         "groups of this corpus")
    words, names, places, counts = zip(*kept)
    word = np.repeat(np.arange(len(kept)), [len(p) for p in places])
    return list(words), list(names), sum(places, []), word, list(counts)

def analyse(path, data_dir=None, groups=GROUPS):
    """a checkpoint and its dataset -> every measure at every depth, as a dict"""
    model, tok = load_checkpoint(path)
    cfg = model.checkpoint.get('config') or {}
    if data_dir is None and 'dataset' not in cfg:
        raise ValueError(f"{path} does not name its dataset: give --data_dir")
    data_dir = data_dir or os.path.join('data', cfg['dataset'])
    meta = load_meta(data_dir)
    glyph = model.config.embedding == 'glyph'
    emb = model.transformer.wte.weight.numpy() if glyph else glyphs.glyph_embeddings(tok, model.config.n_embd)
    val, train = [[read_shard(os.path.join(data_dir, f), tok.hash) for f in meta['shards'][s]]
                  for s in ('val', 'train')]
    context = min(CONTEXT, model.config.block_size)
    sets = homoglyph_sets(tok, emb)
    hg = homoglyph_occurrences(tok, sets, val, context)
    words, names, wplaces, word, counts = word_occurrences(tok, train, groups, context)
    langs = probe_controls.context_languages(val, probe_controls.letter_counts(tok), context)
    neutral = neutral_occurrences(tok, val, langs, context)
    swap, spoofs, skipped = swapped_occurrences(tok, sets, val, langs, context)
    states = states_at(model, val, hg[1], context) if hg else None # (L + 1, N, C)
    wstates = states_at(model, train, wplaces, context)
    nstates = states_at(model, val, neutral[1], context) if neutral else None
    sstates = [states_of(model, w) for w in swap[:2]] if swap and hg else None # spoofed, natural
    # the language of each twin occurrence's context: where it is the twin's script's, the probe's label
    # is the context's too (the neutral tokens are read in such contexts only)
    hg_lang = np.array([langs[k][t] for k, t in hg[1]]) if hg else None
    res = dict(checkpoint=path, embedding=model.config.embedding, seed=cfg.get('seed'), data_dir=data_dir,
               context=context, words=dict(zip(words, names)), word_counts=dict(zip(words, counts)),
               homoglyph_sets=len(sets), pairs=hg[0] if hg else [], layers=[], neighbours={},
               controls=dict(homoglyph_context=context_agreement(hg_lang, hg[2][:, 1]) if hg else None,
                             neutral_tokens=neutral[0] if neutral else [],
                             spoofs=[[s['word'], s['text']] for s in spoofs], skipped=skipped,
                             swapped=len(swap[2]) if sstates else 0))
    for l in range(len(wstates)):
        row = homoglyph_measures(states[l], hg[2], hg[3], len(hg[0]), hg_lang == hg[2][:, 1]) if hg else {}
        if neutral:
            row.update(neutral_measures(nstates[l], neutral[2], neutral[3], len(neutral[0])))
        if sstates:
            row.update(swapped_measures(states[l], hg[2][:, 1], sstates[0][l], sstates[1][l], *swap[2:]))
        V = np.stack([wstates[l][word == w].mean(0) for w in range(len(words))]) # (N words, C), mean states
        res['layers'].append(dict(row, **word_measures(V, names)))
        if l in (0, len(wstates) - 1):
            where = 'input' if l == 0 else 'last'
            res['neighbours'][where] = {w: nearest(V, words, i) for i, w in enumerate(words)}
            res['map_input' if l == 0 else 'map_last'] = V # for the picture; not written to the JSON
    return res

def homoglyph_measures(S, member, fold, npairs, clear=None):
    """one depth's states S (N, C) of the homoglyph occurrences, member (N, 2) their (pair, script) -> per
    pair the cosine of its tokens' mean states (their mean over twos, were there three scripts), the probe;
    clear (N,) bool: the occurrences whose context is of their script's language, where the probe's
    accuracy is given apart too (clear_accuracy)"""
    centre = S.mean(0)
    cos = []
    for p in range(npairs):
        mine = member[:, 0] == p
        m = [S[mine & (member[:, 1] == x)].mean(0) - centre for x in np.unique(member[mine, 1])]
        m = [v / np.linalg.norm(v) for v in m]
        cos.append(float(np.mean([a @ b for i, a in enumerate(m) for b in m[i + 1:]])))
    right = probe(S, member[:, 1], fold) == member[:, 1]
    out = dict(homoglyph_cosine=float(np.mean(cos)), probe_accuracy=float(right.mean()),
               probe_chance=float(np.bincount(member[:, 1]).max() / len(member)), # the larger side's share
               pair_cosine=cos, pair_accuracy=[float(right[member[:, 0] == p].mean()) for p in range(npairs)])
    acc = clear_accuracy(right, member, clear) if clear is not None else None
    if acc is not None:
        out['probe_accuracy_clear'] = acc
    return out

def clear_accuracy(right, member, clear):
    """the probe's accuracy on the occurrences in clear contexts, each twin of a pair weighing as much as
    the other and each pair as much as in the whole set: clear contexts are not shared equally among the
    twins, and a plain mean over them would move a glyph model's input (one prediction per pair) off
    chance. None where no pair has clear occurrences of every twin"""
    acc, weight = [], []
    for p in np.unique(member[:, 0]):
        sides = [(member[:, 0] == p) & (member[:, 1] == x) for x in np.unique(member[member[:, 0] == p, 1])]
        if all((side & clear).any() for side in sides):
            acc.append(np.mean([right[side & clear].mean() for side in sides]))
            weight.append(sum(side.sum() for side in sides))
    return float(np.average(acc, weights=weight)) if acc else None

def neutral_measures(S, member, fold, ntokens):
    """homoglyph_measures of the script-neutral tokens' states, each token's two contexts in place of a
    pair's two twins: the context alone"""
    m = homoglyph_measures(S, member, fold, ntokens)
    return dict(neutral_cosine=m['homoglyph_cosine'], neutral_accuracy=m['probe_accuracy'],
                neutral_chance=m['probe_chance'], neutral_token_accuracy=m['pair_accuracy'])

def swapped_measures(S, script, spoofed, natural, twin_script, language):
    """a probe fitted on one depth's states S of the natural twin occurrences, script their scripts, reads
    the swapped twins' states -> the share it reads by the twin's script (not its context's language), and
    of the same windows unspoofed, the share it reads by their script (which is their context's)"""
    fitted = fit_probe(S, script, classes=max(int(script.max()), 1) + 1)
    return dict(swapped_token_share=read_as(probe_logits(fitted, spoofed), twin_script),
                swapped_natural_share=read_as(probe_logits(fitted, natural), language))

def context_agreement(lang, script):
    """lang, script (N,): the language of each homoglyph occurrence's context and its script -> the shares
    whose context is of their own script's language, of the other's, of neither (mixed, another script):
    how far the probe's label is the context's"""
    return dict(own=float((lang == script).mean()), other=float(((lang >= 0) & (lang != script)).mean()),
                neither=float((lang < 0).mean()))

def word_measures(V, names):
    """one depth's mean states V (N, C) of the words, names their groups' -> the neighbour shares and their
    chance levels, among all words and among the words of one language (where kind, not language, counts)"""
    group = np.unique(names, return_inverse=True)[1].ravel()
    share, chance = neighbour_share(V, group)
    row = dict(share_all=float(share.mean()), chance_all=float(chance.mean()))
    lang = np.array([n.split(' ')[0] for n in names])
    for x in np.unique(lang):
        m = lang == x
        share[m], chance[m] = neighbour_share(V[m], np.unique(group[m], return_inverse=True)[1].ravel())
    return dict(row, share_language=float(share.mean()), chance_language=float(chance.mean()))

# -----------------------------------------------------------------------------
# several checkpoints: per embedding, mean and 95% t-interval over checkpoints

# (key, title, y label, the key of its chance level)
METRICS = [('homoglyph_cosine', "homoglyph pairs: cosine of the two tokens' mean states", 'cosine', None),
           ('probe_accuracy', "homoglyph pairs: held-out accuracy of a probe reading the script", 'accuracy',
            'probe_chance'),
           ('share_language', f"words: share of the {K} nearest neighbours of the same kind, within a "
            "language", 'share', 'chance_language'),
           ('share_all', f"words: share of the {K} nearest neighbours of the same kind, among all words",
            'share', 'chance_all'),
           ('neutral_accuracy', "script-neutral tokens: held-out accuracy of a probe reading the context's "
            "language", 'accuracy', 'neutral_chance'),
           ('swapped_token_share', "swapped twins: share a probe fitted on natural twins reads by the twin's "
            "own script", 'share', None)]

# the controls' references, summarised and printed but not drawn: the twin probe where the context is of
# the twin's language (the only contexts the neutral tokens are read in), the swapped windows unspoofed
REFERENCES = [('probe_accuracy_clear', "homoglyph pairs, in contexts of the twin's language: held-out probe "
               "accuracy", 'accuracy', 'probe_chance'),
              ('swapped_natural_share', "swapped test's windows unspoofed: share the probe reads by their "
               "script", 'share', None)]

def summarise(results):
    """{embedding: {metric: [(mean, halfwidth or None) per depth]}} over the checkpoints of each embedding"""
    out = {}
    for r in results:
        out.setdefault(r['embedding'], []).append(r)
    keys = [m for m, _, _, _ in METRICS + REFERENCES]
    return {e: {m: [mean_ci([r['layers'][l][m] for r in rs]) for l in range(len(rs[0]['layers']))]
                for m in keys if m in rs[0]['layers'][0]} for e, rs in out.items()}

def paired_differences(results):
    """{metric: [stats.paired() of glyph - trainable per depth]}, over the seeds both embeddings ran"""
    def by(e, m, l):
        """{seed: metric m at depth l} of embedding e's checkpoints"""
        return {r['seed']: r['layers'][l][m] for r in results if r['embedding'] == e}
    if len(set(by('glyph', 'share_all', 0)) & set(by('trainable', 'share_all', 0))) < 2:
        return {} # two seeds of both, at least
    return {m: [paired(by('glyph', m, l), by('trainable', m, l)) for l in range(len(results[0]['layers']))]
            for m, _, _, _ in METRICS if all(m in r['layers'][0] for r in results)}

def print_tables(summary, results, diffs=None):
    arms = list(summary)
    n = {e: sum(r['embedding'] == e for r in results) for e in arms}
    diffs = diffs or {}
    for m, title, _, chance in METRICS + REFERENCES:
        if not all(m in summary[e] for e in arms):
            continue
        first = results[0]['layers']
        print(f"\n{title}" + (f" (chance {first[0][chance]:.3f})" if chance else '')
              + ", mean +- 95% t-interval over checkpoints")
        print(f"{'depth':>9s}  " + '  '.join(f"{f'{e} ({n[e]})':>16s}" for e in arms)
              + ('   glyph - trainable, paired' if m in diffs else ''))
        for l in range(len(first)):
            d = diffs[m][l] if m in diffs else None
            print(f"{depth_name(l):>9s}  " + '  '.join(f"{fmt(*summary[e][m][l], 3):>16s}" for e in arms)
                  + (f"   {d['words']}" if d else ''))

def pair_means(results):
    """{embedding: [dict(pair 'a/а', n per side, cosine and probe accuracy by depth)]}, each the mean over
    the embedding's checkpoints; an embedding whose checkpoints read different pairs is left out"""
    out = {}
    for e in dict.fromkeys(r['embedding'] for r in results):
        rs = [r for r in results if r['embedding'] == e]
        if not rs[0]['pairs'] or any(r['pairs'] != rs[0]['pairs'] for r in rs):
            continue
        depths = range(len(rs[0]['layers']))
        def mean(key, p):
            """the pair's figure by depth, the mean over the embedding's checkpoints"""
            return [float(np.mean([r['layers'][l][key][p] for r in rs])) for l in depths]
        out[e] = [dict(pair='/'.join(t for _, t in pair['tokens']), n=pair['n'],
                       cosine=mean('pair_cosine', p), accuracy=mean('pair_accuracy', p))
                  for p, pair in enumerate(rs[0]['pairs'])]
    return out

def print_pairs(results):
    """per homoglyph pair and embedding, the mean over checkpoints of its cosine and probe accuracy"""
    for e, pairs in pair_means(results).items():
        n = sum(r['embedding'] == e for r in results)
        print(f"\nper homoglyph pair (occurrences per side), {e}, mean of {n}: cosine of the mean states | "
              f"probe accuracy on the pair's occurrences, at depths 0-{len(results[0]['layers']) - 1}")
        for p in pairs:
            print(f"  {p['pair']:>7s} {p['n']:3d}  " + ' '.join(f"{c:5.2f}" for c in p['cosine'])
                  + '  |  ' + ' '.join(f"{a:4.2f}" for a in p['accuracy']))

# -----------------------------------------------------------------------------
# the docs: a small summary (SUMMARY) and the tables of docs/analysis.md, made from it alone

# a checkpoint's per-depth figures the summary keeps; the per-pair and per-token lists stay in analysis.json
SCALARS = ('homoglyph_cosine', 'probe_accuracy', 'probe_accuracy_clear', 'share_language', 'share_all',
           'neutral_accuracy', 'swapped_token_share', 'swapped_natural_share')
# the chance levels, kept once: they depend on the occurrences read, not on the model
CHANCES = ('probe_chance', 'chance_language', 'chance_all', 'neutral_chance')

def rounded(x, digits=5):
    """x with every float rounded: the tables print 3 digits, and the summary stays small (~30 KB)"""
    if isinstance(x, float):
        return round(x, digits)
    if isinstance(x, dict):
        return {k: rounded(v, digits) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [rounded(v, digits) for v in x]
    return x

def relative(path):
    """path from the repository root where it lies inside it: the summary does not name this machine"""
    path = os.path.abspath(path)
    return os.path.relpath(path, ROOT) if path.startswith(ROOT + os.sep) else path

def docs_summary(results, summary, diffs, command):
    """what the docs' tables need: per checkpoint its per-depth figures, per embedding the means and 95%
    intervals, the paired glyph - trainable differences, the per-pair means; the chance levels and what the
    controls read, of the first checkpoint (every checkpoint of one dataset and tokenizer reads the same
    occurrences); the settings, the command and the commit"""
    runs = [dict(checkpoint=relative(r['checkpoint']), embedding=r['embedding'], seed=r['seed'],
                 layers=[{k: v for k, v in row.items() if k in SCALARS} for row in r['layers']])
            for r in results]
    first, c = results[0], results[0]['controls']
    read = dict(pairs=len(first['pairs']), pair_occurrences=sum(p['n'] for p in first['pairs']),
                words=len(first['words']), homoglyph_context=c['homoglyph_context'],
                neutral_tokens=len(c['neutral_tokens']),
                neutral_occurrences=sum(t['n'] for t in c['neutral_tokens']),
                spoofs=' '.join(text for _, text in c['spoofs']),
                spoofed_words=len({w for w, _ in c['spoofs']}),
                skipped=c['skipped'], swapped=c['swapped'])
    settings = dict(context=CONTEXT, min_homoglyph=MIN_HOMOGLYPH, max_homoglyph=MAX_HOMOGLYPH, k=K,
                    folds=FOLDS, l2=L2, language_share=probe_controls.LANGUAGE_SHARE,
                    swap_contexts=probe_controls.SWAP_CONTEXTS)
    return rounded(dict(command=command, commit=git_commit(), checkpoints=[x['checkpoint'] for x in runs],
                        settings=settings, read=read,
                        chance={k: first['layers'][0][k] for k in CHANCES if k in first['layers'][0]},
                        arms=summary, paired=diffs, pairs=rounded(pair_means(results), 3), runs=runs))

def depth_name(l):
    return 'input' if l == 0 else f'block {l}'

def diff_cell(p):
    """a paired glyph - trainable difference as docs/analysis.md prints it: where resolved, with its
    interval; otherwise '-' and the largest difference the interval leaves"""
    if p is None:
        return '-'
    if p['ci95'] is None or abs(p['mean']) > p['ci95']:
        return fmt(p['mean'], p['ci95'], 3, sign=True)
    return f"- (at most {abs(p['mean']) + p['ci95']:.3f})"

def depth_table(summary, metrics, diff=None):
    """metrics [(key, label)] by depth, each arm a column (the first labelled, the others by their names
    only), and diff (key, label): that metric's paired glyph - trainable difference as the last column"""
    arms, depths = list(summary['arms']), len(summary['runs'][0]['layers'])
    head = ['depth'] + [x for _, label in metrics for x in [f"{label}, {arms[0]}", *arms[1:]]]
    head += [diff[1]] if diff else []
    rows = ['| ' + ' | '.join(head) + ' |', '| ' + ' | '.join(['---'] * len(head)) + ' |']
    for l in range(depths):
        cells = [depth_name(l)] + [fmt(*summary['arms'][e][key][l], 3) if key in summary['arms'][e] else '-'
                                   for key, _ in metrics for e in arms]
        if diff:
            cells.append(diff_cell(summary['paired'][diff[0]][l] if diff[0] in summary['paired'] else None))
        rows.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(rows)

def tables(summary):
    """{name: markdown} of the summary alone: 'homoglyphs' and 'groups' as docs/analysis.md prints them,
    'pairs' (per pair, mean over each arm's checkpoints), 'controls' (the homoglyph probe beside its two
    controls), 'construction' (what the controls read), 'reading' (one sentence, where glyph and trainable
    both ran the controls)"""
    first = summary['chance']
    out = {'homoglyphs': depth_table(summary, [
               ('homoglyph_cosine', 'homoglyph cosine'),
               ('probe_accuracy', f"probe accuracy (chance {first['probe_chance']:.3f})")],
               ('probe_accuracy', 'probe, glyph - trainable')),
           'groups': depth_table(summary, [
               ('share_language',
                f"same-kind share within a language (chance {first['chance_language']:.3f})"),
               ('share_all', f"among all words (chance {first['chance_all']:.3f})")])}
    depths, pairs = len(summary['runs'][0]['layers']), summary['pairs']
    names = {e: [p['pair'] for p in pairs[e]] for e in pairs}
    arms = [e for e in pairs if names[e] == names[next(iter(pairs))]] # the arms that read the same pairs
    head = ['pair', 'per side'] + [x for e in arms
                                   for x in (f"cosine, {e} (depths 0-{depths - 1})", f"probe accuracy, {e}")]
    rows = ['| ' + ' | '.join(head) + ' |', '| ' + ' | '.join(['---'] * len(head)) + ' |']
    for k, p in enumerate(pairs[arms[0]] if arms else []):
        cells = [f"`{p['pair']}`", str(p['n'])] + [' '.join(f"{v:.2f}" for v in pairs[e][k][key])
                                                   for e in arms for key in ('cosine', 'accuracy')]
        rows.append('| ' + ' | '.join(cells) + ' |')
    out['pairs'] = '\n'.join(rows)
    if any('neutral_accuracy' in a for a in summary['arms'].values()):
        out['controls'] = depth_table(summary, [
            ('probe_accuracy_clear', "homoglyph probe, contexts of the twin's language"),
            ('neutral_accuracy', "script-neutral tokens, the context's language"),
            ('swapped_token_share', "swapped twins read by their own script")],
            ('swapped_token_share', 'swapped, glyph - trainable'))
    c, s = summary['read'], summary['settings']
    h = c['homoglyph_context']
    out['construction'] = '\n'.join([
        '| what the controls read | |', '| --- | --- |',
        "| homoglyph occurrences whose context is of their script's language, the other's, neither | "
        + (f"{h['own']:.1%}, {h['other']:.1%}, {h['neither']:.1%} |" if h else '- |'),
        f"| script-neutral tokens with {s['min_homoglyph']}+ occurrences in each language's contexts | "
        f"{c['neutral_tokens']} tokens, {c['neutral_occurrences']} occurrences per language |",
        f"| spoofed words (one token swapped for its twin), words left out | {c['spoofed_words']} words, "
        f"{len(c['spoofs'].split())} spoofs; {len(c['skipped'])} left out |",
        f"| swapped twins read (each spoof after {s['swap_contexts']} spaces of its language) | "
        f"{c['swapped']} |"])
    sentence = reading(summary)
    if sentence:
        out['reading'] = sentence
    return out

def reading(summary):
    """the controls in one sentence, at the last depth: what a model tells apart that its context does not"""
    a = summary['arms']
    keys = ('probe_accuracy_clear', 'neutral_accuracy', 'swapped_token_share')
    if not all(e in a and k in a[e] for k in keys for e in ('glyph', 'trainable')):
        return None
    last = len(summary['runs'][0]['layers']) - 1
    def at(e, key):
        return f"{a[e][key][last][0]:.1%}"
    return (f"After block {last} a probe reads the script of a homoglyph twin in a context of its language "
            f"{at('glyph', 'probe_accuracy_clear')} of the time in the glyph model and "
            f"{at('trainable', 'probe_accuracy_clear')} in the trainable one, and the language of such a "
            f"context from a script-neutral token (a space, a comma) {at('glyph', 'neutral_accuracy')} and "
            f"{at('trainable', 'neutral_accuracy')}; what a model tells apart that its context does not "
            f"shows where a twin is spoofed into text of the other language: the glyph model, whose twins "
            f"are one input row, reads it by its own script {at('glyph', 'swapped_token_share')} of the "
            f"time, the trainable model {at('trainable', 'swapped_token_share')}.")

def main(argv=None):
    ap = argparse.ArgumentParser(
        description="per-depth homoglyph and word-group measures of trained checkpoints")
    ap.add_argument('ckpts', nargs='*', help="ckpt.pt files written by train.py")
    ap.add_argument('--data_dir', default=None,
                    help="the prepared dataset (default: data/<each checkpoint's dataset>)")
    ap.add_argument('--out', default='out/analysis', help="folder for analysis.json, layers.png and map.png")
    ap.add_argument('--groups', default=None,
                    help='a JSON file {"<language> <kind>": "word word ...", ...} instead of GROUPS')
    ap.add_argument('--docs', action='store_true',
                    help=f"also write the small summary {relative(SUMMARY)} and the tables of "
                         f"{relative(PAGE)}")
    ap.add_argument('--figures', action='store_true',
                    help=f"only redraw {relative(FIGURE)} from the committed {relative(SUMMARY)} "
                         "(no checkpoint)")
    args = ap.parse_args(argv)
    if args.figures:
        layers_figure(json.load(open(SUMMARY)), FIGURE)
        return print(f"wrote {relative(FIGURE)} from {relative(SUMMARY)}")
    if not args.ckpts:
        ap.error("name the checkpoints to analyse (ckpt.pt files of train.py), or --figures")
    command = ' '.join(['python -m experiments.analyze', *(sys.argv[1:] if argv is None else argv)])
    try:
        groups = GROUPS
        if args.groups:
            if not os.path.isfile(args.groups):
                raise FileNotFoundError(f"--groups {args.groups} does not exist: give a JSON file of word "
                                        "groups")
            groups = json.load(open(args.groups, encoding='utf-8'))
        results, start = [], time.time()
        for k, path in enumerate(args.ckpts):
            t0 = time.time()
            r = analyse(path, args.data_dir, groups)
            results.append(r)
            c = r['word_counts'].values()
            print(f"[{k + 1}/{len(args.ckpts)}] {path}: {r['embedding']}, {len(r['layers'])} depths; "
                  f"{len(r['pairs'])} of {r['homoglyph_sets']} homoglyph pairs "
                  f"({sum(p['n'] for p in r['pairs'])} occurrences per side); {len(r['words'])} words "
                  f"({min(c):,}-{max(c):,} whole occurrences each); in {time.time() - t0:.1f} s", flush=True)
            if not r['pairs']:
                print(f"note: no homoglyph pair occurs {MIN_HOMOGLYPH} times on each side in the val split: "
                      "homoglyph measures skipped")
            if r['controls']['skipped']:
                skipped = r['controls']['skipped']
                print(f"note: {len(skipped)} of the swapped test's words have no twin token that tokenizes "
                      f"as one after a space, so they are left out: {' '.join(skipped)}")
    except (FileNotFoundError, ValueError, json.JSONDecodeError) as e:
        sys.exit(f"error: {e}")
    print(f"{len(results)} checkpoint(s) in {time.time() - start:.0f} s")
    summary = summarise(results)
    for r in [next(r for r in results if r['embedding'] == e) for e in summary]: # the first of each embedding
        print(f"\nnearest neighbours, {r['checkpoint']} ({r['embedding']}), at the input -> after the last "
              "block:")
        for w in [w for w in SHOW if w in r['words']] or list(r['words'])[:4]:
            before, after = r['neighbours']['input'][w], r['neighbours']['last'][w]
            print(f"  {w:>8s}: {', '.join(before)}  ->  {', '.join(after)}")
    print_pairs(results)
    diffs = paired_differences(results)
    print_tables(summary, results, diffs)
    short = docs_summary(results, summary, diffs, command)
    tabs = tables(short)
    for name in ('controls', 'construction', 'reading'):
        if name in tabs:
            print(f"\n{name}:\n{tabs[name]}")

    os.makedirs(args.out, exist_ok=True)
    layers_figure(short, os.path.join(args.out, 'layers.png'))
    plots.plot_maps(word_maps(results, summary), os.path.join(args.out, 'map.png'), font_path=label_font(),
                    per_row=len(summary))
    for r in results:
        r.pop('map_input'), r.pop('map_last')
    settings = dict(context=CONTEXT, min_word=MIN_WORD, max_word=MAX_WORD, min_homoglyph=MIN_HOMOGLYPH,
                    max_homoglyph=MAX_HOMOGLYPH, k=K, folds=FOLDS, l2=L2, groups=groups,
                    language_share=probe_controls.LANGUAGE_SHARE, swap_contexts=probe_controls.SWAP_CONTEXTS,
                    spoof_words=probe_controls.SPOOF_WORDS)
    record = dict(settings=settings, summary=summary, paired=diffs, runs=results)
    text = json.dumps(record, indent=1, ensure_ascii=False)
    atomic_write(os.path.join(args.out, 'analysis.json'), lambda f: f.write(text), mode='w')
    print(f"\nwrote {args.out}/analysis.json, {args.out}/layers.png and {args.out}/map.png")
    if args.docs:
        save_summary(SUMMARY, short)
        layers_figure(short, FIGURE)
        write_tables(PAGE, 'analyze', tabs)
        print(f"wrote {relative(SUMMARY)}, {relative(FIGURE)} and the marked tables of {relative(PAGE)}")

def layers_figure(short, path):
    """the per-depth chart, from a summary as docs_summary() makes it: the committed one redraws the docs'
    chart with no checkpoint at hand (--figures)"""
    arms = short['arms']
    depths = [str(l) for l in range(len(next(iter(arms.values()))['homoglyph_cosine']))]
    panels = [(title, ylabel, {e: arms[e][m] for e in arms}, short['chance'][chance] if chance else None)
              for m, title, ylabel, chance in METRICS if all(m in arms[e] for e in arms)]
    plots.plot_layers(panels, depths, path)

def word_maps(results, arms):
    """the words' mean states in 2-D (their first two principal components), at the input and after the last
    block, of the first checkpoint of each embedding: [(title, [(x, y, word, group)])], the input's first"""
    maps = []
    for key in ('map_input', 'map_last'):
        for r in [next(r for r in results if r['embedding'] == e) for e in arms]:
            X = r[key] - r[key].mean(0)
            xy = X @ np.linalg.svd(X, full_matrices=False)[2][:2].T # (N words, 2)
            where = 'input embedding' if key == 'map_input' else f"after block {len(r['layers']) - 1}"
            points = [(x, y, w, r['words'][w]) for (x, y), w in zip(xy, r['words'])]
            maps.append((f"{r['embedding']} (seed {r['seed']}), {where}", points))
    return maps

def label_font():
    """Unifont for the map's labels where it is installed: Pillow's own font has no Cyrillic"""
    try:
        return glyphs.find_font()[0]
    except FileNotFoundError:
        return None

if __name__ == '__main__':
    main()
