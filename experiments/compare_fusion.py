"""
The paper's "MoE", measured: two experts trained on one language each (Russian and Chinese, the pair the
paper fused), each alone, fused under both rules of fusion.py, against one model trained on both languages
at the experts' combined token count; with frozen-glyph experts and with trainable-embedding experts, seeds
paired as in compare.py. Val bits per byte over the whole val split of each language, and of both pooled.
    python -m experiments.compare_fusion                        # glyph and trainable, 2 seeds, 300 steps per expert: ~75 min on 2 cores
    python -m experiments.compare_fusion --seeds 3 --languages en,ru
    python -m experiments.compare_fusion --n_layer=2            # any other --key=value goes to train.py for every run
Per seed and arm, three train.py runs of config/cpu.py in out/fusion_<a><b>_<max_iters>/<arm>_s<seed>/:
<a> and <b> (max_iters steps each, on prepare.py's language subsets of the default corpus, one tokenizer)
and <a><b> (2 x max_iters steps on both). Finished runs are kept, so an interrupted experiment resumes.
The "oracle" row sends each language to its own expert: what a perfect router would give, the bar fusion
without a router is measured against.
What the control can show: averaging logits never touches the input embedding, so fusion needs only a
shared vocabulary. Glyph-vs-trainable experts measures how each expert copes with the other language's
tokens (a trainable expert's rows for tokens it never saw keep their random start), not whether a shared
input space is required.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from experiments import plots
from experiments.rarity import bpb, evaluating, val_scores
from experiments.runs import ARMS, CPU_CONFIG, ROOT, add_run_arguments, arms_and_overrides, finished, seeds_from, \
    train_command, train_logged
from experiments.stats import fmt, mean_ci, paired

MODELS = ['expert_a', 'expert_b', 'fused_logits', 'fused_probs', 'oracle', 'joint']

def difference(p):
    """a paired difference as the table prints it, marked where the seed spread holds it"""
    unresolved = p['ci95'] is not None and abs(p['mean']) <= p['ci95']
    return fmt(p['mean'], p['ci95'], 3, sign=True) + (' unres.' if unresolved else '')

def ensure_dataset(name, languages):
    """data/<name>: the default corpus's `languages` on the default corpus's tokenizer, prepared once"""
    prepare = [sys.executable, os.path.join(ROOT, 'prepare.py')]
    if not os.path.exists('data/default/meta.json'):
        subprocess.run(prepare, check=True)
    want = json.load(open('data/default/meta.json'))['tokenizer_hash']
    if not os.path.exists(f'data/{name}/meta.json'):
        subprocess.run([*prepare, '--name', name, '--languages', ','.join(languages),
                        '--tokenizer', 'data/default/tokenizer.json'], check=True)
    if json.load(open(f'data/{name}/meta.json'))['tokenizer_hash'] != want:
        sys.exit(f"data/{name} has another tokenizer than data/default: delete data/{name} and run again, "
                 f"so that its experts fuse")

def evaluate(paths, langs):
    """{model: {lang: bpb, 'both': bpb}} for the experts, their fusion under both rules, the oracle router
    and the joint model, each over the whole val split of each language"""
    scored = {} # model -> lang -> (nats, bytes) per val position
    for name, ckpts, rule in [('expert_a', [paths['expert_a']], 'logits'), ('expert_b', [paths['expert_b']], 'logits'),
                              ('fused_logits', [paths['expert_a'], paths['expert_b']], 'logits'),
                              ('fused_probs', [paths['expert_a'], paths['expert_b']], 'probs'), ('joint', [paths['joint']], 'logits')]:
        with evaluating(ckpts, rule) as (model, _, _):
            scored[name] = {lang: val_scores(model, os.path.join('data', lang)) for lang in langs}
    scored['oracle'] = {langs[0]: scored['expert_a'][langs[0]], langs[1]: scored['expert_b'][langs[1]]}
    res = {}
    for name, per_lang in scored.items():
        res[name] = {lang: bpb(*per_lang[lang]) for lang in langs}
        res[name]['both'] = bpb(np.concatenate([per_lang[l][0] for l in langs]), np.concatenate([per_lang[l][1] for l in langs]))
    return res

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description="two language experts, alone, fused (both rules), and one model on both; seeds paired")
    ap.add_argument('--languages', default='ru,zh', help="two of the default corpus's en, ru, zh, comma-separated")
    add_run_arguments(ap, 2, 300, "steps per expert; the joint model trains twice as many", 'out/fusion_<a><b>_<max_iters>')
    args, extra = ap.parse_known_args() # anything else is a train.py override for every run, --key=value
    arms, langs = arms_and_overrides(ap, args, extra), args.languages.split(',')
    if len(langs) != 2 or len(set(langs)) != 2 or set(langs) - {'en', 'ru', 'zh'}:
        ap.error(f"--languages {args.languages}: name two different languages of en, ru, zh, e.g. ru,zh")
    a, b = langs
    both = a + b
    for name, subset in ((a, [a]), (b, [b]), (both, langs)):
        ensure_dataset(name, subset)
    root = args.out or f'out/fusion_{both}_{args.max_iters}'
    seeds = seeds_from(args.seeds)
    jobs = [('expert_a', a, args.max_iters), ('expert_b', b, args.max_iters), ('joint', both, 2 * args.max_iters)]
    print(f"{len(arms)} arms ({', '.join(arms)}) x {len(seeds)} seeds x 3 runs of config/cpu.py: experts on {a} and {b} "
          f"({args.max_iters} steps each), one model on {both} ({2 * args.max_iters} steps){' ' + ' '.join(extra) if extra else ''}; "
          f"val bits per byte over the whole val split of {a}, of {b}, and of both", flush=True)

    t0, results = time.time(), {}
    for seed in seeds: # seed-major: a stop leaves whole pairs behind
        for arm in arms:
            folder = os.path.join(root, f'{arm}_s{seed}')
            paths = {}
            for model, data, iters in jobs:
                out_dir = os.path.join(folder, data)
                paths[model] = os.path.join(out_dir, 'ckpt.pt')
                if finished(out_dir, iters):
                    continue
                cmd = train_command(CPU_CONFIG, out_dir, [f'--dataset={data}', *ARMS[arm]], seed, iters, iters, extra)
                print(f"{arm} seed {seed}, {model} on {data}: $ {' '.join(cmd)}  ({(time.time() - t0) / 60:.0f} min so far)", flush=True)
                train_logged(cmd, out_dir, f"{arm} seed {seed} {model}")
            cache = os.path.join(folder, 'eval.json')
            stamp = {m: os.path.getmtime(p) for m, p in paths.items()}
            res = json.load(open(cache)) if os.path.exists(cache) else {}
            if res.get('stamp') != stamp: # evaluated before, on these very checkpoints
                res = dict(evaluate(paths, langs), stamp=stamp)
                with open(cache, 'w') as f:
                    json.dump(res, f, indent=1)
            results[arm, seed] = res
            print(f"  {arm} seed {seed}: " + ', '.join(f"{m} {res[m]['both']:.3f}" for m in MODELS) + " (val bpb, both)", flush=True)

    cols = [a, b, 'both']
    def get(arm, model, col):
        """{seed: val bpb} of one model of one arm, on one language (or both)"""
        return {s: results[arm, s][model][col] for s in seeds}
    table = {arm: {m: {c: mean_ci(list(get(arm, m, c).values())) for c in cols} for m in MODELS} for arm in arms}
    within = [('fused_logits', 'joint'), ('fused_probs', 'joint'), ('fused_logits', 'fused_probs'), ('fused_logits', 'oracle'), ('joint', 'oracle')]
    label = {'expert_a': f'{a} expert', 'expert_b': f'{b} expert', 'fused_logits': 'fused: logits', 'fused_probs': 'fused: probs',
             'oracle': 'oracle router', 'joint': f'one on {a}+{b}'}
    pairs = {f"{arm}: {label[x]} - {label[y]}": {c: paired(get(arm, x, c), get(arm, y, c)) for c in cols} for arm in arms for x, y in within}
    if 'glyph' in arms and 'trainable' in arms:
        pairs.update({f"{label[m]}: glyph - trainable": {c: paired(get('glyph', m, c), get('trainable', m, c)) for c in cols} for m in MODELS})
    with open(os.path.join(root, 'results.json'), 'w') as f:
        json.dump(dict(languages=langs, arms=arms, seeds=seeds, max_iters=args.max_iters, extra=extra,
                       runs={f"{arm}_s{s}": results[arm, s] for arm in arms for s in seeds}, table=table, pairs=pairs), f, indent=1)
    plots.plot_buckets({arm: [(label[m], *table[arm][m]['both']) for m in MODELS] for arm in arms}, os.path.join(root, 'fusion.png'),
                       title=f"val bits per byte on {a} and {b} val together (mean, 95% interval over {len(seeds)} seeds)", xlabel='')

    print(f"\nval bits per byte over the whole val split, mean +- 95% t-interval over {len(seeds)} seeds "
          f"(experts {args.max_iters} steps, the joint model {2 * args.max_iters})")
    print(f"{'':18s}{'arm':11s}" + ''.join(f"{c:>17s}" for c in cols))
    for m in MODELS:
        for arm in arms:
            print(f"{label[m]:18s}{arm:11s}" + ''.join(f"{fmt(*table[arm][m][c], 3):>17s}" for c in cols))
    print("\npaired differences in val bits per byte (same seeds), mean +- 95% interval; inside the seed spread: unresolved")
    print(f"{'':44s}" + ''.join(f"{c:>26s}" for c in cols))
    for name, per_col in pairs.items():
        print(f"  {name:42s}" + ''.join(f"{difference(per_col[c]):>26s}" for c in cols))
    print(f"wrote {root}/results.json and {root}/fusion.png ({(time.time() - t0) / 60:.0f} min)")
