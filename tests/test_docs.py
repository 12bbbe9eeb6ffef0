"""
The docs are checked like code (the checker: tests/doclint.py). README.md's first code block is what
.ci/run runs; every relative link in README.md and docs/*.md resolves; and every command line that runs
one of the project's scripts names a script that exists, with only the flags that script accepts. The
crafted pages below hold the checker to what it must catch and what it must let pass.
"""
import glob
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import ROOT
from doclint import NO_ARGS, ci_block, command_problems, commands, help_text, link_problems, read

PAGES = [os.path.join(ROOT, 'README.md')] + sorted(glob.glob(os.path.join(ROOT, 'docs', '*.md')))
QUICKSTART = ['bash setup.sh && .venv/bin/python main.py',
              'bash setup.sh --extras && .venv/bin/python prepare.py && .venv/bin/python eval_data.py '
              '&& .venv/bin/python -m pytest -q -n 2']

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
    "python -m experiments.bench tokeniser",                         # no such section
    "python bench.py tokenizer",                                     # an experiment run as a top-level script
    "python nosuch.py",                                              # no such script
    "python main.py --fast",                                         # main.py takes nothing
    "python train.py config/cpu.py --max_itres=3",                   # no such config key
    "python train.py config/nope.py",                                # no such config file
    "python train.py config/cpu.py --max_iters=abc",                 # the wrong type
    "torchrun --standalone --nproc_per_node=2 train.py config/cpu.py --bogus=1",
    "python -m experiments.compare --scale gpu --n_layr=2",          # passed on, but train.py has no such key
    "python -m experiments.compare_growth --stages 2,2 --bogus 3",   # not --key=value: no such flag
    "MMLU_DIR=/data .venv/bin/python eval_mmlu.py ckpt.pt --protocol papers",
]
GOOD = [
    "python -m experiments.compare --max_iters 150 --eval_interval=50",
    "python -m experiments.compare_fusion --languages ru,zh --n_layer=2",
    "MMLU_DIR=<dir> .venv/bin/python main.py",
    "$ python train.py config/<name>.py --max_iters=... --embedding=trainable",
    "python prepare.py --name books --input books/*.txt --separator '\\n\\n\\n' --vocab_size 16384  # a comment",
    "bash setup.sh && .venv/bin/python -m pytest -q",
    "torchrun --standalone --nproc_per_node=8 train.py config/frozen.py",
    "python train.py --help",
    "python -m experiments.bench model --nanogpt /tmp/nanogpt",
    "python tokenizer.py train --input a.txt b.txt --vocab_size 65536 --layout codepoint --out tok.json",
    "python tokenizer_train.py --input a.txt --vocab_size 512 --out t.json",
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
