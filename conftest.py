"""
Shared test fixtures. Every test writes only under temporary folders: the glyph cache and the default
corpus's extraction cache are pointed at one for the whole session (subprocesses inherit it).
"""
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

ROOT = os.path.dirname(os.path.abspath(__file__))
# a model that trains in a fraction of a second per step
TINY = ['--n_layer=1', '--n_head=2', '--n_embd=32', '--block_size=32', '--batch_size=4', '--eval_iters=2',
        '--log_interval=1', '--device=cpu', '--dtype=float32', '--compile=False', '--warmup_iters=2',
        '--learning_rate=3e-3']

CACHES = ('GLYPHGPT_CACHE', 'GLYPHGPT_CORPUS_CACHE')

def pytest_configure(config):
    """the glyph cache and the corpus cache in a temporary folder, never the user's or the checkout's.
    Set here, before any test module is imported: corpus.py reads its variable at import"""
    config.glyphgpt_caches = tempfile.mkdtemp(prefix='glyphgpt-test-caches-')
    config.glyphgpt_old = {k: os.environ.get(k) for k in CACHES}
    for k, sub in zip(CACHES, ('glyphs', 'corpus')):
        os.environ[k] = os.path.join(config.glyphgpt_caches, sub)

def pytest_unconfigure(config):
    shutil.rmtree(config.glyphgpt_caches, ignore_errors=True)
    for k, v in config.glyphgpt_old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v

def run(args, cwd, check=True, script='train.py', env=None):
    """one of the project's scripts as a user runs it (env: variables to change); its output, checked for
    success unless check=False"""
    r = subprocess.run([sys.executable, os.path.join(ROOT, script), *args], cwd=cwd, capture_output=True,
                       text=True, timeout=300, env={**os.environ, **(env or {})})
    if check:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r

def losses(stdout):
    """{iter: printed training loss} from train.py's log lines"""
    return {int(m[1]): m[2] for m in re.finditer(r'^iter (\d+): loss ([\d.]+)', stdout, re.M)}

@pytest.fixture(scope='session')
def work(tmp_path_factory):
    """a folder holding data/tiny (and data/other, another tokenizer) prepared by prepare.py"""
    d = tmp_path_factory.mktemp('train')
    rng = random.Random(0)
    words = 'the cat sat on a mat and saw one dog кот сидел на ковре 猫 坐 在 垫子 上'.split()
    text = '\n\n'.join(' '.join(rng.choice(words) for _ in range(40)) for _ in range(600))
    (d / 'tiny.txt').write_text(text)
    for name, vocab in [('tiny', 512), ('other', 600)]:
        run([f'--name={name}', f'--input={d / "tiny.txt"}', '--tokenizer=train', f'--vocab_size={vocab}',
             '--separator=\n\n', '--val_permille=100'], d, script='prepare.py')
    return d
