"""experiments/main_job.py: the main job's summary read back from a run folder as main.py leaves it (here a
tiny checkpoint and the JSON files main.py, train.py and eval_mmlu.py write), its tables made from the
summary alone, and a run that did not finish refused in one sentence."""
import json
import os

import pytest

from conftest import refusal, tiny_ckpt
from experiments import main_job
from experiments.rarity import whole_val_bpb

CONFIG = dict(n_layer=1, n_head=2, n_embd=16, block_size=64, batch_size=4, max_iters=200,
              embedding='trainable', dtype='float32', compile=False)

def protocol(acc, n, label, common, **more):
    return dict(accuracy=acc, n=n, ci95=0.05, chance=0.25,
                most_common_gold=dict(label=label, accuracy=common), **more)

@pytest.fixture(scope='module')
def run_dir(work, tmp_path_factory):
    d = tmp_path_factory.mktemp('main_job')
    os.symlink(work / 'data', d / 'data')
    out = d / 'out' / 'cpu'
    out.mkdir(parents=True)
    tiny_ckpt(out / 'ckpt.pt', work / 'data' / 'tiny', 'tiny', config=CONFIG)
    with open(out / 'log.jsonl', 'w') as f:
        for it, b in ((0, 4.5), (50, 3.1), (100, 2.75), (200, 2.5)):
            entry = dict(iter=it, val_loss=b, val_bpb=b, lr=1e-3, tokens=it * 256, time=it)
            f.write(json.dumps(entry) + '\n')
    (out / 'main.json').write_text(json.dumps({'stages_s': {'train config/cpu.py': 12.5}, 'total_s': 20.0}))
    mmlu = dict(summary=dict(n_questions=40, standard=protocol(0.275, 40, 'A', 0.3, shots=5),
                             paper=protocol(0.0, 40, 'A', 0.3, gen_tokens=1, parse_rate=0.0)))
    arc = dict(summary=dict(task='arc_easy', n_questions=30,
                            standard=protocol(0.3, 30, 'B', 0.2667, acc_norm=0.2),
                            paper=protocol(0.1, 30, 'B', 0.2667, gen_tokens=2, parse_rate=0.5)))
    (out / 'mmlu.json').write_text(json.dumps(mmlu))
    (out / 'tasks.json').write_text(json.dumps({'arc_easy': arc}))
    sciq = dict(summary=dict(task='sciq', n_questions=20,
                             standard=dict(accuracy=0.2, n=20, ci95=0.1, chance=0.25, acc_norm=0.15)))
    (out / 'more_tasks.json').write_text(json.dumps(sciq)) # one task: eval_mmlu.py writes its dict alone
    # eval_harness.py --compare --out: lm-eval's results dict (MMLU, a group, has a sample_len), the agreement
    results = {'mmlu': {'acc,none': 0.25, 'sample_len': 40},
               'arc_easy': {'acc,none': 0.3, 'acc_stderr,none': 0.08, 'acc_norm,none': 0.2}}
    agree = {'arc_easy': dict(n=30, agree=29, near_ties=1, disagree=0, max_abs_diff_nats=1.5e-5)}
    (out / 'harness.json').write_text(json.dumps(dict(
        results={'results': results, 'n-samples': {'arc_easy': {'original': 570, 'effective': 30}}},
        wall_s=5.0, compare_wall_s=2.0, agreement=agree, command='python eval_harness.py x')))
    return d

def test_the_summary_reads_the_run_back_and_the_tables_come_from_it(run_dir, monkeypatch):
    monkeypatch.chdir(run_dir)
    s = main_job.summarise('out/cpu')
    assert s['whole_val_bpb'] == pytest.approx(whole_val_bpb('out/cpu/ckpt.pt'))
    assert s['tokens'] == 200 * 256 and s['stages']['stages_s']['train config/cpu.py'] == 12.5
    assert s['config']['n_layer'] == 1 and s['parameters'] > 0
    assert set(s['unigram']) == {'train_entropy_per_train_byte', 'train_frequencies_on_val',
                                 'val_frequencies_on_val'}
    tabs = main_job.tables(json.loads(json.dumps(s))) # as it reads back from the committed file
    head, _, row = tabs['curve'].splitlines()
    assert head == '| step | 0 | 100 | 200 | whole val split |' # every 100th step
    assert row == f"| val bits per byte | 4.50 | 2.75 | 2.50 | **{s['whole_val_bpb']:.2f}** |"
    rows = tabs['benchmarks'].splitlines()
    assert rows[2] == '| MMLU (40), 5-shot / 1 token(s) | 27.5% +- 5.0 | 0.0% | 25.0% | 30.0% (A) |'
    assert rows[3] == ('| ARC-Easy (30), acc / 2 token(s) | 30.0% +- 5.0 (acc_norm 20.0%) | 10.0% | 25.0% '
                       '| 26.7% (B) |')
    assert len(rows) == 4 # tasks the run did not evaluate get no row; the README shows main.py's tasks only
    every = tabs['all_tasks'].splitlines()
    assert len(every) == 5
    assert every[3] == '| ARC-Easy | 30 | 30.0% +- 5.0 | 20.0% | 10.0% (2 token(s)) | 25.0% | 26.7% |'
    assert every[4] == '| SciQ | 20 | 20.0% +- 10.0 | 15.0% | - | 25.0% | - |'
    assert s['harness']['wall_s'] == 5.0 and s['harness']['command'] == 'python eval_harness.py x'
    assert tabs['harness'].splitlines()[2:] == [
        '| MMLU | 40 | 25.0% | - | - | - |',
        '| ARC-Easy | 30 | 30.0% | 20.0% | 29 / 30 (+1 near ties) | 1.5e-05 |']

def test_an_unfinished_run_is_refused(run_dir, tmp_path, capsys, monkeypatch):
    code, err = refusal(['--out_dir', str(tmp_path)], 'experiments.main_job', capsys, monkeypatch)
    assert code == 2
    assert 'lacks ckpt.pt, log.jsonl, main.json, mmlu.json, tasks.json: run python main.py' in err
