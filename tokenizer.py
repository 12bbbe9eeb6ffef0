"""
One interface for every tokenizer glyphgpt uses: the Unicode-centric tokenizer of the paper (made
lossless) and any tiktoken encoding. train.py, sample.py, eval_mmlu.py, glyphs.py and prepare.py only
ever call load_tokenizer(spec), where spec is
  'unicode'                  65,536 ids, id = code point, no learned tokens, nothing to train
  path/to/tokenizer.json     a tokenizer trained by this file (or the dict stored in a checkpoint)
  'gpt2', 'cl100k_base', ... a tiktoken encoding (downloaded and cached by tiktoken on first use)
  path/to/ranks.tiktoken     a local tiktoken rank file read with GPT-2's split pattern

The Unicode-centric tokenizer: a character it knows is one token whose glyph is that character; any
other character is written as its UTF-8 bytes through 256 byte tokens, so decode(encode(s)) == s for
every str (a lone surrogate goes through its 'surrogatepass' bytes). On top, frequency-driven BPE
learns tokens of up to 5 characters with no whitespace in them (spaces stay their own tokens, as in
the paper, so " A" is always two tokens). Two id layouts:
  codepoint  (the paper's; 65,536 or 131,072 ids) a BMP character's id is its code point; the 2,048
             surrogates and 6,400 private-use ids U+E000-U+F8FF, which text never needs as characters,
             hold the 256 byte tokens, the specials, then learned tokens; 131,072 adds 0x10000-0x1FFFF
             for learned tokens (frequent characters above U+FFFF, emoji, become single tokens there)
  compact    (any size >= 512) byte tokens, specials, the training text's most frequent characters,
             then learned tokens, dense from 0: small output layers for small models

    python tokenizer.py train --input FILE... --vocab_size 65536 --layout codepoint --out tok.json
    python tokenizer.py info tok.json

Encoding runs in tiktoken's Rust BPE: our tokens become a tiktoken rank table (ranks in merge order,
plus the UTF-8 byte prefixes of multi-byte characters, which its byte-level BPE needs to get from
bytes to a character) and a numpy table maps ranks to our ids.
"""
import argparse
import hashlib
import heapq
import json
import os
import re
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tiktoken

KIND_TEXT, KIND_BYTE, KIND_SPECIAL, KIND_PLACEHOLDER = 0, 1, 2, 3
SPECIALS = ['<|endoftext|>', '<|pad|>'] # end of text first: it separates documents in the shards
FORMAT, VERSION = 'glyphgpt-tokenizer', 1
# The 29 characters Python's str.isspace() accepts, spelled out so that Python's re (training) and
# tiktoken's Rust regex (encoding) split text identically.
WHITESPACE = ''.join('\\u%04x' % c for c in [0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
    0x85, 0xa0, 0x1680, *range(0x2000, 0x200b), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
# Pieces: one whitespace character, or a run of at most 32 other characters. tiktoken's BPE is
# quadratic in the piece length, and Chinese has no spaces: the cap keeps it linear in the text.
PATTERN = f'[{WHITESPACE}]|[^{WHITESPACE}]{{1,32}}'
PATTERN_ANY = r'(?s:.{1,32})' # --allow_whitespace: tokens may span spaces (experiments only)
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
SURROGATE = re.compile('[\ud800-\udfff]')
EOT = SPECIALS[0]
CUT_CHARS = 1 << 18 # texts are encoded in parts of about this many characters
CODEPOINT_SIZES = (65536, 131072)
THREADS = os.cpu_count() or 1

def codepoint_slots(vocab_size):
    """ids that hold byte tokens, specials and learned tokens in the codepoint layout, in order"""
    slots = list(range(0xD800, 0xF900)) # surrogates, then private use U+E000-U+F8FF
    return slots + (list(range(0x10000, 0x20000)) if vocab_size == 131072 else [])

def codepoint_known(c):
    """a character the codepoint layout gives its own id (its code point)"""
    return c < 0xD800 or 0xF900 <= c <= 0xFFFF

# -----------------------------------------------------------------------------

class Tokenizer:
    """encode/decode plus the per-id tables that glyphs.py (token_text, kinds) and train.py
    (token_bytes, for bits per byte) need. Build with load_tokenizer()."""

    def __init__(self, name, spec, enc, id_bytes, kinds, specials, byte_ids):
        self.name = name         # short human-readable name
        self.spec = spec         # what load_tokenizer() takes to rebuild this exact tokenizer (JSON-able)
        self.enc = enc           # the tiktoken.Encoding doing the BPE; its ranks are our ids
        self.id_bytes = id_bytes # list[bytes]: what each id decodes to
        self.kinds = kinds       # np.uint8 [vocab_size]: KIND_TEXT, KIND_BYTE, KIND_SPECIAL, KIND_PLACEHOLDER
        self.specials = specials # name -> id
        self.byte_ids = byte_ids # byte value -> the id that spells it when its character is unknown
        self.vocab_size = len(id_bytes)
        self.eot = specials['<|endoftext|>']
        # UTF-8 bytes each id stands for in the text, 0 for specials and placeholders: val bits per byte
        # sums this over the targets, which makes losses comparable across tokenizers
        self.token_bytes = np.array([len(b) for b in id_bytes], dtype=np.int32)
        self.token_bytes[kinds >= KIND_SPECIAL] = 0
        # pieces never cross whitespace, so a text may be cut after any whitespace character
        self.splits_on_whitespace = isinstance(spec, dict) and spec['pattern'] == PATTERN
        self._hash = self._plumbing = None

    @property
    def hash(self):
        """sha256 hex of everything that decides the ids: recorded in shards and checkpoints"""
        if self._hash is None:
            h = hashlib.sha256()
            h.update(json.dumps(self.spec if isinstance(self.spec, str) else
                                {k: v for k, v in self.spec.items() if k not in ('name', 'trained_on')},
                                sort_keys=True).encode())
            h.update(b'\0'.join(self.id_bytes))
            self._hash = h.hexdigest()
        return self._hash

    def token_text(self, i):
        """the string glyphs.py renders for id i: the token's text, or a readable name for ids
        that are not text (byte tokens '<0xE4>', specials '<|endoftext|>', '<|unused_57344|>')"""
        if self.kinds[i] == KIND_BYTE:
            return '<0x' + self.id_bytes[i].hex().upper() + '>'
        return self.id_bytes[i].decode('utf-8')

    # -------------------------------------------------------------------------
    def _spell_plumbing(self, ids):
        # ranks >= vocab_size are byte prefixes of known characters, there only for the BPE's sake;
        # one survives when the next byte belongs to an unknown character: spell it as byte tokens
        if not ids or max(ids) < self.vocab_size:
            return ids
        return self._spell_plumbing_np(np.array(ids, np.int64)).tolist()

    def _spell_plumbing_np(self, ids):
        # the same for an array: each such rank becomes its 2 or 3 byte tokens in one pass
        extra = np.flatnonzero(ids >= self.vocab_size)
        if not len(extra):
            return ids
        if self._plumbing is None: # row r - vocab_size: the byte tokens of rank r, then -1s
            spelled = [self.enc.decode_single_token_bytes(r) for r in range(self.vocab_size, self.enc.max_token_value + 1)]
            self._plumbing = np.full((len(spelled), 3), -1, np.int64)
            for r, b in enumerate(spelled):
                self._plumbing[r, :len(b)] = [self.byte_ids[x] for x in b]
        rows = self._plumbing[ids[extra] - self.vocab_size]
        width = np.ones(len(ids), np.int64)
        width[extra] = (rows >= 0).sum(1)
        out = np.repeat(ids, width) # each such rank repeated as often as it has bytes, then overwritten
        first = (np.cumsum(width) - width)[extra] # where each one's bytes go in out
        for j in range(3):
            keep = rows[:, j] >= 0
            out[first[keep] + j] = rows[keep, j]
        return out

    def _encode_surrogates(self, text, allowed_special):
        # UTF-8 cannot hold a lone surrogate; write its 'surrogatepass' bytes as byte tokens
        out, pos = [], 0
        for m in SURROGATE.finditer(text):
            out += self.encode(text[pos:m.start()], allowed_special)
            out += [self.byte_ids[b] for b in m.group().encode('utf-8', 'surrogatepass')]
            pos = m.end()
        return out + self.encode(text[pos:], allowed_special)

    def encode(self, text, allowed_special=()):
        """str -> list of ids. Special tokens' text is ordinary text unless named in allowed_special
        (a set of names, or 'all')."""
        if SURROGATE.search(text):
            return self._encode_surrogates(text, allowed_special)
        if allowed_special:
            return self._spell_plumbing(self.enc.encode(text, allowed_special=allowed_special, disallowed_special=()))
        if self.splits_on_whitespace and len(text) >= CUT_CHARS and THREADS > 1:
            # one long text on all cores: cut after spaces, encode the parts in parallel
            with ThreadPoolExecutor(THREADS) as pool:
                return [i for ids in pool.map(self.enc.encode_ordinary, _cut(text)) for i in self._spell_plumbing(ids)]
        return self._spell_plumbing(self.enc.encode_ordinary(text))

    def encode_batch(self, texts):
        """list of str -> list of lists of ids, on all cores"""
        flat = self.encode_flat(texts) # no document's ids hold eot, so cutting at eot is exact
        ends = np.flatnonzero(flat == self.eot).tolist()
        ids = flat.tolist()
        return [ids[a:b] for a, b in zip([0] + [e + 1 for e in ends[:-1]], ends)]

    def encode_flat(self, texts):
        """list of str -> one np.uint32 array, each document's ids followed by end-of-text: what
        prepare.py writes, on THREADS cores. tiktoken costs ~20 us per call, which would cap
        line-sized documents near 2.5 MB/s, so we join documents with <|endoftext|> into a few large
        strings (tiktoken encodes the text between two specials on its own, exactly as if it were
        alone), and its encode_to_numpy skips building a Python int per token."""
        texts = list(texts)
        def work(group):
            try:
                if not any(EOT in t for t in group):
                    return self.encode_joined(EOT.join(group) + EOT)
            except UnicodeEncodeError: # a lone surrogate, which UTF-8 cannot hold
                pass
            # rare: special tokens' text or surrogates, so encode() document by document
            return np.array([i for t in group for i in self.encode(t) + [self.eot]], np.uint32)
        # consecutive documents in groups of about CUT_CHARS / 4 characters, one encode call each
        groups, size = [[]], 0
        for t in texts:
            if size >= CUT_CHARS // 4:
                groups.append([])
                size = 0
            groups[-1].append(t)
            size += len(t) + 1
        if THREADS == 1 or len(groups) == 1:
            parts = list(map(work, groups))
        else:
            with ThreadPoolExecutor(THREADS) as pool:
                parts = list(pool.map(work, groups))
        return np.concatenate(parts) if texts else np.zeros(0, np.uint32)

    def encode_joined(self, text):
        """documents already joined, each followed by <|endoftext|> (which none holds otherwise) ->
        encode_flat() of them, in one call on this thread"""
        return self._spell_plumbing_np(self.enc.encode_to_numpy(text, allowed_special={EOT}, disallowed_special=()))

    def decode(self, ids):
        """list of ids -> str. Never raises: bytes that are not UTF-8 become U+FFFD."""
        b = b''.join(self.id_bytes[i] for i in ids)
        try:
            return b.decode('utf-8', 'surrogatepass')
        except UnicodeDecodeError:
            return b.decode('utf-8', 'replace')

def _cut(text):
    """cut text into pieces of ~CUT_CHARS characters, each just after a space"""
    parts, pos = [], 0
    while True:
        cut = text.find(' ', pos + CUT_CHARS)
        if cut < 0:
            return parts + [text[pos:]]
        parts.append(text[pos:cut + 1])
        pos = cut + 1

# -----------------------------------------------------------------------------
# building a Tokenizer from a spec

def _from_dict(d):
    """the Unicode-centric tokenizer from its file contents"""
    try:
        assert d['format'] == FORMAT, f"format is {d.get('format')!r}"
        assert d['version'] == VERSION, f"version {d['version']} (this code reads {VERSION})"
        layout, V, specials, chars, tokens = d['layout'], d['vocab_size'], d['specials'], d['chars'], d['tokens']
        assert specials[0] == '<|endoftext|>', "the first special must be <|endoftext|>"
        check_size(layout, V)
    except (AssertionError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a valid glyphgpt tokenizer ({e}): retrain it with `python tokenizer.py train ...`") from None
    id_bytes = [b''] * V
    kinds = np.full(V, KIND_PLACEHOLDER, dtype=np.uint8)
    if layout == 'codepoint':
        slots = codepoint_slots(V)
        known = [c for c in range(0x10000) if codepoint_known(c)]
        char_ids = known
    else:
        slots = list(range(V))
        known = [ord(c) for c in chars]
        char_ids = slots[256 + len(specials):256 + len(specials) + len(known)]
        slots = slots[:256 + len(specials)] + slots[256 + len(specials) + len(known):]
    if len(slots) < 256 + len(specials) + len(tokens):
        raise ValueError(f"not a valid glyphgpt tokenizer: {len(tokens)} learned tokens do not fit {V} ids: retrain it")
    for b in range(256):
        id_bytes[slots[b]], kinds[slots[b]] = bytes([b]), KIND_BYTE
    specials = {s: slots[256 + k] for k, s in enumerate(specials)}
    for s, i in specials.items():
        id_bytes[i], kinds[i] = s.encode(), KIND_SPECIAL
    for c, i in zip(known, char_ids):
        id_bytes[i], kinds[i] = chr(c).encode('utf-8', 'surrogatepass'), KIND_TEXT
    learned = slots[256 + len(specials):256 + len(specials) + len(tokens)]
    for t, i in zip(tokens, learned):
        id_bytes[i], kinds[i] = t.encode('utf-8'), KIND_TEXT
    for i in np.flatnonzero(kinds == KIND_PLACEHOLDER):
        id_bytes[i] = f'<|unused_{i}|>'.encode()

    # tiktoken's rank table, rank = our id. Byte-level BPE must pass through the byte prefixes of a
    # multi-byte character to reach it: they get ranks past the last id. Only the relative order of
    # learned tokens decides which merges win, and learned ids grow in merge order.
    byte_ids = [slots[b] for b in range(256)]
    ranks = {}
    for i in np.flatnonzero(kinds == KIND_TEXT):
        b = id_bytes[i]
        ranks[b] = int(i)
        if len(b) == 1: # an ASCII character it knows is spelled by its own id, not the byte token
            byte_ids[b[0]] = int(i)
    for b in range(256):
        ranks.setdefault(bytes([b]), slots[b])
    multibyte_chars = [b for b in ranks if len(b) > 1 and len(b.decode('utf-8')) == 1]
    plumbing = sorted({c[:k] for c in multibyte_chars for k in range(2, len(c))} - ranks.keys())
    ranks.update((p, V + k) for k, p in enumerate(plumbing))
    enc = tiktoken.Encoding(f"glyphgpt-{layout}-{V}", pat_str=d['pattern'], mergeable_ranks=ranks, special_tokens=specials)
    return Tokenizer(d.get('name', f"{layout}-{V}"), d, enc, id_bytes, kinds, specials, byte_ids)

def _from_tiktoken(name, enc):
    V = enc.n_vocab
    id_bytes, kinds = [], np.zeros(V, dtype=np.uint8)
    special_ids = {enc.encode_single_token(s) for s in enc.special_tokens_set}
    for i in range(V):
        if i in special_ids:
            b, kinds[i] = enc.decode([i]).encode(), KIND_SPECIAL
        else:
            try:
                b = enc.decode_single_token_bytes(i)
                try:
                    b.decode('utf-8')
                except UnicodeDecodeError:
                    kinds[i] = KIND_BYTE # partial UTF-8: glyphs draw it as its hex bytes
            except KeyError: # a gap in the rank table
                b, kinds[i] = f'<|unused_{i}|>'.encode(), KIND_PLACEHOLDER
        id_bytes.append(b)
    specials = {s: enc.encode_single_token(s) for s in enc.special_tokens_set}
    if '<|endoftext|>' not in specials:
        raise ValueError(f"tiktoken encoding {name!r} has no <|endoftext|> token to separate documents")
    return Tokenizer(name, name, enc, id_bytes, kinds, specials, [enc.encode_single_token(bytes([b])) for b in range(256)])

def load_tokenizer(spec):
    """'unicode' | path to a tokenizer .json (or a folder holding tokenizer.json) | the dict a
    checkpoint stores | a tiktoken name | path to a .tiktoken rank file -> Tokenizer"""
    if isinstance(spec, dict):
        return _from_dict(spec)
    if spec == 'unicode':
        return _from_dict(new_spec('codepoint', 65536, [], [], PATTERN, name='unicode'))
    if os.path.isdir(spec) and os.path.exists(os.path.join(spec, 'tokenizer.json')):
        spec = os.path.join(spec, 'tokenizer.json')
    if spec.endswith('.tiktoken'):
        from tiktoken.load import load_tiktoken_bpe
        if not os.path.exists(spec):
            raise FileNotFoundError(f"tokenizer file {spec} does not exist: check the path")
        ranks = load_tiktoken_bpe(spec)
        name = os.path.basename(spec)[:-len('.tiktoken')]
        return _from_tiktoken(name, tiktoken.Encoding(name, pat_str=GPT2_PATTERN, mergeable_ranks=ranks,
                                                      special_tokens={'<|endoftext|>': len(ranks)}))
    if spec.endswith('.json') or os.sep in spec:
        try:
            with open(spec, encoding='utf-8') as f:
                d = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"tokenizer file {spec} does not exist: train one with `python tokenizer.py train ...` or check the path") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"cannot read tokenizer file {spec} ({e}): retrain it with `python tokenizer.py train ...`") from None
        return _from_dict(d)
    if spec in tiktoken.list_encoding_names():
        try:
            enc = tiktoken.get_encoding(spec)
        except Exception as e:
            raise RuntimeError(f"tiktoken could not load {spec!r} ({type(e).__name__}): it downloads the ranks on "
                               f"first use, so run once online or pass a local file, --tokenizer path/to/{spec}.tiktoken") from None
        return _from_tiktoken(spec, enc)
    raise ValueError(f"unknown tokenizer {spec!r}: use 'unicode', a tokenizer .json path, a .tiktoken file "
                     f"or one of tiktoken's {', '.join(tiktoken.list_encoding_names())}")

def check_size(layout, vocab_size):
    if layout == 'codepoint' and vocab_size not in CODEPOINT_SIZES:
        raise ValueError(f"the codepoint layout has 65536 or 131072 ids, not {vocab_size}: use one of "
                         "those, or --layout compact for other sizes")
    if layout == 'compact' and vocab_size < 512:
        raise ValueError(f"the compact layout needs at least 512 ids (256 bytes, specials, characters), "
                         f"not {vocab_size}: use --vocab_size 512 or more")
    if layout not in ('codepoint', 'compact'):
        raise ValueError(f"unknown layout {layout!r}: use codepoint or compact")

def new_spec(layout, vocab_size, chars, tokens, pattern, **extra):
    return dict(format=FORMAT, version=VERSION, layout=layout, vocab_size=vocab_size, pattern=pattern,
                specials=SPECIALS, chars=''.join(chars), tokens=list(tokens), **extra)

# -----------------------------------------------------------------------------
# training: frequency-driven BPE over characters

def train(texts, vocab_size, layout='compact', max_token_chars=5, allow_whitespace=False,
          min_frequency=2, char_coverage=0.9995, verbose=True):
    """texts: iterable of str -> tokenizer spec (dict; save it with save_spec). Merges the most
    frequent adjacent pair again and again; pair counts are kept incrementally (a heap with lazy
    deletion plus an index from pairs to the words holding them): recounting after every merge
    would take hours at 131,072 ids."""
    check_size(layout, vocab_size)
    t0 = time.time()
    pattern = PATTERN_ANY if allow_whitespace else PATTERN
    split = re.compile(pattern).findall
    pieces, nbytes = Counter(), 0
    for text in texts:
        pieces.update(split(text))
        nbytes += len(text)
    if not pieces:
        raise ValueError("the training input is empty: pass files with text in them (--input)")
    char_counts = Counter()
    for piece, n in pieces.items():
        for ch in piece:
            char_counts[ch] += n

    # which characters get their own id
    nfree = vocab_size - 256 - len(SPECIALS)
    if layout == 'codepoint':
        nfree += len(codepoint_slots(vocab_size)) - vocab_size
        known = {chr(c) for c in range(0x10000) if codepoint_known(c)}
        # above U+FFFF only the 131,072 size has room: its frequent characters become learned tokens
        upper = sorted((c for c, n in char_counts.items() if ord(c) > 0xFFFF and n >= min_frequency),
                       key=lambda c: (-char_counts[c], c)) if vocab_size == 131072 else []
        chars, tokens = [], upper[:nfree]
        known.update(tokens)
    else:
        total, covered, chars = sum(char_counts.values()), 0, []
        for c, n in sorted(char_counts.items(), key=lambda kv: (-kv[1], kv[0])):
            if covered >= char_coverage * total or n < min_frequency or len(chars) >= nfree // 2:
                break
            chars.append(c)
            covered += n
        known, tokens = set(chars), []
    nfree -= len(chars) + len(tokens)

    # words: pieces as lists of symbol ids, cut at characters it does not know (those become bytes)
    sym_of, text_of = {}, []
    def sym(s):
        if s not in sym_of:
            sym_of[s] = len(text_of)
            text_of.append(s)
        return sym_of[s]
    words, counts = [], []
    for piece, n in pieces.items():
        for run in _known_runs(piece, known):
            if len(run) >= 2:
                words.append([sym(c) for c in run])
                counts.append(n)
    nchars = [len(s) for s in text_of]

    pair_count, where = defaultdict(int), defaultdict(set)
    def count_word(w, wi, n, sign):
        for a, b in zip(w, w[1:]):
            if nchars[a] + nchars[b] <= max_token_chars:
                pair_count[a, b] += sign * n
                if sign > 0:
                    where[a, b].add(wi)
    for wi, w in enumerate(words):
        count_word(w, wi, counts[wi], 1)
    heap = [(-n, a, b) for (a, b), n in pair_count.items()]
    heapq.heapify(heap)
    learned = []
    while len(learned) < nfree and heap:
        negn, a, b = heapq.heappop(heap)
        n = pair_count.get((a, b), 0)
        if n != -negn: # stale: the count fell since this entry was pushed
            if n >= min_frequency:
                heapq.heappush(heap, (-n, a, b))
            continue
        if n < min_frequency:
            break
        new = sym(text_of[a] + text_of[b])
        nchars.append(len(text_of[new]))
        learned.append(text_of[new])
        touched = set()
        for wi in where.pop((a, b)):
            w = words[wi]
            if not any(w[k] == a and w[k + 1] == b for k in range(len(w) - 1)):
                continue # the pair left this word through an earlier merge
            count_word(w, wi, counts[wi], -1)
            out, k = [], 0
            while k < len(w):
                if k + 1 < len(w) and w[k] == a and w[k + 1] == b:
                    out.append(new)
                    k += 2
                else:
                    out.append(w[k])
                    k += 1
            words[wi] = out
            count_word(out, wi, counts[wi], 1)
            touched.update(p for p in zip(out, out[1:]) if new in p)
        del pair_count[a, b]
        for p in touched:
            if pair_count.get(p, 0) >= min_frequency:
                heapq.heappush(heap, (-pair_count[p], *p))
        if verbose and len(learned) % 5000 == 0:
            print(f"{len(learned)}/{nfree} merges, {time.time() - t0:.1f}s", flush=True)
    tokens += learned
    placeholders = nfree - len(learned)
    if verbose:
        print(f"trained {layout} {vocab_size}: {len(chars)} characters, {len(tokens)} learned tokens, "
              f"{placeholders} placeholders (min_frequency={min_frequency}), on {nbytes / 1e6:.2f}M "
              f"characters in {time.time() - t0:.1f}s")
    return new_spec(layout, vocab_size, chars, tokens, pattern, max_token_chars=max_token_chars,
                    min_frequency=min_frequency)

def _known_runs(piece, known):
    run = []
    for c in piece:
        if c in known:
            run.append(c)
        else:
            yield run
            run = []
    yield run

def save_spec(spec, path):
    """write a tokenizer file atomically (temporary name, then rename)"""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(spec, f, ensure_ascii=False, indent=0)
    os.replace(tmp, path)

def describe(tok):
    """how many ids go to bytes, specials, characters, learned tokens and placeholders"""
    text = tok.kinds == KIND_TEXT
    nchar = sum(1 for i in np.flatnonzero(text) if len(tok.id_bytes[i].decode('utf-8')) == 1)
    return dict(name=tok.name, vocab_size=tok.vocab_size, bytes=int((tok.kinds == KIND_BYTE).sum()),
                specials=len(tok.specials), characters=nchar, learned=int(text.sum()) - nchar,
                placeholders=int((tok.kinds == KIND_PLACEHOLDER).sum()), hash=tok.hash[:16])

# -----------------------------------------------------------------------------
if __name__ == '__main__':
    parser = argparse.ArgumentParser(description="train or inspect a glyphgpt tokenizer")
    sub = parser.add_subparsers(dest='cmd', required=True)
    p = sub.add_parser('train', help="frequency-driven BPE over characters")
    p.add_argument('--input', nargs='+', required=True, help="UTF-8 text files")
    p.add_argument('--vocab_size', type=int, required=True)
    p.add_argument('--layout', choices=['codepoint', 'compact'], default='compact')
    p.add_argument('--out', required=True)
    p.add_argument('--max_token_chars', type=int, default=5, help="longest learned token, in characters")
    p.add_argument('--allow_whitespace', action='store_true', help="let learned tokens contain whitespace")
    p.add_argument('--min_frequency', type=int, default=2, help="rarer pairs are not merged; ids left become placeholders")
    p.add_argument('--char_coverage', type=float, default=0.9995, help="compact: share of character occurrences given an id")
    p = sub.add_parser('info', help="print what the ids of a tokenizer hold")
    p.add_argument('spec')
    args = parser.parse_args()
    try:
        if args.cmd == 'train':
            def read(paths):
                for path in paths:
                    if not os.path.isfile(path):
                        raise FileNotFoundError(f"input file {path} does not exist: check --input")
                    with open(path, encoding='utf-8', errors='replace') as f:
                        yield f.read()
            spec = train(read(args.input), args.vocab_size, args.layout, args.max_token_chars,
                         args.allow_whitespace, args.min_frequency, args.char_coverage)
            spec['trained_on'] = [os.path.basename(p) for p in args.input]
            save_spec(spec, args.out)
            print(f"wrote {args.out}")
        else:
            for k, v in describe(load_tokenizer(args.spec)).items():
                print(f"{k:>12s}: {v}")
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        sys.exit(f"error: {e}")
