"""tokenizer.py, vocab.py and tokenizer_train.py: lossless round trips, layouts, fast paths equal to plain
ones, stable hashes, the training limits, specials, bad input, the command lines."""
import base64
import json
import os
import random
from collections import Counter

import numpy as np
import pytest
import tiktoken

import tokenizer
import tokenizer_train
from conftest import run
from tokenizer import KIND_BYTE, KIND_PLACEHOLDER, KIND_SPECIAL, KIND_TEXT, load_tokenizer

TEXT = ("In the beginning God created the heaven and the earth. And the earth was without form.\n"
        "В начале сотворил Бог небо и землю. Земля же была безвидна и пуста.\n"
        "起初，神创造天地。地是空虚混沌，渊面黑暗。\n") * 20

def random_string(rng, n):
    """characters from every plane, controls, private use, combining marks and lone surrogates"""
    ranges = [(0, 0x7f), (0x80, 0x7ff), (0x300, 0x36f), (0x800, 0xd7ff), (0xd800, 0xdfff), (0xe000, 0xf8ff),
              (0xf900, 0xffff), (0x10000, 0x1ffff), (0x20000, 0x10ffff), (0x1f600, 0x1f64f)]
    out = []
    for _ in range(n):
        lo, hi = ranges[rng.randrange(len(ranges))]
        out.append(chr(rng.randint(lo, hi)))
        if rng.random() < 0.2:
            out.append(rng.choice(' \n\t\r\x1c'))
    return ''.join(out)

@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    path = tmp_path_factory.mktemp('tok') / 'tok.json'
    spec = tokenizer.train([TEXT, "the the the then them these 😀😀😀 😀"], 600, 'compact', verbose=False)
    tokenizer.save_spec(spec, str(path))
    return load_tokenizer(str(path))

@pytest.fixture(scope='module')
def unicode_tok():
    return load_tokenizer('unicode')

def tiny_tiktoken():
    """a small byte-level tiktoken Encoding built here, so tests never need the network"""
    ranks = {bytes([b]): b for b in range(256)}
    for t in [b'th', b'the', b' the', b'in', b' in']:
        ranks[t] = len(ranks)
    return tiktoken.Encoding('tiny', pat_str=tokenizer.GPT2_PATTERN, mergeable_ranks=ranks,
                             special_tokens={'<|endoftext|>': len(ranks)})

def all_tokenizers(trained, unicode_tok):
    return [trained, unicode_tok, tokenizer._from_tiktoken('tiny', tiny_tiktoken())]

# -----------------------------------------------------------------------------

def test_round_trip_random_strings(trained, unicode_tok):
    rng = random.Random(0)
    strings = [random_string(rng, rng.randint(0, 300)) for _ in range(200)] + ['', ' ', '\n\n', TEXT]
    for tok in all_tokenizers(trained, unicode_tok):
        for s in strings:
            ids = tok.encode(s)
            assert tok.decode(ids) == s, (tok.name, s)
            assert all(0 <= i < tok.vocab_size for i in ids)
        assert tok.encode_batch(strings) == [tok.encode(s) for s in strings]

def test_encode_flat_equals_the_plain_loop_on_any_threads(trained, monkeypatch):
    rng = random.Random(1) # enough text for several groups, some with characters it does not know
    docs = [TEXT[rng.randrange(len(TEXT)):][:rng.randrange(200)] + random_string(rng, rng.randrange(3))
            for _ in range(3000)]
    docs = [tokenizer.SURROGATE.sub('', d) for d in docs] # surrogates would take the slow path
    assert sum(map(len, docs)) > 3 * tokenizer.GROUP_CHARS
    plain = [i for d in docs for i in trained.encode(d) + [trained.eot]]
    pools = []
    class Pool(tokenizer.ThreadPoolExecutor):
        def __init__(self, n):
            pools.append(n)
            super().__init__(n)
    monkeypatch.setattr(tokenizer, 'ThreadPoolExecutor', Pool)
    assert trained.encode_flat(docs, threads=1).tolist() == plain and pools == [] # on the calling thread
    assert trained.encode_flat(docs, threads=3).tolist() == plain and pools == [3]
    assert trained.encode_batch(docs, threads=2) == [trained.encode(d) for d in docs] and pools == [3, 2]

def test_byte_prefixes_spelled_as_byte_tokens(trained):
    rng = random.Random(2) # random characters the tokenizer mostly does not know: byte-prefix ranks
    text = tokenizer.SURROGATE.sub('', random_string(rng, 3000))
    ranks = trained.enc.encode_to_numpy(text)
    V = trained.vocab_size
    assert (ranks >= V).any()
    plain = [i for r in ranks.tolist() for i in
             ([trained.byte_ids[b] for b in trained.enc.decode_single_token_bytes(r)] if r >= V else [r])]
    assert trained._spell_prefixes(ranks).tolist() == plain == trained.encode(text)

def test_unicode_layout_ids_are_code_points(unicode_tok):
    tok = unicode_tok
    assert tok.vocab_size == 65536
    assert tok.encode('Aй中\n ') == [ord('A'), ord('й'), ord('中'), 10, 32]
    assert tok.kinds[ord('A')] == KIND_TEXT and tok.token_text(ord('中')) == '中'
    # private use and astral characters go through the byte tokens at 0xD800..0xD8FF
    ids = tok.encode('\ue000😀')
    assert all(0xD800 <= i < 0xD900 for i in ids) and len(ids) == 3 + 4
    assert tok.token_text(0xD800 + 0xE4) == '<0xE4>'
    assert tok.eot == 0xD900 and tok.token_text(tok.eot) == '<|endoftext|>'
    counts = tokenizer.describe(tok)
    assert (counts['bytes'], counts['specials'], counts['characters'], counts['learned']) == (256, 2, 57088, 0)
    assert counts['placeholders'] == 8448 - 256 - 2

def test_lone_surrogates_round_trip_through_bytes(unicode_tok):
    s = 'a\ud800b\udfff\ud83d\ude00'
    ids = unicode_tok.encode(s)
    assert unicode_tok.decode(ids) == s
    assert unicode_tok.encode('\ud800') == [0xD800 + b for b in '\ud800'.encode('utf-8', 'surrogatepass')]

def test_specials_not_parsed_from_plain_text(trained, unicode_tok):
    for tok in all_tokenizers(trained, unicode_tok):
        ids = tok.encode('a<|endoftext|>b')
        assert tok.eot not in ids and tok.decode(ids) == 'a<|endoftext|>b'
        assert tok.eot in tok.encode('a<|endoftext|>b', allowed_special='all')
        assert tok.token_bytes[tok.eot] == 0 and tok.kinds[tok.eot] == KIND_SPECIAL

def test_token_bytes_count_utf8_bytes(trained, unicode_tok):
    for tok in all_tokenizers(trained, unicode_tok):
        ids = tok.encode(TEXT + '\ue000😀')
        assert tok.token_bytes[ids].sum() == len((TEXT + '\ue000😀').encode('utf-8'))

def test_compact_layout_and_learned_tokens(trained):
    tok = trained
    assert tok.vocab_size == 600
    assert list(tok.kinds[:256]) == [KIND_BYTE] * 256 # bytes first, then specials, dense from 0
    assert tok.eot == 256 and tok.kinds[257] == KIND_SPECIAL
    learned = [tok.token_text(i) for i in np.flatnonzero(tok.kinds == KIND_TEXT) if len(tok.token_text(i)) > 1]
    assert 'the' in learned
    # the default limits: no whitespace inside a learned token, at most 5 characters
    assert all(len(t) <= 5 and not any(c.isspace() for c in t) for t in learned)
    assert tok.encode(' A') == [tok.encode(' ')[0], tok.encode('A')[0]] # " A" stays two tokens
    # the ids the text could not fill are placeholders, named and never emitted
    ph = np.flatnonzero(tok.kinds == KIND_PLACEHOLDER)
    assert len(ph) > 0 and tok.token_text(int(ph[0])) == f'<|unused_{ph[0]}|>'

def naive_merges(words, counts, symbols, free, max_token_chars, min_frequency):
    """BPE with every pair recounted after each merge, ties to the smallest (first, second) symbol ids"""
    words, symbols, learned = [list(w) for w in words], list(symbols), []
    while len(learned) < free:
        pairs = Counter()
        for w, n in zip(words, counts):
            for a, b in zip(w, w[1:]):
                if len(symbols[a] + symbols[b]) <= max_token_chars:
                    pairs[a, b] += n
        if not pairs or max(pairs.values()) < min_frequency:
            return learned
        a, b = min(pairs, key=lambda p: (-pairs[p], p))
        symbols.append(symbols[a] + symbols[b])
        learned.append(symbols[-1])
        words = [tokenizer_train.merge_pair(w, a, b, len(symbols) - 1) for w in words]
    return learned

def test_incremental_merge_counts_equal_recounting():
    rng = random.Random(3)
    for trial in range(30):
        texts = [''.join(rng.choice('aabbc d') for _ in range(rng.randint(1, 60))) for _ in range(rng.randint(1, 20))]
        pieces, _ = tokenizer_train.count_pieces(texts, tokenizer.PATTERN)
        words, counts, symbols = tokenizer_train.split_words(pieces, set('abcd'))
        limits = dict(free=rng.choice([5, 50]), max_token_chars=rng.choice([3, 5]), min_frequency=rng.choice([1, 2]))
        want = naive_merges(words, counts, symbols, **limits)
        assert tokenizer_train.merge(words, counts, symbols, **limits) == want
    assert tokenizer_train.merge_pair([1, 1, 1, 2, 1, 1], 1, 1, 9) == [9, 1, 2, 9]

def test_most_frequent_pair_first_and_unknown_characters_cut_words():
    words, counts, symbols = tokenizer_train.split_words(Counter({'abXYcd': 3, 'cd': 2}), set('abcd'))
    assert [[symbols[s] for s in w] for w in words] == [list('ab'), list('cd'), list('cd')] and counts == [3, 3, 2]
    assert tokenizer_train.merge(words, counts, symbols, 10, 5, 2) == ['cd', 'ab']

def test_lifting_the_limits():
    spec = tokenizer.train(['ab cd ab cd ab cd ab cd abcdefgh abcdefgh abcdefgh'] * 5, 600, 'compact',
                           max_token_chars=8, allow_whitespace=True, verbose=False)
    assert any(' ' in t for t in spec['tokens']) and any(len(t) > 5 for t in spec['tokens'])
    tok = load_tokenizer(spec)
    s = 'ab cd abcdefgh xyz'
    assert tok.decode(tok.encode(s)) == s

def test_min_frequency_leaves_placeholders():
    spec = tokenizer.train(['abcd'], 600, 'compact', min_frequency=2, verbose=False)
    assert spec['tokens'] == [] # every pair occurs once
    spec = tokenizer.train(['abcd'], 600, 'compact', min_frequency=1, verbose=False)
    assert len(spec['tokens']) > 0

def test_codepoint_training_fills_slots_in_order():
    spec = tokenizer.train([TEXT], 65536, 'codepoint', verbose=False)
    tok = load_tokenizer(spec)
    first = 0xD800 + 256 + len(tokenizer.SPECIALS)
    assert tok.token_text(first) == spec['tokens'][0] and tok.kinds[first] == KIND_TEXT
    assert tok.encode('A') == [65] # characters keep their code points
    assert tok.decode(tok.encode(TEXT)) == TEXT and len(tok.encode(TEXT)) < len(TEXT)

def test_131k_learns_astral_characters():
    spec = tokenizer.train(['😀 😀 😀 🙂 x'], 131072, 'codepoint', verbose=False)
    tok = load_tokenizer(spec)
    assert len(tok.encode('😀')) == 1 and tok.encode('😀')[0] >= 0xD800
    assert len(tok.encode('🙂')) == 4 and len(tok.encode('🙃')) == 4 # seen once, never: bytes

def test_hashes_and_learned_tokens_do_not_change(trained, unicode_tok):
    # shards and checkpoints record these: a change here makes every one of them unreadable
    assert unicode_tok.hash == '80a0af4de90f57a87d854b74d3c8fd13615c6c7d2901594ea6e2e744059766d8'
    assert trained.hash == '8c0bd9b0071f4aaeb41c11fc8a15e739436f403850c7ff9fa3fd671812c1c3c8'
    assert trained.spec['tokens'][:8] == ['th', 'the', 'ea', 'nd', 'in', 'rth', 'на', 'ем']

def test_spec_save_load_and_stable_hash(tmp_path, trained):
    path = tmp_path / 'again.json'
    tokenizer.save_spec(trained.spec, str(path))
    again = load_tokenizer(str(path))
    assert again.hash == trained.hash and again.encode(TEXT) == trained.encode(TEXT)
    assert load_tokenizer(trained.spec).hash == trained.hash # the dict a checkpoint stores
    tokenizer.save_spec(trained.spec, str(tmp_path / 'tokenizer.json'))
    assert load_tokenizer(str(tmp_path)).hash == trained.hash # a folder holding tokenizer.json
    assert load_tokenizer('unicode').hash != trained.hash

def test_tiktoken_through_the_same_interface():
    tok = tokenizer._from_tiktoken('tiny', tiny_tiktoken())
    assert tok.vocab_size == tiny_tiktoken().n_vocab
    assert tok.decode(tok.encode('in the thin')) == 'in the thin'
    assert tok.token_text(tok.encode(' the')[0]) == ' the'
    assert tok.token_text(0xE4) == '<0xE4>' and tok.kinds[0xE4] == KIND_BYTE # not UTF-8 on its own
    assert tok.token_text(ord('a')) == 'a'
    texts = [tok.token_text(i) for i in range(tok.vocab_size)]
    assert len(set(texts)) == len(texts) # every id is drawn differently

def test_tiktoken_rank_file(tmp_path):
    enc = tiny_tiktoken()
    path = tmp_path / 'tiny.tiktoken'
    path.write_text(''.join(f"{base64.b64encode(enc.decode_single_token_bytes(i)).decode()} {i}\n"
                            for i in range(enc.n_vocab - 1)))
    tok = load_tokenizer(str(path))
    assert tok.vocab_size == enc.n_vocab and tok.eot == enc.n_vocab - 1
    assert tok.encode('in the thin') == enc.encode_ordinary('in the thin')

# -----------------------------------------------------------------------------
# bad input: one clear sentence naming the fix

def test_unknown_spec():
    with pytest.raises(ValueError, match="unknown tokenizer 'nope'.*use 'unicode'"):
        load_tokenizer('nope')

def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_tokenizer(str(tmp_path / 'missing.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{not json')
    with pytest.raises(ValueError, match="cannot read tokenizer file.*retrain"):
        load_tokenizer(str(bad))
    bad.write_text(json.dumps({'format': 'something-else'}))
    with pytest.raises(ValueError, match="not a valid glyphgpt tokenizer"):
        load_tokenizer(str(bad))

def test_bad_vocab_sizes():
    with pytest.raises(ValueError, match="65536 or 131072"):
        tokenizer.train([TEXT], 50000, 'codepoint', verbose=False)
    with pytest.raises(ValueError, match="at least 512"):
        tokenizer.train([TEXT], 300, 'compact', verbose=False)

def test_empty_training_input():
    with pytest.raises(ValueError, match="training input is empty"):
        tokenizer.train(['', ''], 1000, 'compact', verbose=False)

def test_cli_train_info_and_errors(tmp_path):
    src = tmp_path / 'in.txt'
    src.write_text(TEXT)
    out = tmp_path / 'tok.json'
    r = run(['train', '--input', str(src), '--vocab_size', '700', '--out', str(out)], tmp_path, script='tokenizer.py')
    assert 'placeholders' in r.stdout and sorted(os.listdir(tmp_path)) == ['in.txt', 'tok.json'] # no temporary file left
    assert load_tokenizer(str(out)).spec['trained_on'] == ['in.txt']
    r = run(['info', str(out)], tmp_path, script='tokenizer.py')
    assert 'learned' in r.stdout and 'placeholders' in r.stdout
    (tmp_path / 'empty.txt').write_text('')
    r = run(['train', '--input', str(tmp_path / 'empty.txt'), '--vocab_size', '1000', '--out', str(tmp_path / 't.json')],
            tmp_path, check=False, script='tokenizer.py')
    assert r.returncode != 0 and 'training input is empty' in r.stderr and 'Traceback' not in r.stderr

def test_tokenizer_train_py_is_the_same_command(tmp_path):
    src = tmp_path / 'in.txt'
    src.write_text(TEXT)
    args = ['--input', str(src), '--vocab_size', '700', '--out']
    run([*args, str(tmp_path / 'a.json')], tmp_path, script='tokenizer_train.py')
    run(['train', *args, str(tmp_path / 'b.json')], tmp_path, script='tokenizer.py')
    assert (tmp_path / 'a.json').read_bytes() == (tmp_path / 'b.json').read_bytes()

def test_encode_flat_puts_eot_after_each_document(trained, unicode_tok):
    docs = [TEXT[:50], '', 'a<|endoftext|>b', TEXT[50:400], '\ud800x']
    for tok in all_tokenizers(trained, unicode_tok):
        flat = tok.encode_flat(docs)
        assert flat.dtype == np.uint32 and flat.tolist() == [i for d in docs for i in tok.encode(d) + [tok.eot]]
        two = tok.encode_flat(docs[:1] + docs[3:4]) # no special text, no surrogate: the fast path
        assert two.tolist() == tok.encode(docs[0]) + [tok.eot] + tok.encode(docs[3]) + [tok.eot]
        assert tok.encode_flat([]).tolist() == [] and tok.encode_batch([]) == []
