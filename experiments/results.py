"""
How an experiment's results reach the docs so that each number can be checked: the experiment writes a
small summary (docs/<page>_<experiment>.json: per-run figures, intervals, the command and commit), and
its tables(summary) makes every result table from that file alone. A page holds each table between
`<!-- table MODULE:NAME -->` and `<!-- /table -->`; write_tables() fills them in, and
tests/test_results.py regenerates them from the committed summary and fails on any difference.
"""
import json
import os
import platform

from util import atomic_write

def machine():
    """what the numbers were measured on, in words: the CPU's model name, cores, torch"""
    import torch # here, not at the top: the summaries' other helpers need none of it
    cpu = platform.processor() or 'unknown CPU'
    if os.path.exists('/proc/cpuinfo'):
        names = [line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo')
                 if line.startswith('model name')]
        cpu = names[0] if names else cpu
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}"

def save_summary(path, summary):
    """the summary as indented JSON, replaced whole"""
    atomic_write(path, lambda f: f.write(json.dumps(summary, indent=1) + '\n'), 'w')

def write_tables(page, module, tabs):
    """put each table of tabs {NAME: markdown} between its markers in page; a table without markers in the
    page is left out (the page chooses what it shows)"""
    text = open(page).read()
    for name, md in tabs.items():
        head, tail = f'<!-- table {module}:{name} -->', '<!-- /table -->'
        if head in text:
            a = text.index(head) + len(head)
            text = text[:a] + '\n' + md + '\n' + text[text.index(tail, a):]
    atomic_write(page, lambda f: f.write(text), 'w')
