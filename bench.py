"""
Every benchmark the project reports, in one place. Speed targets live here, not in the tests.
    python bench.py                   # all sections
    python bench.py tokenizer         # one section: tokenizer
    python bench.py tokenizer --gpt2 path/to/gpt2.tiktoken   # compare with GPT-2 offline
Each section prints its numbers; run on an otherwise idle machine.
"""
import argparse
import os
import statistics
import time

import corpus
import tokenizer
from tokenizer import load_tokenizer

def timed(fn, repeats=3):
    """median wall time of fn() over repeats, and its last result"""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out

def ood_sample():
    """out-of-domain text present on every Debian/Ubuntu machine: the GPL-3 (modern legal English)"""
    with open('/usr/share/common-licenses/GPL-3', encoding='utf-8') as f:
        return f.read()

# -----------------------------------------------------------------------------
def bench_tokenizer(gpt2='gpt2'):
    print(f"== tokenizer ({os.cpu_count()} cores)")
    train_docs = list(corpus.documents('train'))
    mb = sum(len(d.encode('utf-8')) for d in train_docs) / 1e6
    t, spec65 = timed(lambda: tokenizer.train(train_docs, 65536, 'codepoint', verbose=False), 1)
    print(f"train codepoint 65,536 on the default train split ({mb:.1f} MB): {t:.1f}s (goal <= 120s)")
    ten = [d for d in corpus.documents('all')]
    size = sum(len(d.encode('utf-8')) for d in ten)
    for d in list(ten): # the whole corpus is 9.7 MB: top it up to 10 MB
        if size >= 10e6:
            break
        ten.append(d)
        size += len(d.encode('utf-8'))
    mb10 = sum(len(d.encode('utf-8')) for d in ten) / 1e6
    t, spec131 = timed(lambda: tokenizer.train(ten, 131072, 'codepoint', verbose=False), 1)
    counts = tokenizer.describe(load_tokenizer(spec131))
    print(f"train codepoint 131,072 on {mb10:.1f} MB: {t:.1f}s (goal <= 120s), "
          f"{counts['learned']} learned, {counts['placeholders']} placeholders")
    t, spec8 = timed(lambda: tokenizer.train(train_docs, 8192, 'compact', verbose=False), 1)
    print(f"train compact 8,192 (the default tokenizer) on {mb:.1f} MB: {t:.1f}s")

    toks = {'compact-8192': load_tokenizer(spec8), 'codepoint-65536': load_tokenizer(spec65),
            'codepoint-131072': load_tokenizer(spec131)}
    try:
        toks['gpt2'] = load_tokenizer(gpt2)
    except Exception as e:
        print(f"(no GPT-2 comparison: {e})")

    # compression: UTF-8 bytes per token
    val = {lang: list(corpus.documents('val', (lang,))) for lang in ('en', 'ru', 'zh')}
    val['all'] = val['en'] + val['ru'] + val['zh']
    ood = ood_sample()
    print("UTF-8 bytes per token (higher is better):")
    print(f"  {'tokenizer':18s} {'val':>6s} {'val en':>7s} {'val ru':>7s} {'val zh':>7s} {'GPL-3 (ood)':>12s}")
    for name, tok in toks.items():
        bpt = lambda docs: sum(len(d.encode('utf-8')) for d in docs) / sum(len(x) for x in tok.encode_batch(docs))
        print(f"  {name:18s} {bpt(val['all']):6.2f} {bpt(val['en']):7.2f} {bpt(val['ru']):7.2f} "
              f"{bpt(val['zh']):7.2f} {bpt([ood]):12.2f}")

    # speed: one 2 MB string, and ~30,000 line-sized documents
    text = '\n'.join(train_docs)
    big = text.encode('utf-8')[:2_000_000].decode('utf-8', 'ignore')
    lines = [l for l in text.split('\n') if l.strip()]
    lines = lines[::max(1, len(lines) // 30000)][:30000]
    lines_mb = sum(len(l.encode('utf-8')) for l in lines) / 1e6
    print(f"encode speed, MB/s (goal >= 6 on 2 cores); {len(lines)} lines are {lines_mb:.1f} MB:")
    for name, tok in toks.items():
        t1, _ = timed(lambda: tok.encode(big))
        t2, _ = timed(lambda: tok.encode_batch(lines))
        print(f"  {name:18s} one 2 MB string {2 / t1:6.2f}   encode_batch {lines_mb / t2:6.2f}")

if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('sections', nargs='*', default=['tokenizer'])
    parser.add_argument('--gpt2', default='gpt2', help="tokenizer spec for the GPT-2 comparison")
    args = parser.parse_args()
    for s in args.sections:
        if s == 'tokenizer':
            bench_tokenizer(args.gpt2)
        else:
            raise SystemExit(f"unknown section {s!r}: use tokenizer")
