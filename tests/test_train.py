"""train.py and sample.py end to end on a tiny dataset: learning, exact resume, SIGTERM, bad config, help."""
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import types

import pytest
import torch

import util
from conftest import ROOT, TINY, last_log_entry, losses, run, train_defaults
from grow import stage_seed
from model import load_checkpoint
from util import configure, inference_dtype, native_bf16, read_globals, resolve_dtype

def test_tiny_run_lowers_the_loss_and_samples(work):
    r = run(['--dataset=tiny', '--out_dir=out_learn', '--max_iters=40', '--eval_interval=20', *TINY], work)
    # the baseline train.py prints is the one the experiments' summaries keep under its name
    from experiments.sweep import unigram
    printed = float(re.search(r'unigram baseline: ([\d.]+)', r.stdout)[1])
    kept = unigram(str(work / 'data' / 'tiny'))['train_entropy_per_train_byte']
    assert printed == pytest.approx(kept, abs=1e-4)
    log = [json.loads(l) for l in open(work / 'out_learn' / 'log.jsonl')]
    assert [e['iter'] for e in log] == [0, 20, 40]
    assert log[-1]['val_loss'] < log[0]['val_loss'] - 1.0
    assert log[-1]['val_bpb'] < log[0]['val_bpb']
    r = run([str(work / 'out_learn' / 'ckpt.pt'), '--start=the cat', '--num_samples=2', '--max_new_tokens=20'],
            work, script='sample.py')
    text = r.stdout.split('\n', 1)[1] # after GPT's "number of parameters" line
    samples = text.split('---------------')
    assert len(samples) == 3 and all(s.strip().startswith('the cat') for s in samples[:2])

def test_glyph_buffer_survives_training_bit_for_bit(work):
    run(['--dataset=tiny', '--out_dir=out_g0', '--max_iters=1', *TINY], work)
    run(['--dataset=tiny', '--out_dir=out_g5', '--max_iters=5', *TINY], work)
    m0, _ = load_checkpoint(str(work / 'out_g0' / 'ckpt.pt'))
    m5, tok = load_checkpoint(str(work / 'out_g5' / 'ckpt.pt'))
    assert torch.equal(m0.transformer.wte.weight, m5.transformer.wte.weight)
    assert not torch.equal(m0.lm_head.weight, m5.lm_head.weight)
    assert m5.checkpoint['iter_num'] == 5 and 'glyph_key' in m5.checkpoint['provenance']

def test_a_table_free_run_trains_samples_and_grows(work):
    # embedding='affine' through the scripts: its map (A, b) is all the checkpoint holds of the input
    args = ['--dataset=tiny', '--embedding=affine', *TINY]
    run([*args, '--out_dir=out_affine', '--max_iters=3', '--embedding_seed=5'], work)
    ckpt = work / 'out_affine' / 'ckpt.pt'
    src = torch.load(ckpt, weights_only=True)['model']
    assert {k for k in src if k.startswith('transformer.wte')} == {'transformer.wte.A', 'transformer.wte.b'}
    r = run([str(ckpt), '--start=the cat', '--num_samples=1', '--max_new_tokens=5'], work, script='sample.py')
    assert r.stdout.split('\n', 1)[1].strip().startswith('the cat')
    # a growth stage keeps the source's map: its seed (5) is read from the checkpoint, not from this run (42)
    run([*args, '--n_layer=2', '--init_from=grow', f'--grow_from={ckpt}', '--out_dir=out_affine2',
         '--max_iters=2', f'--seed={stage_seed(1337, 2)}'], work)
    grown = torch.load(work / 'out_affine2' / 'ckpt.pt', weights_only=True)['model']
    assert all(torch.equal(grown[k], src[k]) for k in ('transformer.wte.A', 'transformer.wte.b'))

@pytest.mark.parametrize('dtype', ['float32', 'bfloat16']) # bfloat16: autocast on CPU as well
def test_exact_resume(work, dtype):
    # an uninterrupted run of 8 steps, against 5 steps then a resume to 8; dropout on, so its masks count too
    args = ['--dataset=tiny', '--eval_interval=4', '--dropout=0.1', '--embedding=trainable', *TINY, f'--dtype={dtype}']
    full = run([*args, f'--out_dir=out_full_{dtype}', '--max_iters=8'], work)
    assert ('bfloat16 autocast' in full.stdout) == (dtype == 'bfloat16')
    run([*args, f'--out_dir=out_cut_{dtype}', '--max_iters=5'], work)
    resumed = run([*args, f'--out_dir=out_cut_{dtype}', '--max_iters=8', '--init_from=resume'], work)
    a, b = losses(full.stdout), losses(resumed.stdout)
    assert sorted(b) == [5, 6, 7] and all(a[k] == b[k] for k in b), (a, b)
    sa = torch.load(work / f'out_full_{dtype}' / 'ckpt.pt', weights_only=True)
    sb = torch.load(work / f'out_cut_{dtype}' / 'ckpt.pt', weights_only=True)
    assert all(torch.equal(sa['model'][k], sb['model'][k]) for k in sa['model']) # bit for bit
    assert all(v.dtype == torch.float32 for v in sa['model'].values()) # weights stay float32 under autocast
    final = last_log_entry(work / f'out_full_{dtype}')['val_loss']
    assert final == last_log_entry(work / f'out_cut_{dtype}')['val_loss']
    with open(work / f'out_full_{dtype}' / 'log.jsonl') as f:
        assert final < json.loads(f.readline())['val_loss']

def test_compiled_training_on_cpu_matches_eager(work):
    # torch.compile on CPU: inductor's C++ kernels give the eager losses up to float rounding
    args = ['--dataset=tiny', '--max_iters=3', '--eval_interval=3', *TINY]
    eager = losses(run([*args, '--out_dir=out_eager'], work).stdout)
    compiled = run([*args, '--out_dir=out_compiled', '--compile=True'], work)
    assert 'compiling the model' in compiled.stdout
    c = losses(compiled.stdout)
    assert sorted(c) == sorted(eager) == [0, 1, 2]
    assert all(abs(float(c[k]) - float(eager[k])) < 1e-3 for k in c), (c, eager)
    # without a compiler: eager, saying so in one sentence that names the fix
    r = run([*args, '--out_dir=out_nocxx', '--compile=True'], work, env={'CXX': '', 'PATH': '/nonexistent'})
    assert 'needs a C++ compiler' in r.stdout and 'training eager instead' in r.stdout and 'compiling the model' not in r.stdout
    assert losses(r.stdout) == eager
    assert torch.load(work / 'out_nocxx' / 'ckpt.pt', weights_only=True)['config']['compile'] is False

def test_sigterm_writes_a_loadable_checkpoint(work):
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, 'train.py'), '--dataset=tiny', '--out_dir=out_term',
                          '--max_iters=100000', '--eval_interval=100000', *TINY], cwd=work,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in p.stdout:
        if line.startswith('iter 3:'):
            p.send_signal(signal.SIGTERM)
            break
    out = p.communicate(timeout=120)[0]
    assert p.returncode == 0 and 'stopping at iter' in out
    model, tok = load_checkpoint(str(work / 'out_term' / 'ckpt.pt'))
    assert model.checkpoint['iter_num'] >= 4
    assert [f for f in os.listdir(work / 'out_term') if f.endswith('.tmp')] == []

def test_diverging_loss_stops_and_keeps_the_last_checkpoint(work):
    run(['--dataset=tiny', '--out_dir=out_nan', '--max_iters=2', *TINY], work)
    before = (work / 'out_nan' / 'ckpt.pt').read_bytes()
    r = run(['--dataset=tiny', '--out_dir=out_nan', '--max_iters=50', '--init_from=resume', '--learning_rate=1e30',
             '--grad_clip=0.0', '--eval_interval=2', *TINY[:-1]], work, check=False)
    assert r.returncode != 0 and 'training diverged' in r.stderr and 'Traceback' not in r.stderr
    assert (work / 'out_nan' / 'ckpt.pt').read_bytes() == before # untouched: nothing new was saved

def test_bad_config_is_one_clear_error(work, capsys):
    for argv, message in [(['--nope=1'], "unknown config key 'nope'"), (['--batch_size=abc'], 'batch_size is a int'),
                          (['config/missing.py'], 'config file config/missing.py not found')]:
        with pytest.raises(SystemExit, match=re.escape(message)):
            configure({'batch_size': 8, 'dataset': 'default'}, argv)
    # a dataset that was never prepared: train.py itself says what to run, with no traceback
    r = run(['--dataset=absent', *TINY], work, check=False)
    assert r.returncode != 0 and 'run `python prepare.py`' in r.stderr and 'Traceback' not in r.stderr
    r = run(['--dataset=tiny', '--embedding=glyphs', *TINY], work, check=False) # a model setting, too
    assert r.returncode != 0 and "unknown embedding 'glyphs'" in r.stderr and 'Traceback' not in r.stderr

def test_shard_of_another_tokenizer_is_refused(work):
    shutil.copytree(work / 'data' / 'tiny', work / 'data' / 'mixed')
    meta = json.load(open(work / 'data' / 'mixed' / 'meta.json'))
    other = json.load(open(work / 'data' / 'other' / 'meta.json'))
    shutil.copy(work / 'data' / 'other' / other['shards']['val'][0], work / 'data' / 'mixed' / meta['shards']['val'][0])
    r = run(['--dataset=mixed', '--out_dir=out_mixed', '--max_iters=1', *TINY], work, check=False)
    assert r.returncode != 0 and 'tokenizer' in r.stderr and 'Traceback' not in r.stderr

def test_every_config_file_sets_only_known_keys_of_the_right_type():
    defaults = train_defaults()
    cwd = os.getcwd()
    os.chdir(ROOT) # the twins exec config/frozen.py by its relative path, as train.py runs them
    try:
        for name in sorted(os.listdir(os.path.join(ROOT, 'config'))):
            config = dict(defaults)
            configure(config, [os.path.join('config', name)])
            assert set(config) == set(defaults), name
            if name.startswith(('frozen', 'trainable')): # the paper's shape, whatever the embedding
                assert (config['n_layer'], config['n_embd'], config['n_head'], config['block_size']) == (16, 1024, 32, 1024)
            # the embedding a file's name promises; each file writes to its own out_dir
            promised = next((e for e in ('binary', 'random', 'trainable') if e in name), 'glyph')
            assert config['embedding'] == promised, name
            if name != 'cpu.py':
                assert config['out_dir'] != defaults['out_dir'], name
    finally:
        os.chdir(cwd)

FIXED_SOURCE = """import os
# -----------------------------------------------------------------------------
# data
batch = 8 # sequences per step
name = 'x'
# model
wide = os.cpu_count() # computed when the script starts
config_keys = []
late = 1 # below config_keys: not a config key
"""

def test_help_reads_the_globals_and_their_comments(tmp_path, capsys):
    (tmp_path / 'script.py').write_text(FIXED_SOURCE)
    assert read_globals(str(tmp_path / 'script.py')) == [
        ('batch', '8', 'sequences per step', 'data'), ('name', "'x'", '', 'data'),
        ('wide', 'os.cpu_count()', 'computed when the script starts', 'model')]
    config = {'batch': 8, 'name': 'x', 'wide': 4}
    with pytest.raises(SystemExit) as e:
        configure(config, ['--batch=16', '-h', '--nope=1'], source=str(tmp_path / 'script.py'))
    assert e.value.code == 0 # printed, then stopped: nothing after -h is read
    out = capsys.readouterr().out
    assert '\n# data\n  batch = 16' in out and out.index('# data') < out.index('# model') # its value so far
    assert re.search(r"  wide = 4 +computed when the script starts \[default: os.cpu_count\(\)\]", out)

def test_train_help_prints_every_key_with_its_comment_and_exits(work):
    keys = read_globals(os.path.join(ROOT, 'train.py'))
    assert len(keys) == len(train_defaults()) > 30
    for flag in ('--help', '-h'):
        r = run([flag], work)
        assert 'tokens per iteration' not in r.stdout # no training
        for name, value, comment, _ in keys:
            assert comment, f"train.py's {name} has no comment: the comments are its --help"
            assert re.search(rf"^  {name} = .* {re.escape(comment)}", r.stdout, re.M), name
    r = run([os.path.join(ROOT, 'config', 'cpu.py'), '--batch_size=3', '--help'], work)
    assert "  out_dir = 'out/cpu'" in r.stdout and '  batch_size = 3 ' in r.stdout # the values so far

def test_compare_runs_every_arm_and_seed_and_keeps_finished_ones(work):
    # launched as the docs launch it, `python -m experiments.compare`, with the repository on the path
    args = [sys.executable, '-m', 'experiments.compare', '--max_iters=2', '--mmlu=absent', '--dataset=tiny',
            '--arms=glyph,trainable', '--seeds=2', '--eval_interval=1',
            *[a for a in TINY if not a.startswith(('--warmup', '--learning'))]]
    env = {**os.environ, 'PYTHONPATH': ROOT}
    # one task's data in place (made up, piqa's schema): the others are skipped, saying so
    os.makedirs(work / 'data' / 'eval', exist_ok=True)
    with open(work / 'data' / 'eval' / 'piqa.jsonl', 'w') as f:
        f.writelines(json.dumps({'goal': f'To {w} a cat,', 'sol1': 'use a mat.', 'sol2': 'sit on it.', 'label': i % 2}) + '\n'
                     for i, w in enumerate(['see', 'find', 'feed']))
    r = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert '2 arms (glyph, trainable) x 2 seeds (1337, 1338) x 2 steps' in r.stdout # choices first
    assert 'MMLU skipped' in r.stdout and 'tasks piqa, first 200 questions each' in r.stdout
    res = json.load(open(work / 'out' / 'compare_cpu_2' / 'results.json'))
    assert sorted(res['runs']) == sorted(f"{a}_s{s}" for a in ('glyph', 'trainable') for s in (1337, 1338))
    assert all(len(v['curve']) == 3 and v['tasks']['piqa']['n'] == 3 for v in res['runs'].values()) # steps 0, 1, 2
    # the arm's mean and the pair's paired difference come from the runs' whole-split bits per byte
    g = [res['runs'][f'glyph_s{s}']['val_bpb'] for s in (1337, 1338)]
    t = [res['runs'][f'trainable_s{s}']['val_bpb'] for s in (1337, 1338)]
    assert abs(res['arms']['glyph']['val_bpb'][0] - sum(g) / 2) < 1e-12
    assert abs(res['pairs']['glyph - trainable']['mean'] - (g[0] - t[0] + g[1] - t[1]) / 2) < 1e-12
    assert 'paired differences' in r.stdout and (work / 'out' / 'compare_cpu_2' / 'rarity.png').exists()
    again = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert again.returncode == 0 and again.stdout.count('trained before, kept') == 4

BF16_CPU = 'flags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n'
PLAIN_CPU = 'flags\t\t: fpu sse2 avx2 avx512f avx512bw\n'

def with_dtype(dtype):
    """a stand-in for a loaded checkpoint's model: inference_dtype reads model.checkpoint['config']"""
    return types.SimpleNamespace(checkpoint={'config': {'dtype': dtype}})

def test_precision_rule(tmp_path, monkeypatch):
    # 'auto': bfloat16 where the CPU multiplies it natively, read from /proc/cpuinfo's flags; float32 otherwise
    cases = [(BF16_CPU, True), ('flags\t\t: fpu amx_bf16 amx_tile\n', True),
             ('Features\t: fp asimd bf16 i8mm\n', True), (PLAIN_CPU, False)]
    for text, native in cases:
        (tmp_path / 'cpuinfo').write_text(text)
        assert native_bf16(str(tmp_path / 'cpuinfo'))[0] == native, text
    ok, why = native_bf16(str(tmp_path / 'missing'))
    assert not ok and 'cannot be read' in why
    assert resolve_dtype('float32', 'cpu') == ('float32', 'as asked')
    # sampling and evaluation follow the checkpoint's dtype
    assert inference_dtype(with_dtype('float32'), 'cpu')[0] == 'float32'
    assert inference_dtype(with_dtype('bfloat16'), 'cuda')[0] == 'bfloat16'
    assert inference_dtype(with_dtype('bfloat16'), 'cpu', 'float32')[0] == 'float32' # asked beats checkpoint
    # 'auto' on two fixed CPUs, one with bfloat16 and one without: the rule reads the cpuinfo written here,
    # not this machine's. On a CPU a half-precision checkpoint runs as 'auto' says
    for text, auto in [(BF16_CPU, 'bfloat16'), (PLAIN_CPU, 'float32')]:
        cpuinfo = tmp_path / f'{auto}.cpuinfo'
        cpuinfo.write_text(text)
        monkeypatch.setattr(util, 'native_bf16', functools.partial(native_bf16, str(cpuinfo)))
        assert resolve_dtype('auto', 'cpu')[0] == auto
        assert inference_dtype(with_dtype('bfloat16'), 'cpu')[0] == auto
        assert inference_dtype(with_dtype('float16'), 'cpu')[0] == auto

def test_auto_dtype_is_resolved_printed_and_kept(work):
    expected, why = resolve_dtype('auto', 'cpu')
    r = run(['--dataset=tiny', '--out_dir=out_auto', '--max_iters=2', *TINY, '--dtype=auto'], work)
    assert f"({why})" in r.stdout and (expected == 'bfloat16') == ('bfloat16 autocast' in r.stdout)
    ckpt = torch.load(work / 'out_auto' / 'ckpt.pt', weights_only=True)
    assert ckpt['config']['dtype'] == expected # what sample.py and the evaluation follow
    r = run([str(work / 'out_auto' / 'ckpt.pt'), '--start=the cat', '--num_samples=1', '--max_new_tokens=5'],
            work, script='sample.py')
    assert r.stdout.split('\n', 1)[1].strip().startswith('the cat')
