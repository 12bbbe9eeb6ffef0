"""
What the frozen input must carry, asked where rare inputs are many: the sweep of experiments/sweep.py on
the 65,536-id codepoint tokenizer (data/codepoint), K = 16 bits per id as in the binary-code paper
(A. Bochkov, arXiv 2605.09751). The arms, all in config/sweep.py's shape:
  glyph      frozen Unifont glyphs: the look of the characters
  binary     frozen: the id's 16 bits as +-1, tiled; a fixed address with no look at all
  affine     binary recoded by a random invertible affine map over GF(2) (its own per seed), computed
             on the fly, no table held: at 65,536 = 2^16 ids the same set of rows as binary, reordered
  random     frozen Gaussian rows, a matrix of its own for every seed
  trainable  an ordinary learned embedding
If a contentless fixed code does as well as the glyphs, their look is not what makes the method work; if
the glyphs win on the inputs seen least in training (where an address alone says nothing), the look
carries information the model uses. Each budget reports glyph - binary, glyph - affine, glyph - random and
binary - trainable over the whole val split and by how often each input was seen.

    python prepare.py --name codepoint --layout codepoint --vocab_size 65536   # the data, once: ~10 s
    python -m experiments.sweep_codepoint          # the whole plan, two runs at a time (~2 hours on 2 cores)
    python -m experiments.sweep_codepoint --plan   # what would run and what is kept; trains nothing
    python -m experiments.sweep_codepoint --docs   # the summary, chart and tables into docs/
Runs live in out/sweep_codepoint/<steps>/<arm>_s<seed>/ and resume as experiments/sweep.py's do; the
summary is docs/comparison_codepoint.json, its tables in docs/comparison.md, held equal by a test.
"""
import os

from experiments.runs import ROOT
from experiments.sweep import Sweep, arm_cell, diff, main

ARMS = ('glyph', 'binary', 'affine', 'random', 'trainable')
# a 65,536-id output layer makes a step ~4x dearer than at 8,192 ids: ~2,600 tokens/s for two runs side by
# side on 2 cores, so three budgets of 15 runs fit in ~2 hours
PLAN = [(50, ARMS), (100, ARMS), (150, ARMS)]
PAIRS = [('glyph', 'binary'), ('glyph', 'affine'), ('glyph', 'random'), ('binary', 'trainable'),
         ('glyph', 'trainable'), ('affine', 'binary'), ('random', 'trainable'), ('affine', 'trainable')]
REPORTED = ('glyph - binary', 'glyph - affine', 'glyph - random', 'binary - trainable')
SUMMARY = os.path.join(ROOT, 'docs', 'comparison_codepoint.json')
FIGURE = os.path.join(ROOT, 'docs', 'codepoint_difference.png')
CODEPOINT = Sweep('sweep_codepoint', PLAN, PAIRS, SUMMARY, FIGURE, dataset='codepoint', tokens_per_s=2600)

def by_steps(summary):
    return sorted(summary['budgets'].items(), key=lambda kv: int(kv[0]))

def tables(summary):
    """{name: markdown table} of the codepoint sweep's summary; bold: the interval excludes zero"""
    rows = ['| steps | training tokens | ' + ' | '.join(ARMS) + ' |', '| --- | --- |' + ' --- |' * len(ARMS)]
    for steps, b in by_steps(summary):
        cells = ' | '.join(arm_cell(b, a) for a in ARMS)
        rows.append(f"| {steps} | {b['tokens'] / 1e6:.2f}M | {cells} |")
    out = {'arms': '\n'.join(rows)}
    names = (*REPORTED, 'glyph - trainable')
    rows = ['| steps | ' + ' | '.join(names) + ' |', '| --- |' + ' --- |' * len(names)]
    for steps, b in by_steps(summary):
        rows.append(f"| {steps} | " + ' | '.join(diff(b['pairs'].get(n)) for n in names) + ' |')
    out['differences'] = '\n'.join(rows)
    rows = ['| steps | inputs seen in training | share of val positions | ' + ' | '.join(REPORTED) + ' |',
            '| --- | --- | --- |' + ' --- |' * len(REPORTED)]
    for steps, b in by_steps(summary):
        for k, (label, share) in enumerate(zip(b['labels'], b['positions_share'])):
            cells = [diff(b['pairs'][n]['by_input'][k]) if n in b['pairs'] else '-' for n in REPORTED]
            rows.append(f"| {steps} | {label} | {share:.1%} | " + ' | '.join(cells) + ' |')
    out['rarity'] = '\n'.join(rows)
    return out

if __name__ == '__main__':
    main(CODEPOINT, tables, pair='glyph - binary',
         figure_pairs=('glyph - binary', 'glyph - affine', 'glyph - random'))
