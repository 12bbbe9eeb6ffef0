"""noise.py: each noise deterministic under a seed, the identity at rate 0, and keeping what it names"""
import collections
import unicodedata

import numpy as np
import pytest

import noise
from noise import noisy

TEXT = 'The police found the coffee price quite extraordinary, said Émile, in the old café.'

@pytest.mark.parametrize('kind', list(noise.NOISES))
def test_seeded_and_rate_zero_is_identity(kind):
    assert noisy(TEXT, kind, 0.0, seed=3) == TEXT
    assert noisy(TEXT, kind, 0.5, seed=3) == noisy(TEXT, kind, 0.5, seed=3)
    assert noisy(TEXT, kind, 0.5, seed=3) != TEXT

def test_confusables_keep_the_look_and_change_code_points():
    table = noise.confusable_table()
    assert {'a', 'c', 'e', 'o', 'p'} <= set(table) and 'w' not in table # w has no twin near enough
    out = noisy(TEXT, 'confusables', 1.0, seed=0)
    changed = [(a, b) for a, b in zip(TEXT, out) if a != b]
    assert len(changed) == sum(ch in table for ch in TEXT) and len(out) == len(TEXT)
    cells = noise._cells(''.join(a + b for a, b in changed))
    dist = (cells[0::2] != cells[1::2]).sum(1) // 4 # Unifont pixels
    assert dist.max() <= noise.MAX_PIXELS
    assert all(unicodedata.name(b).split()[0] in ('CYRILLIC', 'GREEK') for _, b in changed)

def test_rate_is_the_share_of_eligible_characters():
    table = noise.confusable_table()
    n = sum(ch in table for ch in TEXT)
    out = noisy(TEXT, 'confusables', 0.5, seed=1)
    assert sum(a != b for a, b in zip(TEXT, out)) == round(0.5 * n)

def test_diacritics_add_and_drop_but_keep_the_base_letters():
    out = noisy(TEXT, 'diacritics', 1.0, seed=0)
    base = ''.join(c for c in unicodedata.normalize('NFD', out) if not unicodedata.combining(c))
    plain = ''.join(c for c in unicodedata.normalize('NFD', TEXT) if not unicodedata.combining(c))
    assert base == plain
    assert 'Ém' not in out and 'Em' in out and 'café' not in out # dropped
    assert out.count('é') + out.count('è') + sum(unicodedata.combining(c) > 0
                                                 for c in unicodedata.normalize('NFD', out)) > 10 # added

def test_leet_only_digits_for_letters():
    out = noisy(TEXT, 'leet', 1.0, seed=0)
    assert 'p011c3' in out and len(out) == len(TEXT)
    assert all(a == b or (a in noise.LEET and b.isdigit()) for a, b in zip(TEXT, out))

def test_swaps_exchange_neighbouring_letters():
    out = noisy(TEXT, 'swaps', 0.3, seed=0)
    assert sorted(out) == sorted(TEXT) and out != TEXT
    diff = [i for i, (a, b) in enumerate(zip(TEXT, out)) if a != b]
    for i in diff: # every change is half of an adjacent swap
        assert (i + 1 < len(out) and out[i] == TEXT[i + 1]) or out[i] == TEXT[i - 1]

def test_scramble_keeps_first_last_letters_and_multiset():
    out = noisy(TEXT, 'scramble', 1.0, seed=0)
    assert out != TEXT
    for a, b in zip(TEXT.split(), out.split()):
        assert a[0] == b[0] and a[-1] == b[-1] and collections.Counter(a) == collections.Counter(b)

def test_bad_inputs_one_sentence():
    with pytest.raises(ValueError, match='unknown noise type'):
        noisy(TEXT, 'typos', 0.1)
    with pytest.raises(ValueError, match=r'outside \[0, 1\]'):
        noisy(TEXT, 'leet', 1.5)
    assert noisy(TEXT, 'leet', 0.5, seed=np.random.default_rng(2)) == noisy(TEXT, 'leet', 0.5, seed=2)
