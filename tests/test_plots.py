"""plots.py: every figure function draws from small inputs, writes a PNG, and carries the labels, legend
entries and bands it names; the same data gives the same bytes; without matplotlib, one sentence."""
import os
import sys

import pytest
from PIL import Image

from experiments import plots

pytest.importorskip('matplotlib', reason="the experiments' charts need `pip install matplotlib`")

def legend(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]

def bands(ax):
    """the filled interval bands of ax (fill_between's collections)"""
    from matplotlib.collections import FillBetweenPolyCollection, PolyCollection
    return [c for c in ax.collections if isinstance(c, (FillBetweenPolyCollection, PolyCollection))]

def test_plot_curves(tmp_path):
    path = tmp_path / 'sub' / 'curves.png' # the folder is made
    glyph = {s: [(t, 2.4 + s / 20 + 1 / (1 + t / 100)) for t in range(0, 1001, 100)] for s in range(3)}
    glyph[0] += [(1050, 2.0)] # a step only one seed has: left out of the mean and band
    one = {7: [(t, 2.6 + 1 / (1 + t / 100)) for t in range(0, 1001, 50)]}
    fig = plots.plot_curves({'glyph': glyph, 'trainable': one}, str(path), baseline=2.5)
    assert Image.open(path).size == (1000, 620) and os.listdir(path.parent) == ['curves.png']
    ax = fig.axes[0]
    assert legend(ax) == ['glyph (3 seeds)', 'glyph: seed min-max', 'trainable (1 seed)', 'unigram baseline']
    assert len(bands(ax)) == 1 # one seed: no band
    assert max(ax.lines[0].get_xdata()) == 1000 and ax.get_xlabel() == 'optimizer steps'
    assert 'bits/byte' in ax.get_ylabel()
    with pytest.raises(ValueError):
        plots.plot_curves({'glyph': {0: [(0, 3.0)], 1: [(1, 3.0)]}}, str(path)) # no common step

def test_plot_buckets(tmp_path):
    labels = ['never', '1-9', '10-99', '100-999', '1000+']
    rows = {arm: [(b, 3.0 - 0.2 * i + 0.05 * j, 0.1 if i < 4 else None) for i, b in enumerate(labels)]
            for j, arm in enumerate(['glyph', 'trainable', 'binary'])}
    rows['binary'][0] = ('never', None, None) # no tokens of this arm in the bucket: no dot
    path = tmp_path / 'buckets.png'
    ax = plots.plot_buckets(rows, str(path)).axes[0]
    assert Image.open(path).size == (1000, 620) and legend(ax) == ['glyph', 'trainable', 'binary']
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    assert len(ax.containers[2].lines[0].get_xdata()) == 4
    rows['binary'] = rows['binary'][::-1]
    with pytest.raises(ValueError):
        plots.plot_buckets(rows, str(path))

def test_plot_intervals_is_restylable_and_deterministic(tmp_path):
    series = {'glyph - trainable': [(0.4, -0.02, 0.1), (1.2, 0.05, 0.06), (4.9, 0.09, 0.03)],
              'glyph - random': [(0.4, -0.06, None)]}
    a, b = tmp_path / 'a.png', tmp_path / 'b.png'
    labels = 'title', 'training tokens (millions)', 'difference (bits/byte)'
    fig = plots.plot_intervals(series, str(a), *labels)
    ax = fig.axes[0]
    assert legend(ax) == ['no difference', 'glyph - trainable: 95% interval', 'glyph - trainable',
                          'glyph - random'] # one point: a bar, no band
    assert len(bands(ax)) == 1 and ax.get_xlim()[0] == 0 and ax.get_xlabel() == 'training tokens (millions)'
    plots.plot_intervals(series, str(b), *labels)
    assert a.read_bytes() == b.read_bytes() # no date, no version: the same data, the same file
    ax.set_ylim(-1, 1) # a reader restyles the returned figure and saves it again
    plots.save(fig, str(b))
    assert a.read_bytes() != b.read_bytes()
    from matplotlib.figure import Figure
    mine = Figure().subplots() # or draws into an Axes of their own
    assert plots.plot_intervals(series, None, ax=mine) is mine.figure and legend(mine)
    with pytest.raises(ValueError):
        plots.plot_intervals({}, str(a))

def test_plot_layers_and_maps(tmp_path):
    depths = ['0', '1', '2']
    panels = [(f"measure {k}", 'accuracy (fraction)', {'glyph': [(0.5, 0.05), (0.6, None), (0.7, 0.02)],
                                                     'trainable': [(0.4, 0.05), (0.5, 0.05), (0.6, 0.05)]},
               0.25 if k == 0 else None) for k in range(3)]
    path = tmp_path / 'layers.png'
    fig = plots.plot_layers(panels, depths, str(path))
    assert Image.open(path).size == (2000, 1240) # two a row, three panels: two rows, one cell empty
    assert legend(fig.axes[0]) == ['chance', 'glyph', 'trainable']
    assert legend(fig.axes[1]) == ['glyph', 'trainable']
    assert not fig.axes[3].axison
    groups = ['en letters', 'ru letters', 'en digits']
    pts = [(0.1 * i, (-1) ** i * 0.2 * i, f"w{i}", g) for i, g in enumerate(groups)]
    path = tmp_path / 'map.png'
    fig = plots.plot_maps([('input', pts), ('last', pts)], str(path))
    assert Image.open(path).size == (1280, 700)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ['digits', 'letters', 'en', 'ru']
    assert sorted(t.get_text() for t in fig.axes[0].texts) == ['w0', 'w1', 'w2']

def test_without_matplotlib_one_sentence(monkeypatch):
    monkeypatch.setitem(sys.modules, 'matplotlib', None) # import matplotlib now raises ImportError
    monkeypatch.setitem(sys.modules, 'matplotlib.figure', None)
    with pytest.raises(ImportError, match='pip install matplotlib'):
        plots.plot_intervals({'a': [(1, 0.0, None)]}, None)
