"""
Layer-wise growth (grow.py), measured: a model grown in two stages (2 layers, then 2 more on top, the
first 2 frozen) against the same 4-layer model trained whole, at equal training tokens, seeds paired as
in compare.py. The arms:
  glyph           the frozen glyph embedding
  trainable       a trainable embedding, trained in stage 1 and frozen after (the paper's "constructive
                  unfrozen"): in stage 2 this arm and glyph both grow on a frozen input
  trainable_open  the control: the same, and trainable in stage 2 too. Against trainable it says what
                  freezing the input for the later stages costs or buys; glyph against it, whether growing
                  on a frozen substrate does better than growing on none
trainable_open is trainable up to the end of stage 1, so it shares trainable's whole model and first
stage, and trains a second stage of its own only.
    python -m experiments.compare_growth               # 3 arms, 3 seeds, 300 steps a model: ~55 min, 2 cores
    python -m experiments.compare_growth --seeds 2 --stages 1,1,2
    python -m experiments.compare_growth --n_embd=128  # any other --key=value goes to train.py for every run
    python -m experiments.compare_growth --report      # summary and tables of the finished runs; no training
    python -m experiments.compare_growth --docs        # the same, written into docs/ (summary, tables, plot)
Per seed and arm, in out/growth_<stages>_<max_iters>/<arm>_s<seed>/: whole/ (config/cpu.py's model with
sum(stages) layers, max_iters steps) and stage1/, stage2/, ... (each adding its layers, max_iters / number
of stages steps, the learning-rate schedule restarting per stage). Finished runs are kept, a stopped one
resumes.
No replay: stage k trains under a seed of its own, grow.stage_seed(seed, k), so it draws new windows.
Stage 1's are exactly the whole model's first steps' windows (same seed, same steps); the later stages'
are fresh draws by the same rule, so the grown model reads as many windows as the whole model and none
twice by design. (Under one seed, stage 2 re-read stage 1's: half the whole model's distinct windows.)
Per run: val bits per byte over the whole val split; the curve is train.py's fixed val batches. The cost
of growing is the paired grown - whole. The summary also states it in the whole model's training tokens:
each stage's tokens and their total (the whole model's), and the tokens after which the whole model's
curve reached the grown model's last value (the same fixed batches on both sides); and the minutes.
Our choices, not the paper's (it publishes no learning rate, token budget per stage or schedule): equal
steps per stage, config/cpu.py's learning rate and a fresh warmup and cosine decay in each stage.
The summary, docs/growth_compare.json, holds the per-run figures, the intervals and differences, the
command and the commit; tables() below makes docs/growth.md's tables from it alone.
"""
import argparse
import json
import os
import re
import sys
import time

import torch

from experiments import plots
from experiments.rarity import whole_val_bpb
from experiments.results import save_summary, write_tables
from experiments.runs import (ARMS, CPU_CONFIG, ROOT, add_run_arguments, arms_and_overrides, finished,
                              seeds_from, train_command, train_logged)
from experiments.stats import fmt, mean_ci, paired
from grow import stage_seed
from util import git_commit

# the control is the trainable arm whose embedding trains on in the later stages (train.py's
# grow_embedding, read only when a run grows): up to the end of stage 1 the two are the same runs
GROWTH_ARMS = {**ARMS, 'trainable_open': ARMS['trainable']}
LATER = {'trainable_open': ['--grow_embedding=trainable']} # settings of stages 2 on
SHARES = {'trainable_open': 'trainable'} # whole model and stage 1 trained once, in trainable_s<seed>/
LABELS = {'glyph': 'frozen glyph', 'trainable': 'trainable, then frozen',
          'trainable_open': 'trainable in every stage'}
PAIRS = [('glyph', 'trainable'), ('trainable_open', 'trainable'), ('glyph', 'trainable_open')] # a - b
SET_HERE = ('n_layer', 'seed', 'init_from', 'grow_from', 'grow_embedding', 'out_dir') # per run, below
SUMMARY = os.path.join(ROOT, 'docs', 'growth_compare.json')
PAGE = os.path.join(ROOT, 'docs', 'growth.md')
FIGURE = os.path.join(ROOT, 'docs', 'growth_val_bpb.png')

# -----------------------------------------------------------------------------
# the runs

def run_dirs(root, arm, seed, n_stages):
    """{'whole', 'stage1', ...: the folder of each run of one arm and seed}; a sharing arm's whole model
    and first stage are its base arm's"""
    own = os.path.join(root, f'{arm}_s{seed}')
    base = os.path.join(root, f'{SHARES.get(arm, arm)}_s{seed}')
    dirs = {'whole': os.path.join(base, 'whole'), 'stage1': os.path.join(base, 'stage1')}
    dirs.update({f'stage{k}': os.path.join(own, f'stage{k}') for k in range(2, n_stages + 1)})
    return dirs

def recorded_seed(out_dir):
    """the seed a run's checkpoint records for its last stage (None: written before grow.py kept seeds)"""
    ckpt = torch.load(os.path.join(out_dir, 'ckpt.pt'), map_location='cpu', weights_only=True, mmap=True)
    return ckpt['stages'][-1].get('seed')

def train(out_dir, arm, seed, iters, eval_interval, more, extra):
    """one run, unless it finished; its minutes appended to seconds.json (a resumed run adds its part)"""
    if finished(out_dir, iters):
        return
    cmd = train_command(CPU_CONFIG, out_dir, GROWTH_ARMS[arm], seed, iters, eval_interval, [*more, *extra])
    print(f"  $ {' '.join(cmd)}", flush=True)
    t0 = time.time()
    train_logged(cmd, out_dir, out_dir)
    with open(os.path.join(out_dir, 'seconds.json'), 'a') as f:
        f.write(json.dumps({'seconds': time.time() - t0}) + '\n')

def train_pair(root, arm, seed, stages, max_iters, extra):
    """the whole model and the stages of one arm and seed, stage k under grow.stage_seed(seed, k)"""
    dirs, per_stage = run_dirs(root, arm, seed, len(stages)), max_iters // len(stages)
    every = max(1, per_stage // 3)
    train(dirs['whole'], arm, seed, max_iters, every, [f'--n_layer={sum(stages)}'], extra)
    for k in range(1, len(stages) + 1):
        out_dir, more = dirs[f'stage{k}'], [f'--n_layer={sum(stages[:k])}']
        if k > 1:
            more += ['--init_from=grow', f"--grow_from={os.path.join(dirs[f'stage{k - 1}'], 'ckpt.pt')}",
                     *LATER.get(arm, [])]
            # a stage kept from before stages had seeds of their own re-read stage 1's windows
            kept = os.path.exists(os.path.join(out_dir, 'ckpt.pt'))
            if kept and recorded_seed(out_dir) != stage_seed(seed, k):
                sys.exit(f"compare_growth.py: {out_dir} was trained under another seed than "
                         f"{stage_seed(seed, k)} (before growth drew new windows): move it, or set --out")
        train(out_dir, arm, stage_seed(seed, k), per_stage, every, more, extra)

# -----------------------------------------------------------------------------
# the figures of finished runs

def log(out_dir):
    with open(os.path.join(out_dir, 'log.jsonl')) as f:
        return [json.loads(line) for line in f]

def val_bpb(out_dir):
    """val bits per byte of a run's checkpoint over the whole val split, kept in eval.json beside it"""
    ckpt = os.path.join(out_dir, 'ckpt.pt')
    cache, stamp = os.path.join(out_dir, 'eval.json'), os.path.getmtime(ckpt)
    res = json.load(open(cache)) if os.path.exists(cache) else {}
    if res.get('stamp') != stamp:
        res = dict(stamp=stamp, val_bpb=whole_val_bpb(ckpt))
        with open(cache, 'w') as f:
            json.dump(res, f)
    return res['val_bpb']

def minutes(out_dir):
    """the minutes a run trained, None where it was trained without seconds.json"""
    path = os.path.join(out_dir, 'seconds.json')
    if not os.path.exists(path):
        return None
    return sum(json.loads(line)['seconds'] for line in open(path)) / 60

def active(out_dir):
    """[trained, total] parameters (millions) as train.py printed them for the run's last start"""
    text = open(os.path.join(out_dir, 'train.log')).read()
    found = re.findall(r'active \(trained\) parameters: ([\d.]+)M of ([\d.]+)M', text)[-1]
    return [float(x) for x in found]

def matched_tokens(curve, target, tokens_per_step):
    """the training tokens after which a curve [(step, bpb)] first reaches target, linear between its
    evaluations; None where it never does"""
    if curve and curve[0][1] <= target:
        return curve[0][0] * tokens_per_step
    for (s0, v0), (s1, v1) in zip(curve, curve[1:]): # v0 above target: the first evaluation at or below it
        if v1 <= target:
            return (s0 + (v0 - target) / (v0 - v1) * (s1 - s0)) * tokens_per_step
    return None

def record(dirs, max_iters):
    """one arm and seed's finished runs -> their figures: the whole and grown models' val bpb over the
    whole split, each run's tokens and minutes, the parameters each stage trains, the curves"""
    stages = [dirs[f'stage{k}'] for k in range(1, len(dirs))]
    logs = {d: log(d) for d in [dirs['whole'], *stages]}
    curve_whole = [(e['iter'], e['val_bpb']) for e in logs[dirs['whole']]]
    curve_grown, done = [], 0
    for k, d in enumerate(stages):
        # a stage's step 0 is the previous stage's last
        curve_grown += [(done + e['iter'], e['val_bpb']) for e in logs[d] if k == 0 or e['iter'] > 0]
        done += logs[d][-1]['iter']
    whole_tokens = logs[dirs['whole']][-1]['tokens']
    return dict(whole=val_bpb(dirs['whole']), grown=val_bpb(stages[-1]),
                tokens=dict(whole=whole_tokens, stages=[logs[d][-1]['tokens'] for d in stages]),
                matched_tokens=matched_tokens(curve_whole, curve_grown[-1][1], whole_tokens / max_iters),
                minutes=dict(whole=minutes(dirs['whole']), stages=[minutes(d) for d in stages]),
                active=[active(d) for d in stages], curve_whole=curve_whole, curve_grown=curve_grown)

def finished_records(root, arms, seeds, stages, max_iters):
    """{(arm, seed): record} of every arm and seed whose runs have all finished"""
    out = {}
    for seed in seeds:
        for arm in arms:
            dirs = run_dirs(root, arm, seed, len(stages))
            steps = {k: max_iters if k == 'whole' else max_iters // len(stages) for k in dirs}
            if all(finished(d, steps[k]) for k, d in dirs.items()):
                out[arm, seed] = record(dirs, max_iters)
    return out

# -----------------------------------------------------------------------------
# the summary: every number the docs print, from the finished runs

def mean_or_none(xs):
    """mean_ci of the values that are there; None where none is"""
    xs = [x for x in xs if x is not None]
    return mean_ci(xs) if xs else None

def summarise(records, stages, max_iters, extra):
    """{(arm, seed): record} -> the summary dict written to docs/growth_compare.json: per arm the whole and
    grown val bpb, the paired cost of growing (grown - whole), the tokens and minutes; per pair of arms the
    paired differences of both models and of the cost of growing"""
    arms = [a for a in GROWTH_ARMS if any(x == a for x, _ in records)]
    by_arm = {a: {s: r for (x, s), r in records.items() if x == a} for a in arms}

    def per_seed(arm, key):
        return {s: r[key] for s, r in by_arm[arm].items()}

    def cost(arm):
        return {s: r['grown'] - r['whole'] for s, r in by_arm[arm].items()}
    out = {}
    for arm in arms:
        mine = list(by_arm[arm].values())
        matched = [r['matched_tokens'] for r in mine]
        grown_minutes = [None if None in r['minutes']['stages'] else sum(r['minutes']['stages'])
                         for r in mine]
        out[arm] = dict(seeds=sorted(by_arm[arm]), whole=mean_ci([r['whole'] for r in mine]),
                        grown=mean_ci([r['grown'] for r in mine]),
                        cost=paired(per_seed(arm, 'grown'), per_seed(arm, 'whole')),
                        tokens=mine[0]['tokens'], active=mine[0]['active'],
                        matched_tokens=mean_or_none(matched),
                        matched_seeds=sum(m is not None for m in matched),
                        minutes_whole=mean_or_none([r['minutes']['whole'] for r in mine]),
                        minutes_grown=mean_or_none(grown_minutes), shares=SHARES.get(arm))
    pairs = {}
    for a, b in PAIRS:
        if a in by_arm and b in by_arm and set(by_arm[a]) & set(by_arm[b]):
            pairs[f'{a} - {b}'] = dict(whole=paired(per_seed(a, 'whole'), per_seed(b, 'whole')),
                                       grown=paired(per_seed(a, 'grown'), per_seed(b, 'grown')),
                                       cost=paired(cost(a), cost(b)))
    spent = 0.0 # each run once: a sharing arm's whole model and first stage are its base arm's
    for (arm, seed), r in records.items():
        runs = [r['minutes']['whole'], *r['minutes']['stages']]
        spent += sum(m or 0 for m in (runs[2:] if (SHARES.get(arm), seed) in records else runs))
    runs = {f'{arm}_s{seed}': {k: r[k] for k in ('whole', 'grown', 'tokens', 'matched_tokens', 'minutes')}
            for (arm, seed), r in records.items()}
    return dict(command=' '.join(['python -m experiments.compare_growth', *sys.argv[1:]]),
                commit=git_commit(),
                config=os.path.relpath(CPU_CONFIG, ROOT), stages=stages, max_iters=max_iters,
                steps_per_stage=max_iters // len(stages), extra=extra, seeds=sorted({s for _, s in records}),
                train_minutes=spent, arms=out, pairs=pairs, runs=runs)

# -----------------------------------------------------------------------------
# the tables: markdown made from the summary alone, so the docs can be regenerated and checked

def diff(p):
    """a paired difference as the tables print it (as sweep.diff does): bold where its interval excludes 0"""
    if p is None:
        return '-'
    text = fmt(p['mean'], p['ci95'], 3, sign=True)
    return text if p['ci95'] is None or abs(p['mean']) <= p['ci95'] else f"**{text}**"

def tokens_cell(m, n, seeds):
    """the whole model's tokens at the grown model's val bpb: mean +- interval over the n seeds reaching it"""
    if m is None:
        return 'not reached'
    text = fmt(m[0] / 1e3, None if m[1] is None else m[1] / 1e3, 0) + 'k'
    return text if n == seeds else f"{text} ({n} of {seeds} seeds)"

def minutes_cell(m):
    return '-' if m is None else f"{m[0]:.1f}"

def tables(summary):
    """{name: markdown table} of the summary: 'growth' (val bpb per arm), 'pairs' (between arms), 'cost'
    (tokens and minutes); bold: the interval excludes zero"""
    arms = summary['arms']
    rows = [f"| embedding | seeds | trained whole | grown {' + '.join(map(str, summary['stages']))} | "
            "grown - whole (paired) | parameters trained per stage |",
            '| --- | --- | --- | --- | --- | --- |']
    for arm, a in arms.items():
        trained = ', '.join(f"{x:.2f}M" for x, _ in a['active'])
        rows.append(f"| {LABELS.get(arm, arm)} | {len(a['seeds'])} | {fmt(*a['whole'])} | "
                    f"{fmt(*a['grown'])} | "
                    f"{diff(a['cost'])} | {trained} of {a['active'][-1][1]:.2f}M |")
    out = {'growth': '\n'.join(rows)}
    rows = ['| paired, same seeds | trained whole | grown | cost of growing (grown - whole) |',
            '| --- | --- | --- | --- |']
    for name, p in summary['pairs'].items():
        rows.append(f"| {name} | {diff(p['whole'])} | {diff(p['grown'])} | {diff(p['cost'])} |")
    out['pairs'] = '\n'.join(rows)
    rows = ["| embedding | training tokens per stage | total (the whole model's) | "
            "whole model's tokens at the grown model's val bpb | train minutes, whole / grown |",
            '| --- | --- | --- | --- | --- |']
    for arm, a in arms.items():
        t = a['tokens']
        rows.append(f"| {LABELS.get(arm, arm)} | {' + '.join(f'{x:,}' for x in t['stages'])} | "
                    f"{sum(t['stages']):,} ({t['whole']:,}) | "
                    f"{tokens_cell(a['matched_tokens'], a['matched_seeds'], len(a['seeds']))} | "
                    f"{minutes_cell(a['minutes_whole'])} / {minutes_cell(a['minutes_grown'])} |")
    out['cost'] = '\n'.join(rows)
    return out

def plot(records, stages, path):
    """train.py's fixed-batch val curves, whole and grown, per arm (a sharing arm's whole is its base's)"""
    curves = {}
    for arm in [a for a in GROWTH_ARMS if any(x == a for x, _ in records)]:
        mine = {s: r for (x, s), r in records.items() if x == arm}
        if not any(x == SHARES.get(arm) for x, _ in records):
            curves[arm] = {s: [tuple(p) for p in r['curve_whole'] if p[0] > 0] for s, r in mine.items()}
        curves[f'{arm} grown'] = {s: [tuple(p) for p in r['curve_grown'] if p[0] > 0]
                                  for s, r in mine.items()}
    plots.plot_curves(curves, path, title=f"grown in stages of {' + '.join(map(str, stages))} "
                      f"layers vs trained whole: val bits per byte vs steps")

def write_docs(summary, records, stages):
    """the summary into SUMMARY, the tables into PAGE's marked places, the curves into FIGURE"""
    save_summary(SUMMARY, summary)
    plot(records, stages, FIGURE)
    write_tables(PAGE, 'compare_growth', tables(summary))
    print(f"wrote {os.path.relpath(SUMMARY, ROOT)}, {os.path.relpath(FIGURE, ROOT)} and the tables of "
          f"{os.path.relpath(PAGE, ROOT)}")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(allow_abbrev=False, # train.py's --seed=N is an override, not --seeds
        description="a model grown in stages vs the same model trained whole, at equal tokens; seeds paired")
    ap.add_argument('--stages', default='2,2',
                    help="layers added per stage, comma-separated; the whole model has their sum")
    add_run_arguments(ap, 3, 300, "steps of the whole model, split evenly among the stages",
                      'out/growth_<stages>_<max_iters>')
    ap.set_defaults(arms='glyph,trainable,trainable_open')
    ap.add_argument('--report', action='store_true',
                    help="the summary and tables of the finished runs; train nothing")
    ap.add_argument('--docs', action='store_true',
                    help="--report, and the summary, tables and plot written into docs/")
    args, extra = ap.parse_known_args() # anything else is a train.py override for every run, --key=value
    arms = arms_and_overrides(ap, args, extra, tuple(GROWTH_ARMS))
    taken = [e for e in extra if e[2:].split('=')[0] in SET_HERE]
    if taken:
        ap.error(f"{' '.join(taken)}: the experiment sets it for each run (--stages gives the layers)")
    try:
        stages = [int(k) for k in args.stages.split(',')]
    except ValueError:
        stages = []
    if len(stages) < 2 or min(stages) < 1:
        ap.error(f"--stages {args.stages}: at least two stages of at least one layer each, e.g. 2,2")
    per_stage = args.max_iters // len(stages)
    if per_stage < 1 or per_stage * len(stages) != args.max_iters:
        ap.error(f"--max_iters {args.max_iters} does not split evenly into {len(stages)} stages: "
                 f"use a multiple of {len(stages)}")
    root = args.out or f"out/growth_{'-'.join(map(str, stages))}_{args.max_iters}"
    seeds, t0 = seeds_from(args.seeds, args.first_seed), time.time()
    if not (args.report or args.docs):
        print(f"{len(arms)} arms ({', '.join(arms)}) x {len(seeds)} seeds: a {sum(stages)}-layer model of "
              f"config/cpu.py trained whole ({args.max_iters} steps) vs grown in stages of "
              f"{' + '.join(map(str, stages))} layers ({per_stage} steps each)"
              f"{' ' + ' '.join(extra) if extra else ''}", flush=True)
        for seed in seeds: # seed-major: a stop leaves whole pairs behind
            for arm in arms:
                print(f"{arm} seed {seed} ({(time.time() - t0) / 60:.0f} min so far)", flush=True)
                train_pair(root, arm, seed, stages, args.max_iters, extra)
    records = finished_records(root, arms, seeds, stages, args.max_iters)
    if not records:
        sys.exit(f"compare_growth.py: no arm and seed has finished all its runs in {root}")
    summary = summarise(records, stages, args.max_iters, extra)
    tabs = tables(summary)
    for name, md in tabs.items():
        print(f"\n{name}:\n{md}")
    if not (args.report or args.docs):
        with open(os.path.join(root, 'results.json'), 'w') as f: # the summary with every curve
            everything = dict(summary, records={f'{a}_s{s}': r for (a, s), r in records.items()})
            json.dump(everything, f, indent=1)
        plot(records, stages, os.path.join(root, 'val_bpb.png'))
        print(f"wrote {root}/results.json and {root}/val_bpb.png ({(time.time() - t0) / 60:.0f} min)")
    if args.docs:
        write_docs(summary, records, stages)
