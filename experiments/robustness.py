"""
Glyph vs trainable inputs under visual text noise (noise.py): how much noise in the *context* costs the
prediction of *clean* text. Each val window of block_size tokens is cut at three quarters: the first part
is decoded, noised, re-encoded with the checkpoint's tokenizer; the last quarter keeps its own token ids,
so it is identical in every condition, and only it is scored, in bits per byte of that part.
    python -m experiments.robustness                 # the sweep's 300-step glyph, trainable, random runs
    python -m experiments.robustness --limit 8       # a quick look: the first 8 windows
    python -m experiments.robustness --docs          # the summary and the tables of docs/robustness.md
The clean condition goes through the same decode/re-encode (at rate 0), so a condition differs from it by
the noise alone. A noised context that tokenizes longer is cropped from the left to fit block_size.
"""
import argparse
import os
import sys
import time
import unicodedata

import numpy as np
import torch
import torch.nn.functional as F

from experiments.rarity import evaluating
from experiments.results import save_summary, write_tables
from experiments.stats import fmt, mean_ci, paired
from noise import NOISES, confusable_table, noisy
from prepare import load_meta, read_shard
from util import atomic_write

ARMS = ('glyph', 'trainable', 'random')
SEEDS = (1337, 1338, 1339)
RATES = (0.05, 0.2, 0.5)
ROOT = 'out/sweep/300'
PAGE, SUMMARY = 'docs/robustness.md', 'docs/robustness_noise.json'
CONTEXT_SHARE = 0.75 # the noised share of each window; the rest is the clean part scored
PROMPTS = ['The police found the coffee', 'And the king said unto', 'In the beginning God created the']
NEW_TOKENS = 24

def default_checkpoints():
    return {(arm, s): os.path.join(ROOT, f'{arm}_s{s}', 'ckpt.pt') for arm in ARMS for s in SEEDS}

def val_windows(data_dir, block_size, limit=None):
    """non-overlapping windows of block_size tokens over the val split, the first `limit` of them"""
    meta = load_meta(data_dir)
    val = [read_shard(os.path.join(data_dir, f), meta['tokenizer_hash']) for f in meta['shards']['val']]
    wins = [a[o:o + block_size] for a in val for o in range(0, len(a) - block_size + 1, block_size)]
    token_bytes = np.load(os.path.join(data_dir, meta['token_bytes'])).astype(np.int64)
    return wins[:limit], token_bytes

def cut(tok, window):
    """the window's (context text, clean part ids): cut at CONTEXT_SHARE, moved right to the first token
    boundary where the context's bytes are whole UTF-8 characters (a cut inside one would noise U+FFFD)"""
    q = int(len(window) * CONTEXT_SHARE)
    while q < len(window) - 1:
        try:
            return b''.join(tok.id_bytes[i] for i in window[:q]).decode('utf-8'), [int(i) for i in window[q:]]
        except UnicodeDecodeError:
            q += 1
    return tok.decode(window[:q].tolist()), [int(i) for i in window[q:]]

def batch_rows(tok, cuts, kind, rate, block_size, seed):
    """per window: the noised context re-encoded, then the clean ids -> (ids, index of the first clean id).
    Each window's noise draws from its own seed: the same characters change for every checkpoint"""
    rows = []
    for k, (text, tail) in enumerate(cuts):
        ctx = tok.encode(noisy(text, kind, rate, seed=[seed, k]) if rate else text)
        ctx = ctx[-(block_size - len(tail)):] # cropped from the left: the clean part stays whole
        rows.append((ctx + tail, len(ctx)))
    return rows

def score(model, rows, token_bytes, batch_size=16):
    """bits per byte of the clean parts: rows right-padded (causal attention: padding after a position
    never reaches it), targets only on the clean ids. A GPT only: hidden() and lm_head, not a fusion"""
    nats, nbytes = 0.0, 0
    for b in range(0, len(rows), batch_size):
        chunk = rows[b:b + batch_size]
        T = max(len(ids) for ids, _ in chunk)
        x = torch.zeros(len(chunk), T, dtype=torch.long)
        y = torch.full((len(chunk), T), -1, dtype=torch.long)
        for r, (ids, q) in enumerate(chunk):
            x[r, :len(ids)] = torch.tensor(ids)
            y[r, q - 1:len(ids) - 1] = torch.tensor(ids[q:]) # position t predicts ids[t + 1]
            nbytes += int(token_bytes[ids[q:]].sum())
        scored = y >= 0
        h = model.hidden(x)[scored] # (N, C): the head runs on the scored positions only, a quarter of them
        nats += float(F.cross_entropy(model.lm_head(h).float(), y[scored], reduction='sum'))
    return nats / np.log(2) / nbytes

def measure(ckpts, limit=None, seed=0):
    """{(arm, seed): {'clean': bpb, 'kind@rate': bpb}} over the val windows of the checkpoints' dataset"""
    out, dataset = {}, None
    for (arm, s), path in ckpts.items():
        t0 = time.time()
        with evaluating([path]) as (model, tok, _):
            d = model.checkpoint['config']['dataset']
            if dataset is not None and d != dataset:
                raise ValueError(f"{path} was trained on dataset {d!r}, the others on {dataset!r}: "
                                 "compare checkpoints of one dataset")
            dataset, T = d, model.config.block_size
            wins, token_bytes = val_windows(os.path.join('data', d), T, limit)
            cuts = [cut(tok, w) for w in wins]
            res = {'clean': score(model, batch_rows(tok, cuts, None, 0, T, seed), token_bytes)}
            for kind in NOISES:
                for rate in RATES:
                    rows = batch_rows(tok, cuts, kind, rate, T, seed)
                    res[f'{kind}@{rate}'] = score(model, rows, token_bytes)
        out[(arm, s)] = res
        print(f"{arm} s{s}: clean {res['clean']:.4f} bpb, {len(wins)} windows in {time.time() - t0:.1f} s",
              flush=True)
    return out, dataset, len(wins)

def spoof(text):
    """every other word with each Latin letter that has a Cyrillic twin (noise.confusable_table) swapped
    for it: `police` -> `роliсе`"""
    table = confusable_table()
    def cyrillic(ch):
        twins = [t for t in table.get(ch, []) if unicodedata.name(t).startswith('CYRILLIC')]
        return twins[0] if twins else ch
    words = text.split(' ')
    return ' '.join(''.join(map(cyrillic, w)) if k % 2 else w for k, w in enumerate(words))

def generations(ckpts):
    """greedy continuations of PROMPTS with spoofed words, by the first seed of glyph and trainable ->
    [{'prompt', 'spoofed', arm: continuation}]"""
    rows = [dict(prompt=p, spoofed=spoof(p)) for p in PROMPTS]
    for (arm, s), path in ckpts.items():
        if s != min(x for a, x in ckpts if a == arm) or arm == 'random':
            continue
        with evaluating([path]) as (model, tok, _):
            for r in rows:
                x = torch.tensor([tok.encode(r['spoofed'])])
                r[arm] = tok.decode(model.generate(x, NEW_TOKENS, temperature=0)[0, x.size(1):].tolist())
    return rows

# -----------------------------------------------------------------------------
# summary and tables

def summarise(scores, dataset, windows, gens, command):
    runs = {f'{a}_s{s}': r for (a, s), r in scores.items()}
    return dict(command=command, dataset=dataset, windows=windows, rates=list(RATES), noises=list(NOISES),
                runs=runs, generations=gens)

def increases(summary, arm, cond):
    """{seed: bpb under cond - clean bpb} of one arm"""
    return {int(k.rsplit('_s', 1)[1]): r[cond] - r['clean'] for k, r in summary['runs'].items()
            if k.rsplit('_s', 1)[0] == arm}

def difference(summary, cond):
    """glyph - trainable of the increase under cond, paired by seed ('' without seeds of both)"""
    g, t = increases(summary, 'glyph', cond), increases(summary, 'trainable', cond)
    if not set(g) & set(t):
        return ''
    p = paired(g, t)
    return fmt(p['mean'], p['ci95'], 3, sign=True)

def tables(summary):
    """{'increase': per noise and rate, each arm's increase and glyph - trainable; 'generations'}"""
    arms = [a for a in ARMS if increases(summary, a, 'clean')]
    head = '| noise | rate | ' + ' | '.join(arms) + ' | glyph - trainable |'
    rows = [head, '| --- | --- |' + ' --- |' * (len(arms) + 1)]
    clean = [fmt(*mean_ci([r['clean'] for k, r in summary['runs'].items() if k.startswith(a + '_')]), 3)
             for a in arms]
    rows.append('| none (clean bpb) | 0 | ' + ' | '.join(clean) + ' | |')
    for kind in summary['noises']:
        for rate in summary['rates']:
            cond = f'{kind}@{rate}'
            cells = [fmt(*mean_ci(list(increases(summary, a, cond).values())), 3, sign=True) for a in arms]
            rows.append(f'| {kind} | {rate:.0%} | ' + ' | '.join(cells) + f' | {difference(summary, cond)} |')
    gen = ['| spoofed prompt | glyph | trainable |', '| --- | --- | --- |']
    for g in summary['generations']:
        gen.append('| ' + ' | '.join(repr(g.get(k, ''))[1:-1].replace('|', '\\|')
                                     for k in ('spoofed', 'glyph', 'trainable')) + ' |')
    return {'increase': '\n'.join(rows), 'generations': '\n'.join(gen)}

def plot(summary, path):
    """glyph - trainable of the increase, per noise and rate, with 95% intervals"""
    try:
        import matplotlib
    except ImportError:
        raise SystemExit("the chart needs matplotlib: `pip install matplotlib`, or run without --docs")
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for j, rate in enumerate(summary['rates']):
        ps = [paired(increases(summary, 'glyph', f'{k}@{rate}'),
                     increases(summary, 'trainable', f'{k}@{rate}')) for k in summary['noises']]
        xs = np.arange(len(ps)) + (j - 1) * 0.25
        ax.errorbar(xs, [p['mean'] for p in ps], yerr=[p['ci95'] or 0 for p in ps], fmt='o',
                    label=f'{rate:.0%}')
    ax.axhline(0, color='grey', lw=0.8)
    ax.set_xticks(range(len(summary['noises'])), summary['noises'])
    ax.set_ylabel('glyph - trainable\nincrease (bits per byte)')
    ax.legend(title='rate', fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    ap.add_argument('ckpts', nargs='*', help="ARM:SEED:PATH each (default: the sweep's 300-step runs)")
    ap.add_argument('--limit', type=int, help="only the first LIMIT val windows")
    ap.add_argument('--docs', action='store_true', help=f"write {SUMMARY}, the chart, the tables of {PAGE}")
    args = ap.parse_args(argv)
    ckpts = default_checkpoints()
    if args.ckpts:
        ckpts = {(a, int(s)): p for a, s, p in (c.split(':', 2) for c in args.ckpts)}
    t0 = time.time()
    try:
        scores, dataset, windows = measure(ckpts, args.limit)
        gens = generations(ckpts)
    except (FileNotFoundError, ValueError) as e:
        raise SystemExit(f"error: {e}")
    command = 'python -m experiments.robustness' + ''.join(f' {a}' for a in (argv or sys.argv[1:]))
    summary = summarise(scores, dataset, windows, gens, command)
    for name, md in tables(summary).items():
        print(md, end='\n\n')
    print(f"done in {time.time() - t0:.0f} s")
    if args.docs:
        save_summary(SUMMARY, summary)
        plot(summary, 'docs/robustness.png')
        # the page's markers wait disabled until the first run (tests/test_results.py reads enabled ones)
        text = open(PAGE).read()
        if '<!-- not yet run: table ' in text:
            atomic_write(PAGE, lambda f: f.write(text.replace('<!-- not yet run: table ', '<!-- table ')), 'w')
        write_tables(PAGE, 'robustness', tables(summary))

if __name__ == '__main__':
    main()
