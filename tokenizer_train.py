"""
Training a glyphgpt tokenizer: frequency-driven BPE over characters (tokenizer.py loads and uses the
result). Text is cut into pieces by the split pattern (whitespace stays on its own), the characters
that get an id are chosen, and then the most frequent adjacent pair of symbols becomes a new symbol,
again and again, until the ids run out.

    python tokenizer_train.py --input a.txt b.txt --vocab_size 65536 --layout codepoint --out tok.json

(`python tokenizer.py train ...` is the same command.) prepare.py calls train() on its input's train
split when a dataset needs a tokenizer of its own.
"""
import argparse
import heapq
import os
import re
import sys
import time
from collections import Counter, defaultdict
from itertools import groupby

from vocab import PATTERN, SPECIALS, check_size, codepoint_known, codepoint_slots, new_spec, save_spec

PATTERN_ANY = r'(?s:.{1,32})' # --allow_whitespace: tokens may span spaces (experiments only)

def train(texts, vocab_size, layout='compact', max_token_chars=5, allow_whitespace=False,
          min_frequency=2, char_coverage=0.9995, verbose=True):
    """texts: iterable of str -> tokenizer spec (dict; save it with vocab.save_spec). The options are
    those of `python tokenizer_train.py -h`."""
    check_size(layout, vocab_size)
    t0 = time.time()
    pattern = PATTERN_ANY if allow_whitespace else PATTERN
    pieces, nchars = count_pieces(texts, pattern)
    free = (len(codepoint_slots(vocab_size)) if layout == 'codepoint' else vocab_size) - 256 - len(SPECIALS)
    chars, tokens, known = choose_characters(pieces, layout, vocab_size, free, min_frequency, char_coverage)
    free -= len(chars) + len(tokens)
    words, counts, symbols = split_words(pieces, known)
    learned = merge(words, counts, symbols, free, max_token_chars, min_frequency, t0 if verbose else None)
    if verbose:
        print(f"trained {layout} {vocab_size}: {len(chars)} characters, "
              f"{len(tokens) + len(learned)} learned tokens, "
              f"{free - len(learned)} placeholders (min_frequency={min_frequency}), on {nchars / 1e6:.2f}M "
              f"characters in {time.time() - t0:.1f}s")
    return new_spec(layout, vocab_size, chars, tokens + learned, pattern, max_token_chars=max_token_chars,
                    min_frequency=min_frequency)

def count_pieces(texts, pattern):
    """how often each piece (what the split pattern cuts text into) occurs, and the characters read"""
    split = re.compile(pattern).findall
    pieces, nchars = Counter(), 0
    for text in texts:
        pieces.update(split(text))
        nchars += len(text)
    if not pieces:
        raise ValueError("the training input is empty: pass files with text in them (--input)")
    return pieces, nchars

def choose_characters(pieces, layout, vocab_size, free, min_frequency, char_coverage):
    """-> (characters given an id, characters learned as tokens, every character known). Codepoint: every
    BMP character has its id already; 131,072 makes frequent characters above U+FFFF learned tokens.
    Compact: the most frequent characters until they cover char_coverage of the text (at most half
    the free ids); the rest are spelled as bytes."""
    char_counts = Counter()
    for piece, n in pieces.items():
        for c in piece:
            char_counts[c] += n
    by_count = sorted(char_counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if layout == 'codepoint':
        upper = [c for c, n in by_count if ord(c) > 0xFFFF and n >= min_frequency] if vocab_size == 131072 else []
        known = {chr(c) for c in range(0x10000) if codepoint_known(c)} | set(upper[:free])
        return [], upper[:free], known
    total, covered, chars = sum(char_counts.values()), 0, []
    for c, n in by_count:
        if covered >= char_coverage * total or n < min_frequency or len(chars) >= free // 2:
            break
        chars.append(c)
        covered += n
    return chars, [], set(chars)

def split_words(pieces, known):
    """pieces -> words: runs of known characters, as lists of symbol ids (a character the tokenizer does
    not know becomes bytes, which never merge), with how often each occurs, and the symbols' text"""
    symbols, words, counts = {}, [], []
    for piece, n in pieces.items():
        for is_known, run in groupby(piece, known.__contains__):
            run = list(run)
            if is_known and len(run) >= 2:
                words.append([symbols.setdefault(c, len(symbols)) for c in run])
                counts.append(n)
    return words, counts, list(symbols)

def merge(words, counts, symbols, free, max_token_chars, min_frequency, t0=None):
    """the BPE loop: merge the most frequent adjacent pair into a new symbol (a tie goes to the pair of
    lower symbol ids), again and again, until `free` merges or no pair occurs min_frequency times ->
    the learned tokens' text, in merge order. Pair counts are kept incrementally (a heap with lazy
    deletion plus an index from pairs to the words holding them): recounting after every merge would
    take hours at 131,072 ids."""
    words, symbols = list(words), list(symbols) # the caller's lists stay as they were
    size = [len(s) for s in symbols] # characters in each symbol
    pair_count, where = defaultdict(int), defaultdict(set)
    def count_word(wi, sign):
        w, n = words[wi], sign * counts[wi]
        for a, b in zip(w, w[1:]):
            if size[a] + size[b] <= max_token_chars:
                pair_count[a, b] += n
                if sign > 0:
                    where[a, b].add(wi)
    for wi in range(len(words)):
        count_word(wi, 1)
    heap = [(-n, a, b) for (a, b), n in pair_count.items()]
    heapq.heapify(heap)
    learned = []
    while len(learned) < free and heap:
        negn, a, b = heapq.heappop(heap)
        n = pair_count.get((a, b), 0)
        if n != -negn: # stale: the count fell since this entry was pushed
            if n >= min_frequency:
                heapq.heappush(heap, (-n, a, b))
            continue
        if n < min_frequency:
            break
        learned.append(symbols[a] + symbols[b])
        new = len(symbols)
        symbols.append(learned[-1])
        size.append(len(learned[-1]))
        touched = set()
        for wi in where.pop((a, b)):
            if not any(x == a and y == b for x, y in zip(words[wi], words[wi][1:])):
                continue # the pair left this word through an earlier merge
            count_word(wi, -1)
            words[wi] = merge_pair(words[wi], a, b, new)
            count_word(wi, 1)
            touched.update(p for p in zip(words[wi], words[wi][1:]) if new in p)
        del pair_count[a, b]
        for p in touched:
            if pair_count.get(p, 0) >= min_frequency:
                heapq.heappush(heap, (-pair_count[p], *p))
        if t0 is not None and len(learned) % 5000 == 0:
            print(f"{len(learned)}/{free} merges, {time.time() - t0:.1f}s", flush=True)
    return learned

def merge_pair(word, a, b, new):
    """word with each (a, b), left to right, replaced by new"""
    out, k = [], 0
    while k < len(word):
        if k + 1 < len(word) and word[k] == a and word[k + 1] == b:
            out.append(new)
            k += 2
        else:
            out.append(word[k])
            k += 1
    return out

# -----------------------------------------------------------------------------
# the command line

def read_files(paths):
    """each file's text, one str per file (bytes that are not UTF-8 become U+FFFD)"""
    for path in paths:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"input file {path} does not exist: check --input")
        with open(path, encoding='utf-8', errors='replace') as f:
            yield f.read()

def main(argv=None, prog=None):
    """train a tokenizer on files and save it: `python tokenizer_train.py` (or `tokenizer.py train`)"""
    description = "train a glyphgpt tokenizer: frequency-driven BPE over characters"
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument('--input', nargs='+', required=True, help="UTF-8 text files")
    p.add_argument('--vocab_size', type=int, required=True)
    p.add_argument('--layout', choices=['codepoint', 'compact'], default='compact')
    p.add_argument('--out', required=True)
    p.add_argument('--max_token_chars', type=int, default=5, help="longest learned token, in characters")
    p.add_argument('--allow_whitespace', action='store_true', help="let learned tokens contain whitespace")
    p.add_argument('--min_frequency', type=int, default=2,
                   help="rarer pairs are not merged; ids left become placeholders")
    p.add_argument('--char_coverage', type=float, default=0.9995,
                   help="compact: share of character occurrences given an id")
    args = p.parse_args(argv)
    try:
        spec = train(read_files(args.input), args.vocab_size, args.layout, args.max_token_chars,
                     args.allow_whitespace, args.min_frequency, args.char_coverage)
        spec['trained_on'] = [os.path.basename(path) for path in args.input]
        save_spec(spec, args.out)
        print(f"wrote {args.out}")
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        sys.exit(f"error: {e}")

if __name__ == '__main__':
    main()
