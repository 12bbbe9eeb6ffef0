"""grow.py and train.py's init_from='grow': old blocks (and a stage-1 trainable embedding) bit-identical after
a growth stage, on one process and under 2-rank DDP; new blocks initialised as in a fresh deeper model; exact
resume of a stage; the stage record; every refused input; sampling and fusion of a grown model; a stage
drawing new windows, not the previous stage's again; the embedding left trainable in a later stage (the
control arm); experiments/compare_growth.py end to end, and its summary and tables."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import ROOT, TINY, losses, refusal, run, train_defaults
from fusion import load_model
from grow import check_stages, freeze, grow_model, stage_seed
from model import GPT, GPTConfig
from prepare import read_shard
from util import draw_windows

STAGE = ['--dataset=tiny', '--embedding=trainable', '--eval_interval=3', *TINY]
GROWN = f'--seed={stage_seed(1337, 2)}' # a growth stage's own seed: its batches are new windows
# train.py passes grow_embedding to grow.py: the control arm's setting (trainable in every stage)
OPEN = pytest.mark.skipif('grow_embedding' not in train_defaults(),
                          reason="train.py has no grow_embedding setting to pass to grow.grow_model yet")

@pytest.fixture(scope='module')
def stage1(work):
    """a 1-layer model with a trainable embedding, trained 3 steps: the source every test grows"""
    run([*STAGE, '--out_dir=grow_s1', '--max_iters=3'], work)
    return work / 'grow_s1' / 'ckpt.pt'

def grow_on(stage1, n_layer=2):
    """train.py's settings of a growth stage on stage1"""
    return [*STAGE, f'--n_layer={n_layer}', '--init_from=grow', f'--grow_from={stage1}']

def grow_args(ckpt, **kw):
    return {**torch.load(ckpt, weights_only=True)['model_args'], **kw}

def old_parts_equal(src, dst):
    a, b = torch.load(src, weights_only=True)['model'], torch.load(dst, weights_only=True)['model']
    old = [k for k in a if k.startswith('transformer.h.0.') or k == 'transformer.wte.weight']
    assert len(old) > 5 and all(torch.equal(a[k], b[k]) for k in old) # frozen: bit for bit
    assert not torch.equal(a['lm_head.weight'], b['lm_head.weight']) # the head trains on
    return b

def test_a_growth_stage_keeps_old_blocks_and_records_itself(work, stage1):
    r = run([*grow_on(stage1), '--out_dir=grow_s2', '--max_iters=3', GROWN], work)
    assert '1 frozen layers and 1 new ones' in r.stdout and 'active (trained) parameters' in r.stdout
    ck = torch.load(work / 'grow_s2' / 'ckpt.pt', weights_only=True)
    old_parts_equal(stage1, work / 'grow_s2' / 'ckpt.pt')
    tokens = 3 * 4 * 32 # steps x batch x block
    assert ck['stages'] == [dict(source=None, layers=1, iters=3, tokens=tokens, seed=1337),
                            dict(source=str(stage1), layers=1, iters=3, tokens=tokens,
                                 seed=stage_seed(1337, 2), wte='frozen')]
    # the grown model samples, and fuses with its source (another depth: allowed)
    r = run([str(work / 'grow_s2' / 'ckpt.pt'), '--start=the cat', '--num_samples=1', '--max_new_tokens=5'],
            work, script='sample.py')
    assert 'the cat' in r.stdout
    fused, _ = load_model([str(stage1), str(work / 'grow_s2' / 'ckpt.pt')])
    assert [e['n_layer'] for e in fused.checkpoint['experts']] == [1, 2]

def test_new_blocks_start_as_in_a_fresh_deeper_model(work, stage1):
    src = torch.load(stage1, weights_only=True)
    args = grow_args(stage1, n_layer=3)
    model, args, stages = grow_model(str(stage1), args, src['tokenizer_hash'], seed=7)
    torch.manual_seed(7)
    fresh = GPT(GPTConfig(**args)).state_dict()
    grown = model.state_dict()
    for k, v in grown.items():
        old = not k.startswith('transformer.h.') or k.startswith('transformer.h.0.')
        assert torch.equal(v, src['model'][k] if old else fresh[k]), k
    trains = {n for n, p in model.named_parameters() if p.requires_grad}
    new = ('transformer.h.1.', 'transformer.h.2.', 'transformer.ln_f.', 'lm_head.')
    assert trains and all(n.startswith(new) for n in trains)
    assert [s['layers'] for s in stages] == [1, 2]

def test_resuming_a_growth_stage_reproduces_its_losses(work, stage1):
    args = [*grow_on(stage1), GROWN]
    full = run([*args, '--out_dir=grow_full', '--max_iters=6'], work)
    run([*args, '--out_dir=grow_cut', '--max_iters=4'], work)
    resume = [*STAGE, '--out_dir=grow_cut', '--init_from=resume', GROWN]
    resumed = run([*resume, '--n_layer=2', '--max_iters=6'], work)
    a, b = losses(full.stdout), losses(resumed.stdout)
    assert sorted(b) == [4, 5] and all(a[k] == b[k] for k in b), (a, b)
    sa = torch.load(work / 'grow_full' / 'ckpt.pt', weights_only=True)
    sb = old_parts_equal(stage1, work / 'grow_cut' / 'ckpt.pt') # re-frozen after the resume
    assert all(torch.equal(sa['model'][k], sb[k]) for k in sa['model'])
    r = run([*resume, '--n_layer=3', '--max_iters=8'], work, check=False)
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
    for stages, match in [(None, 'records no stages'),
                          ([dict(layers=2)], r'stages of \[2\] layers but holds 1')]:
        bad = tmp_path / 'bad.pt'
        torch.save({**src, 'stages': stages}, bad)
        with pytest.raises(ValueError, match=match):
            grow_model(str(bad), grow_args(stage1, n_layer=2), h, 0)
    with pytest.raises(ValueError, match='records no stages'):
        check_stages([], 1, 'x.pt')
    # a stage under its source's seed would re-read the source's batches: refused, naming the seed to use
    with pytest.raises(ValueError, match=f'seed=1337 is that of stage 1 .*--seed={stage_seed(1337, 2)}'):
        grow_model(str(stage1), grow_args(stage1, n_layer=2), h, 1337)
    with pytest.raises(ValueError, match="grow_embedding='open': use 'frozen' or 'trainable'"):
        grow_model(str(stage1), grow_args(stage1, n_layer=2), h, 0, 'open')
    frozen = tmp_path / 'frozen.pt' # an embedding frozen by construction cannot be left trainable
    torch.save({**src, 'model_args': {**src['model_args'], 'embedding': 'random'}}, frozen)
    with pytest.raises(ValueError, match="'random', frozen by construction"):
        grow_model(str(frozen), grow_args(frozen, n_layer=2), h, 0, 'trainable')
    # through train.py: one sentence, no traceback
    r = run([*grow_on(stage1, 1), '--out_dir=grow_bad', '--max_iters=1'], work, check=False)
    assert r.returncode != 0 and 'set --n_layer above 1' in r.stderr and 'Traceback' not in r.stderr
    r = run([*grow_on(stage1), '--out_dir=grow_s1', '--max_iters=1', GROWN], work, check=False)
    assert r.returncode != 0 and "this run's own checkpoint" in r.stderr
    r = run([*grow_on(stage1), '--out_dir=grow_bad', '--max_iters=1'], work, check=False) # stage 1's seed
    assert r.returncode != 0 and 'would re-read its batches' in r.stderr and 'Traceback' not in r.stderr

def test_growth_under_two_rank_ddp_keeps_old_blocks(work, stage1):
    r = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2',
                        os.path.join(ROOT, 'train.py'), *grow_on(stage1), '--out_dir=grow_ddp',
                        '--max_iters=3', '--gradient_accumulation_steps=2', GROWN],
                       cwd=work, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert 'all 2 processes hold identical weights at iter 3' in r.stdout
    old_parts_equal(stage1, work / 'grow_ddp' / 'ckpt.pt')

def test_the_experiment_refuses_bad_arguments(capsys, monkeypatch):
    for args, msg in [(['--stages', '4'], 'at least two stages'),
                      (['--stages', '2,x'], 'at least two stages'),
                      (['--max_iters', '301'], 'does not split evenly'), (['--arms', 'nope'], 'arms from'),
                      (['--n_layer=2'], 'the experiment sets it'),
                      (['--grow_from=x.pt'], 'the experiment sets it')]:
        code, err = refusal(args, 'experiments.compare_growth', capsys, monkeypatch)
        assert code != 0 and msg in err, (args, err)

# -----------------------------------------------------------------------------
# the control arm: the embedding trainable in a later stage too

def steps_of(model, n=3):
    """n optimizer steps of a model on fixed random batches"""
    opt = model.configure_optimizers(0.1, 1e-2, (0.9, 0.95), 'cpu')
    g = torch.Generator().manual_seed(0)
    for _ in range(n):
        x = torch.randint(0, model.config.vocab_size, (4, 32), generator=g)
        _, loss = model(x, torch.roll(x, -1, 1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

def test_the_embedding_trains_on_in_a_later_stage_only_when_asked(stage1):
    src = torch.load(stage1, weights_only=True)
    trained = {}
    for mode in ('frozen', 'trainable'):
        model, _, stages = grow_model(str(stage1), grow_args(stage1, n_layer=2), src['tokenizer_hash'],
                                      stage_seed(1337, 2), mode)
        assert stages[-1]['wte'] == mode
        assert model.transformer.wte.weight.requires_grad == (mode == 'trainable')
        steps_of(model)
        trained[mode] = model.state_dict()
        block0 = [k for k in src['model'] if k.startswith('transformer.h.0.')]
        assert block0 and all(torch.equal(trained[mode][k], src['model'][k]) for k in block0)
    wte = src['model']['transformer.wte.weight']
    assert torch.equal(trained['frozen']['transformer.wte.weight'], wte) # constructive unfrozen: fixed
    assert not torch.equal(trained['trainable']['transformer.wte.weight'], wte) # the control: it trains on
    # resume re-freezes from the record: a stage recorded 'trainable' stays so; one recorded 'frozen', or
    # before 'wte' was recorded, is frozen
    for record, trains in [(dict(layers=1, wte='trainable'), True), (dict(layers=1), False),
                           (dict(layers=1, wte='frozen'), False)]:
        model = GPT(GPTConfig(**grow_args(stage1, n_layer=2)))
        freeze(model, [dict(layers=1), record])
        assert model.transformer.wte.weight.requires_grad == trains
        assert not any(p.requires_grad for p in model.transformer.h[0].parameters())

@OPEN
def test_an_open_stage_trains_the_embedding_through_train_py(work, stage1):
    run([*grow_on(stage1), '--out_dir=grow_open', '--max_iters=3', GROWN, '--grow_embedding=trainable'], work)
    a = torch.load(stage1, weights_only=True)
    b = torch.load(work / 'grow_open' / 'ckpt.pt', weights_only=True)
    assert not torch.equal(a['model']['transformer.wte.weight'], b['model']['transformer.wte.weight'])
    block0 = [k for k in a['model'] if k.startswith('transformer.h.0.')]
    assert block0 and all(torch.equal(a['model'][k], b['model'][k]) for k in block0)
    assert b['stages'][-1]['wte'] == 'trainable'
    run([*STAGE, '--n_layer=2', '--out_dir=grow_open', '--max_iters=4', '--init_from=resume', GROWN], work)
    c = torch.load(work / 'grow_open' / 'ckpt.pt', weights_only=True) # resumed from the record: still open
    assert not torch.equal(b['model']['transformer.wte.weight'], c['model']['transformer.wte.weight'])

# -----------------------------------------------------------------------------
# experiments/compare_growth.py: new windows in every stage, the summary and its tables

def windows(ckpt, train_arrays):
    """[bytes of each training window] a run drew, replayed from its checkpoint's config by train.py's rule,
    (seed, iteration, micro-step, rank) (tests/test_compare.py holds this replay to what train.py draws)"""
    c = torch.load(ckpt, weights_only=True)
    cfg, rows = c['config'], []
    for it in range(c['iter_num']):
        for micro in range(cfg['gradient_accumulation_steps']):
            rng = np.random.default_rng([cfg['seed'], it, micro, 0])
            drawn = draw_windows(train_arrays, cfg['block_size'], rng, cfg['batch_size'])
            rows += [row.tobytes() for row in drawn]
    return rows

def test_the_experiment_grows_on_new_windows_and_reports(work):
    arms = 'trainable,trainable_open' if 'grow_embedding' in train_defaults() else 'trainable'
    # the stages give the layers; a warmup shorter than a stage (train.py's cosine needs one)
    tiny = [a for a in TINY if not a.startswith(('--n_layer=', '--warmup_iters='))]
    args = ['--arms', arms, '--seeds', '1', '--stages', '1,1', '--max_iters', '6',
            '--out', str(work / 'growth'), '--dataset=tiny', *tiny, '--warmup_iters=1']
    r = run(args, work, script='experiments.compare_growth')
    assert '| trainable, then frozen | 1 |' in r.stdout and (work / 'growth' / 'results.json').exists()
    folder = work / 'growth' / 'trainable_s1337'
    meta = json.load(open(work / 'data' / 'tiny' / 'meta.json'))
    h = torch.load(folder / 'whole' / 'ckpt.pt', weights_only=True)['tokenizer_hash']
    train = [read_shard(str(work / 'data' / 'tiny' / f), h) for f in meta['shards']['train']]
    whole, s1, s2 = (windows(folder / name / 'ckpt.pt', train) for name in ('whole', 'stage1', 'stage2'))
    assert len(whole) == len(s1) + len(s2) == 6 * 4 # over the stages as many windows as the whole model
    assert s1 == whole[:len(s1)] # stage 1 reads the whole model's first steps' windows exactly
    assert s2[:4] != s1[:4] and not set(s2) & set(s1) # stage 2 its own: no window of stage 1 again
    assert len(set(s1 + s2)) == len(set(whole)) == len(whole)
    # finished runs are kept: --report trains nothing and prints the same tables
    rep = run([*args, '--report'], work, script='experiments.compare_growth')
    tabs = r.stdout[r.stdout.index('\ngrowth:\n'):r.stdout.index('\nwrote ')]
    assert '$ ' not in rep.stdout and rep.stdout.strip() == tabs.strip()
    summary = json.load(open(work / 'growth' / 'results.json'))
    assert summary['arms']['trainable']['tokens'] == dict(whole=6 * 4 * 32, stages=[3 * 4 * 32, 3 * 4 * 32])
    if 'trainable_open' in arms: # the control shares trainable's whole model and first stage
        assert not (work / 'growth' / 'trainable_open_s1337' / 'whole').exists()
        assert summary['pairs']['trainable_open - trainable']['whole']['mean'] == 0

def growth_records():
    """{(arm, seed): record} of three arms and two seeds as compare_growth.record makes them;
    trainable_open shares trainable's whole model and stage 1"""
    bpb = {('glyph', 1337): (2.20, 2.26), ('glyph', 1338): (2.22, 2.27),
           ('trainable', 1337): (2.15, 2.21), ('trainable', 1338): (2.18, 2.25),
           ('trainable_open', 1337): (2.15, 2.19), ('trainable_open', 1338): (2.18, 2.22)}
    out = {}
    for (arm, seed), (whole, grown) in bpb.items():
        matched = None if (arm, seed) == ('glyph', 1338) else 800000.0 + seed - 1337 # None: never reached
        out[arm, seed] = dict(whole=whole, grown=grown, tokens=dict(whole=1228800, stages=[614400, 614400]),
                              matched_tokens=matched, minutes=dict(whole=5.0, stages=[2.0, 3.0]),
                              active=[[5.77, 7.34], [3.67, 7.34]],
                              curve_whole=[(0, 3.0), (4, 2.5)], curve_grown=[(0, 3.0), (4, 2.6)])
    return out

def test_growth_summary_and_tables_from_records():
    from experiments import compare_growth as cg
    assert cg.matched_tokens([(0, 3.0), (50, 2.5), (100, 2.0)], 2.25, 4096) == 75 * 4096
    assert cg.matched_tokens([(0, 3.0), (50, 2.5)], 2.4, 4096) is None # never reached
    assert cg.matched_tokens([(0, 3.0), (50, 2.5)], 3.1, 4096) == 0 # reached before training
    assert cg.matched_tokens([(0, 3.0), (50, 2.5), (100, 2.6)], 2.5, 4096) == 50 * 4096 # on an evaluation
    s = cg.summarise(growth_records(), [2, 2], 300, [])
    s = json.loads(json.dumps(s)) # as the file holds it: lists, not tuples
    assert list(s['arms']) == ['glyph', 'trainable', 'trainable_open'] and s['seeds'] == [1337, 1338]
    assert math.isclose(s['arms']['glyph']['cost']['mean'], 0.055)
    assert math.isclose(s['pairs']['trainable_open - trainable']['cost']['mean'], -0.025)
    assert s['pairs']['trainable_open - trainable']['whole']['mean'] == 0 # the same whole model
    assert s['train_minutes'] == 2 * (10 + 10 + 3) # the shared whole model and stage 1 counted once
    assert s['arms']['glyph']['matched_seeds'] == 1 and s['arms']['trainable']['shares'] is None
    t = cg.tables(s)
    assert set(t) == {'growth', 'pairs', 'cost'}
    assert ('| frozen glyph | 2 | 2.2100 +- 0.1271 | 2.2650 +- 0.0635 | +0.055 +- 0.064 | '
            '5.77M, 3.67M of 7.34M |') in t['growth']
    assert '| 2.2300 +- 0.2541 | **+0.065 +- 0.064** |' in t['growth'] # resolved: bold
    assert '| trainable_open - trainable | +0.000 +- 0.000 |' in t['pairs']
    assert '| frozen glyph | 614,400 + 614,400 | 1,228,800 (1,228,800) | 800k (1 of 2 seeds) | 5.0 / 5.0 |' \
        in t['cost']
    # made from the summary alone: another number there, another table
    s['arms']['glyph']['grown'][0] = 2.3
    assert cg.tables(s)['growth'] != t['growth'] and '2.3000 +- 0.0635' in cg.tables(s)['growth']

def test_growth_docs_fill_only_the_marked_tables(tmp_path, monkeypatch):
    from experiments import compare_growth as cg
    from test_results import stale_tables # the check that holds docs/ to its summaries
    page = tmp_path / 'growth.md'
    page.write_text('# growth\n<!-- table compare_growth:growth -->\nold\n<!-- /table -->\ntext\n')
    paths = {'SUMMARY': tmp_path / 'growth_compare.json', 'PAGE': page, 'FIGURE': tmp_path / 'g.png'}
    for name, path in paths.items():
        monkeypatch.setattr(cg, name, str(path))
    records = growth_records()
    summary = cg.summarise(records, [2, 2], 300, [])
    cg.write_docs(summary, records, [2, 2])
    text = page.read_text()
    assert 'old' not in text and cg.tables(summary)['growth'] in text and 'compare_growth:pairs' not in text
    assert stale_tables(text, {'compare_growth': str(paths['SUMMARY'])}) == []
    assert paths['FIGURE'].exists()
