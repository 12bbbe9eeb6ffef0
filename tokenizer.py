"""
One interface for every tokenizer glyphgpt uses: the Unicode-centric tokenizer of the paper (made
lossless) and any tiktoken encoding. train.py, sample.py, eval_mmlu.py, glyphs.py and prepare.py only
ever call load_tokenizer(spec), where spec is
  'unicode'                  65,536 ids, id = code point, no learned tokens, nothing to train
  path/to/tokenizer.json     a tokenizer trained by `tokenizer.py train` (or the dict a checkpoint stores)
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
bytes to a character). encode_flat(), what prepare.py calls, has its speed machinery at the end of
this file; training (frequency-driven BPE) is in tokenizer_train.py.
"""
import argparse
import hashlib
import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tiktoken

from util import atomic_write

# what an id holds; glyphs.py draws each kind differently (bytes as '<0xE4>', placeholders not at all)
KIND_TEXT, KIND_BYTE, KIND_SPECIAL, KIND_PLACEHOLDER = 0, 1, 2, 3
SPECIALS = ['<|endoftext|>', '<|pad|>'] # end of text first: it separates documents in the shards
EOT = SPECIALS[0]
FORMAT, VERSION = 'glyphgpt-tokenizer', 1
# The 29 characters Python's str.isspace() accepts, spelled out so that Python's re (training) and
# tiktoken's Rust regex (encoding) split text identically.
WHITESPACE = ''.join('\\u%04x' % c for c in [0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
    0x85, 0xa0, 0x1680, *range(0x2000, 0x200b), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000])
# Pieces: one whitespace character, or a run of at most 32 other characters. tiktoken's BPE is
# quadratic in the piece length, and Chinese has no spaces: the cap keeps it linear in the text.
PATTERN = f'[{WHITESPACE}]|[^{WHITESPACE}]{{1,32}}'
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
SURROGATE = re.compile('[\ud800-\udfff]')
CODEPOINT_SIZES = (65536, 131072)

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

    def __init__(self, name, spec, enc, id_bytes, kinds, specials, byte_ids, prefix_ids=()):
        self.name = name         # short human-readable name
        self.spec = spec         # what load_tokenizer() takes to rebuild this exact tokenizer (JSON-able)
        self.enc = enc           # the tiktoken.Encoding doing the BPE; its ranks are our ids
        self.id_bytes = id_bytes # list[bytes]: what each id decodes to
        self.kinds = kinds       # np.uint8 [vocab_size]: KIND_TEXT, KIND_BYTE, KIND_SPECIAL, KIND_PLACEHOLDER
        self.specials = specials # name -> id
        self.byte_ids = byte_ids # byte value -> the id that spells it when its character is unknown
        self.vocab_size = len(id_bytes)
        self.eot = specials[EOT]
        # UTF-8 bytes each id stands for in the text, 0 for specials and placeholders: val bits per byte
        # sums this over the targets, which makes losses comparable across tokenizers
        self.token_bytes = np.array([len(b) for b in id_bytes], dtype=np.int32)
        self.token_bytes[kinds >= KIND_SPECIAL] = 0
        # rank vocab_size + k is a byte prefix (see _from_dict), row k its byte tokens padded with -1
        self._prefix_ids = np.array(prefix_ids, np.int32).reshape(-1, 3)
        self._hash = None

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

    def encode(self, text, allowed_special=()):
        """str -> list of ids. Special tokens' text is ordinary text unless named in allowed_special
        (a set of names, or 'all')."""
        if SURROGATE.search(text): # UTF-8 cannot hold a lone surrogate: write its 'surrogatepass' bytes
            out, pos = [], 0
            for m in SURROGATE.finditer(text):
                out += self.encode(text[pos:m.start()], allowed_special)
                out += [self.byte_ids[b] for b in m.group().encode('utf-8', 'surrogatepass')]
                pos = m.end()
            return out + self.encode(text[pos:], allowed_special)
        allowed = allowed_special if allowed_special == 'all' else set(allowed_special)
        return self._spell_prefixes(self.enc.encode_to_numpy(text, allowed_special=allowed, disallowed_special=())).tolist()

    def _spell_prefixes(self, ranks):
        # A byte prefix of a known character survives the BPE when the next byte belongs to a character
        # the tokenizer does not know: write each such rank as its 2 or 3 byte tokens.
        extra = ranks >= self.vocab_size
        if not extra.any():
            return ranks
        spelled = np.full((len(ranks), 3), -1, np.int32) # row k: the ids ranks[k] becomes, then -1s
        spelled[:, 0] = ranks
        spelled[extra] = self._prefix_ids[ranks[extra] - self.vocab_size]
        spelled = spelled.ravel()
        return spelled[spelled >= 0].astype(ranks.dtype)

    def decode(self, ids):
        """list of ids -> str. Never raises: bytes that are not UTF-8 become U+FFFD."""
        b = b''.join(self.id_bytes[i] for i in ids)
        try:
            return b.decode('utf-8', 'surrogatepass')
        except UnicodeDecodeError:
            return b.decode('utf-8', 'replace')

    def encode_flat(self, texts, threads=None):
        """list of str -> one np.uint32 array, each document's ids followed by end-of-text: what
        prepare.py writes. The same as np.array([i for t in texts for i in self.encode(t) + [self.eot]]),
        done on `threads` threads (None: one per core) by encode_flat_fast() below."""
        return encode_flat_fast(self, list(texts), threads or os.cpu_count() or 1)

    def encode_batch(self, texts, threads=None):
        """list of str -> list of lists of ids, [self.encode(t) for t in texts], on `threads` threads"""
        flat = self.encode_flat(texts, threads) # no document's ids hold eot, so cutting at eot is exact
        ends = np.flatnonzero(flat == self.eot).tolist()
        ids = flat.tolist()
        return [ids[a:b] for a, b in zip([0] + [e + 1 for e in ends[:-1]], ends)]

    def encode_joined(self, text):
        """documents already joined, each followed by <|endoftext|> (which none holds otherwise) ->
        encode_flat() of them, in one call on this thread. tiktoken encodes the text between two
        specials on its own, exactly as if it were alone."""
        return self._spell_prefixes(self.enc.encode_to_numpy(text, allowed_special={EOT}, disallowed_special=()))

# -----------------------------------------------------------------------------
# building a Tokenizer from a spec

def _from_dict(d):
    """the Unicode-centric tokenizer from its file contents"""
    try:
        assert d['format'] == FORMAT, f"format is {d.get('format')!r}"
        assert d['version'] == VERSION, f"version {d['version']} (this code reads {VERSION})"
        layout, V, specials, chars, tokens = d['layout'], d['vocab_size'], d['specials'], d['chars'], d['tokens']
        assert specials[0] == EOT, f"the first special must be {EOT}"
        check_size(layout, V)
    except (AssertionError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a valid glyphgpt tokenizer ({e}): retrain it with `python tokenizer.py train ...`") from None
    # which ids hold characters, and which (the slots) hold byte tokens, specials, then learned tokens
    if layout == 'codepoint':
        slots, chars = codepoint_slots(V), [chr(c) for c in range(0x10000) if codepoint_known(c)]
        char_ids = [ord(c) for c in chars]
    else:
        n = 256 + len(specials)
        slots, char_ids = list(range(n)) + list(range(n + len(chars), V)), range(n, min(n + len(chars), V))
    if len(slots) < 256 + len(specials) + len(tokens):
        raise ValueError(f"not a valid glyphgpt tokenizer: {len(tokens)} learned tokens do not fit {V} ids: retrain it")
    id_bytes, kinds = [b''] * V, np.full(V, KIND_PLACEHOLDER, dtype=np.uint8)
    for b in range(256):
        id_bytes[slots[b]], kinds[slots[b]] = bytes([b]), KIND_BYTE
    specials = {s: slots[256 + k] for k, s in enumerate(specials)}
    for s, i in specials.items():
        id_bytes[i], kinds[i] = s.encode(), KIND_SPECIAL
    for c, i in zip(chars, char_ids):
        id_bytes[i], kinds[i] = c.encode('utf-8', 'surrogatepass'), KIND_TEXT
    for t, i in zip(tokens, slots[256 + len(specials):]):
        id_bytes[i], kinds[i] = t.encode('utf-8'), KIND_TEXT
    for i in np.flatnonzero(kinds == KIND_PLACEHOLDER):
        id_bytes[i] = f'<|unused_{i}|>'.encode()
    ranks, byte_ids, prefix_ids = _rank_table(id_bytes, kinds, slots[:256])
    enc = tiktoken.Encoding(f"glyphgpt-{layout}-{V}", pat_str=d['pattern'], mergeable_ranks=ranks, special_tokens=specials)
    return Tokenizer(d.get('name', f"{layout}-{V}"), d, enc, id_bytes, kinds, specials, byte_ids, prefix_ids)

def _rank_table(id_bytes, kinds, byte_slots):
    """tiktoken's rank table, rank = our id, and the ids of the byte prefixes in it. Byte-level BPE must
    pass through the byte prefixes of a multi-byte character to reach it: they get ranks past the last
    id. Only the relative order of learned tokens decides which merges win, and learned ids grow in
    merge order."""
    byte_ids, ranks = list(byte_slots), {}
    for i in np.flatnonzero(kinds == KIND_TEXT):
        ranks[id_bytes[i]] = int(i)
        if len(id_bytes[i]) == 1: # an ASCII character it knows is spelled by its own id, not the byte token
            byte_ids[id_bytes[i][0]] = int(i)
    for b in range(256):
        ranks.setdefault(bytes([b]), byte_slots[b])
    multibyte_chars = [b for b in ranks if len(b) > 1 and len(b.decode('utf-8')) == 1]
    prefixes = sorted({c[:k] for c in multibyte_chars for k in range(2, len(c))} - ranks.keys())
    ranks.update((p, len(id_bytes) + k) for k, p in enumerate(prefixes))
    prefix_ids = [[byte_ids[x] for x in p] + [-1] * (3 - len(p)) for p in prefixes] # padded to 3 bytes
    return ranks, byte_ids, prefix_ids

def _from_tiktoken(name, enc):
    V = enc.n_vocab
    specials = {s: enc.encode_single_token(s) for s in enc.special_tokens_set}
    if EOT not in specials:
        raise ValueError(f"tiktoken encoding {name!r} has no {EOT} token to separate documents")
    id_bytes, kinds = [], np.zeros(V, dtype=np.uint8)
    special_ids = set(specials.values())
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
    return Tokenizer(name, name, enc, id_bytes, kinds, specials, [enc.encode_single_token(bytes([b])) for b in range(256)])

def load_tokenizer(spec):
    """'unicode' | path to a tokenizer .json, ours or a Hugging Face one like the paper's (or a folder holding
    tokenizer.json) | the dict a checkpoint stores | a tiktoken name | path to a .tiktoken rank file -> Tokenizer"""
    if isinstance(spec, dict):
        if spec.get('format') == 'huggingface-tokenizer': # the paper's own tokenizer.json files: hf_tokenizer.py
            from hf_tokenizer import HFTokenizer
            return HFTokenizer(spec['tokenizer'], spec['name'])
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
                                                      special_tokens={EOT: len(ranks)}))
    if spec.endswith('.json') or os.sep in spec:
        try:
            with open(spec, encoding='utf-8') as f:
                d = json.load(f)
        except FileNotFoundError:
            raise FileNotFoundError(f"tokenizer file {spec} does not exist: train one with `python tokenizer.py train ...` or check the path") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise ValueError(f"cannot read tokenizer file {spec} ({e}): retrain it with `python tokenizer.py train ...`") from None
        if isinstance(d, dict) and 'model' in d and 'added_tokens' in d: # a Hugging Face tokenizer.json
            from hf_tokenizer import HFTokenizer
            return HFTokenizer(d, os.path.basename(spec)[:-len('.json')] if spec.endswith('.json') else spec)
        return load_tokenizer(d) if isinstance(d, dict) else _from_dict(d)
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

def save_spec(spec, path):
    """write a tokenizer file atomically: a reader sees the old file or the whole new one"""
    atomic_write(path, lambda f: json.dump(spec, f, ensure_ascii=False, indent=0), mode='w')

def describe(tok):
    """how many ids go to bytes, specials, characters, learned tokens and placeholders"""
    text = tok.kinds == KIND_TEXT
    nchar = sum(1 for i in np.flatnonzero(text) if len(tok.id_bytes[i].decode('utf-8')) == 1)
    return dict(name=tok.name, vocab_size=tok.vocab_size, bytes=int((tok.kinds == KIND_BYTE).sum()),
                specials=len(tok.specials), characters=nchar, learned=int(text.sum()) - nchar,
                placeholders=int((tok.kinds == KIND_PLACEHOLDER).sum()), hash=tok.hash[:16])

# -----------------------------------------------------------------------------
def train(*args, **kwargs):
    """texts, vocab_size, layout='compact', ... -> a tokenizer spec (save it with save_spec):
    frequency-driven BPE over characters, in tokenizer_train.py"""
    import tokenizer_train # here, not at the top: it builds on this module
    return tokenizer_train.train(*args, **kwargs)

# -----------------------------------------------------------------------------
# speed: encode_flat() with few calls into tiktoken, on threads. A call has a fixed cost larger than
# encoding a line-sized document, so consecutive documents are joined with <|endoftext|> into strings
# of about GROUP_CHARS characters, one encode_joined() each; tiktoken lets go of the GIL while it
# encodes, so the groups run in parallel on threads. Tests hold it equal to the plain loop.
GROUP_CHARS = 1 << 16

def encode_flat_fast(tok, texts, threads):
    def work(group):
        if not any(EOT in t for t in group):
            try:
                return tok.encode_joined(EOT.join(group) + EOT)
            except UnicodeEncodeError: # a lone surrogate, which UTF-8 cannot hold
                pass
        # rare: special tokens' text or surrogates, so encode() document by document
        return np.array([i for t in group for i in tok.encode(t) + [tok.eot]], np.uint32)
    groups, size = [[]], 0
    for t in texts:
        if size >= GROUP_CHARS:
            groups.append([])
            size = 0
        groups[-1].append(t)
        size += len(t) + 1
    if threads == 1 or len(groups) == 1:
        parts = list(map(work, groups))
    else:
        with ThreadPoolExecutor(threads) as pool:
            parts = list(pool.map(work, groups))
    return np.concatenate(parts) if texts else np.zeros(0, np.uint32)

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
