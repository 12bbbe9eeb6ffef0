"""experiments/precision.py: each setting a whole train.py run, timed and scored; a finished run is kept and
not trained again; the table comes from the summary alone (tests/test_results.py holds docs/training.md to
the committed one)."""
import json

from conftest import TINY
from experiments import precision
from experiments.rarity import whole_val_bpb

def test_runs_are_timed_scored_and_kept(work, monkeypatch):
    monkeypatch.chdir(work)
    monkeypatch.setattr(precision, 'STEPS', 4)
    # compiling a tiny model costs more than the test: two eager settings stand for the three
    monkeypatch.setattr(precision, 'SETTINGS', [
        ('float32', 'f32', ['--dtype=float32', '--compile=False']),
        ('bfloat16', 'bf16', ['--dtype=bfloat16', '--compile=False'])])
    tiny = [a for a in TINY if not a.startswith(('--dtype=', '--compile='))]
    s = precision.summarise(str(work / 'precision'), ['--dataset=tiny', *tiny])
    assert [r['setting'] for r in s['runs']] == ['float32', 'bfloat16']
    assert all(r['seconds'] > 0 for r in s['runs'])
    assert s['runs'][0]['whole_val_bpb'] == whole_val_bpb(str(work / 'precision' / 'f32' / 'ckpt.pt'))
    ck = json.loads((work / 'precision' / 'bf16' / 'log.jsonl').read_text().splitlines()[-1])
    assert ck['iter'] == 4 and s['runs'][1]['train_py_val_bpb'] == ck['val_bpb']
    again = precision.summarise(str(work / 'precision'), ['--dataset=tiny', *tiny]) # kept: nothing retrained
    assert [r['seconds'] for r in again['runs']] == [r['seconds'] for r in s['runs']]
    rows = precision.tables(json.loads(json.dumps(s)))['runs'].splitlines()
    assert rows[0].startswith('| config/cpu.py, 4 steps |') and len(rows) == 4
    first = s['runs'][0]
    assert rows[2] == (f"| float32 | {first['seconds']:.0f} s | {first['train_py_val_bpb']:.4f} | "
                       f"{first['whole_val_bpb']:.4f} |")
