"""experiments/stats.py on known numbers; experiments/rarity.py: the replayed training counts equal what a run drew, the
whole-split evaluation covers every val token once, the rarity split sums back to the overall bits per byte."""
import json
import math
import os
import subprocess
import sys

import numpy as np
import torch

from experiments import rarity, stats
from conftest import ROOT, TINY
from model import GPT, GPTConfig

def test_t_quantiles_intervals_and_seeds_needed_on_known_numbers():
    # Student's t table: t(0.975; 1, 2, 4, 9) = 12.706, 4.303, 2.776, 2.262; t(0.8; 10) = 0.879
    for p, df, want in [(0.975, 1, 12.706), (0.975, 2, 4.303), (0.975, 4, 2.776), (0.975, 9, 2.262), (0.8, 10, 0.879)]:
        assert abs(stats.t_quantile(p, df) - want) < 1e-3, (p, df)
    m, hw = stats.mean_ci([1.0, 2.0, 3.0]) # sd 1, n 3: 4.303 / sqrt(3)
    assert m == 2.0 and abs(hw - 4.303 / math.sqrt(3)) < 1e-3 and stats.mean_ci([5.0]) == (5.0, None)
    # a paired t-test at alpha 0.05 and 80% power needs 10 pairs for an effect of one sd, 34 for half (G*Power's figures)
    assert stats.seeds_needed(1.0, 1.0) == 10 and stats.seeds_needed(-0.5, 1.0) == 34
    assert stats.seeds_needed(0.0, 1.0) is None
    p = stats.paired({1: 2.50, 2: 2.40, 3: 2.60}, {1: 2.40, 2: 2.45, 3: 2.50, 4: 9.0}) # seed 4 has no pair
    assert p['seeds'] == [1, 2, 3] and abs(p['mean'] - 0.05) < 1e-12 and abs(p['sd'] - math.sqrt(0.0075)) < 1e-9
    assert p['words'].startswith('not resolved: no difference larger than')
    p = stats.paired({1: 2.5, 2: 2.6, 3: 2.7}, {1: 2.0, 2: 2.1, 3: 2.19})
    assert p['words'].startswith('resolved: +0.5')

def test_merged_edges():
    counts = np.array([0, 5, 50, 500, 5000])
    ids = np.repeat(np.arange(5), [0, 2000, 300, 900, 3000]) # no 'never' position; 10-99 and 100-999 too small alone
    assert rarity.merged_edges(counts, ids) == [0, 10, 1000] # never+1-9, 10-999, 1000+
    ids = np.repeat(np.arange(5), [1500, 1500, 1500, 1500, 10]) # the commonest too small: into the one before
    assert rarity.merged_edges(counts, ids) == [0, 1, 10, 100]
    assert [rarity.label([0, 10, 1000], k) for k in range(3)] == ['never-9', '10-999', '1,000+']

def test_whole_split_covers_every_val_token_and_the_split_sums_back():
    torch.manual_seed(0)
    model = GPT(GPTConfig(block_size=16, vocab_size=64, n_layer=1, n_head=2, n_embd=16, embedding='random')).eval()
    rng = np.random.default_rng(0)
    val = [rng.integers(0, 64, 100).astype(np.uint16), rng.integers(0, 64, 37).astype(np.uint16)]
    x, y, nats = rarity.val_nats(model, val, batch_size=3)
    assert len(y) == len(x) == 99 + 36
    assert np.array_equal(np.sort(y), np.sort(np.concatenate([a[1:] for a in val]).astype(np.int64))) # every target once
    token_bytes = np.array([0] + [1 + k % 3 for k in range(63)]) # id 0 stands for no bytes, like end-of-text
    counts = rng.integers(0, 2000, 64)
    res = rarity.analyse(model, {'val': val}, token_bytes, counts, batch_size=3, edges=[0, 1, 10, 100, 1000])
    for key in ('by_input', 'by_target'):
        rows = [r for r in res[key] if r['bpb'] is not None]
        assert abs(sum(r['bytes_share'] * r['bpb'] for r in rows) - res['val_bpb']) < 1e-9
        assert abs(sum(r['positions_share'] for r in res[key]) - 1) < 1e-12
    nb = token_bytes[y]
    assert abs(res['val_bpb'] - nats[nb > 0].sum() / math.log(2) / nb.sum()) < 1e-12

RECORDER = """
import runpy, sys, numpy as np
sys.path.insert(0, {root!r})
import util
draws, plain = [], util.draw_windows
def recording(arrays, block_size, rng, n):
    rows = plain(arrays, block_size, rng, n)
    draws.append((sum(len(a) for a in arrays), rows))
    return rows
util.draw_windows = recording
sys.argv = ['train.py', *sys.argv[1:]]
runpy.run_path({train!r}, run_name='__main__')
np.save('drawn.npy', np.array([length for length, _ in draws]))
np.save('rows.npy', np.concatenate([rows for _, rows in draws]))
"""

def test_replayed_training_counts_equal_what_a_run_drew(work, tmp_path):
    (tmp_path / 'rec.py').write_text(RECORDER.format(root=ROOT, train=os.path.join(ROOT, 'train.py')))
    os.symlink(work / 'data', tmp_path / 'data')
    args = ['--dataset=tiny', '--out_dir=out_rec', '--max_iters=3', '--gradient_accumulation_steps=2', '--eval_interval=3', *TINY]
    r = subprocess.run([sys.executable, 'rec.py', *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    meta = json.load(open(work / 'data' / 'tiny' / 'meta.json'))
    from prepare import read_shard
    from model import load_checkpoint
    model, tok = load_checkpoint(str(tmp_path / 'out_rec' / 'ckpt.pt'))
    train = [read_shard(str(work / 'data' / 'tiny' / f), tok.hash) for f in meta['shards']['train']]
    lengths, rows = np.load(tmp_path / 'drawn.npy'), np.load(tmp_path / 'rows.npy')
    batch = model.checkpoint['config']['batch_size']
    is_train = np.repeat(lengths == sum(len(a) for a in train), batch) # val draws come from the val shard
    drawn = np.bincount(rows[is_train][:, :-1].ravel().astype(np.int64), minlength=model.config.vocab_size)
    assert drawn.sum() == 3 * 2 * batch * model.config.block_size
    replayed = rarity.trained_counts(model.checkpoint['config'], train, model.config.vocab_size, 3)
    assert np.array_equal(drawn, replayed)
    assert not np.array_equal(replayed, rarity.trained_counts(model.checkpoint['config'], train, model.config.vocab_size, 2))

def test_seeds_for_halfwidth_inverts_the_interval():
    n = stats.seeds_for_halfwidth(0.05, 0.03)
    hw = lambda k: stats.t_quantile(0.975, k - 1) * 0.05 / math.sqrt(k)
    assert hw(n) <= 0.03 < hw(n - 1)
    assert stats.seeds_for_halfwidth(1.0, 1e-6) is None # beyond the cap

def test_spread_windows_cover_the_split_evenly_without_overlap():
    import util
    arrays = [np.arange(1000), np.arange(5), np.arange(2000, 2600)] # the middle one is too short for a window
    rows = util.spread_windows(arrays, 9, 100)
    assert rows.shape == (100, 10)
    starts = sorted(int(r[0]) for r in rows)
    assert len(set(starts)) == 100 and min(starts) == 0
    # every row is a window of one array, and they do not overlap: 100 x 10 tokens of the 1,600 there
    seen = [t for r in rows for t in r.tolist()]
    assert len(seen) == len(set(seen)) == 1000
    assert all(np.all(np.diff(r) == 1) for r in rows)
    # spread: both arrays are read in proportion to their windows (991 and 591 starts)
    assert sum(int(r[0]) >= 2000 for r in rows) == 37

def test_random_arm_redraws_its_matrix_per_seed():
    from experiments.runs import ARMS, train_command
    cmds = [train_command('c.py', '/nonexistent', ARMS['random'], s, 10, 5) for s in (1337, 1338)]
    assert '--embedding_seed=1337' in cmds[0] and '--embedding_seed=1338' in cmds[1]
    assert ARMS['glyph_init'] == ['--embedding=trainable', '--wte_init=glyph']

def test_sweep_summary_tables_from_a_small_summary():
    from experiments import sweep
    runs = {('glyph', 1337): 2.5, ('glyph', 1338): 2.6, ('trainable', 1337): 2.4, ('trainable', 1338): 2.55}
    pair = stats.paired({s: v for (a, s), v in runs.items() if a == 'glyph'},
                        {s: v for (a, s), v in runs.items() if a == 'trainable'})
    pair['by_input'] = [stats.paired({1337: 1.0, 1338: 1.1}, {1337: 1.2, 1338: 1.3})]
    b = dict(tokens=409600, labels=['never-9'], positions_share=[0.02], arms={
        a: dict(zip(('mean', 'ci95'), stats.mean_ci([v for (x, _), v in runs.items() if x == a])), seeds=[1337, 1338])
        for a in ('glyph', 'trainable')}, pairs={'glyph - trainable': pair})
    summary = dict(budgets={'100': b}, unigram=dict(train_entropy_per_train_byte=3.07, train_frequencies_on_val=2.99,
                                                    val_frequencies_on_val=2.91))
    t = sweep.tables(summary)
    assert t['trend'].splitlines()[2].startswith('| 100 | 0.41M | 2.550 +- 0.635 (2) | 2.475 +- 0.953 (2) | - |')
    assert '**-0.200 +- 0.000**' in t['rarity'] # resolved differences are bold
    assert '+0.075 +- 0.318' in t['trend'] and '**' not in t['trend']
    assert '| 2.910 |' in t['baselines']

def test_sweep_reuses_the_runs_of_a_committed_summary(tmp_path, monkeypatch):
    from experiments import sweep
    spec = sweep.Sweep('sweep', [(100, ('glyph', 'trainable'))], sweep.PAIRS, '', '')
    monkeypatch.setattr(sweep, 'unigram', lambda data_dir: {})
    rec = lambda v: dict(val_bpb=v, by_input=[v - 1, None], by_target=[v, v], train_py_val_bpb=v, minutes=2.0)
    previous = dict(extra=[], tokens_per_step=sweep.TOKENS_PER_STEP, budgets={'100': dict(
        edges=[0, 10], labels=['never-9', '10+'], positions_share=[0.1, 0.9],
        runs={'glyph_s1337': rec(2.5), 'trainable_s1337': rec(2.6), 'glyph_s1338': rec(2.4), 'trainable_s1338': rec(2.6)})})
    assert set(sweep.kept(previous, [])) == {(100, a, s) for a in ('glyph', 'trainable') for s in (1337, 1338)}
    assert sweep.kept(previous, ['--n_layer=2']) == {} # other settings: nothing is reused
    s = sweep.summarise(spec, str(tmp_path), [1337, 1338], [], previous) # no run on disk: all from the summary
    p = s['budgets']['100']['pairs']['glyph - trainable']
    assert math.isclose(p['mean'], -0.15) and s['runs_finished'] == 4 and s['train_minutes'] == 8.0
    assert p['by_input'][1] is None and math.isclose(p['by_input'][0]['mean'], -0.15) # a bucket without positions

def test_the_codepoint_sweep_trains_its_arms_on_its_own_data_and_tables_them(tmp_path, monkeypatch):
    from experiments import sweep, sweep_codepoint as sc
    calls = []
    monkeypatch.setattr(sweep, 'train_logged', lambda cmd, out_dir, name, env=None: (calls.append(cmd),
                                                                                   os.makedirs(out_dir)))
    sweep.train_one(sc.CODEPOINT, str(tmp_path), 50, 'affine', 1338, [], None)
    assert '--dataset=codepoint' in calls[0] and '--embedding=affine' in calls[0] and '--embedding_seed=1338' in calls[0]
    assert {a for _, arms in sc.PLAN for a in arms} == set(sc.ARMS) and len(sc.PLAN) >= 3
    pair = lambda m, hw: dict(mean=m, ci95=hw, sd=0.01, seeds=[1337, 1338, 1339],
                              by_input=[dict(mean=m * 2, ci95=hw), None])
    b = dict(tokens=204800, labels=['never-9', '10+'], positions_share=[0.25, 0.75],
             arms={a: dict(mean=3.0, ci95=0.05, seeds=[1337, 1338, 1339]) for a in sc.ARMS},
             pairs={'glyph - binary': pair(-0.1, 0.03), 'glyph - affine': pair(0.01, 0.05)})
    t = sc.tables(dict(budgets={'50': b}))
    assert t['arms'].splitlines()[2] == '| 50 | 0.20M |' + ' 3.000 +- 0.050 (3) |' * 5
    assert t['differences'].splitlines()[2] == '| 50 | **-0.100 +- 0.030** | +0.010 +- 0.050 | - | - | - |'
    rare, common = t['rarity'].splitlines()[2:4]
    assert rare == '| 50 | never-9 | 25.0% | **-0.200 +- 0.030** | +0.020 +- 0.050 | - | - |'
    assert common == '| 50 | 10+ | 75.0% | - | - | - | - |' # a bucket without positions, a pair not run
