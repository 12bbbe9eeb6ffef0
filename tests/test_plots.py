"""plots.py: the tick helper and the two charts, checked by their pixels."""
import os

import numpy as np
import pytest
from PIL import Image

from experiments import plots

def count(path, color, tol=0):
    """pixels of the PNG at path within tol of color in every channel"""
    img = np.asarray(Image.open(path).convert('RGB'), dtype=int)
    return int((np.abs(img - color) <= tol).all(axis=-1).sum())

def band_color(color, alpha=50):
    """color at alpha over the white background, as the seed band shows it"""
    return tuple(round(c * alpha / 255 + 255 * (1 - alpha / 255)) for c in color)

def test_nice_ticks():
    t = plots.nice_ticks(2.31, 2.62)
    steps = {round(b - a, 9) for a, b in zip(t, t[1:])}
    assert steps in ({0.05}, {0.1}) and t[0] <= 2.31 and t[-1] >= 2.62
    assert plots.nice_ticks(2.31, 2.62) == [2.3, 2.4, 2.5, 2.6, 2.7] # exact values: no float noise
    assert plots.nice_ticks(0, 150) in ([0, 50, 100, 150], [0, 25, 50, 75, 100, 125, 150])
    assert plots.nice_ticks(0, 3000) == [0, 500, 1000, 1500, 2000, 2500, 3000]
    for v in (2.5, 0.0, -3.0): # one value: a range around it, never a division by zero
        t = plots.nice_ticks(v, v)
        assert t[0] < v < t[-1] and len(t) >= 3
    assert plots.nice_ticks(2.62, 2.31) == plots.nice_ticks(2.31, 2.62)

def test_plot_curves(tmp_path):
    path = tmp_path / 'sub' / 'curves.png' # the folder is made
    glyph = {s: [(t, 2.4 + s / 20 + 1 / (1 + t / 100)) for t in range(0, 1001, 100)] for s in range(3)}
    glyph[0] += [(1050, 2.0)] # a step only one seed has: left out of the mean and band
    one = {7: [(t, 2.6 + 1 / (1 + t / 100)) for t in range(0, 1001, 50)]}
    other = {7: [(t, v + 0.3) for t, v in one[7]]} # an arm not in COLORS
    plots.plot_curves({'glyph': glyph, 'trainable': one, 'other': other}, str(path), baseline=2.5)
    assert Image.open(path).size == (1000, 620) and os.listdir(path.parent) == ['curves.png']
    assert count(path, plots.COLORS['glyph']) > 500 # the mean line
    assert count(path, band_color(plots.COLORS['glyph']), tol=2) > 500 # its seed band
    assert count(path, plots.COLORS['trainable']) > 500 # one seed: the line ...
    assert count(path, band_color(plots.COLORS['trainable']), tol=2) == 0 # ... and no band
    assert count(path, plots.OTHER) > 100 and count(path, plots.BASELINE) > 100
    with pytest.raises(ValueError):
        plots.plot_curves({'glyph': {0: [(0, 3.0)], 1: [(1, 3.0)]}}, str(path)) # no common step

def test_plot_buckets(tmp_path):
    labels = ['never', '1-9', '10-99', '100-999', '1000+']
    rows = {arm: [(b, 3.0 - 0.2 * i + 0.05 * j, 0.1 if i < 4 else None) for i, b in enumerate(labels)]
            for j, arm in enumerate(['glyph', 'trainable', 'binary'])}
    path = tmp_path / 'buckets.png'
    plots.plot_buckets(rows, str(path))
    assert Image.open(path).size == (1000, 620)
    for arm in rows:
        assert count(path, plots.COLORS[arm]) > 200 # dots and error bars
    rows['binary'] = rows['binary'][::-1]
    with pytest.raises(ValueError):
        plots.plot_buckets(rows, str(path))
