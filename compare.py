"""
The paper's core claim, measured so that a reader can judge it: the same GPT trained with five input
embeddings at equal tokens, the same data order and the same seed for every non-embedding weight:
  glyph          frozen Unifont glyphs, our recipe (two seeds)
  glyph_paper    frozen Unifont glyphs, the paper's recipe
  trainable      an ordinary learned embedding (two seeds)
  random         frozen Gaussian rows
  binary         frozen +-1 bits of the token id
Then MMLU on the 570-question subset (first 10 test questions of each subject; --full: all 14,042) under
the standard protocol and the paper's with 1 and with 2 generated tokens, and the tasks of eval_tasks.py
under lm-eval's protocol: at CPU scale on a fixed subset, the first 200 validation questions of each (every
arm is at chance there: the subset keeps the cost down), with --scale gpu on all of them. Data that is not
in place (python eval_data.py) is skipped, saying so.

    python compare.py                      # config/cpu.py's shape on the embedded default
    python compare.py --max_iters 100      # shorter, for a first look
    python compare.py --n_layer=2          # any other --key=value goes to train.py for every arm
    python compare.py --scale gpu          # config/gpu_small.py and its data (GPU machines)
Each arm is a train.py run in out/compare_<scale>/<arm>/; finished arms are kept, so an interrupted
comparison picks up where it stopped. Writes results.json and val_bpb.png beside them.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

ARMS = [ # name, train.py overrides, seeds
    ('glyph', ['--embedding=glyph', "--glyph_recipe=default"], [1337, 1338]),
    ('glyph_paper', ['--embedding=glyph', "--glyph_recipe=paper"], [1337]),
    ('trainable', ['--embedding=trainable'], [1337, 1338]),
    ('random', ['--embedding=random'], [1337]),
    ('binary', ['--embedding=binary'], [1337]),
]
COLORS = {'glyph': (200, 30, 30), 'glyph_paper': (240, 140, 0), 'trainable': (30, 80, 200),
          'random': (40, 150, 40), 'binary': (120, 60, 160)}

def finished(out_dir, max_iters):
    path = os.path.join(out_dir, 'log.jsonl')
    if not os.path.exists(path):
        return False
    return any(json.loads(line)['iter'] == max_iters for line in open(path))

def plot(curves, path, baseline):
    """val bpb against steps, one line per run, drawn with Pillow"""
    from PIL import Image, ImageDraw
    W, H, m = 900, 560, 60
    img = Image.new('RGB', (W, H), 'white')
    d = ImageDraw.Draw(img)
    pts = [p for c in curves.values() for p in c]
    xmax = max(x for x, _ in pts) or 1
    ylo, yhi = min(min(y for _, y in pts), baseline) * 0.95, min(max(y for _, y in pts), 3 * baseline)
    X = lambda x: m + (W - 2 * m) * x / xmax
    Y = lambda y: H - m - (H - 2 * m) * (min(y, yhi) - ylo) / (yhi - ylo)
    d.rectangle([m, m, W - m, H - m], outline='black')
    for k in range(6): # axis labels
        y = ylo + (yhi - ylo) * k / 5
        d.text((5, Y(y) - 6), f"{y:.2f}", fill='black')
        d.text((X(xmax * k / 5) - 10, H - m + 8), f"{int(xmax * k / 5)}", fill='black')
    d.line([X(0), Y(baseline), X(xmax), Y(baseline)], fill=(150, 150, 150))
    d.text((X(0) + 5, Y(baseline) - 14), "unigram baseline", fill=(120, 120, 120))
    for k, (name, c) in enumerate(sorted(curves.items())):
        color = COLORS[name.rsplit('_s', 1)[0]]
        d.line([(X(x), Y(y)) for x, y in c], fill=color, width=2 if name.endswith('1337') else 1)
        d.text((W - m - 170, m + 10 + 14 * k), name, fill=color)
    d.text((m, 20), "val bits per byte vs optimizer steps", fill='black')
    img.save(path)

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description="the five embeddings at equal tokens")
    ap.add_argument('--scale', choices=['cpu', 'gpu'], default='cpu')
    ap.add_argument('--max_iters', type=int, default=None, help="steps per arm (default: the config's)")
    ap.add_argument('--full', action='store_true', help="MMLU on all 14,042 questions, not the 570 subset")
    ap.add_argument('--mmlu', default=os.environ.get('MMLU_DIR', 'data/mmlu'), help="MMLU data (see eval_mmlu.py)")
    args, extra = ap.parse_known_args() # anything else is a train.py override for every arm, --key=value
    if any(not (e.startswith('--') and '=' in e) for e in extra):
        ap.error(f"unknown arguments {extra}: train.py overrides are --key=value")
    here = os.path.dirname(os.path.abspath(__file__))
    config = os.path.join(here, 'config', {'cpu': 'cpu.py', 'gpu': 'gpu_small.py'}[args.scale])
    train = os.path.join(here, 'train.py')
    root = f'out/compare_{args.scale}'
    iters = [f'--max_iters={args.max_iters}', f'--lr_decay_iters={args.max_iters}'] if args.max_iters else []
    runs = [(f'{name}_s{seed}', over + [f'--seed={seed}']) for name, over, seeds in ARMS for seed in seeds]
    py = sys.executable

    # the estimate first: one short timed run of the first arm's shape
    t0 = time.time()
    max_iters = args.max_iters or int(re.search(r'max_iters = ([\d_]+)', open(config).read())[1])
    todo = [r for r in runs if not finished(os.path.join(root, r[0]), max_iters)]
    print(f"{len(runs)} runs of {max_iters} steps ({len(todo)} to train) on {config}", flush=True)
    if todo and args.scale == 'cpu':
        probe = subprocess.run([py, train, config, '--max_iters=6', '--eval_iters=1', '--log_interval=3',
                                f'--out_dir={root}/_probe', *extra], capture_output=True, text=True)
        ms = [float(m) for m in re.findall(r'time ([\d.]+)ms', probe.stdout)][-1:] or [0]
        print(f"estimate: {len(todo)} x {max_iters} steps x {ms[0] / 1000:.2f}s = "
              f"{len(todo) * max_iters * ms[0] / 60000:.0f} minutes of training, plus evaluation", flush=True)

    baseline = None
    for k, (name, over) in enumerate(runs):
        out_dir = os.path.join(root, name)
        cmd = [py, train, config, f'--out_dir={out_dir}', *over, *iters, *extra]
        if finished(out_dir, max_iters):
            print(f"[{k + 1}/{len(runs)}] {name}: done before, kept", flush=True)
        else:
            if os.path.exists(os.path.join(out_dir, 'ckpt.pt')):
                cmd.append('--init_from=resume')
            print(f"[{k + 1}/{len(runs)}] {name}: $ {' '.join(cmd)}  ({(time.time() - t0) / 60:.0f} min so far)", flush=True)
            r = subprocess.run(cmd, capture_output=True, text=True)
            with open(os.path.join(out_dir, 'train.log'), 'a') as f:
                f.write(r.stdout + r.stderr)
            if r.returncode != 0:
                sys.exit(f"compare.py: {name} failed:\n{r.stderr[-2000:]}")
        if baseline is None:
            m = re.search(r'unigram baseline: ([\d.]+)', open(os.path.join(out_dir, 'train.log')).read())
            baseline = float(m[1]) if m else None

    # evaluation, in this process: the checkpoints carry everything
    import eval_mmlu
    from model import load_checkpoint
    from eval_data import task_path
    from eval_tasks import TASKS
    have_mmlu = os.path.exists(args.mmlu)
    if not have_mmlu:
        print(f"MMLU skipped: no data at {args.mmlu}; `python eval_data.py` puts it in place")
    tasks = [t for t in TASKS if os.path.exists(task_path(t))]
    if len(tasks) < len(TASKS):
        print(f"skipped, no data: {', '.join(t for t in TASKS if t not in tasks)}; `python eval_data.py` puts it in place")
    task_limit = None if args.scale == 'gpu' else 200
    results, curves = {}, {}
    for name, _ in runs:
        out_dir = os.path.join(root, name)
        log = [json.loads(line) for line in open(os.path.join(out_dir, 'log.jsonl'))]
        curves[name] = sorted({e['iter']: e['val_bpb'] for e in log}.items())
        res = dict(val_loss=log[-1]['val_loss'], val_bpb=log[-1]['val_bpb'], iters=log[-1]['iter'],
                   tokens=log[-1]['tokens'])
        if have_mmlu or tasks:
            model, tok = load_checkpoint(os.path.join(out_dir, 'ckpt.pt'))
        for t in tasks:
            st = eval_mmlu.evaluate_task(model, tok, t, task_path(t), task_limit, 'standard', verbose=False)['summary']['standard']
            res.setdefault('tasks', {})[t] = {k: st[k] for k in ('accuracy', 'acc_norm', 'chance', 'n') if k in st}
        if have_mmlu:
            data, _ = eval_mmlu.load_mmlu(args.mmlu, shots=5)
            limit = None if args.full else 10
            for gen in (1, 2):
                s = eval_mmlu.evaluate(model, tok, data, limit=limit, protocol='both' if gen == 1 else 'paper',
                                       gen_tokens=gen, verbose=False)['summary']
                if gen == 1:
                    res['standard'] = s['standard']['accuracy']
                    res['most_common_gold'] = s['standard']['most_common_gold']['accuracy']
                res[f'paper_{gen}'] = {k: s['paper'][k] for k in ('accuracy', 'parse_rate', 'whitespace_first_share')}
        results[name] = res
        print(f"{name}: val bpb {res['val_bpb']:.4f}", flush=True)

    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, 'results.json'), 'w') as f:
        json.dump(dict(config=config, max_iters=max_iters, unigram_bpb=baseline, runs=results, curves=curves), f, indent=1)
    plot(curves, os.path.join(root, 'val_bpb.png'), baseline or min(y for c in curves.values() for _, y in c))
    print(f"\nunigram baseline {baseline} bits per byte; {max_iters} steps per run")
    head = f"{'run':16s} {'val loss':>8s} {'val bpb':>8s}"
    if have_mmlu:
        head += f" {'MMLU std':>8s} {'paper@1':>8s} {'parse@1':>8s} {'ws@1':>6s} {'paper@2':>8s} {'parse@2':>8s}"
    print(head)
    for name, r in results.items():
        line = f"{name:16s} {r['val_loss']:8.4f} {r['val_bpb']:8.4f}"
        if have_mmlu:
            p1, p2 = r['paper_1'], r['paper_2']
            line += (f" {r['standard']:8.1%} {p1['accuracy']:8.1%} {p1['parse_rate']:8.1%} {p1['whitespace_first_share']:6.1%}"
                     f" {p2['accuracy']:8.1%} {p2['parse_rate']:8.1%}")
        print(line)
    if tasks:
        chance = ', '.join(f"{t} {results[runs[0][0]]['tasks'][t]['chance']:.1%}" for t in tasks)
        subset = 'all questions' if task_limit is None else f"first {task_limit} questions"
        print(f"\nlm-eval prompt and metric, validation split, {subset} (acc; chance: {chance})")
        print(f"{'run':16s} " + ' '.join(f"{t[:14]:>14s}" for t in tasks))
        for name, r in results.items():
            print(f"{name:16s} " + ' '.join(f"{r['tasks'][t]['accuracy']:14.1%}" for t in tasks))
    print(f"wrote {root}/results.json and {root}/val_bpb.png")
