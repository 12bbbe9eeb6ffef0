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

    python -m experiments.analyze out/cpu/ckpt.pt                        # one checkpoint, its dataset's splits
    python -m experiments.analyze out/compare_cpu_150/glyph_s1337/ckpt.pt out/compare_cpu_150/trainable_s1337/ckpt.pt
    python -m experiments.analyze out/cpu/ckpt.pt --groups groups.json   # word groups of another corpus
Several checkpoints: each measure per depth as the mean with a 95% t-interval over the checkpoints of each
embedding (its seeds). Writes analysis.json, layers.png (the curves) and map.png (the words in 2-D) to --out.

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
from experiments import plots
from experiments.stats import fmt, mean_ci, paired
from model import load_checkpoint
from prepare import load_meta, read_shard
from tokenizer import KIND_BYTE, KIND_TEXT
from util import atomic_write

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
SHOW = ('one', 'father', 'heart', 'один', 'жена', 'сердце') # whose nearest neighbours get printed
SCRIPTS = ('LATIN', 'CYRILLIC', 'GREEK')
CONTEXT = 64        # tokens in the window each occurrence is read with, itself the last (at most block_size)
MIN_WORD = 20       # a listed word is kept when it occurs whole this often in the train split
MAX_WORD = 32       # occurrences averaged per word
MIN_HOMOGLYPH = 5   # a homoglyph pair is kept when each token occurs this often in the val split
MAX_HOMOGLYPH = 64  # occurrences per token of a pair
K = 5               # nearest neighbours per word
FOLDS = 5           # the probe's cross-validation folds
L2 = 1e-2           # the probe's weight penalty, on standardised features

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

def states_at(model, arrays, places, context, batch_size=64):
    """the states of the tokens at places [(shard, position)], each read at the end of the context tokens
    up to it -> float32 (n_layer + 1, N, C)"""
    out = []
    for b in range(0, len(places), batch_size):
        rows = [arrays[k][t - context + 1:t + 1] for k, t in places[b:b + batch_size]]
        idx = torch.from_numpy(np.stack(rows).astype(np.int64)) # (B, context)
        out.append(layer_states(model, idx)[:, :, -1].float().numpy()) # the last position only
    return np.concatenate(out, axis=1)

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

def probe(X, y, fold, l2=L2, steps=100):
    """held-out predictions of a multinomial logistic regression reading the label y from X (N, C): for each
    fold, fit on the others (features standardised by their mean and spread), predict it"""
    X, y = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    pred = torch.empty_like(y)
    threads = torch.get_num_threads()
    torch.set_num_threads(1) # a few hundred rows: handing such small ops between threads costs more than it saves
    for f in np.unique(fold):
        test = torch.as_tensor(fold == f)
        Z = (X - X[~test].mean(0)) / (X[~test].std(0) + 1e-6) # (N, C)
        W = torch.zeros(X.size(1), int(y.max()) + 1, requires_grad=True)
        b = torch.zeros(W.size(1), requires_grad=True)
        opt = torch.optim.LBFGS([W, b], max_iter=steps, line_search_fn='strong_wolfe')
        def closure():
            opt.zero_grad()
            loss = F.cross_entropy(Z[~test] @ W + b, y[~test]) + l2 * W.square().sum()
            loss.backward()
            return loss
        opt.step(closure) # convex, so one full-batch LBFGS run finds it
        with torch.no_grad():
            pred[test] = (Z[test] @ W + b).argmax(1)
    torch.set_num_threads(threads)
    return pred.numpy()

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

def homoglyph_occurrences(tok, emb, val, context):
    """the pairs that occur at least MIN_HOMOGLYPH times on every side in val, as many occurrences of each
    token -> (pairs, places, member (whose occurrence), fold), or None; and how many pairs there are"""
    pairs, places, member, fold = [], [], [], []
    sets = homoglyph_sets(tok, emb)
    for s in sets:
        found = [find(val, [i], context) for _, i in s]
        n = min(MAX_HOMOGLYPH, *map(len, found))
        if n < MIN_HOMOGLYPH:
            continue
        for (script, i), p in zip(s, found):
            places += pick(p, n)
            member += [(len(pairs), SCRIPTS.index(script))] * n
            fold += [j % FOLDS for j in range(n)] # the j-th of every side in one fold: folds stay balanced
        pairs.append(dict(tokens=[(script, tok.token_text(i)) for script, i in s], n=n))
    return ((pairs, places, np.array(member), np.array(fold)) if pairs else None), len(sets)

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
        raise ValueError(f"only {len(kept)} of the listed words occur {MIN_WORD} times whole, in groups of two or more, "
                         "in this dataset's train split: give --groups a JSON file of word groups of this corpus")
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
    val, train = [[read_shard(os.path.join(data_dir, f), tok.hash) for f in meta['shards'][s]] for s in ('val', 'train')]
    context = min(CONTEXT, model.config.block_size)
    hg, nsets = homoglyph_occurrences(tok, emb, val, context)
    words, names, wplaces, word, counts = word_occurrences(tok, train, groups, context)
    states = states_at(model, val, hg[1], context) if hg else None # (L + 1, N, C)
    wstates = states_at(model, train, wplaces, context)
    res = dict(checkpoint=path, embedding=model.config.embedding, seed=cfg.get('seed'), data_dir=data_dir, context=context,
               words=dict(zip(words, names)), word_counts=dict(zip(words, counts)), homoglyph_sets=nsets,
               pairs=hg[0] if hg else [], layers=[], neighbours={})
    for l in range(len(wstates)):
        row = homoglyph_measures(states[l], hg[2], hg[3], len(hg[0])) if hg else {}
        V = np.stack([wstates[l][word == w].mean(0) for w in range(len(words))]) # (N words, C), mean states
        res['layers'].append(dict(row, **word_measures(V, names)))
        if l in (0, len(wstates) - 1):
            res['neighbours']['input' if l == 0 else 'last'] = {words[i]: nearest(V, words, i) for i in range(len(words))}
            res['map_input' if l == 0 else 'map_last'] = V # for the picture; not written to the JSON
    return res

def homoglyph_measures(S, member, fold, npairs):
    """one depth's states S (N, C) of the homoglyph occurrences, member (N, 2) their (pair, script) -> per
    pair the cosine of its tokens' mean states (their mean over twos, were there three scripts), the probe"""
    centre = S.mean(0)
    cos = []
    for p in range(npairs):
        mine = member[:, 0] == p
        m = [S[mine & (member[:, 1] == x)].mean(0) - centre for x in np.unique(member[mine, 1])]
        m = [v / np.linalg.norm(v) for v in m]
        cos.append(float(np.mean([a @ b for i, a in enumerate(m) for b in m[i + 1:]])))
    right = probe(S, member[:, 1], fold) == member[:, 1]
    return dict(homoglyph_cosine=float(np.mean(cos)), probe_accuracy=float(right.mean()),
                probe_chance=float(np.bincount(member[:, 1]).max() / len(member)), # the majority script's share
                pair_cosine=cos, pair_accuracy=[float(right[member[:, 0] == p].mean()) for p in range(npairs)])

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
           ('probe_accuracy', "homoglyph pairs: held-out accuracy of a probe reading the script", 'accuracy', 'probe_chance'),
           ('share_language', f"words: share of the {K} nearest neighbours of the same kind, within a language",
            'share', 'chance_language'),
           ('share_all', f"words: share of the {K} nearest neighbours of the same kind, among all words", 'share', 'chance_all')]

def summarise(results):
    """{embedding: {metric: [(mean, halfwidth or None) per depth]}} over the checkpoints of each embedding"""
    out = {}
    for r in results:
        out.setdefault(r['embedding'], []).append(r)
    return {e: {m: [mean_ci([r['layers'][l][m] for r in rs]) for l in range(len(rs[0]['layers']))]
                for m, _, _, _ in METRICS if m in rs[0]['layers'][0]} for e, rs in out.items()}

def paired_differences(results):
    """{metric: [stats.paired() of glyph - trainable per depth]}, over the seeds both embeddings ran"""
    def by(e, m, l):
        """{seed: metric m at depth l} of embedding e's checkpoints"""
        return {r['seed']: r['layers'][l][m] for r in results if r['embedding'] == e}
    if len(set(by('glyph', 'share_all', 0)) & set(by('trainable', 'share_all', 0))) < 2: # two seeds of both, at least
        return {}
    return {m: [paired(by('glyph', m, l), by('trainable', m, l)) for l in range(len(results[0]['layers']))]
            for m, _, _, _ in METRICS if all(m in r['layers'][0] for r in results)}

def print_tables(summary, results, diffs=None):
    arms = list(summary)
    n = {e: sum(r['embedding'] == e for r in results) for e in arms}
    diffs = diffs or {}
    for m, title, _, chance in METRICS:
        if not all(m in summary[e] for e in arms):
            continue
        first = results[0]['layers']
        print(f"\n{title}" + (f" (chance {first[0][chance]:.3f})" if chance else '') + ", mean +- 95% t-interval over checkpoints")
        print(f"{'depth':>9s}  " + '  '.join(f"{f'{e} ({n[e]})':>16s}" for e in arms) + ('   glyph - trainable, paired' if m in diffs else ''))
        for l in range(len(first)):
            d = diffs[m][l] if m in diffs else None
            print(f"{'input' if l == 0 else f'block {l}':>9s}  " + '  '.join(f"{fmt(*summary[e][m][l], 3):>16s}" for e in arms)
                  + (f"   {d['words']}" if d else ''))

def print_pairs(results):
    """per homoglyph pair and embedding, the mean over checkpoints of its cosine and probe accuracy by depth"""
    for e in dict.fromkeys(r['embedding'] for r in results):
        rs = [r for r in results if r['embedding'] == e]
        if not rs[0]['pairs'] or any(r['pairs'] != rs[0]['pairs'] for r in rs):
            continue
        depths = range(len(rs[0]['layers']))
        print(f"\nper homoglyph pair (occurrences per side), {e}, mean of {len(rs)}: cosine of the mean states | "
              f"probe accuracy on the pair's occurrences, at depths {depths[0]}-{depths[-1]}")
        for p, pair in enumerate(rs[0]['pairs']):
            cosine = [np.mean([r['layers'][l]['pair_cosine'][p] for r in rs]) for l in depths]
            accuracy = [np.mean([r['layers'][l]['pair_accuracy'][p] for r in rs]) for l in depths]
            print(f"  {'/'.join(t for _, t in pair['tokens']):>7s} {pair['n']:3d}  " + ' '.join(f"{c:5.2f}" for c in cosine)
                  + '  |  ' + ' '.join(f"{a:4.2f}" for a in accuracy))

def main(argv=None):
    ap = argparse.ArgumentParser(description="per-depth homoglyph and word-group measures of trained checkpoints")
    ap.add_argument('ckpts', nargs='+', help="ckpt.pt files written by train.py")
    ap.add_argument('--data_dir', default=None, help="the prepared dataset (default: data/<each checkpoint's dataset>)")
    ap.add_argument('--out', default='out/analysis', help="folder for analysis.json, layers.png and map.png")
    ap.add_argument('--groups', default=None, help='a JSON file {"<language> <kind>": "word word ...", ...} instead of GROUPS')
    args = ap.parse_args(argv)
    try:
        groups = GROUPS
        if args.groups:
            if not os.path.isfile(args.groups):
                raise FileNotFoundError(f"--groups {args.groups} does not exist: give a JSON file of word groups")
            groups = json.load(open(args.groups, encoding='utf-8'))
        results, start = [], time.time()
        for k, path in enumerate(args.ckpts):
            t0 = time.time()
            r = analyse(path, args.data_dir, groups)
            results.append(r)
            c = r['word_counts'].values()
            print(f"[{k + 1}/{len(args.ckpts)}] {path}: {r['embedding']}, {len(r['layers'])} depths; {len(r['pairs'])} of "
                  f"{r['homoglyph_sets']} homoglyph pairs ({sum(p['n'] for p in r['pairs'])} occurrences per side); "
                  f"{len(r['words'])} words ({min(c):,}-{max(c):,} whole occurrences each); in {time.time() - t0:.1f} s", flush=True)
            if not r['pairs']:
                print(f"note: no homoglyph pair occurs {MIN_HOMOGLYPH} times on each side in the val split: homoglyph measures skipped")
    except (FileNotFoundError, ValueError, json.JSONDecodeError) as e:
        sys.exit(f"error: {e}")
    print(f"{len(results)} checkpoint(s) in {time.time() - start:.0f} s")
    summary = summarise(results)
    for r in [next(r for r in results if r['embedding'] == e) for e in summary]: # the first of each embedding
        print(f"\nnearest neighbours, {r['checkpoint']} ({r['embedding']}), at the input -> after the last block:")
        for w in [w for w in SHOW if w in r['words']] or list(r['words'])[:4]:
            print(f"  {w:>8s}: {', '.join(r['neighbours']['input'][w])}  ->  {', '.join(r['neighbours']['last'][w])}")
    print_pairs(results)
    diffs = paired_differences(results)
    print_tables(summary, results, diffs)

    depths = [f"{l}" for l in range(len(results[0]['layers']))]
    panels = [(title, ylabel, {e: summary[e][m] for e in summary}, results[0]['layers'][0][chance] if chance else None)
              for m, title, ylabel, chance in METRICS if all(m in summary[e] for e in summary)]
    os.makedirs(args.out, exist_ok=True)
    plots.plot_layers(panels, depths, os.path.join(args.out, 'layers.png'))
    plots.plot_maps(word_maps(results, summary), os.path.join(args.out, 'map.png'), font_path=label_font(), per_row=len(summary))
    for r in results:
        r.pop('map_input'), r.pop('map_last')
    settings = dict(context=CONTEXT, min_word=MIN_WORD, max_word=MAX_WORD, min_homoglyph=MIN_HOMOGLYPH,
                    max_homoglyph=MAX_HOMOGLYPH, k=K, folds=FOLDS, l2=L2, groups=groups)
    record = dict(settings=settings, summary=summary, paired=diffs, runs=results)
    text = json.dumps(record, indent=1, ensure_ascii=False)
    atomic_write(os.path.join(args.out, 'analysis.json'), lambda f: f.write(text), mode='w')
    print(f"\nwrote {args.out}/analysis.json, {args.out}/layers.png and {args.out}/map.png")

def word_maps(results, arms):
    """the words' mean states in 2-D (their first two principal components), at the input and after the last
    block, of the first checkpoint of each embedding: [(title, [(x, y, word, group)])], the input's first"""
    maps = []
    for key in ('map_input', 'map_last'):
        for r in [next(r for r in results if r['embedding'] == e) for e in arms]:
            X = r[key] - r[key].mean(0)
            xy = X @ np.linalg.svd(X, full_matrices=False)[2][:2].T # (N words, 2)
            where = 'input embedding' if key == 'map_input' else f"after block {len(r['layers']) - 1}"
            maps.append((f"{r['embedding']} (seed {r['seed']}), {where}", [(x, y, w, r['words'][w]) for (x, y), w in zip(xy, r['words'])]))
    return maps

def label_font():
    """Unifont for the map's labels where it is installed: Pillow's own font has no Cyrillic"""
    try:
        return glyphs.find_font()[0]
    except FileNotFoundError:
        return None

if __name__ == '__main__':
    main()
