"""
Why config/cpu.py trains in bfloat16 and compiled: the same run three ways, same seed and data order,
each a whole train.py process, timed, then scored:
    python -m experiments.precision          # the three runs, one after another (~10 minutes on 2 cores)
    python -m experiments.precision --docs   # and the summary docs/training_precision.json, the table of
                                             # docs/training.md
Run it on an otherwise idle machine: the figure is wall time. A finished run is kept (its seconds beside
it) and not trained again; --key=value overrides go to train.py for every run. benchmarks.md's `cpu`
section times the step itself, interleaved round by round; this is the whole run a user waits for.
"""
import argparse
import json
import os
import time

from experiments.rarity import whole_val_bpb
from experiments.results import machine, save_summary, write_tables
from experiments.runs import CPU_CONFIG, ROOT, finished, train_command, train_logged
from util import git_commit, native_bf16

SUMMARY = os.path.join(ROOT, 'docs', 'training_precision.json')
PAGE = os.path.join(ROOT, 'docs', 'training.md')
SETTINGS = [('float32, eager (the previous default)', 'float32_eager',
             ['--dtype=float32', '--compile=False']),
            ('bfloat16, eager', 'bfloat16_eager', ['--dtype=bfloat16', '--compile=False']),
            ('bfloat16, compiled (the default)', 'bfloat16_compiled', ['--dtype=bfloat16', '--compile=True'])]
STEPS, SEED = 300, 1337

def run(root, name, settings, extra):
    """one whole train.py run of config/cpu.py, unless finished -> its seconds, as kept beside it"""
    out_dir = os.path.join(root, name)
    path = os.path.join(out_dir, 'seconds.json')
    if not (finished(out_dir, STEPS) and os.path.exists(path)):
        cmd = train_command(CPU_CONFIG, out_dir, settings, SEED, STEPS, 100, extra)
        print(f"$ {' '.join(cmd)}", flush=True)
        t0 = time.time()
        train_logged(cmd, out_dir, name)
        with open(path, 'w') as f:
            json.dump({'seconds': time.time() - t0}, f)
    return json.load(open(path))['seconds']

def summarise(root, extra):
    rows = []
    for label, name, settings in SETTINGS:
        seconds = run(root, name, settings, extra)
        out_dir = os.path.join(root, name)
        log = [json.loads(line) for line in open(os.path.join(out_dir, 'log.jsonl'))]
        rows.append(dict(setting=label, args=settings, seconds=seconds,
                         train_py_val_bpb=log[-1]['val_bpb'],
                         whole_val_bpb=whole_val_bpb(os.path.join(out_dir, 'ckpt.pt'))))
    return dict(command=' '.join(['python -m experiments.precision', *extra]), commit=git_commit(),
                machine=machine(), bfloat16=native_bf16()[1], steps=STEPS, seed=SEED, extra=extra, runs=rows)

def tables(summary):
    """the table of docs/training.md, from the summary alone"""
    n = summary['steps']
    rows = [f"| config/cpu.py, {n} steps | train.py, whole process | val bits per byte at step {n} "
            "(train.py) | whole val split |", '| --- | --- | --- | --- |']
    for r in summary['runs']:
        rows.append(f"| {r['setting']} | {r['seconds']:.0f} s | {r['train_py_val_bpb']:.4f} | "
                    f"{r['whole_val_bpb']:.4f} |")
    return {'runs': '\n'.join(rows)}

if __name__ == '__main__':
    ap = argparse.ArgumentParser(
        description="config/cpu.py in float32 eager, bfloat16 eager and bfloat16 compiled, each a whole run")
    ap.add_argument('--out', default=os.path.join(ROOT, 'out', 'precision'), help="folder of the three runs")
    ap.add_argument('--docs', action='store_true', help=f"write the summary and the table of {PAGE}")
    args, extra = ap.parse_known_args() # anything else is a train.py override for every run, --key=value
    if any(not (e.startswith('--') and '=' in e) for e in extra):
        ap.error(f"unknown arguments {extra} (train.py overrides are --key=value)")
    summary = summarise(args.out, extra)
    print(tables(summary)['runs'])
    if args.docs:
        save_summary(SUMMARY, summary)
        write_tables(PAGE, 'precision', tables(summary))
        print(f"wrote {os.path.relpath(SUMMARY, ROOT)} and the table of {os.path.relpath(PAGE, ROOT)}")
