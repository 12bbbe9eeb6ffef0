"""grow.py and train.py's init_from='grow': old blocks (and a stage-1 trainable embedding) bit-identical after a
growth stage, on one process and under 2-rank DDP; new blocks initialised as in a fresh deeper model; exact resume
of a stage; the stage record; every refused input; sampling and fusion of a grown model."""
import os
import subprocess
import sys

import pytest
import torch

from conftest import ROOT, TINY, losses, run
from fusion import load_model
from grow import check_stages, grow_model
from model import GPT, GPTConfig

STAGE = ['--dataset=tiny', '--embedding=trainable', '--eval_interval=3', *TINY]

@pytest.fixture(scope='module')
def stage1(work):
    """a 1-layer model with a trainable embedding, trained 3 steps: the source every test grows"""
    run([*STAGE, '--out_dir=grow_s1', '--max_iters=3'], work)
    return work / 'grow_s1' / 'ckpt.pt'

def grow_args(ckpt, **kw):
    return {**torch.load(ckpt, weights_only=True)['model_args'], **kw}

def old_parts_equal(src, dst):
    a, b = torch.load(src, weights_only=True)['model'], torch.load(dst, weights_only=True)['model']
    old = [k for k in a if k.startswith('transformer.h.0.') or k == 'transformer.wte.weight']
    assert len(old) > 5 and all(torch.equal(a[k], b[k]) for k in old) # frozen: bit for bit
    assert not torch.equal(a['lm_head.weight'], b['lm_head.weight']) # the head trains on
    return b

def test_a_growth_stage_keeps_old_blocks_and_records_itself(work, stage1):
    r = run([*STAGE, '--out_dir=grow_s2', '--max_iters=3', '--n_layer=2', '--init_from=grow', f'--grow_from={stage1}'], work)
    assert '1 frozen layers and 1 new ones' in r.stdout and 'active (trained) parameters' in r.stdout
    ck = torch.load(work / 'grow_s2' / 'ckpt.pt', weights_only=True)
    old_parts_equal(stage1, work / 'grow_s2' / 'ckpt.pt')
    tokens = 3 * 4 * 32 # steps x batch x block
    assert ck['stages'] == [dict(source=None, layers=1, iters=3, tokens=tokens), dict(source=str(stage1), layers=1, iters=3, tokens=tokens)]
    # the grown model samples, and fuses with its source (another depth: allowed)
    r = run([str(work / 'grow_s2' / 'ckpt.pt'), '--start=the cat', '--num_samples=1', '--max_new_tokens=5'], work, script='sample.py')
    assert 'the cat' in r.stdout
    fused, _ = load_model([str(stage1), str(work / 'grow_s2' / 'ckpt.pt')])
    assert [e['n_layer'] for e in fused.checkpoint['experts']] == [1, 2]

def test_new_blocks_start_as_in_a_fresh_deeper_model(work, stage1):
    src = torch.load(stage1, weights_only=True)
    model, args, stages = grow_model(str(stage1), grow_args(stage1, n_layer=3), src['tokenizer_hash'], seed=7)
    torch.manual_seed(7)
    fresh = GPT(GPTConfig(**args)).state_dict()
    grown = model.state_dict()
    for k, v in grown.items():
        want = src['model'][k] if not k.startswith('transformer.h.') or k.startswith('transformer.h.0.') else fresh[k]
        assert torch.equal(v, want), k
    trains = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trains and all(n.startswith(('transformer.h.1.', 'transformer.h.2.', 'transformer.ln_f.', 'lm_head.')) for n in trains)
    assert [s['layers'] for s in stages] == [1, 2]

def test_resuming_a_growth_stage_reproduces_its_losses(work, stage1):
    args = [*STAGE, '--n_layer=2', '--init_from=grow', f'--grow_from={stage1}']
    full = run([*args, '--out_dir=grow_full', '--max_iters=6'], work)
    run([*args, '--out_dir=grow_cut', '--max_iters=4'], work)
    resumed = run([*STAGE, '--n_layer=2', '--out_dir=grow_cut', '--max_iters=6', '--init_from=resume'], work)
    a, b = losses(full.stdout), losses(resumed.stdout)
    assert sorted(b) == [4, 5] and all(a[k] == b[k] for k in b), (a, b)
    sa = torch.load(work / 'grow_full' / 'ckpt.pt', weights_only=True)
    sb = old_parts_equal(stage1, work / 'grow_cut' / 'ckpt.pt') # re-frozen after the resume
    assert all(torch.equal(sa['model'][k], sb[k]) for k in sa['model'])
    r = run([*STAGE, '--n_layer=3', '--out_dir=grow_cut', '--max_iters=8', '--init_from=resume'], work, check=False)
    assert r.returncode != 0 and "resume with --n_layer=2" in r.stderr and 'Traceback' not in r.stderr

def test_refused_inputs(work, stage1, tmp_path):
    src = torch.load(stage1, weights_only=True)
    h = src['tokenizer_hash']
    with pytest.raises(ValueError, match='does not grow'):
        grow_model(str(stage1), grow_args(stage1, n_layer=1), h, 0)
    for key, value in [('n_embd', 64), ('n_head', 4), ('vocab_size', 600), ('embedding', 'glyph')]:
        with pytest.raises(ValueError, match=f'{key}={value} differs'):
            grow_model(str(stage1), grow_args(stage1, n_layer=2, **{key: value}), h, 0)
    with pytest.raises(ValueError, match='another tokenizer'):
        grow_model(str(stage1), grow_args(stage1, n_layer=2), 'f' * 64, 0)
    with pytest.raises(FileNotFoundError, match='train the previous stage first'):
        grow_model(str(tmp_path / 'nope.pt'), grow_args(stage1, n_layer=2), h, 0)
    for stages, match in [(None, 'records no stages'), ([dict(layers=2)], r'stages of \[2\] layers but holds 1')]:
        bad = tmp_path / 'bad.pt'
        torch.save({**src, 'stages': stages}, bad)
        with pytest.raises(ValueError, match=match):
            grow_model(str(bad), grow_args(stage1, n_layer=2), h, 0)
    with pytest.raises(ValueError, match='records no stages'):
        check_stages([], 1, 'x.pt')
    # through train.py: one sentence, no traceback
    r = run([*STAGE, '--out_dir=grow_bad', '--max_iters=1', '--n_layer=1', '--init_from=grow', f'--grow_from={stage1}'], work, check=False)
    assert r.returncode != 0 and 'set --n_layer above 1' in r.stderr and 'Traceback' not in r.stderr
    r = run([*STAGE, '--out_dir=grow_s1', '--max_iters=1', '--n_layer=2', '--init_from=grow', f'--grow_from={stage1}'], work, check=False)
    assert r.returncode != 0 and "this run's own checkpoint" in r.stderr

def test_growth_under_two_rank_ddp_keeps_old_blocks(work, stage1):
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                        os.path.join(ROOT, 'train.py'), *STAGE, '--out_dir=grow_ddp', '--max_iters=3', '--n_layer=2',
                        '--gradient_accumulation_steps=2', '--init_from=grow', f'--grow_from={stage1}'],
                       cwd=work, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert 'all 2 processes hold identical weights at iter 3' in r.stdout
    old_parts_equal(stage1, work / 'grow_ddp' / 'ckpt.pt')

def test_the_experiment_refuses_bad_arguments(tmp_path):
    for args, msg in [(['--stages', '4'], 'at least two stages'), (['--stages', '2,x'], 'at least two stages'),
                      (['--max_iters', '301'], 'does not split evenly'), (['--arms', 'nope'], 'arms from')]:
        r = run(args, tmp_path, check=False, script='experiments.compare_growth')
        assert r.returncode != 0 and msg in r.stderr, (args, r.stderr)
