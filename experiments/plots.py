"""
The comparison's two charts as PNGs, drawn with Pillow alone: val bits per byte against optimizer steps
(mean and seed band per arm), and val bits per byte by how often the input token occurred in training.
"""
import math
import os

from PIL import Image, ImageDraw, ImageFont

COLORS = {'glyph': (200, 30, 30), 'glyph_paper': (240, 140, 0), 'trainable': (30, 80, 200),
          'random': (40, 150, 40), 'binary': (120, 60, 160), 'glyph grown': (250, 150, 110), 'trainable grown': (90, 180, 230)}
OTHER = (90, 90, 90)        # any arm not in COLORS
BASELINE = (150, 150, 150)  # lighter than OTHER, and dashed, so it never reads as an arm
GRID = (228, 228, 228)
W, H = 1000, 620
PL, PR, PT, PB = 90, 780, 50, 545  # the plot area; the legend sits right of it, where no data can be

def font(size=14):
    try:
        return ImageFont.load_default(size=size)
    except TypeError: # Pillow < 10.1: one fixed-size bitmap font
        return ImageFont.load_default()

def nice_ticks(lo, hi, n=5):
    """round values 1, 2, 2.5 or 5 x 10^k apart, about n intervals of them, from <= lo to >= hi"""
    lo, hi = min(lo, hi), max(lo, hi)
    if hi == lo: # a single value: give it a range around itself
        pad = abs(lo) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    base = 10 ** math.floor(math.log10((hi - lo) / n))
    # the 1e-9 keeps float noise (2.3 / 0.1 = 22.999...) from adding a tick outside the data
    count = lambda s: math.ceil(hi / s - 1e-9) - math.floor(lo / s + 1e-9)
    step = min((m * base * e for e in (1, 10) for m in (1, 2, 2.5, 5)), key=lambda s: (abs(count(s) - n), -s))
    first = math.floor(lo / step + 1e-9)
    return [float(f"{k * step:.12g}") for k in range(first, first + count(step) + 1)]

def text(d, x, y, s, f, h='l', v='t', fill=(0, 0, 0)):
    """s with its h = 'l'eft/'c'enter/'r'ight at x and v = 't'op/'m'iddle/'b'ottom at y; by its measured box,
    as anchor= works with TrueType fonts only, not the bitmap fallback"""
    l, t, r, b = d.textbbox((0, 0), s, font=f)
    d.text((x - l - {'l': 0, 'c': (r - l) / 2, 'r': r - l}[h], y - t - {'t': 0, 'm': (b - t) / 2, 'b': b - t}[v]),
           s, font=f, fill=fill)

def canvas(title, xlabel, lo, hi, ylabel='val bits per byte'):
    """a white RGBA canvas with title, axis labels and a y axis covering [lo, hi]; returns it and y -> row"""
    pad = 0.05 * (hi - lo) # so that no line, band or error bar touches the frame
    yt = nice_ticks(lo - pad, hi + pad)
    Y = lambda y: PB - (PB - PT) * (y - yt[0]) / (yt[-1] - yt[0])
    dec = max([2] + [len(repr(y).partition('.')[2]) for y in yt]) # 2 decimals, or as many as 2.025 needs
    img = Image.new('RGBA', (W, H), 'white')
    d, f = ImageDraw.Draw(img), font()
    for y in yt:
        d.line([PL, Y(y), PR, Y(y)], fill=GRID)
        d.line([PL - 5, Y(y), PL, Y(y)], fill='black')
        text(d, PL - 8, Y(y), f"{y:.{dec}f}", f, 'r', 'm')
    text(d, (PL + PR) / 2, 16, title, font(16), 'c')
    text(d, (PL + PR) / 2, H - 14, xlabel, f, 'c', 'b')
    l, t, r, b = d.textbbox((0, 0), ylabel, font=f) # the y label, drawn flat then turned upright
    flat = Image.new('RGBA', (r - l + 4, b - t + 4), (255, 255, 255, 0))
    ImageDraw.Draw(flat).text((2 - l, 2 - t), ylabel, font=f, fill='black')
    up = flat.rotate(90, expand=True)
    img.alpha_composite(up, (12, int((PT + PB - up.height) / 2)))
    return img, Y

def finish(img, legend, path):
    """frame the plot area, add the legend [(label, color, 'line' | 'dash' | 'dot')], write the PNG atomically"""
    d, f = ImageDraw.Draw(img), font()
    d.rectangle([PL, PT, PR, PB], outline='black')
    x, y, row = PR + 15, PT, 22
    width = max(d.textlength(label, font=f) for label, _, _ in legend) + 48
    if x + width + 10 > img.width: # a long label widens the picture rather than run off its edge
        wide = Image.new('RGBA', (int(x + width + 10), img.height), 'white')
        wide.paste(img, (0, 0))
        img, d = wide, ImageDraw.Draw(wide)
    d.rectangle([x, y, x + width, y + row * len(legend) + 10], fill='white', outline=(160, 160, 160))
    for k, (label, color, kind) in enumerate(legend):
        cy = y + 16 + row * k
        if kind == 'dot':
            d.ellipse([x + 17, cy - 5, x + 27, cy + 5], fill=color)
        elif kind == 'dash':
            for a in (x + 8, x + 19, x + 30):
                d.line([a, cy, a + 6, cy], fill=color, width=2)
        else:
            d.line([x + 8, cy, x + 36, cy], fill=color, width=3)
        text(d, x + 42, cy, label, f, 'l', 'm')
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    img.convert('RGB').save(f"{path}.tmp.png")
    os.replace(f"{path}.tmp.png", path) # a reader never sees half a file

def plot_curves(curves, path, baseline=None, title="val bits per byte vs optimizer steps"):
    """curves: {arm: {seed: [(step, val_bpb), ...]}} -> PNG at path: per arm the mean over seeds as a line
    and a min-max band over seeds (none for one seed), at the steps all its seeds share; baseline dashed"""
    stats = {} # arm -> steps, means, mins, maxes, number of seeds
    for arm, seeds in curves.items():
        runs = [dict(run) for run in seeds.values()] # a step logged twice (a resumed run) counts once
        steps = sorted(set.intersection(*(set(r) for r in runs))) if runs else []
        if steps:
            vals = [[r[s] for r in runs] for s in steps]
            stats[arm] = (steps, [sum(v) / len(v) for v in vals], [min(v) for v in vals],
                          [max(v) for v in vals], len(runs))
    if not stats:
        raise ValueError("plot_curves: no arm has a step common to all its seeds")
    xs = [x for s in stats.values() for x in s[0]]
    ys = [y for s in stats.values() for y in s[2] + s[3]] + ([baseline] if baseline is not None else [])
    img, Y = canvas(title, 'optimizer steps', min(ys), max(ys))
    xt = nice_ticks(min(xs), max(xs))
    X = lambda x: PL + (PR - PL) * (x - xt[0]) / (xt[-1] - xt[0])
    d, f = ImageDraw.Draw(img), font()
    for x in xt:
        d.line([X(x), PT, X(x), PB], fill=GRID)
        d.line([X(x), PB, X(x), PB + 5], fill='black')
        text(d, X(x), PB + 8, f"{x:,.0f}" if x == int(x) else f"{x:g}", f, 'c')
    for arm, (steps, mean, lo, hi, n) in stats.items():
        if n > 1: # each band on its own overlay, composited: where bands overlap both stay visible
            band = Image.new('RGBA', img.size, (0, 0, 0, 0))
            poly = [(X(s), Y(v)) for s, v in zip(steps, hi)] + [(X(s), Y(v)) for s, v in zip(steps, lo)][::-1]
            ImageDraw.Draw(band).polygon(poly, fill=COLORS.get(arm, OTHER) + (50,))
            img.alpha_composite(band)
    d = ImageDraw.Draw(img)
    if baseline is not None:
        for a in range(PL, PR, 12):
            d.line([a, Y(baseline), min(a + 7, PR), Y(baseline)], fill=BASELINE, width=2)
    for arm, (steps, mean, lo, hi, n) in stats.items():
        pts = [(X(s), Y(v)) for s, v in zip(steps, mean)]
        if len(pts) == 1: # one step: a line of one point draws nothing
            d.ellipse([pts[0][0] - 3, pts[0][1] - 3, pts[0][0] + 3, pts[0][1] + 3], fill=COLORS.get(arm, OTHER))
        d.line(pts, fill=COLORS.get(arm, OTHER), width=3, joint='curve')
    legend = [(f"{arm} ({s[4]} seed{'s' * (s[4] != 1)})", COLORS.get(arm, OTHER), 'line') for arm, s in stats.items()]
    finish(img, legend + [('unigram baseline', BASELINE, 'dash')] * (baseline is not None), path)

def plot_buckets(rows, path, title="val bits per byte by input-token frequency in training",
                 xlabel='training occurrences of the input token'):
    """rows: {arm: [(bucket_label, mean, halfwidth_or_None), ...]}, the same buckets in the same order for
    every arm -> PNG at path: per bucket one dot per arm, side by side, with an error bar of +-halfwidth"""
    labels = [b for b, _, _ in next(iter(rows.values()))]
    if any([b for b, _, _ in r] != labels for r in rows.values()):
        raise ValueError("plot_buckets: every arm needs the same buckets in the same order")
    ys = [m + s * (hw or 0) for r in rows.values() for _, m, hw in r if m is not None for s in (-1, 1)]
    img, Y = canvas(title, xlabel, min(ys), max(ys))
    d, f = ImageDraw.Draw(img), font()
    slot = (PR - PL) / len(labels)
    gap = min(18, 0.6 * slot / len(rows)) # the arms of a bucket side by side, well clear of the next bucket
    r = min(5, 0.35 * gap)
    for i, b in enumerate(labels):
        x = PL + slot * (i + 0.5)
        d.line([x, PB, x, PB + 5], fill='black')
        text(d, x, PB + 8, b, f, 'c')
    for j, (arm, row) in enumerate(rows.items()):
        color = COLORS.get(arm, OTHER)
        for i, (_, m, hw) in enumerate(row):
            if m is None: # no tokens of this arm fell in the bucket
                continue
            x = PL + slot * (i + 0.5) + (j - (len(rows) - 1) / 2) * gap
            if hw is not None:
                d.line([x, Y(m - hw), x, Y(m + hw)], fill=color, width=2)
                for y in (m - hw, m + hw):
                    d.line([x - r, Y(y), x + r, Y(y)], fill=color, width=2)
            d.ellipse([x - r, Y(m) - r, x + r, Y(m) + r], fill=color)
    finish(img, [(arm, COLORS.get(arm, OTHER), 'dot') for arm in rows], path)

# -----------------------------------------------------------------------------
# analyze.py's two pictures: measures by depth, and words on a 2-D map

def grid(tiles, per_row=2):
    """images in a grid per_row wide, each cell as large as the largest tile"""
    w, h = max(t.width for t in tiles), max(t.height for t in tiles)
    img = Image.new('RGB', (w * min(per_row, len(tiles)), h * -(-len(tiles) // per_row)), 'white')
    for k, t in enumerate(tiles):
        img.paste(t.convert('RGB'), ((k % per_row) * w, (k // per_row) * h))
    return img

def save(img, path):
    """img written atomically as a PNG: a reader never sees half a file"""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    img.save(f"{path}.tmp.png")
    os.replace(f"{path}.tmp.png", path)

def plot_layers(panels, depths, path, xlabel="depth: 0 = the input embedding, n = after block n"):
    """panels [(title, ylabel, {arm: [(mean, halfwidth or None) per depth]}, chance or None)], depths the
    x labels -> one PNG at path, two panels a row: per arm its means by depth as a line, each with its
    interval as a bar (arms nudged apart so that bars do not hide each other), chance dashed"""
    import tempfile
    tiles = []
    with tempfile.TemporaryDirectory() as tmp: # finish() frames, adds the legend and writes a panel
        for k, (title, ylabel, rows, chance) in enumerate(panels):
            ys = [m + s * (hw or 0) for r in rows.values() for m, hw in r for s in (-1, 1)] + [chance] * (chance is not None)
            img, Y = canvas(title, xlabel, min(ys), max(ys), ylabel)
            d, f = ImageDraw.Draw(img), font()
            X = lambda i: PL + (PR - PL) * (i + 0.5) / len(depths)
            for i, label in enumerate(depths):
                d.line([X(i), PB, X(i), PB + 5], fill='black')
                text(d, X(i), PB + 8, label, f, 'c')
            if chance is not None:
                for a in range(PL, PR, 12):
                    d.line([a, Y(chance), min(a + 7, PR), Y(chance)], fill=BASELINE, width=2)
            for j, (arm, r) in enumerate(rows.items()):
                color, nudge = COLORS.get(arm, OTHER), (j - (len(rows) - 1) / 2) * 8
                pts = [(X(i) + nudge, Y(m)) for i, (m, _) in enumerate(r)]
                d.line(pts, fill=color, width=3)
                for (x, y), (m, hw) in zip(pts, r):
                    if hw is not None:
                        d.line([x, Y(m - hw), x, Y(m + hw)], fill=color, width=2)
                        for v in (m - hw, m + hw):
                            d.line([x - 4, Y(v), x + 4, Y(v)], fill=color, width=2)
                    d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=color)
            legend = [(arm, COLORS.get(arm, OTHER), 'line') for arm in rows] + [('chance', BASELINE, 'dash')] * (chance is not None)
            finish(img, legend, os.path.join(tmp, f'{k}.png'))
            tiles.append(Image.open(os.path.join(tmp, f'{k}.png')).copy()) # copied: read before the folder goes
    save(grid(tiles), path)

KINDS = [(230, 120, 0), (0, 150, 150), (120, 60, 160), (40, 150, 40), (150, 90, 40), (200, 30, 120), (90, 90, 90)] # not the arms' colours

def plot_maps(maps, path, font_path=None, per_row=2, size=640):
    """maps [(title, [(x, y, label, group)])] -> one PNG at path, per_row maps a row: each word a point at (x, y),
    labelled, coloured by its group's kind (the group name's last word), a circle or square by its language
    (the first word), with one legend under the maps. font_path: a TrueType font for labels Pillow's lacks"""
    groups = sorted({g for _, pts in maps for *_, g in pts})
    kinds = sorted({g.split(' ')[-1] for g in groups})
    langs = sorted({g.split(' ')[0] for g in groups})
    color = lambda g: KINDS[kinds.index(g.split(' ')[-1]) % len(KINDS)]
    square = lambda g: langs.index(g.split(' ')[0]) % 2 == 1
    f = ImageFont.truetype(font_path, 16) if font_path else font(12)
    tiles = []
    for title, pts in maps:
        img = Image.new('RGB', (size, size + 30), 'white')
        d = ImageDraw.Draw(img)
        text(d, size / 2, 8, title, font(15), 'c')
        lo = [min(p[a] for p in pts) for a in (0, 1)]
        hi = [max(p[a] for p in pts) for a in (0, 1)]
        at = lambda p, a: 40 + (size - 110) * (p[a] - lo[a]) / ((hi[a] - lo[a]) or 1) # labels need room on the right
        d.rectangle([20, 40, size - 20, size + 10], outline=(160, 160, 160))
        for p in pts:
            x, y = at(p, 0), size + 30 - at(p, 1) - 20
            (d.rectangle if square(p[3]) else d.ellipse)([x - 4, y - 4, x + 4, y + 4], fill=color(p[3]))
            text(d, x + 6, y, p[2], f, 'l', 'm', fill=color(p[3]))
        tiles.append(img)
    legend = Image.new('RGB', (per_row * size, 40), 'white')
    d, x = ImageDraw.Draw(legend), 20
    for k in kinds:
        d.ellipse([x, 16, x + 10, 26], fill=color(k))
        text(d, x + 16, 21, k, font(), 'l', 'm')
        x += 30 + d.textlength(k, font=font())
    for i, lang in enumerate(langs):
        (d.rectangle if i % 2 else d.ellipse)([x, 16, x + 10, 26], outline='black')
        text(d, x + 16, 21, lang, font(), 'l', 'm')
        x += 30 + d.textlength(lang, font=font())
    maps_img = grid(tiles, per_row)
    out = Image.new('RGB', (max(maps_img.width, legend.width), maps_img.height + legend.height), 'white')
    out.paste(maps_img, (0, 0))
    out.paste(legend, (0, maps_img.height))
    save(out, path)

def plot_intervals(series, path, title, xlabel, ylabel):
    """series: {name: [(x, mean, ci95 or None), ...]} -> PNG at path: per series the means joined by a line
    and the 95% interval as a band; a dashed line at zero, the no-difference mark"""
    pts = [p for s in series.values() for p in s]
    if not pts:
        raise ValueError("plot_intervals: no points to draw")
    ys = [0.0] + [m + sgn * (hw or 0) for _, m, hw in pts for sgn in (-1, 1)]
    img, Y = canvas(title, xlabel, min(ys), max(ys), ylabel)
    xt = nice_ticks(0, max(x for x, _, _ in pts))
    X = lambda x: PL + (PR - PL) * (x - xt[0]) / (xt[-1] - xt[0])
    d, f = ImageDraw.Draw(img), font()
    for x in xt:
        d.line([X(x), PT, X(x), PB], fill=GRID)
        d.line([X(x), PB, X(x), PB + 5], fill='black')
        text(d, X(x), PB + 8, f"{x:g}", f, 'c')
    colors = [(200, 30, 30), (40, 150, 40), (30, 80, 200), (120, 60, 160)]
    for (name, s), color in zip(series.items(), colors):
        band = [(x, m, hw) for x, m, hw in s if hw is not None]
        if len(band) > 1:
            layer = Image.new('RGBA', img.size, (0, 0, 0, 0))
            poly = [(X(x), Y(m + hw)) for x, m, hw in band] + [(X(x), Y(m - hw)) for x, m, hw in band][::-1]
            ImageDraw.Draw(layer).polygon(poly, fill=color + (50,))
            img.alpha_composite(layer)
    d = ImageDraw.Draw(img)
    for a in range(PL, PR, 12):
        d.line([a, Y(0), min(a + 7, PR), Y(0)], fill=BASELINE, width=2)
    for (name, s), color in zip(series.items(), colors):
        for x, m, hw in s: # the interval as a bar too: a band needs two budgets, a bar does not
            if hw is not None:
                d.line([X(x), Y(m - hw), X(x), Y(m + hw)], fill=color, width=2)
            d.ellipse([X(x) - 4, Y(m) - 4, X(x) + 4, Y(m) + 4], fill=color)
        if len(s) > 1:
            d.line([(X(x), Y(m)) for x, m, _ in s], fill=color, width=3)
    finish(img, [(name, color, 'line') for (name, _), color in zip(series.items(), colors)]
           + [('no difference', BASELINE, 'dash')], path)
