"""
Every result table in docs/ is made from a committed summary: between `<!-- table MODULE:NAME -->` and
`<!-- /table -->` a page holds what experiments.MODULE.tables(summary)[NAME] prints, summary being the
JSON file that module names in SUMMARY (docs/<page>_<experiment>.json). These tests regenerate each
table from its summary and compare, so a number edited by hand, or a summary re-run without its page
rewritten (python -m experiments.MODULE --docs), fails here.
"""
import glob
import importlib
import json
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARK = re.compile(r'<!-- table (\w+):(\w+) -->\n(.*?)\n<!-- /table -->', re.S)

def stale_tables(text, summaries=None):
    """[(MODULE:NAME, why)] for each marked table of a page that differs from its summary's"""
    bad = []
    for module, name, body in MARK.findall(text):
        mod = importlib.import_module(f'experiments.{module}')
        path = (summaries or {}).get(module, mod.SUMMARY)
        if not os.path.exists(path):
            bad.append((f'{module}:{name}', f'no summary at {path}'))
            continue
        with open(path) as f:
            want = mod.tables(json.load(f)).get(name)
        if want != body:
            bad.append((f'{module}:{name}', 'differs from its summary'))
    return bad

def test_every_docs_table_equals_its_summary():
    pages = sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md'))) + [os.path.join(ROOT, 'README.md')]
    marked = [p for p in pages if MARK.search(open(p).read())]
    assert marked, "no page has a marked result table"
    for page in marked:
        assert stale_tables(open(page).read()) == [], page

def test_an_edited_number_is_caught(tmp_path):
    from experiments import sweep
    page = open(sweep.PAGE).read()
    m = re.search(r'<!-- table sweep:trend -->\n.*?(\d\.\d{3})', page, re.S)
    assert m, "docs/comparison.md has no sweep:trend table with a number in it"
    edited = page[:m.start(1)] + ('9' if m[1][0] != '9' else '8') + page[m.start(1) + 1:]
    assert stale_tables(page) == []
    assert stale_tables(edited) == [('sweep:trend', 'differs from its summary')]
    assert stale_tables(page, {'sweep': str(tmp_path / 'absent.json')})[0][1].startswith('no summary at')

def test_benchmark_tables_come_from_the_sections_that_ran():
    from experiments import bench
    run = lambda results: dict(command='python -m experiments.bench eval --docs', commit='x', machine='m',
                               date='2026-12-05', load_before=0.1, results=results)
    tasks = [dict(task='mmlu', questions=570, seconds=15.6, both=True),
             dict(task='piqa', questions=1838, seconds=20.5, both=False)]
    summary = {'sections': {'eval': run(dict(questions=570, wall_s=23.0, standard_tokens_per_s=15503.0,
                                             plain_tokens_per_s=15167.0, dtype='torch.bfloat16', tasks=tasks)),
                            'gpu': run(None)}} # a section that was skipped draws nothing
    t = bench.tables(summary)
    assert set(t) == {'eval_forward', 'eval_tasks'}
    assert t['eval_forward'].splitlines()[2] == '| 15,503 | 15,167 | 1.02 | 23 |'
    rows = t['eval_tasks'].splitlines()
    assert rows[0].startswith('| task (bfloat16) |')
    assert rows[2] == '| MMLU | both | 570 | 15.6 | 27.4 | 1.00 |' and rows[3].endswith('| 11.2 | 0.41 |')
