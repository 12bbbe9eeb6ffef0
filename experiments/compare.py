"""
The paper's core claim, measured so that a reader can judge it: the same GPT trained with five input
embeddings at equal tokens, several seeds each. A seed gives the same non-embedding initialisation and
the same data order in every arm, so arms are compared seed by seed (paired):
  glyph          frozen Unifont glyphs, our recipe
  glyph_paper    frozen Unifont glyphs, the paper's recipe
  trainable      an ordinary learned embedding
  random         frozen Gaussian rows
  binary         frozen +-1 bits of the token id
Per run: val bits per byte over the whole val split (rarity.py), split by how often each input (and
target) token occurred in that run's training; MMLU on the 570-question subset (--full: all) under the
standard protocol and the paper's with 1 and 2 generated tokens; the tasks of eval_data.py under
lm-eval's protocol, on the first 200 validation questions of each at CPU scale (all with --scale gpu).
Per arm: the mean with a 95% t-interval over seeds. Per pair: the mean paired difference with its
interval, in words, and the seeds a paired t-test (alpha 0.05, 80%) would need to detect a difference of
that size at the measured sd (itself uncertain: from 3 seeds its 95% range spans about 0.5x to 6x).
Intervals cover the spread between seeds only, each seed scored on the one fixed val split.

    python -m experiments.compare                          # 5 arms x 3 seeds x 150 steps of config/cpu.py: ~60-90 min on 2 cores
    python -m experiments.compare --quick                  # glyph and trainable, 3 seeds x 100 steps: ~20 min
    python -m experiments.compare --seeds 5 --arms glyph,trainable --max_iters 300
    python -m experiments.compare --n_layer=2              # any other --key=value goes to train.py for every run
    python -m experiments.compare --scale gpu              # config/gpu_small.py and its data (GPU machines)
    python -m experiments.compare --arms glyph_paper,paper_exact --bvv241 path/to/bvv241-2-3.json   # the paper's tokenizer too
Each run is a train.py run in out/compare_<scale>_<max_iters>/<arm>_s<seed>/ (--out: another folder) with
its analysis.json; finished runs are kept, so an interrupted comparison picks up where it stopped. Writes results.json, val_bpb.png and
rarity.png beside them.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import eval_mmlu
from eval_data import TASKS, load_mmlu, task_path
from experiments import plots, rarity
from experiments.runs import ARMS, ROOT, TRAIN, arms_and_overrides, finished, seeds_from, train_command, train_logged
from experiments.stats import fmt, mean_ci, paired

# off by default: the paper exactly, its own tokenizer (bvv241-2-3, a Hugging Face tokenizer.json read by
# tokenizer.HFTokenizer: --bvv241 PATH) and its recipe, on the same text encoded with it (data/<dataset>_bvv241,
# prepared on first use for the default corpus). Its tokens carry fewer bytes than ours, so it trains more
# steps: equal training bytes
PAPER_EXACT = ['--embedding=glyph', '--glyph_recipe=paper']
PAIRS = [('glyph', 'trainable'), ('glyph_paper', 'trainable'), ('random', 'trainable'), ('binary', 'trainable'),
         ('glyph', 'random'), ('glyph', 'glyph_paper'), ('paper_exact', 'glyph_paper'), ('paper_exact', 'trainable')] # a - b
TASK_LIMIT = 200 # at CPU scale every arm is at chance on the tasks: a fixed subset keeps the cost down

# -----------------------------------------------------------------------------

def paper_exact_iters(bvv241, dataset, max_iters, ap):
    """the paper_exact arm's steps: as many training bytes as max_iters steps on data/<dataset>. Prepares
    data/<dataset>_bvv241 with the paper's tokenizer first, if need be (the embedded default corpus only)"""
    ours, theirs = f'data/{dataset}/meta.json', f'data/{dataset}_bvv241/meta.json'
    if not os.path.exists(ours):
        ap.error(f"the comparison runs on data/{dataset}, which is not prepared: run prepare.py first")
    if not os.path.exists(theirs):
        if dataset != 'default':
            ap.error(f"data/{dataset}_bvv241 is not prepared: run prepare.py on {dataset}'s text with --name {dataset}_bvv241 "
                     f"--tokenizer {bvv241}")
        if not os.path.exists(bvv241):
            ap.error(f"--bvv241 {bvv241} does not exist: the paper_exact arm needs the paper's bvv241-2-3 tokenizer.json "
                     f"(published with its models on the Hugging Face hub, under Bochkov/)")
        subprocess.run([sys.executable, os.path.join(ROOT, 'prepare.py'), '--name', 'default_bvv241', '--tokenizer', bvv241],
                       check=True)
    per_token = [bytes_per_token(p) for p in (ours, theirs)]
    return round(max_iters * per_token[0] / per_token[1])

def bytes_per_token(meta_path):
    """a prepared dataset's training bytes per token, from its meta.json"""
    with open(meta_path) as f:
        meta = json.load(f)
    return meta['bytes']['train'] / meta['tokens']['train']

def analyse(out_dir, max_iters, edges, mmlu, tasks, task_limit, full):
    """a finished run -> its analysis, kept in analysis.json (recomputed only when the run changed)"""
    path = os.path.join(out_dir, 'analysis.json')
    if os.path.exists(path):
        res = json.load(open(path))
        if (res.get('max_iters') == max_iters and edges in (None, res.get('edges')) and ('mmlu_standard' in res) == bool(mmlu)
                and sorted(res.get('tasks', {})) == sorted(tasks)):
            return res
    ckpt = os.path.join(out_dir, 'ckpt.pt')
    res = dict(rarity.analyse_checkpoint(ckpt, edges=edges), max_iters=max_iters)
    log = [json.loads(line) for line in open(os.path.join(out_dir, 'log.jsonl'))]
    res['curve'] = sorted({e['iter']: e['val_bpb'] for e in log}.items())
    if mmlu or tasks:
        with rarity.evaluating(ckpt) as (model, tok, _):
            res['tasks'] = {}
            for t in tasks:
                st = eval_mmlu.evaluate_task(model, tok, t, task_path(t), task_limit, 'standard', verbose=False)['summary']['standard']
                res['tasks'][t] = {k: st[k] for k in ('accuracy', 'acc_norm', 'chance', 'n') if k in st}
            if mmlu:
                data, _ = load_mmlu(mmlu, shots=5)
                for gen in (1, 2):
                    s = eval_mmlu.evaluate(model, tok, data, limit=None if full else 10, gen_tokens=gen, verbose=False,
                                           protocol='both' if gen == 1 else 'paper')['summary']
                    if gen == 1:
                        res['mmlu_standard'] = s['standard']['accuracy']
                    res[f'mmlu_paper_{gen}'] = {k: s['paper'][k] for k in ('accuracy', 'parse_rate')}
    with open(path, 'w') as f:
        json.dump(res, f)
    return res

def summarise(runs, arms):
    """runs: {(arm, seed): analysis} -> per arm {metric: (mean, ci95, n)}, per pair paired differences"""
    per_arm, pairs = {}, {}
    for arm in arms:
        mine = {s: r for (a, s), r in runs.items() if a == arm}
        per_arm[arm] = {'val_bpb': mean_ci([r['val_bpb'] for r in mine.values()]), 'seeds': sorted(mine),
                        'by_input': [mean_ci([r['by_input'][k]['bpb'] for r in mine.values()]) for k in range(len(next(iter(mine.values()))['by_input']))]}
    for a, b in PAIRS:
        if a in arms and b in arms:
            pairs[f"{a} - {b}"] = paired(per_seed(runs, a), per_seed(runs, b))
            for key in ('by_input', 'by_target'):
                buckets = range(len(per_arm[a]['by_input']))
                pairs[f"{a} - {b}"][key] = [paired(per_seed(runs, a, key, k), per_seed(runs, b, key, k)) for k in buckets]
    return per_arm, pairs

def per_seed(runs, arm, key=None, bucket=None):
    """{seed: val bpb} of one arm's runs: over the whole split, or in one rarity bucket of by_input/by_target"""
    return {s: r['val_bpb'] if key is None else r[key][bucket]['bpb'] for (a, s), r in runs.items() if a == arm}

def mean_over(results, arm, seeds, field):
    """the mean of field(result) over an arm's seeds"""
    return sum(field(results[arm, s]) for s in seeds) / len(seeds)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description="the five embeddings at equal tokens, seeds paired")
    ap.add_argument('--scale', choices=['cpu', 'gpu'], default='cpu')
    ap.add_argument('--arms', default='glyph,glyph_paper,trainable,random,binary',
                    help=f"comma-separated, any of {', '.join(ARMS)}, paper_exact")
    ap.add_argument('--bvv241', default='bvv241-2-3.json', help="the paper's tokenizer.json, for the paper_exact arm")
    ap.add_argument('--seeds', type=int, default=3, help="seeds per arm: 1337, 1338, ...")
    ap.add_argument('--max_iters', type=int, default=150, help="steps per run; the learning-rate decay follows it")
    ap.add_argument('--quick', action='store_true', help="glyph and trainable, 3 seeds, 100 steps (~20 minutes on 2 cores)")
    ap.add_argument('--full', action='store_true', help="MMLU on all 14,042 questions, not the 570 subset")
    ap.add_argument('--mmlu', default=os.environ.get('MMLU_DIR', 'data/mmlu'), help="MMLU data (see eval_mmlu.py)")
    ap.add_argument('--out', default='', help="folder of the runs (default out/compare_<scale>_<max_iters>); "
                                              "give another one when you change a train.py setting")
    args, extra = ap.parse_known_args() # anything else is a train.py override for every run, --key=value
    if args.quick:
        args.arms, args.seeds, args.max_iters = 'glyph,trainable', 3, 100
    arms = arms_and_overrides(ap, args, extra, (*ARMS, 'paper_exact'))
    iters = {arm: args.max_iters for arm in arms}
    config = os.path.join(ROOT, 'config', {'cpu': 'cpu.py', 'gpu': 'gpu_small.py'}[args.scale])
    dataset = next((e.split('=', 1)[1] for e in extra if e.startswith('--dataset=')),
                   re.search(r"^dataset = '([^']+)'", open(config).read(), re.M)[1]) # what every other arm reads
    if 'paper_exact' in arms:
        iters['paper_exact'] = paper_exact_iters(args.bvv241, dataset, args.max_iters, ap)
    root, py = args.out or f'out/compare_{args.scale}_{args.max_iters}', sys.executable
    seeds = seeds_from(args.seeds)
    runs = [(arm, seed) for seed in seeds for arm in arms] # seed-major: a stop leaves whole pairs behind
    mmlu = args.mmlu if os.path.exists(args.mmlu) else None
    tasks = [t for t in TASKS if os.path.exists(task_path(t))]
    task_limit = None if args.scale == 'gpu' else TASK_LIMIT

    # every choice, before the first run
    t0 = time.time()
    todo = [r for r in runs if not finished(os.path.join(root, f"{r[0]}_s{r[1]}"), iters[r[0]])]
    exact = f" (paper_exact {iters['paper_exact']} steps: as many training bytes)" if 'paper_exact' in iters else ''
    print(f"{len(arms)} arms ({', '.join(arms)}) x {len(seeds)} seeds ({', '.join(map(str, seeds))}) x {args.max_iters} "
          f"steps of {os.path.relpath(config, ROOT)}{' ' + ' '.join(extra) if extra else ''}{exact}; {len(todo)} runs to train, "
          f"{len(runs) - len(todo)} kept", flush=True)
    print(f"per run: val bits per byte over the whole val split, by token rarity; MMLU "
          f"{'skipped (no data at ' + args.mmlu + '; python eval_data.py)' if not mmlu else ('all' if args.full else '570')}; "
          f"tasks {', '.join(tasks) or 'none (python eval_data.py)'}"
          f"{'' if task_limit is None else f', first {task_limit} questions each'}", flush=True)
    if todo and args.scale == 'cpu':
        probe = subprocess.run([py, TRAIN, config, '--max_iters=6', '--eval_iters=1', '--log_interval=3',
                                '--compile=False', f'--out_dir={root}/_probe', *extra], capture_output=True, text=True)
        ms = [float(m) for m in re.findall(r'time ([\d.]+)ms', probe.stdout)][-1:] or [0]
        print(f"estimate: {len(todo)} x {args.max_iters} steps x {ms[0] / 1000:.2f}s (eager) = "
              f"{len(todo) * args.max_iters * ms[0] / 60000:.0f} minutes of training, plus ~1 minute per run of evaluation", flush=True)

    results, edges = {}, None
    for k, (arm, seed) in enumerate(runs):
        name, out_dir = f"{arm}_s{seed}", os.path.join(root, f"{arm}_s{seed}")
        more = [*extra, f'--dataset={dataset}_bvv241'] if arm == 'paper_exact' else extra
        cmd = train_command(config, out_dir, ARMS.get(arm, PAPER_EXACT), seed, iters[arm],
                            max(1, iters[arm] // 6), more) # a curve of 7 points; extra may override
        if finished(out_dir, iters[arm]):
            print(f"[{k + 1}/{len(runs)}] {name}: trained before, kept", flush=True)
        else:
            print(f"[{k + 1}/{len(runs)}] {name}: $ {' '.join(cmd)}  ({(time.time() - t0) / 60:.0f} min so far)", flush=True)
            train_logged(cmd, out_dir, name)
        results[arm, seed] = res = analyse(out_dir, iters[arm], edges, mmlu, tasks, task_limit, args.full)
        edges = edges or res['edges'] # the first run's buckets for all: the same seed gives the same counts in every arm
        print(f"    val bpb over the whole val split {res['val_bpb']:.4f}", flush=True)

    per_arm, pairs = summarise(results, arms)
    first = results[runs[0]]
    m = re.search(r'unigram baseline: ([\d.]+)', open(os.path.join(root, f"{arms[0]}_s{seeds[0]}", 'train.log')).read())
    baseline = float(m[1]) if m else None
    with open(os.path.join(root, 'results.json'), 'w') as f:
        json.dump(dict(config=config, extra=extra, max_iters=args.max_iters, seeds=seeds, unigram_bpb=baseline, edges=edges,
                       runs={f"{a}_s{s}": r for (a, s), r in results.items()}, arms=per_arm, pairs=pairs), f, indent=1)
    plots.plot_curves({a: {s: [tuple(p) for p in results[a, s]['curve'] if p[0] > 0] or [tuple(results[a, s]['curve'][0])]
                           for s in seeds} for a in arms}, # step 0 (~4.6 at init) would squeeze the rest
                      os.path.join(root, 'val_bpb.png'), baseline)
    labels = [b['label'] for b in first['by_input']]
    plots.plot_buckets({a: [(labels[k], m, hw) for k, (m, hw) in enumerate(per_arm[a]['by_input'])] for a in arms},
                       os.path.join(root, 'rarity.png'))

    print(f"\n{args.max_iters} steps per run, {len(seeds)} seeds; unigram baseline {baseline} bits per byte; "
          f"val bits per byte over the whole val split, mean +- 95% t-interval over seeds")
    print(f"{'arm':12s} {'val bpb':>18s}   " + '  '.join(f"{l:>17s}" for l in labels) + "   (by input-token training count)")
    for a in arms:
        print(f"{a:12s} {fmt(*per_arm[a]['val_bpb']):>18s}   " + '  '.join(f"{fmt(*x):>17s}" for x in per_arm[a]['by_input']))
    shares = '  '.join(f"{b['label']} {b['positions_share']:.1%}" for b in first['by_input'])
    print(f"val positions per bucket: {shares}")
    print("\npaired differences in val bits per byte (same seeds):")
    for name, p in pairs.items():
        need = (f"; to detect {abs(p['mean']):.3f} at the sd of these {len(p['seeds'])} seeds ({p['sd']:.3f}, itself uncertain): "
                f"~{p['seeds_needed']} seeds" if p['seeds_needed'] else "")
        print(f"  {name:24s} {p['words']}{need}")
    for key in ('by_input', 'by_target'):
        print(f"\npaired differences by how often the {key[3:]} token occurred in training (mean +- 95% interval):")
        print(f"  {'':24s}" + '  '.join(f"{l:>15s}" for l in labels))
        for name, p in pairs.items():
            print(f"  {name:24s}" + '  '.join(f"{fmt(q['mean'], q['ci95'], 3, sign=True):>15s}" for q in p[key]))
    if mmlu or tasks:
        print(f"\nMMLU (standard, paper@1, paper@2) and tasks (acc{'' if task_limit is None else f', first {task_limit}'}), mean over seeds:")
        for a in arms:
            line = f"  {a:12s}"
            if mmlu:
                standard = mean_over(results, a, seeds, lambda r: r['mmlu_standard'])
                paper = [mean_over(results, a, seeds, lambda r: r[f'mmlu_paper_{g}']['accuracy']) for g in (1, 2)]
                line += f" MMLU {standard:.1%} / {paper[0]:.1%} / {paper[1]:.1%}"
            for t in tasks:
                line += f"  {t} {mean_over(results, a, seeds, lambda r: r['tasks'][t]['accuracy']):.1%}"
            print(line)
    print(f"wrote {root}/results.json, {root}/val_bpb.png and {root}/rarity.png")
