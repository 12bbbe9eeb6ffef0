"""
The main job's figures as a summary the README's tables are made from. main.py trains config/cpu.py on
the default corpus and evaluates it, leaving everything in out/cpu/; this reads it back:
    python main.py                            # the run (out/cpu/)
    python -m experiments.main_job            # its summary and tables, printed
    python -m experiments.main_job --docs     # written to docs/main_job.json, the README's and
                                              # docs/evaluation.md's tables
The three tasks main.py does not run are read where they were scored into out/cpu/more_tasks.json, and
lm-evaluation-harness's run on the same checkpoint from out/cpu/harness.json, where these wrote them:
    python eval_mmlu.py out/cpu/ckpt.pt --task sciq,piqa,hellaswag --out out/cpu/more_tasks.json
    python eval_harness.py out/cpu/ckpt.pt --limit 200 --compare --out out/cpu/harness.json
The summary keeps train.py's val curve (its fixed windows, spread over the val split) beside the final
checkpoint's bits per byte over the *whole* val split (the two differ: windows are a sample), the three
unigram baselines of experiments/sweep.py, the stage times main.py recorded, each benchmark's accuracy
under both protocols with its chance and always-the-commonest-letter baselines, the machine, the
command and the commit. It computes only the whole-split score and the baselines; every other figure is
read from what the run wrote.
"""
import argparse
import json
import os

from experiments.results import machine, save_summary, write_tables
from experiments.rarity import bpb, dataset_dir, evaluating, val_scores
from experiments.runs import ROOT
from experiments.sweep import unigram
from util import git_commit

SUMMARY = os.path.join(ROOT, 'docs', 'main_job.json')
PAGES = [os.path.join(ROOT, 'README.md'), os.path.join(ROOT, 'docs', 'evaluation.md')]
TASKS = [('mmlu', 'MMLU'), ('arc_easy', 'ARC-Easy'), ('arc_challenge', 'ARC-Challenge'),
         ('commonsense_qa', 'CommonsenseQA'), ('sciq', 'SciQ'), ('piqa', 'PIQA'), ('hellaswag', 'HellaSwag')]
MAIN_TASKS = 4 # main.py evaluates the first four; the README shows those

def protocol(r):
    """one protocol's figures as the tables print them"""
    keep = ('accuracy', 'ci95', 'n', 'chance', 'acc_norm', 'parse_rate', 'gen_tokens', 'shots')
    return {**{k: r[k] for k in keep if k in r}, 'always': r.get('most_common_gold')}

def summarise(out_dir):
    """out_dir of main.py's run -> the summary dict"""
    with evaluating([os.path.join(out_dir, 'ckpt.pt')]) as (model, _, _):
        config, params = model.checkpoint['config'], model.get_num_params()
        whole = bpb(*val_scores(model, dataset_dir(model)))
    log = [json.loads(line) for line in open(os.path.join(out_dir, 'log.jsonl'))]
    stages = json.load(open(os.path.join(out_dir, 'main.json')))
    results = json.load(open(os.path.join(out_dir, 'mmlu.json')))
    tasks = {'mmlu': results, **json.load(open(os.path.join(out_dir, 'tasks.json')))}
    more = os.path.join(out_dir, 'more_tasks.json')
    if os.path.exists(more):
        got = json.load(open(more))
        tasks.update({got['summary']['task']: got} if 'summary' in got else got) # one task, or several
    summary = dict(command='python main.py', commit=git_commit(), machine=machine(),
                config={k: config[k] for k in ('n_layer', 'n_head', 'n_embd', 'block_size', 'batch_size',
                                               'max_iters', 'embedding', 'dtype', 'compile')},
                parameters=params, tokens=log[-1]['tokens'],
                curve=[{k: e[k] for k in ('iter', 'tokens', 'val_bpb')} for e in log],
                whole_val_bpb=whole, unigram=unigram(os.path.join('data', config['dataset'])), stages=stages,
                tasks={t: {'n_questions': tasks[t]['summary']['n_questions'],
                           **{p: protocol(tasks[t]['summary'][p]) for p in ('standard', 'paper')
                              if tasks[t]['summary'].get(p)}} for t, _ in TASKS if t in tasks})
    path = os.path.join(out_dir, 'harness.json')
    if os.path.exists(path):
        summary['harness'] = harness(json.load(open(path)))
    return summary

def harness(h):
    """eval_harness.py's --out file -> its command, times, and per task lm-eval's metrics beside the agreement
    of its predictions with eval_mmlu.py's (--compare)"""
    res, agree, tasks = h['results'], h.get('agreement', {}), {}
    for t, _ in TASKS:
        if t not in res['results']:
            continue
        r = res['results'][t] # keys 'acc,none', 'acc_norm,none', 'acc_stderr,none', ...
        n = agree[t]['n'] if t in agree else r.get('sample_len') or res['n-samples'][t]['effective']
        tasks[t] = dict(n=n, agreement=agree.get(t), **{k.split(',')[0]: v for k, v in r.items()
                                                         if k.split(',')[0] in ('acc', 'acc_norm')})
    return dict(command=h.get('command'), wall_s=h['wall_s'], compare_wall_s=h.get('compare_wall_s'),
                lm_eval=res.get('lm_eval_version'), tasks=tasks)

# -----------------------------------------------------------------------------
# the tables: markdown from the summary alone (tests/test_results.py holds the README to them)

def pct(x):
    return f"{100 * x:.1f}%"

def agreement(a):
    """two cells: how many of the harness's predictions eval_mmlu.py's equal, and the largest gap between
    their per-choice log-likelihoods; dashes where the run had no --compare"""
    if not a:
        return '- | -'
    ties = f" (+{a['near_ties']} near ties)" if a['near_ties'] else ''
    return f"{a['agree']:,} / {a['n']:,}{ties} | {a['max_abs_diff_nats']:.1e}"

def always(t):
    """the always-the-commonest-letter baseline of a task: the gold letters are the same under both protocols,
    and eval_mmlu.py reports it with whichever one poses letters"""
    found = [t[p]['always'] for p in ('standard', 'paper') if t.get(p) and t[p].get('always')]
    return found[0] if found else None

def tables(s):
    steps = [e for e in s['curve'] if e['iter'] % 100 == 0]
    curve = '\n'.join(['| step | ' + ' | '.join(str(e['iter']) for e in steps) + ' | whole val split |',
                       '| --- ' * (len(steps) + 2) + '|',
                       '| val bits per byte | ' + ' | '.join(f"{e['val_bpb']:.2f}" for e in steps)
                       + f" | **{s['whole_val_bpb']:.2f}** |"])
    rows = ["| task (questions) | standard protocol | paper's protocol | chance | always the most common "
            "letter |", '| --- | --- | --- | --- | --- |']
    for task, title in TASKS[:MAIN_TASKS]:
        if task not in s['tasks']:
            continue
        t = s['tasks'][task]
        st, pa = t['standard'], t['paper']
        how = f"{st['shots']}-shot" if 'shots' in st else 'acc'
        norm = f" (acc_norm {pct(st['acc_norm'])})" if 'acc_norm' in st else ''
        rows.append(f"| {title} ({t['n_questions']:,}), {how} / {pa['gen_tokens']} token(s) | "
                    f"{pct(st['accuracy'])} +- {100 * st['ci95']:.1f}{norm} | {pct(pa['accuracy'])} | "
                    f"{pct(st['chance'])} | {pct(always(t)['accuracy'])} ({always(t)['label']}) |")
    every = ["| task | questions | acc (standard) | acc_norm | paper's protocol | chance | most common "
             "letter |", '| --- | --- | --- | --- | --- | --- | --- |']
    for task, title in TASKS:
        if task not in s['tasks']:
            continue
        t = s['tasks'][task]
        st, pa = t['standard'], t.get('paper')
        paper = f"{pct(pa['accuracy'])} ({pa['gen_tokens']} token(s))" if pa else '-'
        common = pct(always(t)['accuracy']) if always(t) else '-'
        every.append(f"| {title} | {t['n_questions']:,} | {pct(st['accuracy'])} +- {100 * st['ci95']:.1f} | "
                     f"{pct(st['acc_norm']) if 'acc_norm' in st else '-'} | {paper} | {pct(st['chance'])} | "
                     f"{common} |")
    out = {'curve': curve, 'benchmarks': '\n'.join(rows), 'all_tasks': '\n'.join(every)}
    if s.get('harness'):
        rows = ["| task | questions | acc | acc_norm | predictions equal to eval_mmlu.py's "
                "| largest gap (nats) |", '| --- | --- | --- | --- | --- | --- |']
        for task, title in TASKS:
            t = s['harness']['tasks'].get(task)
            if t:
                norm = pct(t['acc_norm']) if 'acc_norm' in t else '-'
                rows.append(f"| {title} | {t['n']:,} | {pct(t['acc'])} | {norm} | "
                            f"{agreement(t['agreement'])} |")
        out['harness'] = '\n'.join(rows)
    return out

if __name__ == '__main__':
    ap = argparse.ArgumentParser(description="the main job's summary and the README's tables, from out/cpu/")
    ap.add_argument('--out_dir', default='out/cpu', help="main.py's run (default out/cpu)")
    ap.add_argument('--docs', action='store_true', help="write docs/main_job.json and the README's tables")
    args = ap.parse_args()
    missing = [f for f in ('ckpt.pt', 'log.jsonl', 'main.json', 'mmlu.json', 'tasks.json')
               if not os.path.exists(os.path.join(args.out_dir, f))]
    if missing:
        ap.error(f"{args.out_dir} lacks {', '.join(missing)}: run python main.py to the end first")
    summary = summarise(args.out_dir)
    for name, md in tables(summary).items():
        print(f"\n{name}:\n{md}")
    print(f"\nwhole val split {summary['whole_val_bpb']:.4f} bpb; unigram {summary['unigram']}; "
          f"stages {summary['stages']}")
    if args.docs:
        save_summary(SUMMARY, summary)
        for page in PAGES:
            write_tables(page, 'main_job', tables(summary))
        print(f"wrote {os.path.relpath(SUMMARY, ROOT)} and the tables of README.md and docs/evaluation.md")
