"""
What the experiment scripts share about their training runs: the arms (one train.py setting each), the
command-line arguments every script takes, and one train.py run with its output kept in a log. A run
that finished is kept; one that stopped resumes from its checkpoint, so an experiment picks up where it
was interrupted.
"""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) # the repository: train.py, config/
TRAIN = os.path.join(ROOT, 'train.py')
CPU_CONFIG = os.path.join(ROOT, 'config', 'cpu.py')

ARMS = {'glyph': ['--embedding=glyph', '--glyph_recipe=default'],
        'glyph_paper': ['--embedding=glyph', '--glyph_recipe=paper'],
        'trainable': ['--embedding=trainable'],
        'glyph_init': ['--embedding=trainable', '--wte_init=glyph'], # glyph content, not frozen: the 2x2's fourth cell
        'random': ['--embedding=random', '--embedding_seed={seed}'], # a matrix of its own for every seed
        'binary': ['--embedding=binary'],
        'affine': ['--embedding=affine', '--embedding_seed={seed}']} # binary recoded by a map per seed

def seeds_from(n, first=1337):
    """the seeds of n paired runs: 1337, 1338, ..."""
    return [first + k for k in range(n)]

def add_run_arguments(ap, seeds, max_iters, steps, out):
    """--arms, --seeds, --max_iters and --out as compare_fusion.py and compare_growth.py take them"""
    ap.add_argument('--arms', default='glyph,trainable', help=f"comma-separated, any of {', '.join(ARMS)}")
    ap.add_argument('--seeds', type=int, default=seeds, help="seeds per arm: 1337, 1338, ...")
    ap.add_argument('--first_seed', type=int, default=1337,
                    help="the first of them: one process or machine takes 1337-1338, another --first_seed=1339")
    ap.add_argument('--max_iters', type=int, default=max_iters, help=steps)
    ap.add_argument('--out', default='', help=f"folder of the runs (default {out})")

def arms_and_overrides(ap, args, extra, allowed=tuple(ARMS)):
    """the arms asked for, checked, once every unparsed argument is a train.py override --key=value: one
    sentence from argparse otherwise"""
    if any(not (e.startswith('--') and '=' in e) for e in extra):
        ap.error(f"unknown arguments {extra}: train.py overrides are --key=value")
    arms = [a for a in args.arms.split(',') if a]
    if not arms or set(arms) - set(allowed) or args.seeds < 1:
        ap.error(f"--arms {args.arms} --seeds {args.seeds}: arms from {', '.join(allowed)}, at least one seed")
    return arms

def finished(out_dir, max_iters):
    """a run whose log reached max_iters: its checkpoint is final"""
    path = os.path.join(out_dir, 'log.jsonl')
    if not os.path.exists(path):
        return False
    with open(path) as f:
        return any(json.loads(line)['iter'] == max_iters for line in f)

def train_command(config, out_dir, settings, seed, iters, eval_interval, extra=()):
    """the train.py command line of one run; resumes from out_dir's checkpoint when one is there"""
    settings = [x.replace('{seed}', str(seed)) for x in settings]
    cmd = [sys.executable, TRAIN, config, f'--out_dir={out_dir}', *settings, f'--seed={seed}',
           f'--max_iters={iters}', f'--lr_decay_iters={iters}', f'--eval_interval={eval_interval}', *extra]
    if os.path.exists(os.path.join(out_dir, 'ckpt.pt')):
        cmd = [c for c in cmd if not c.startswith('--init_from=')] + ['--init_from=resume']
    return cmd

def train_logged(cmd, out_dir, name, env=None):
    """one train.py run, its output appended to out_dir/train.log; a failure ends the experiment with its tail"""
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, 'train.log'), 'a') as f:
        f.write(r.stdout + r.stderr)
    if r.returncode != 0:
        sys.exit(f"{os.path.basename(sys.argv[0])}: {name} failed:\n{r.stderr[-2000:]}")
