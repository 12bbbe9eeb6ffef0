"""
The experiments' charts, drawn with matplotlib: one function per figure. Each draws into a new Figure (or
into the Axes passed as ax=, to restyle or combine), writes a PNG when given a path, and returns the Figure,
so a reader can change colours, limits or labels and save again. matplotlib is an optional dependency of
the experiments alone: it is imported when a chart is drawn, and the core never needs it.
The glyph pictures (glyphs_report.py) stay Pillow: they are images of the font, not charts.
"""
import os

COLORS = {'glyph': '#c81e1e', 'glyph_paper': '#f08c00', 'trainable': '#1e50c8', 'random': '#289628',
          'binary': '#783ca0', 'glyph grown': '#fa966e', 'trainable grown': '#5ab4e6'}
OTHER = '#5a5a5a'     # any arm not in COLORS
BASELINE = '#969696'  # lighter than OTHER, and dashed, so it never reads as an arm
SERIES = ['#c81e1e', '#289628', '#1e50c8', '#783ca0'] # plot_intervals' series, in order
KINDS = ['#e67800', '#009696', '#783ca0', '#289628', '#965a28', '#c81e78', '#5a5a5a'] # not the arms' colours
DPI = 100               # fixed, so that the same data always gives the same pixels
SIZE = (10, 6.2)        # inches: 1000 x 620 pixels at DPI
BPB = 'val bits per byte (bits/byte)'

def figure(ax=None, size=SIZE, rows=1, cols=1):
    """(Figure, Axes): ax's own figure when given one, else a new one of rows x cols Axes. A Figure, not
    pyplot: no global state, no GUI backend, and nothing left open between calls"""
    try: # an optional dependency, for the experiments' charts only
        import matplotlib
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("the experiments' charts need matplotlib: `pip install matplotlib`") from None
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=size, dpi=DPI, layout='constrained')
    return fig, fig.subplots(rows, cols, squeeze=rows * cols == 1)

def save(fig, path):
    """fig as a PNG at path, written atomically (a reader never sees half a file); metadata without the
    matplotlib version, and PNGs carry no date, so the same figure always gives the same bytes"""
    if path is None:
        return fig
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(f"{path}.tmp.png", format='png', dpi=DPI, metadata={'Software': None})
    os.replace(f"{path}.tmp.png", path)
    return fig

def color(arm):
    return COLORS.get(arm, OTHER)

# -----------------------------------------------------------------------------
# compare.py and compare_growth.py: curves over steps, and val bpb by token frequency

def plot_curves(curves, path=None, baseline=None, title="val bits per byte vs optimizer steps", ax=None):
    """curves: {arm: {seed: [(step, val_bpb), ...]}}: per arm the mean over seeds as a line and a min-max
    band over seeds (none for one seed), at the steps all its seeds share; the unigram baseline dashed"""
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
    fig, ax = figure(ax)
    for arm, (steps, mean, lo, hi, n) in stats.items():
        label = f"{arm} ({n} seed{'s' * (n != 1)})"
        ax.plot(steps, mean, color=color(arm), lw=2, marker='o' if len(steps) == 1 else None, label=label)
        if n > 1:
            ax.fill_between(steps, lo, hi, color=color(arm), alpha=0.2, lw=0, label=f"{arm}: seed min-max")
    if baseline is not None:
        ax.axhline(baseline, color=BASELINE, ls='--', lw=1.5, label='unigram baseline')
    ax.set(title=title, xlabel='optimizer steps', ylabel=BPB)
    ax.grid(alpha=0.3)
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1)) # right of the axes, where no data can be
    return save(fig, path)

def plot_buckets(rows, path=None, title="val bits per byte by input-token frequency in training",
                 xlabel='training occurrences of the input token', ax=None):
    """rows: {arm: [(bucket_label, mean or None, halfwidth or None), ...]}, the same buckets in the same
    order for every arm: per bucket one dot per arm, side by side, with an error bar of +-halfwidth"""
    labels = [b for b, _, _ in next(iter(rows.values()))]
    if any([b for b, _, _ in r] != labels for r in rows.values()):
        raise ValueError("plot_buckets: every arm needs the same buckets in the same order")
    fig, ax = figure(ax)
    gap = min(0.15, 0.6 / len(rows)) # the arms of a bucket side by side, well clear of the next bucket
    for j, (arm, row) in enumerate(rows.items()):
        kept = [(i, m, hw) for i, (_, m, hw) in enumerate(row) if m is not None] # None: no tokens there
        xs = [i + (j - (len(rows) - 1) / 2) * gap for i, _, _ in kept]
        ax.errorbar(xs, [m for _, m, _ in kept], yerr=[hw or 0 for _, _, hw in kept], fmt='o',
                    color=color(arm), capsize=4, label=arm)
    ax.set_xticks(range(len(labels)), labels)
    ax.set(title=title, xlabel=xlabel, ylabel=BPB)
    ax.grid(alpha=0.3, axis='y')
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1))
    return save(fig, path)

# -----------------------------------------------------------------------------
# sweep.py: a paired difference against the budget, with its 95% interval

def plot_intervals(series, path=None, title='', xlabel='', ylabel='', ax=None):
    """series: {name: [(x, mean, ci95 halfwidth or None), ...]}: per series the means joined by a line, the
    95% interval as a band and as a bar (a band needs two points, a bar does not); zero dashed"""
    if not any(series.values()):
        raise ValueError("plot_intervals: no points to draw")
    fig, ax = figure(ax)
    ax.axhline(0, color=BASELINE, ls='--', lw=1.5, label='no difference', zorder=1)
    for (name, s), c in zip(series.items(), SERIES):
        xs, ms, hws = zip(*s)
        band = [(x, m, hw) for x, m, hw in s if hw is not None]
        if len(band) > 1:
            ax.fill_between([x for x, _, _ in band], [m - hw for _, m, hw in band],
                            [m + hw for _, m, hw in band], color=c, alpha=0.18, lw=0,
                            label=f"{name}: 95% interval")
        ax.errorbar(xs, ms, yerr=[hw or 0 for hw in hws], color=c, lw=2, marker='o', capsize=4, label=name)
    ax.set_xlim(left=0)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    return save(fig, path)

# -----------------------------------------------------------------------------
# analyze.py's two pictures: measures by depth, and words on a 2-D map

def plot_layers(panels, depths, path=None, xlabel="depth: 0 = the input embedding, n = after block n"):
    """panels [(title, ylabel, {arm: [(mean, halfwidth or None) per depth]}, chance or None)], depths the
    x labels: two panels a row, per arm its means by depth as a line with its interval as a bar (arms
    nudged apart so that bars do not hide each other), chance dashed"""
    rows = -(-len(panels) // 2)
    fig, axes = figure(size=(SIZE[0] * min(2, len(panels)), SIZE[1] * rows), rows=rows,
                       cols=min(2, len(panels)))
    axes = axes.ravel()
    for ax, (title, ylabel, by_arm, chance) in zip(axes, panels):
        if chance is not None:
            ax.axhline(chance, color=BASELINE, ls='--', lw=1.5, label='chance')
        for j, (arm, r) in enumerate(by_arm.items()):
            xs = [i + (j - (len(by_arm) - 1) / 2) * 0.06 for i in range(len(r))]
            ax.errorbar(xs, [m for m, _ in r], yerr=[hw or 0 for _, hw in r], color=color(arm), lw=2,
                        marker='o', capsize=3, label=arm)
        ax.set_xticks(range(len(depths)), depths)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in axes[len(panels):]: # an odd number of panels leaves one cell empty
        ax.set_axis_off()
    return save(fig, path)

def plot_maps(maps, path=None, font_path=None, per_row=2, size=6.4):
    """maps [(title, [(x, y, label, group)])], per_row maps a row: each word a point at (x, y), labelled,
    coloured by its group's kind (the group name's last word), a circle or square by its language (the
    first word), one legend under the maps. font_path: a TrueType font for labels matplotlib's lacks"""
    from matplotlib.font_manager import FontProperties
    from matplotlib.lines import Line2D
    groups = sorted({g for _, pts in maps for *_, g in pts})
    kinds = sorted({g.split(' ')[-1] for g in groups})
    langs = sorted({g.split(' ')[0] for g in groups})
    hue = {k: KINDS[i % len(KINDS)] for i, k in enumerate(kinds)}
    marker = {lang: 'os'[i % 2] for i, lang in enumerate(langs)}
    prop = FontProperties(fname=font_path, size=9) if font_path else FontProperties(size=9)
    rows, cols = -(-len(maps) // per_row), min(per_row, len(maps))
    fig, axes = figure(size=(size * cols, size * rows + 0.6), rows=rows, cols=cols)
    axes = axes.ravel()
    for ax, (title, pts) in zip(axes, maps):
        for x, y, label, g in pts:
            kind, lang = g.split(' ')[-1], g.split(' ')[0]
            ax.scatter([x], [y], color=hue[kind], marker=marker[lang], s=25)
            ax.annotate(label, (x, y), xytext=(4, 0), textcoords='offset points', va='center',
                        color=hue[kind], fontproperties=prop)
        ax.set_title(title)
        ax.set_xticks([]), ax.set_yticks([]) # map axes have no unit: only distances mean something
        ax.margins(0.12)
    for ax in axes[len(maps):]:
        ax.set_axis_off()
    handles = ([Line2D([], [], ls='', marker='o', color=hue[k], label=k) for k in kinds]
               + [Line2D([], [], ls='', marker=marker[lang], mfc='none', mec='black', label=lang)
                  for lang in langs])
    fig.legend(handles=handles, loc='outside lower center', ncols=len(handles), frameon=False)
    return save(fig, path)
