"""
Shared test fixtures and helpers. Every test writes only under temporary folders: the glyph cache and the
default corpus's extraction cache are pointed at one for the whole session (subprocesses inherit it).
"""
import ast
import functools
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

from util import read_globals

ROOT = os.path.dirname(os.path.abspath(__file__))
# a model that trains in a fraction of a second per step
TINY = ['--n_layer=1', '--n_head=2', '--n_embd=32', '--block_size=32', '--batch_size=4', '--eval_iters=2',
        '--log_interval=1', '--device=cpu', '--dtype=float32', '--compile=False', '--warmup_iters=2',
        '--learning_rate=3e-3']

CACHES = ('GLYPHGPT_CACHE', 'GLYPHGPT_CORPUS_CACHE')

def pytest_configure(config):
    """the glyph cache and the corpus cache in a temporary folder, never the user's or the checkout's, and
    one thread per process. Set here, before any test module is imported: corpus.py reads its variable at
    import, torch its thread count. Under pytest-xdist (-n 2) the workers inherit the controller's caches,
    so each glyph matrix is built once (the caches write whole files and rename them: no half file is read)"""
    config.glyphgpt_old = {k: os.environ.get(k) for k in (*CACHES, 'OMP_NUM_THREADS')}
    # the tests' models are tiny and gain nothing from threads; on 2 cores a thread spinning beside another
    # test's process (a worker of -n 2, or a run in a subprocess) made such tests many times slower
    os.environ['OMP_NUM_THREADS'] = '1'
    if 'torch' in sys.modules: # imported already (by a plugin): the variable came too late for it
        sys.modules['torch'].set_num_threads(1)
    config.glyphgpt_caches = None
    if 'PYTEST_XDIST_WORKER' in os.environ and all(os.environ.get(k) for k in CACHES):
        return # a worker: the controller made the caches and removes them
    config.glyphgpt_caches = tempfile.mkdtemp(prefix='glyphgpt-test-caches-')
    for k, sub in zip(CACHES, ('glyphs', 'corpus')):
        os.environ[k] = os.path.join(config.glyphgpt_caches, sub)

def pytest_unconfigure(config):
    if config.glyphgpt_caches:
        shutil.rmtree(config.glyphgpt_caches, ignore_errors=True)
    for k, v in config.glyphgpt_old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v

def run(args, cwd, check=True, script='train.py', env=None):
    """one of the project's scripts as a user runs it (env: variables to change); its output, checked for
    success unless check=False. script: a file of the top level ('train.py'), or a research script's
    module ('experiments.compare'), run as `python -m` with the repository on the path from any cwd"""
    env = {**os.environ, **(env or {})}
    if script.endswith('.py'):
        command = [sys.executable, os.path.join(ROOT, script)]
    else:
        command = [sys.executable, '-m', script]
        env['PYTHONPATH'] = os.pathsep.join(p for p in (ROOT, env.get('PYTHONPATH')) if p)
    r = subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env)
    if check:
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return r

def refusal(args, script, capsys, monkeypatch):
    """a research script's command line refused at parsing, run in this process (as `python -m script`, no
    new interpreter: a refusal costs milliseconds, not an import of torch) -> (exit status, its stderr)"""
    import runpy
    monkeypatch.setattr(sys, 'argv', [script, *args])
    monkeypatch.delitem(sys.modules, script, raising=False) # a test module's import of it stays untouched
    with pytest.raises(SystemExit) as e:
        runpy.run_module(script, run_name='__main__', alter_sys=True)
    return e.value.code, capsys.readouterr().err

def last_log_entry(folder):
    """the last line of a run's log.jsonl (folder: a pathlib.Path), parsed"""
    with open(folder / 'log.jsonl') as f:
        return json.loads(f.readlines()[-1])

def losses(stdout):
    """{iter: printed training loss} from train.py's log lines"""
    return {int(m[1]): m[2] for m in re.finditer(r'^iter (\d+): loss ([\d.]+)', stdout, re.M)}

@functools.lru_cache(maxsize=None)
def _train_globals():
    return tuple(read_globals(os.path.join(ROOT, 'train.py')))

def train_defaults():
    """train.py's config globals -> {name: default}, read from its source by the parser behind
    `python train.py --help` (util.read_globals). The defaults computed from torch.cuda (device,
    compile, backend) get stand-ins of their type: compile False, the others 'x'. A new dict at each
    call: change it freely"""
    defaults = {}
    for name, value, _, _ in _train_globals():
        try:
            defaults[name] = ast.literal_eval(value)
        except ValueError: # computed from torch.cuda: device, compile, backend
            defaults[name] = {'compile': False}.get(name, 'x')
    return defaults

def tiny_ckpt(path, data_dir, dataset, seed=0, config=None):
    """a checkpoint as train.py writes one, of an untrained tiny GPT on a prepared dataset (config: more of
    train.py's config to record beside the dataset's name) -> its path"""
    import torch # here, not at the top: most test files never need it
    from model import GPT, GPTConfig
    from prepare import dataset_tokenizer
    tok = dataset_tokenizer(data_dir)
    torch.manual_seed(seed)
    args = dict(block_size=64, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=16,
                embedding='trainable')
    model = GPT(GPTConfig(**args))
    config = dict(dataset=dataset, **(config or {}))
    torch.save(dict(model=model.state_dict(), model_args=args, config=config, iter_num=0, world_size=1,
                    tokenizer=tok.spec, tokenizer_hash=tok.hash, provenance={}), path)
    return str(path)

def unifont():
    """the path of GNU Unifont's BMP file, or None where it is not installed (see skip_without_font)"""
    # here, not at the top: glyphs.py brings torch and Pillow, which most test files never need
    import glyphs
    try:
        return glyphs.find_font()[0]
    except FileNotFoundError:
        return None

def skip_without_font(font):
    """the mark that skips, loudly, a test that needs the font unifont() did not find"""
    reason = "GNU Unifont not installed: sudo apt-get install fonts-unifont"
    return pytest.mark.skipif(font is None, reason=reason)

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
