"""
The paper's question asked along the axis that decides it: does a frozen glyph embedding keep up with a
trainable one as the training budget grows? The same GPT (config/sweep.py) trained at several token
budgets, each a full run with its own schedule (warmup a tenth of it, cosine decay to min_lr at its end),
paired seeds, scored on the whole val split. The arms:
  glyph                 frozen Unifont glyphs, our recipe
  trainable             an ordinary learned embedding
  random                frozen Gaussian rows, a matrix of its own for every seed
  glyph_init            a learned embedding that starts from the glyph rows: glyph content, not frozen
  trainable_lr1e-3/4e-3 the trainable arm at half and twice the rate tuned on the glyph config (2e-3)
  glyph_paper           frozen glyphs, the paper's recipe (docs/glyphs.md: what ours fixes)
  binary                frozen: the id's 13 bits as +-1, tiled; a fixed address with no look at all
  affine                binary recoded by a random invertible affine map over GF(2) (its own per seed),
                        computed on the fly: the same set of rows as binary at 8,192 = 2^13 ids, reordered
glyph, trainable, glyph_init and trainable are the 2x2 of content (glyph or Gaussian) by frozen or learned;
the rate arms say whether one rate for every arm favours either side; glyph_paper and binary, what the
recipe and the look are worth against a frozen input that has neither.

    python -m experiments.sweep                    # the whole plan, two runs at a time (~3 hours on 2 cores)
    python -m experiments.sweep --plan             # what would run and what is kept, with the cost;
                                                   # trains nothing
    python -m experiments.sweep --report           # the summary and tables from the runs finished so far
    python -m experiments.sweep --docs             # the same, and the tables written into docs/comparison.md
Runs live in out/sweep/<steps>/<arm>_s<seed>/ (--out: another folder); a finished run is kept and an
interrupted one resumes; a run kept in the committed summary is not trained again, so the sweep spans
sessions and machines (out/ need not survive). The summary, docs/comparison_sweep.json, holds every
run's figures, the intervals and differences, the command and the commit; the tables in docs/ are made
from it by tables() below, and a test holds them equal.
"""
import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from experiments import plots
from experiments.results import save_summary, write_tables
from experiments.compare import analyse
from experiments.runs import ARMS, ROOT, finished, seeds_from, train_command, train_logged
from experiments.stats import fmt, mean_ci, paired, seeds_for_halfwidth
from prepare import dataset_tokenizer, load_meta, read_shard
from util import git_commit

CONFIG = os.path.join(ROOT, 'config', 'sweep.py')
TOKENS_PER_STEP = 16 * 256 # config/sweep.py's batch_size x block_size
SWEEP_ARMS = {**{a: ARMS[a] for a in ('glyph', 'trainable', 'random', 'glyph_init', 'glyph_paper', 'binary',
                                        'affine')},
              'trainable_lr1e-3': ARMS['trainable'] + ['--learning_rate=1e-3', '--min_lr=1e-4'],
              'trainable_lr4e-3': ARMS['trainable'] + ['--learning_rate=4e-3', '--min_lr=4e-4']}
# (steps, arms) in the order they train: the trend's two arms from the smallest budget up, then what
# tells them apart at the middle budget. Seed-major inside each group, so a stop leaves whole pairs
# behind. 42 runs, ~3.5 hours on 2 cores; a 600-step budget and random at 1,200 would add 1.7 hours
PLAN = [(100, ('glyph', 'trainable', 'random')),
        (300, ('glyph', 'trainable')),
        (1200, ('glyph', 'trainable')),
        (300, ('random', 'glyph_init', 'trainable_lr1e-3', 'trainable_lr4e-3')),
        (300, ('glyph_paper', 'binary')),
        (300, ('affine',))]
# (a, b): the summary keeps each pair's paired difference a - b
PAIRS = [('glyph', 'trainable'), ('glyph', 'random'), ('random', 'trainable'), ('glyph_init', 'trainable'),
         ('glyph', 'glyph_init'), ('trainable_lr1e-3', 'trainable'), ('trainable_lr4e-3', 'trainable'),
         ('glyph_paper', 'trainable'), ('glyph', 'glyph_paper'), ('binary', 'trainable'), ('glyph', 'binary'),
         ('random', 'binary'), ('affine', 'trainable'), ('glyph', 'affine'), ('affine', 'binary')]
SUMMARY = os.path.join(ROOT, 'docs', 'comparison_sweep.json')
PAGE = os.path.join(ROOT, 'docs', 'comparison.md')

@dataclass(frozen=True)
class Sweep:
    """one sweep: what it trains, on which data, and where its results go. This module's is SWEEP below;
    experiments/sweep_codepoint.py runs another with the same machinery"""
    module: str # the experiments module whose tables() print it: its tables' marker, its runs' folder
    plan: list # (steps, arms) in the order they train
    pairs: list # (a, b): the summary keeps each pair's paired difference a - b
    summary: str # the committed summary
    figure: str # the chart of its differences against training tokens
    dataset: str = 'default'
    tokens_per_s: int = 5000 # two runs side by side on 2 cores, measured: the --plan estimate

SWEEP = Sweep('sweep', PLAN, PAIRS, SUMMARY, os.path.join(ROOT, 'docs', 'sweep_difference.png'))

# -----------------------------------------------------------------------------
# the runs

def schedule(steps):
    """the train.py settings of one budget: its own schedule, three evaluations of the fixed val windows"""
    return [f'--warmup_iters={max(1, steps // 10)}', f'--eval_interval={max(1, steps // 2)}']

def planned(spec, seeds):
    """[(steps, arm, seed)] in training order"""
    return [(steps, arm, s) for steps, arms in spec.plan for s in seeds for arm in arms]

def run_dir(root, steps, arm, seed):
    return os.path.join(root, str(steps), f'{arm}_s{seed}')

def train_one(spec, root, steps, arm, seed, extra, env):
    out_dir = run_dir(root, steps, arm, seed)
    cmd = train_command(CONFIG, out_dir, SWEEP_ARMS[arm], seed, steps, steps // 2,
                        [*schedule(steps), f'--dataset={spec.dataset}', *extra])
    t0 = time.time()
    train_logged(cmd, out_dir, f'{steps}/{arm}_s{seed}', env)
    with open(os.path.join(out_dir, 'seconds.json'), 'a') as f: # a resumed run adds its part
        f.write(json.dumps({'seconds': time.time() - t0}) + '\n')
    return time.time() - t0

def train_all(spec, root, todo, extra, jobs):
    """train every run of todo, `jobs` at a time; two side by side on one core each do ~10% more tokens per
    second on 2 cores than one on both (config/sweep.py)"""
    env = dict(os.environ, OMP_NUM_THREADS='1') if jobs > 1 else None
    t0 = time.time()
    with ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(train_one, spec, root, *r, extra, env): r for r in todo}
        for k, fut in enumerate(futures):
            steps, arm, seed = futures[fut]
            sec = fut.result() # a failed run ends the sweep here, with its tail (train_logged)
            print(f"[{k + 1}/{len(todo)}] {steps}/{arm}_s{seed}: {sec / 60:.1f} min "
                  f"({(time.time() - t0) / 60:.0f} min so far)", flush=True)

# -----------------------------------------------------------------------------
# the summary: every number the docs print, from the finished runs

def unigram(data_dir):
    """three context-free baselines in bits per byte of the val split, named by what they are: train.py's
    (the entropy of the train split's frequencies per train byte), the train split's frequencies scored on
    val (add-one smoothed: a model fitted on train), and val's own frequencies on val (an oracle, the floor
    of any context-free model of val)"""
    meta, tok = load_meta(data_dir), dataset_tokenizer(data_dir)
    tb = np.load(os.path.join(data_dir, meta['token_bytes'])).astype(np.float64)
    n = {s: sum(np.bincount(read_shard(os.path.join(data_dir, f), tok.hash), minlength=tok.vocab_size)
                for f in meta['shards'][s]).astype(np.float64) for s in ('train', 'val')}
    for s in n: # end-of-text and other specials stand for no bytes: not counted, as in train.py and val bpb
        n[s][tb == 0] = 0
    p = {s: n[s] / n[s].sum() for s in n}
    smooth = (n['train'] + 1) / (n['train'].sum() + tok.vocab_size)
    val_bytes = (n['val'] * tb).sum()
    nz = {s: n[s] > 0 for s in n}
    # each split's bits under its own frequencies, over the tokens it holds (log2 of 0 is not taken)
    train_bits = -(n['train'][nz['train']] * np.log2(p['train'][nz['train']])).sum()
    val_bits = -(n['val'][nz['val']] * np.log2(p['val'][nz['val']])).sum()
    return {'train_entropy_per_train_byte': float(train_bits / (n['train'] * tb).sum()),
            'train_frequencies_on_val': float(-(n['val'] * np.log2(smooth)).sum() / val_bytes),
            'val_frequencies_on_val': float(val_bits / val_bytes)}

def record(out_dir, steps, edges):
    """a finished run's figures as the summary keeps them: whole-split and per-bucket bpb, train.py's own
    estimate at the end, and its training minutes"""
    r = analyse(out_dir, steps, edges, None, [], None, False)
    path = os.path.join(out_dir, 'seconds.json')
    minutes = sum(json.loads(line)['seconds'] for line in open(path)) / 60 if os.path.exists(path) else None
    return dict(val_bpb=r['val_bpb'], by_input=[x['bpb'] for x in r['by_input']],
                by_target=[x['bpb'] for x in r['by_target']], train_py_val_bpb=r['curve'][-1][1],
                minutes=minutes), r

def kept(previous, extra):
    """{(steps, arm, seed): record} of a committed summary made with the same settings: those runs are not
    trained again (out/ is not kept between machines, the summary is), and their figures are reused"""
    if not previous or previous.get('extra') != extra or previous.get('tokens_per_step') != TOKENS_PER_STEP:
        return {}
    return {(int(steps), name.rsplit('_s', 1)[0], int(name.rsplit('_s', 1)[1])): rec
            for steps, b in previous['budgets'].items() for name, rec in b['runs'].items()}

def summarise(spec, root, seeds, extra, previous=None):
    """the finished runs of the plan (on disk, or kept in the previous summary) -> the summary dict written
    to spec.summary"""
    old, budgets = kept(previous, extra), {}
    for steps in sorted({s for s, _ in spec.plan}):
        arms = [a for s, group in spec.plan if s == steps for a in group]
        before = (previous or {}).get('budgets', {}).get(str(steps)) if old else None
        # one set of buckets for the budget (the counts depend on the seed only): the kept one, else the
        # first run's
        edges, labels, shares = ((before['edges'], before['labels'], before['positions_share']) if before
                                 else (None,) * 3)
        runs = {}
        for seed in seeds:
            for arm in arms:
                out_dir = run_dir(root, steps, arm, seed)
                if (steps, arm, seed) in old:
                    runs[arm, seed] = old[steps, arm, seed]
                elif finished(out_dir, steps):
                    runs[arm, seed], r = record(out_dir, steps, edges)
                    if edges is None:
                        edges, labels = r['edges'], [x['label'] for x in r['by_input']]
                        shares = [x['positions_share'] for x in r['by_input']]
        if not runs:
            continue
        b = budgets[str(steps)] = dict(tokens=steps * TOKENS_PER_STEP, edges=edges, labels=labels,
                                       positions_share=shares, arms={}, pairs={},
                                       runs={f'{arm}_s{seed}': rec for (arm, seed), rec in runs.items()})
        for arm in arms:
            mine = per_seed(runs, arm)
            if mine:
                m, hw = mean_ci(list(mine.values()))
                b['arms'][arm] = dict(mean=m, ci95=hw, seeds=sorted(mine))
        for a, c in spec.pairs:
            if set(per_seed(runs, a)) & set(per_seed(runs, c)):
                p = b['pairs'][f'{a} - {c}'] = paired(per_seed(runs, a), per_seed(runs, c))
                for key in ('by_input', 'by_target'):
                    p[key] = [bucket_pair(runs, a, c, key, k) for k in range(len(edges))]
    minutes = [rec.get('minutes') or 0 for b in budgets.values() for rec in b['runs'].values()]
    command = ' '.join([f'python -m experiments.{spec.module}', *sys.argv[1:]])
    return dict(command=command, commit=git_commit(),
                config=os.path.relpath(CONFIG, ROOT), dataset=spec.dataset, extra=extra,
                tokens_per_step=TOKENS_PER_STEP, seeds=seeds,
                runs_finished=sum(len(b['runs']) for b in budgets.values()),
                runs_planned=len(planned(spec, seeds)), train_minutes=sum(minutes),
                unigram=unigram(os.path.join(ROOT, 'data', spec.dataset)), budgets=budgets)

def bucket_pair(runs, a, c, key, k):
    """the paired difference a - c in one rarity bucket; None where the bucket holds no val position"""
    va, vc = per_seed(runs, a, key, k), per_seed(runs, c, key, k)
    return paired(va, vc) if set(va) & set(vc) else None

def per_seed(runs, arm, key=None, bucket=None):
    """{seed: val bpb} of one arm's runs, over the whole split or in one rarity bucket (where it has
    positions)"""
    values = {s: r['val_bpb'] if key is None else r[key][bucket] for (a, s), r in runs.items() if a == arm}
    return {s: v for s, v in values.items() if v is not None}

# -----------------------------------------------------------------------------
# the tables: markdown made from the summary alone, so the docs can be regenerated and checked

def diff(p):
    return ('-' if p is None
            else fmt(p['mean'], p['ci95'], 3, sign=True) if p['ci95'] is None or abs(p['mean']) <= p['ci95']
            else f"**{fmt(p['mean'], p['ci95'], 3, sign=True)}**")

def arm_cell(b, arm):
    a = b['arms'].get(arm)
    return '-' if a is None else f"{fmt(a['mean'], a['ci95'], 3)} ({len(a['seeds'])})"

def tables(summary):
    """{name: markdown table} of the sweep's summary; bold: the interval excludes zero"""
    budgets = summary['budgets']
    rows = ['| steps | training tokens | glyph | trainable | random | '
            'glyph - trainable | glyph - random | random - trainable |',
            '| --- | --- | --- | --- | --- | --- | --- | --- |']
    for steps, b in sorted(budgets.items(), key=lambda kv: int(kv[0])):
        p = b['pairs']
        rows.append(f"| {steps} | {b['tokens'] / 1e6:.2f}M | {arm_cell(b, 'glyph')} | "
                    f"{arm_cell(b, 'trainable')} | {arm_cell(b, 'random')} | "
                    f"{diff(p.get('glyph - trainable'))} | {diff(p.get('glyph - random'))} | "
                    f"{diff(p.get('random - trainable'))} |")
    out = {'trend': '\n'.join(rows)}
    rows = ['| steps | arm | val bpb (seeds) | minus trainable (lr 2e-3) |', '| --- | --- | --- | --- |']
    for steps, b in sorted(budgets.items(), key=lambda kv: int(kv[0])):
        for arm in ('glyph_init', 'trainable_lr1e-3', 'trainable_lr4e-3'):
            if arm in b['arms']:
                rows.append(f"| {steps} | {arm} | {arm_cell(b, arm)} | "
                            f"{diff(b['pairs'].get(f'{arm} - trainable'))} |")
    out['fairness'] = '\n'.join(rows)
    rows = ['| steps | frozen arm | val bpb (seeds) | minus trainable | glyph minus it '
            '| glyph minus it on the rarest inputs |', '| --- | --- | --- | --- | --- | --- |']
    for steps, b in sorted(budgets.items(), key=lambda kv: int(kv[0])):
        for arm in ('glyph_paper', 'binary', 'affine', 'random'):
            p, vs = b['pairs'].get(f'glyph - {arm}'), b['pairs'].get(f'{arm} - trainable')
            if arm in b['arms'] and p and vs: # the rarest bucket: inputs seen least in training
                rows.append(f"| {steps} | {arm} | {arm_cell(b, arm)} | {diff(vs)} | {diff(p)} | "
                            f"{diff(p['by_input'][0])} (seen {b['labels'][0]}) |")
    out['frozen'] = '\n'.join(rows)
    rows, width = [], max(len(b['labels']) for b in budgets.values())
    rows += ['| steps | pair | ' + ' | '.join(f'bucket {k + 1}' for k in range(width)) + ' |',
             '| --- | --- | ' + ' | '.join('---' for _ in range(width)) + ' |']
    for steps, b in sorted(budgets.items(), key=lambda kv: int(kv[0])):
        rows.append(f"| {steps} | inputs seen | "
                    + ' | '.join(f"{lab} ({sh:.1%})" for lab, sh in zip(b['labels'], b['positions_share']))
                    + ' |' + ' |' * (width - len(b['labels'])))
        for name in ('glyph - trainable', 'glyph - random'):
            if name in b['pairs']:
                rows.append(f"| {steps} | {name} | "
                            + ' | '.join(diff(q) for q in b['pairs'][name]['by_input']) + ' |'
                            + ' |' * (width - len(b['labels'])))
    out['rarity'] = '\n'.join(rows)
    u = summary['unigram']
    out['baselines'] = '\n'.join([
        '| context-free baseline | bits per byte of val |', '| --- | --- |',
        f"| train split's frequencies, per train byte (train.py prints this) | "
        f"{u['train_entropy_per_train_byte']:.3f} |",
        f"| train split's frequencies scored on val (add-one smoothed) | "
        f"{u['train_frequencies_on_val']:.3f} |",
        f"| val split's own frequencies on val (an oracle) | {u['val_frequencies_on_val']:.3f} |"])
    return out

def seeds_line(summary, pair='glyph - trainable'):
    """how many seeds the largest budget's interval of pair needs to reach +-0.03, from its sd"""
    steps = max(summary['budgets'], key=int)
    p = summary['budgets'][steps]['pairs'].get(pair)
    if not p or p['sd'] is None:
        return None
    return dict(pair=pair, steps=int(steps), sd=p['sd'], n=len(p['seeds']),
                seeds=seeds_for_halfwidth(p['sd'], 0.03))

def plot(summary, path, names=('glyph - trainable', 'glyph - random')):
    """paired differences (names) against training tokens, mean and 95% interval band"""
    series = {}
    for name in names:
        pts = [(b['tokens'] / 1e6, b['pairs'][name]) for b in summary['budgets'].values()
               if name in b['pairs']]
        if pts:
            series[name] = sorted((x, p['mean'], p['ci95']) for x, p in pts)
    plots.plot_intervals(series, path, "paired difference in val bits per byte vs training tokens",
                         "training tokens (millions)",
                         "difference in val bits per byte (bits/byte; < 0: glyph better)")

def main(spec, tables, pair='glyph - trainable', figure_pairs=('glyph - trainable', 'glyph - random')):
    """the command line of a sweep: train what is left of spec's plan, then report; tables(summary) makes
    its markdown, pair is the difference whose seeds are counted, figure_pairs those the chart draws"""
    ap = argparse.ArgumentParser(allow_abbrev=False, # train.py's --seed=N is an override, not --seeds
        description=f"experiments.{spec.module}: arms at several token budgets, seeds paired")
    ap.add_argument('--seeds', type=int, default=3, help="seeds per arm: 1337, 1338, ...")
    ap.add_argument('--jobs', type=int, default=2,
                    help="runs side by side, each on one core when more than one")
    ap.add_argument('--out', default=os.path.join(ROOT, 'out', spec.module), help="folder of the runs")
    ap.add_argument('--plan', action='store_true', help="print what would run and its cost; train nothing")
    ap.add_argument('--report', action='store_true',
                    help="the summary and tables from the finished runs; train nothing")
    ap.add_argument('--docs', action='store_true',
                    help="--report, and write the summary, plot and tables into docs/")
    args, extra = ap.parse_known_args() # anything else is a train.py override for every run, --key=value
    if any(not (e.startswith('--') and '=' in e) for e in extra) or args.seeds < 1 or args.jobs < 1:
        ap.error(f"unknown arguments {extra} (train.py overrides are --key=value), or --seeds/--jobs below 1")
    seeds = seeds_from(args.seeds)
    runs = planned(spec, seeds)
    previous = json.load(open(spec.summary)) if os.path.exists(spec.summary) else None
    done = kept(previous, extra)
    todo = [r for r in runs if r not in done and not finished(run_dir(args.out, *r), r[0])]
    steps_todo = sum(r[0] for r in todo)
    print(f"{len(runs)} runs planned ({len(seeds)} seeds), {len(runs) - len(todo)} finished and kept; "
          f"to train: {len(todo)} runs, {steps_todo:,} steps of {TOKENS_PER_STEP:,} tokens of "
          f"config/sweep.py on data/{spec.dataset}, about "
          f"{steps_todo * TOKENS_PER_STEP / spec.tokens_per_s / 60:.0f} minutes at "
          f"~{spec.tokens_per_s:,} tokens/s (two runs side by side, 2 cores)")
    if args.plan:
        for r in todo:
            print(f"  {r[0]}/{r[1]}_s{r[2]}")
        sys.exit(0)
    if not (args.report or args.docs):
        train_all(spec, args.out, todo, extra, args.jobs)
    summary = summarise(spec, args.out, seeds, extra, previous)
    tabs = tables(summary)
    for name, md in tabs.items():
        print(f"\n{name}:\n{md}")
    need = seeds_line(summary, pair)
    if need:
        print(f"\nat {need['steps']} steps {pair} has sd {need['sd']:.4f} "
              f"over {need['n']} seeds: an interval of +-0.03 needs "
              f"{need['seeds'] or 'more than 10,000'} seeds (the sd itself is uncertain with so few)")
    if args.docs:
        save_summary(spec.summary, summary)
        plot(summary, spec.figure, figure_pairs)
        write_tables(PAGE, spec.module, tabs)
        print(f"wrote {os.path.relpath(spec.summary, ROOT)}, {os.path.relpath(spec.figure, ROOT)} and the "
              f"tables of {os.path.relpath(PAGE, ROOT)}")

if __name__ == '__main__':
    main(SWEEP, tables)
