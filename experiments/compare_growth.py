"""
Layer-wise growth (grow.py), measured: a model grown in two stages (2 layers, then 2 more on top, the
first 2 frozen) against the same 4-layer model trained whole, at equal training tokens, with the frozen
glyph embedding and with a trainable one (trainable in stage 1, frozen after: the paper's "constructive
unfrozen"), seeds paired as in compare.py.
    python -m experiments.compare_growth                    # glyph and trainable, 3 seeds, 300 steps per model: ~60 min on 2 cores
    python -m experiments.compare_growth --seeds 2 --stages 1,1,2
    python -m experiments.compare_growth --n_embd=128       # any other --key=value goes to train.py for every run
Per seed and arm, in out/growth_<stages>_<max_iters>/<arm>_s<seed>/: whole/ (config/cpu.py's model with
sum(stages) layers, max_iters steps) and stage1/, stage2/, ... (each adding its layers, max_iters / number
of stages steps, the learning-rate schedule restarting per stage). Finished runs are kept.
Per run: val bits per byte over the whole val split; the curve is train.py's fixed val batches.
Our choices, not the paper's (it publishes no learning rate, token budget per stage or schedule): equal
steps per stage, config/cpu.py's learning rate and a fresh warmup and cosine decay in each stage.
"""
import argparse
import json
import os
import re
import time

from experiments import plots
from experiments.rarity import whole_val_bpb
from experiments.runs import ARMS, CPU_CONFIG, add_run_arguments, arms_and_overrides, finished, seeds_from, \
    train_command, train_logged
from experiments.stats import fmt, mean_ci, paired

def curve(out_dir, offset=0):
    return [(offset + e['iter'], e['val_bpb']) for e in map(json.loads, open(os.path.join(out_dir, 'log.jsonl')))]

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description="a model grown in stages vs the same model trained whole, at equal tokens; seeds paired")
    ap.add_argument('--stages', default='2,2', help="layers added per stage, comma-separated; the whole model has their sum")
    add_run_arguments(ap, 3, 300, "steps of the whole model, split evenly among the stages", 'out/growth_<stages>_<max_iters>')
    args, extra = ap.parse_known_args() # anything else is a train.py override for every run, --key=value
    arms = arms_and_overrides(ap, args, extra)
    try:
        stages = [int(k) for k in args.stages.split(',')]
    except ValueError:
        stages = []
    if len(stages) < 2 or min(stages) < 1:
        ap.error(f"--stages {args.stages}: at least two stages of at least one layer each, e.g. 2,2")
    per_stage = args.max_iters // len(stages)
    if per_stage < 1 or per_stage * len(stages) != args.max_iters:
        ap.error(f"--max_iters {args.max_iters} does not split evenly into {len(stages)} stages: use a multiple of {len(stages)}")
    root = args.out or f"out/growth_{'-'.join(map(str, stages))}_{args.max_iters}"
    seeds, depth = seeds_from(args.seeds), sum(stages)
    print(f"{len(arms)} arms ({', '.join(arms)}) x {len(seeds)} seeds: a {depth}-layer model of config/cpu.py trained whole "
          f"({args.max_iters} steps) vs grown in stages of {' + '.join(map(str, stages))} layers ({per_stage} steps each)"
          f"{' ' + ' '.join(extra) if extra else ''}", flush=True)

    def train(out_dir, arm, seed, iters, more):
        if finished(out_dir, iters):
            return
        cmd = train_command(CPU_CONFIG, out_dir, ARMS[arm], seed, iters, max(1, per_stage // 3), [*more, *extra])
        print(f"  $ {' '.join(cmd)}  ({(time.time() - t0) / 60:.0f} min so far)", flush=True)
        train_logged(cmd, out_dir, out_dir)

    t0, results = time.time(), {}
    for seed in seeds: # seed-major: a stop leaves whole pairs behind
        for arm in arms:
            folder = os.path.join(root, f'{arm}_s{seed}')
            print(f"{arm} seed {seed}", flush=True)
            train(os.path.join(folder, 'whole'), arm, seed, args.max_iters, [f'--n_layer={depth}'])
            for k in range(len(stages)):
                more = [f'--n_layer={sum(stages[:k + 1])}']
                if k:
                    more += ['--init_from=grow', f"--grow_from={os.path.join(folder, f'stage{k}', 'ckpt.pt')}"]
                train(os.path.join(folder, f'stage{k + 1}'), arm, seed, per_stage, more)
            cache = os.path.join(folder, 'eval.json')
            ckpts = {'whole': os.path.join(folder, 'whole', 'ckpt.pt'), 'grown': os.path.join(folder, f'stage{len(stages)}', 'ckpt.pt')}
            stamp = {m: os.path.getmtime(p) for m, p in ckpts.items()}
            res = json.load(open(cache)) if os.path.exists(cache) else {}
            if res.get('stamp') != stamp:
                res = {m: whole_val_bpb(p) for m, p in ckpts.items()}
                logs = [open(os.path.join(folder, f'stage{k + 1}', 'train.log')).read() for k in range(len(stages))]
                res['active'] = [re.findall(r'active \(trained\) parameters: ([\d.]+)M of ([\d.]+)M', log)[-1] for log in logs]
                res['curve_whole'] = curve(os.path.join(folder, 'whole'))
                res['curve_grown'] = [p for k in range(len(stages)) for p in curve(os.path.join(folder, f'stage{k + 1}'), k * per_stage)
                                      if k == 0 or p[0] > k * per_stage] # a stage's step 0 is the previous stage's last
                res['stamp'] = stamp
                with open(cache, 'w') as f:
                    json.dump(res, f, indent=1)
            results[arm, seed] = res
            print(f"  val bpb over the whole val split: whole {res['whole']:.4f}, grown {res['grown']:.4f}", flush=True)

    def get(arm, key):
        """{seed: figure} of one arm"""
        return {s: results[arm, s][key] for s in seeds}

    def cost(arm):
        """{seed: grown - whole} of one arm: what growing costs"""
        return {s: results[arm, s]['grown'] - results[arm, s]['whole'] for s in seeds}
    table = {arm: {key: mean_ci(list(get(arm, key).values())) for key in ('whole', 'grown')} for arm in arms}
    pairs = {f"{arm}: grown - whole": paired(get(arm, 'grown'), get(arm, 'whole')) for arm in arms}
    if 'glyph' in arms and 'trainable' in arms:
        for key in ('whole', 'grown'):
            pairs[f"{key}: glyph - trainable"] = paired(get('glyph', key), get('trainable', key))
        pairs["cost of growing: glyph - trainable"] = paired(cost('glyph'), cost('trainable'))
    with open(os.path.join(root, 'results.json'), 'w') as f:
        json.dump(dict(stages=stages, arms=arms, seeds=seeds, max_iters=args.max_iters, extra=extra, table=table, pairs=pairs,
                       runs={f"{arm}_s{s}": results[arm, s] for arm in arms for s in seeds}), f, indent=1)
    curves = {}
    for arm in arms:
        curves[arm] = {s: [tuple(p) for p in results[arm, s]['curve_whole'] if p[0] > 0] for s in seeds}
        curves[f'{arm} grown'] = {s: [tuple(p) for p in results[arm, s]['curve_grown'] if p[0] > 0] for s in seeds}
    plots.plot_curves(curves, os.path.join(root, 'val_bpb.png'), title=f"grown in stages of {' + '.join(map(str, stages))} "
                      f"layers vs trained whole: val bits per byte vs steps")

    print(f"\nval bits per byte over the whole val split, mean +- 95% t-interval over {len(seeds)} seeds, equal tokens "
          f"({args.max_iters} steps)")
    print(f"{'arm':12s}{'trained whole':>22s}{'grown':>22s}   active parameters per stage (of the total)")
    for arm in arms:
        act = ', '.join(f"{a}M" for a, _ in results[arm, seeds[0]]['active'])
        print(f"{arm:12s}{fmt(*table[arm]['whole']):>22s}{fmt(*table[arm]['grown']):>22s}   {act} "
              f"(of {results[arm, seeds[0]]['active'][-1][1]}M)")
    print("\npaired differences in val bits per byte (same seeds); inside the seed spread: not resolved")
    for name, p in pairs.items():
        need = f"; ~{p['seeds_needed']} seeds would resolve one this size" if p['seeds_needed'] and p['ci95'] and abs(p['mean']) <= p['ci95'] else ''
        print(f"  {name:36s} {p['words']}{need}")
    print(f"wrote {root}/results.json and {root}/val_bpb.png ({(time.time() - t0) / 60:.0f} min)")
