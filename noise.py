"""
Visual text noise, after Salesky et al. 2021 ("Robust Open-Vocabulary Translation from Visual Text
Representations"): each function takes (text, rate, rng) and changes `rate` of the text's eligible
characters (or words, for scramble), exactly round(rate * n) of them, chosen by rng. Some noise keeps the
look and changes the code points (confusables, diacritics, l33tspeak); some changes the look (swaps,
scramble). experiments/robustness.py measures what each costs a model that reads its context.
    noisy(text, 'confusables', 0.2, seed=0)
The confusables come from the Unifont cells themselves (glyphs.default_cells): a Latin letter's twins are
the Cyrillic and Greek letters whose cells are equal, or differ in at most MAX_PIXELS Unifont pixels.
"""
import functools
import unicodedata

import numpy as np

from glyphs import default_cells, find_font
from vocab import KIND_TEXT

MAX_PIXELS = 2 # a twin's 16 px Unifont cell differs from the letter's in at most this many pixels
TWIN_RANGES = [(0x0400, 0x0500), (0x0370, 0x0400)] # Cyrillic, then Greek: where a Latin letter's twins are
LATIN = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'
LEET = dict(zip('aeiostlbgAEIOSTLBG', '431057189' * 2)) # letter -> the digit drawn like it

def _cells(chars):
    """each character's 32 px cell as glyphs.py draws it for a one-character token -> bool (n, 1024)"""
    kinds = np.full(len(chars), KIND_TEXT)
    return default_cells(list(chars), kinds, find_font(None), 32).astype(bool)

@functools.lru_cache(maxsize=None)
def confusable_table(max_pixels=MAX_PIXELS):
    """{Latin letter: its twins of another script, nearest first}: letters whose Unifont cells are equal or
    within max_pixels pixels (16 px grid; glyphs.py draws each pixel as 2x2 in its 32 px cell)"""
    others = [chr(c) for a, b in TWIN_RANGES for c in range(a, b)
              if chr(c).isalpha() and unicodedata.category(chr(c)) in ('Lu', 'Ll')]
    X = _cells(LATIN + ''.join(others))
    latin, cand = X[:len(LATIN)], X[len(LATIN):]
    dist = (latin[:, None, :] != cand[None, :, :]).sum(2) // 4 # (52, n) differing Unifont pixels
    table = {}
    for i, ch in enumerate(LATIN):
        near = [j for j in np.argsort(dist[i], kind='stable') if dist[i, j] <= max_pixels and cand[j].any()]
        if near:
            table[ch] = [others[j] for j in near]
    return table

@functools.lru_cache(maxsize=None)
def accented_table():
    """{base letter: its precomposed accented forms} from Latin-1 and Latin Extended-A, by NFD"""
    table = {}
    for c in range(0xC0, 0x180):
        d = unicodedata.normalize('NFD', chr(c))
        if len(d) > 1 and d[0] in LATIN:
            table.setdefault(d[0], []).append(chr(c))
    return table

# -----------------------------------------------------------------------------
# the noise functions: (text, rate, rng) -> text

def _pick(n, rate, rng):
    """round(rate * n) distinct indices of n, sorted"""
    return np.sort(rng.choice(n, int(round(rate * n)), replace=False)) if n else np.zeros(0, int)

def _replace(text, rate, rng, eligible, new):
    """replace `rate` of the characters where eligible(ch) by new(ch, rng)"""
    chars = list(text)
    where = [i for i, ch in enumerate(chars) if eligible(ch)]
    for k in _pick(len(where), rate, rng):
        chars[where[k]] = new(chars[where[k]], rng)
    return ''.join(chars)

def confusables(text, rate, rng):
    """Latin letters swapped for a twin of another script drawn alike (nearest twin)"""
    table = confusable_table()
    return _replace(text, rate, rng, lambda ch: ch in table, lambda ch, r: table[ch][0])

def _flip_accent(ch, rng):
    """an accented letter loses its marks (NFD, marks dropped); a plain one gains an accent (a precomposed
    form drawn at random)"""
    d = unicodedata.normalize('NFD', ch)
    if len(d) > 1:
        return unicodedata.normalize('NFC', ''.join(c for c in d if not unicodedata.combining(c)))
    forms = accented_table()[ch]
    return forms[rng.integers(len(forms))]

def diacritics(text, rate, rng):
    """diacritics added to plain letters that have accented forms, dropped from accented letters"""
    table = accented_table()
    def eligible(ch):
        return ch in table or len(unicodedata.normalize('NFD', ch)) > 1 and ch.isalpha()
    return _replace(text, rate, rng, eligible, _flip_accent)

def leet(text, rate, rng):
    """l33tspeak: letters replaced by the digit drawn like them (a -> 4, e -> 3, o -> 0, ...)"""
    return _replace(text, rate, rng, lambda ch: ch in LEET, lambda ch, r: LEET[ch])

def swaps(text, rate, rng):
    """adjacent letters swapped: of the places where two letters stand side by side, `rate` are swapped,
    left to right, a place skipped where its left letter was just moved"""
    chars = list(text)
    where = [i for i in range(len(chars) - 1) if chars[i].isalpha() and chars[i + 1].isalpha()]
    last = -2
    for k in _pick(len(where), rate, rng):
        i = where[k]
        if i > last + 1:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
            last = i
    return ''.join(chars)

def scramble(text, rate, rng):
    """interior scramble: in `rate` of the words of 4+ letters, the letters between the first and the last
    are shuffled (first and last letters, and the word's letters as a multiset, kept)"""
    spans, i = [], 0
    while i < len(text):
        j = i
        while j < len(text) and text[j].isalpha():
            j += 1
        if j - i >= 4:
            spans.append((i, j))
        i = j + 1
    chars = list(text)
    for k in _pick(len(spans), rate, rng):
        a, b = spans[k]
        chars[a + 1:b - 1] = [chars[a + 1 + p] for p in rng.permutation(b - a - 2)]
    return ''.join(chars)

NOISES = dict(confusables=confusables, diacritics=diacritics, leet=leet, swaps=swaps, scramble=scramble)

def noisy(text, kind, rate, seed=0):
    """text with `rate` of its eligible characters changed by the noise named `kind`, under seed"""
    if kind not in NOISES:
        raise ValueError(f"unknown noise type {kind!r}: use one of {', '.join(NOISES)}")
    if not 0 <= rate <= 1:
        raise ValueError(f"noise rate {rate} is outside [0, 1]: give the share of eligible characters")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return NOISES[kind](text, rate, rng)
