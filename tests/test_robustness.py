"""experiments/robustness.py: the clean part keeps its ids under every noise, right padding does not change a
score, the noised context is what differs; a checkpoint of another dataset is refused; the tables come from
a summary alone, and the page's tables equal the committed summary's (tests/test_results.py's mechanism)."""
import os
import unicodedata

import pytest

from conftest import tiny_ckpt
from experiments import robustness

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

@pytest.fixture(scope='module')
def setup(work, tmp_path_factory):
    d = tmp_path_factory.mktemp('rob')
    os.symlink(work / 'data', d / 'data')
    ckpts = {('glyph', 1): tiny_ckpt(d / 'g.pt', work / 'data' / 'tiny', 'tiny', 1),
             ('trainable', 1): tiny_ckpt(d / 't.pt', work / 'data' / 'tiny', 'tiny', 2)}
    return d, ckpts

def test_clean_part_is_identical_and_padding_changes_nothing(setup, monkeypatch):
    d, ckpts = setup
    monkeypatch.chdir(d)
    with robustness.evaluating([ckpts[('glyph', 1)]]) as (model, tok, _):
        wins, token_bytes = robustness.val_windows('data/tiny', 64, limit=6)
        cuts = [robustness.cut(tok, w) for w in wins]
        for w, (text, tail) in zip(wins, cuts):
            assert tail == [int(i) for i in w[-len(tail):]]
            assert tok.decode(w.tolist()) == text + tok.decode(tail)
        clean = robustness.batch_rows(tok, cuts, None, 0, 64, 0)
        noised = robustness.batch_rows(tok, cuts, 'scramble', 0.5, 64, 0)
        assert all(a[q:] == b[p:] for (a, q), (b, p) in zip(clean, noised)) # the scored part never changes
        assert any(a[:q] != b[:p] for (a, q), (b, p) in zip(clean, noised)) # the context does
        assert all(len(ids) <= 64 for ids, _ in noised)
        one = robustness.score(model, clean, token_bytes, batch_size=1)
        assert one == pytest.approx(robustness.score(model, clean, token_bytes, batch_size=6), rel=1e-5)
        assert one != pytest.approx(robustness.score(model, noised, token_bytes), rel=1e-6)

def test_another_dataset_is_refused(setup, work, monkeypatch):
    d, ckpts = setup
    monkeypatch.chdir(d)
    other = tiny_ckpt(d / 'o.pt', work / 'data' / 'other', 'other')
    with pytest.raises(ValueError, match="trained on dataset 'other', the others on 'tiny'"):
        robustness.measure({**ckpts, ('random', 1): other}, limit=1)

def small_summary():
    runs = {f'{a}_s{s}': {'clean': 2.0 + s / 10, **{f'{k}@{r}': 2.0 + s / 10 + r * (2 if a == 'glyph' else 1)
                                                    for k in ('leet',) for r in (0.05, 0.5)}}
            for a in ('glyph', 'trainable') for s in (1, 2, 3)}
    return dict(noises=['leet'], rates=[0.05, 0.5], runs=runs, generations=[dict(spoofed='а|b', glyph='x')])

def test_tables_from_a_small_summary():
    tabs = robustness.tables(small_summary())
    rows = tabs['increase'].splitlines()
    assert rows[2] == '| none (clean bpb) | 0 | 2.200 +- 0.248 | 2.200 +- 0.248 | |'
    assert rows[4] == '| leet | 50% | +1.000 +- 0.000 | +0.500 +- 0.000 | +0.500 +- 0.000 |'
    assert '| а\\|b | x |  |' in tabs['generations']

def test_spoofed_prompts_are_cyrillic_inside_english_words():
    s = robustness.spoof('The police found')
    assert s.split()[0] == 'The' and s.split()[2] == 'found' and s.split()[1] != 'police'
    assert any('CYRILLIC' in unicodedata.name(c) for c in s.split()[1])

def test_page_tables_equal_the_summary_or_say_not_yet_run():
    page = open(os.path.join(ROOT, robustness.PAGE)).read()
    summary = os.path.join(ROOT, robustness.SUMMARY)
    if not os.path.exists(summary):
        assert 'not yet run' in page and '<!-- table robustness:' not in page
        return
    from test_results import stale_tables
    assert '<!-- table robustness:increase -->' in page
    assert [b for b in stale_tables(page) if b[0].startswith('robustness:')] == []
