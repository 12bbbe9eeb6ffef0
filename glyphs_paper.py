"""
The paper's recipe, transcribed from the reference notebooks (--recipe paper). Each character is drawn
at size 32 in its own cell, centred by its bounding box; Latin, Greek, Cyrillic and Armenian tokens get
the reference's fixed "augmentation" (rotation, shift, black pixels, blur), other scripts the black
pixels only; then a 1-bit threshold, a nearest-neighbour squeeze back to one cell, the polar pixel order.
docs/glyphs.md says what this gets wrong, and glyphs.py's default recipe what it does instead.

glyphs.render calls paper_cells(texts, font paths, cell size, big) -> uint8 [V, S*S], 1 = ink, where
big (more than 65,536 ids) picks the reference's stronger parameters. Everything comes in as arguments,
so this file never imports glyphs.py; tests/test_glyphs.py holds it, token by token, to a direct
transcription of the reference code.
"""
import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# -----------------------------------------------------------------------------
# one character, drawn the way the reference draws it

def paper_glyphs(path, S, cps):
    """the reference: draw.text of one character, centred by its bbox in an S x S cell (bbox left not
    subtracted, as in the reference). Drawn on a 3-cell strip because ink may spill over: -> (uint8
    [n, S, S] cells, white 255; {index: the whole strip} for the few that spill)"""
    f = ImageFont.truetype(path, S, layout_engine=ImageFont.Layout.BASIC)
    cells, spill = np.zeros((len(cps), S, S), np.uint8), {}
    for k, cp in enumerate(cps):
        img = Image.new('L', (3 * S, S), 255)
        try:
            l, t, r, b = f.getbbox(chr(cp))
            xy = (S + (S - (r - l)) // 2, (S - (b - t)) // 2 - t) # the middle cell of the strip
            ImageDraw.Draw(img).text(xy, chr(cp), fill=0, font=f)
        except Exception: # the reference leaves the cell blank on drawing errors
            pass
        a = np.asarray(img)
        cells[k] = a[:, S:2 * S]
        if a[:, :S].min() < 255 or a[:, 2 * S:].min() < 255:
            spill[k] = a
    return cells, spill

# -----------------------------------------------------------------------------
# one canvas: the reference's transform, the same for every token of a length and script class, and
# its pixel order

def easy_script(t):
    """the reference's is_easy_script: Latin, Greek, Cyrillic, Armenian only"""
    return all(c < 0x250 or 0x370 <= c < 0x590 for c in map(ord, t))

def paper_transform(n, easy, big, S=32):
    """the reference's 'augmentation' for an S x nS canvas. It reseeds with 42 on every call, so
    every token of a length gets the same rotation, shift and noise: we draw them once and return
    them as (gather map, noise mask, blur?). 65,536-id vocabularies used R, S, p = 4, 2, 0.01;
    131,072-id ones 7, 3, 0.03; other scripts only noise with p = 0.001."""
    H, W = S, S * n
    R, sh, p = (7, 3, 0.03) if big else (4, 2, 0.01)
    if not easy:
        R, sh, p = 0, 0, 0.001
    rng = random.Random(42)
    angle, dx, dy = rng.uniform(-R, R), rng.randint(-sh, sh), rng.randint(-sh, sh)
    noise = np.random.RandomState(42).rand(H, W) < p
    # rotate (nearest, white fill) by rotating an image of pixel indices, then shift (white fill)
    idx = Image.fromarray(np.arange(1, H * W + 1, dtype=np.int32).reshape(H, W))
    rot = np.asarray(idx.rotate(angle, fillcolor=0)) if angle else np.asarray(idx)
    src = np.zeros((H, W), np.int64)
    shifted = np.s_[max(dy, 0):H + min(dy, 0), max(dx, 0):W + min(dx, 0)]
    src[shifted] = rot[max(-dy, 0):H - max(dy, 0), max(-dx, 0):W - max(dx, 0)]
    return src, noise, easy

def polar_order(S):
    """the reference's pixel order: by (distance from centre, angle, x, y)"""
    c = S / 2
    pixels = [(math.hypot(x - c, y - c), math.atan2(y - c, x - c), x, y) for y in range(S) for x in range(S)]
    return np.array([y * S + x for r, a, x, y in sorted(pixels)])

# -----------------------------------------------------------------------------
# the whole vocabulary: the tokens that share a transform drawn as one batch

def paper_cells(texts, paths, S, big):
    """-> uint8 [V, S*S], 1 = ink, pixels in polar order. Tokens of one length and script class share
    one transform, so they are drawn in batches: cells side by side, then one gather for all"""
    V = len(texts)
    cps = sorted({ord(c) for t in texts for c in t})
    cells, spill = paper_glyphs(paths[0], S, cps) # spill: index into cps -> its 3-cell strip
    cps = np.array(cps, np.int64)
    out, polar = np.zeros((V, S * S), np.uint8), polar_order(S)
    groups = {}
    for i, t in enumerate(texts):
        groups.setdefault((len(t), easy_script(t)), []).append(i)
    for (n, easy), ids in sorted(groups.items()):
        src, noise, blur = paper_transform(n, easy, big, S)
        # the canvas column each of the S output columns takes: Pillow's nearest resize, once per group
        strip = Image.fromarray(np.tile(np.arange(S * n, dtype=np.int32), (S, 1)))
        cols = np.asarray(strip.resize((S, S), Image.NEAREST))[0]
        for c0 in range(0, len(ids), 1024):
            chunk = ids[c0:c0 + 1024]
            g = np.searchsorted(cps, [[ord(c) for c in texts[i]] for i in chunk]) # [k, n]
            canvas = np.concatenate(list(cells[g[:, j]] for j in range(n)), axis=2) # [k, S, nS], white 255
            for r, row in enumerate(g): # the few glyphs whose ink spills into the neighbouring cells
                for j in (j for j in range(n) if row[j] in spill):
                    a = spill[row[j]][:, max(0, 1 - j) * S:min(3, n + 1 - j) * S]
                    x0 = max(0, j - 1) * S
                    canvas[r, :, x0:x0 + a.shape[1]] = np.minimum(canvas[r, :, x0:x0 + a.shape[1]], a)
            flat = canvas.reshape(len(chunk), -1)
            canvas = np.where(src > 0, flat[:, np.maximum(src - 1, 0)], 255).astype(np.uint8)
            canvas[:, noise] = 0
            if blur: # per canvas: PIL clamps at the edges in each of its box passes, so stacking differs
                blurred = [Image.fromarray(a).filter(ImageFilter.GaussianBlur(0.5)) for a in canvas]
                canvas = np.stack([np.asarray(b) for b in blurred])
            bits = (canvas < 128)[:, :, cols] # threshold, then Pillow's nearest resize of the 1-bit image
            out[chunk] = bits.reshape(len(chunk), S * S)[:, polar]
    return out
