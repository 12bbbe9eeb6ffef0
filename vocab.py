"""
The vocabulary contract, the floor every tokenizer stands on: what an id can hold (text, a byte, a
special, a placeholder), the specials our shards separate documents with, the whitespace pattern that
training and encoding split text by, the two id layouts of our own tokenizer files, and Vocab, the
per-id tables and the hash that every tokenizer has, whatever does its encoding.

tokenizer.py (our format, tiktoken's and the paper's Hugging Face files) and tokenizer_train.py (BPE
training) each build on this module and on nothing above it.
"""
import hashlib
import json
import re
from functools import partial

import numpy as np

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
SURROGATE = re.compile('[\ud800-\udfff]')

# -----------------------------------------------------------------------------
# the id layouts of our own tokenizer files

CODEPOINT_SIZES = (65536, 131072)

def codepoint_slots(vocab_size):
    """ids that hold byte tokens, specials and learned tokens in the codepoint layout, in order"""
    slots = list(range(0xD800, 0xF900)) # surrogates, then private use U+E000-U+F8FF
    return slots + (list(range(0x10000, 0x20000)) if vocab_size == 131072 else [])

def codepoint_known(c):
    """a character the codepoint layout gives its own id (its code point)"""
    return c < 0xD800 or 0xF900 <= c <= 0xFFFF

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
    """the contents of one of our tokenizer files (tokenizer.load_tokenizer reads them)"""
    return dict(format=FORMAT, version=VERSION, layout=layout, vocab_size=vocab_size, pattern=pattern,
                specials=SPECIALS, chars=''.join(chars), tokens=list(tokens), **extra)

def save_spec(spec, path):
    """write a tokenizer file atomically: a reader sees the old file or the whole new one"""
    atomic_write(path, partial(json.dump, spec, ensure_ascii=False, indent=0), mode='w')

# -----------------------------------------------------------------------------

class Vocab:
    """what every tokenizer holds, whatever does its encoding: the per-id tables that glyphs.py
    (token_text, kinds) and train.py (token_bytes, for bits per byte) read, and the hash that shards
    and checkpoints record. A subclass adds encode, decode, encode_flat and encode_joined."""

    def __init__(self, name, spec, id_bytes, kinds, specials, eot):
        self.name = name         # short human-readable name
        self.spec = spec         # what load_tokenizer() takes to rebuild this exact tokenizer (JSON-able)
        self.id_bytes = id_bytes # list[bytes]: what each id decodes to
        self.kinds = kinds       # np.uint8 [vocab_size]: KIND_TEXT, KIND_BYTE, KIND_SPECIAL, KIND_PLACEHOLDER
        self.specials = specials # name -> id
        self.vocab_size = len(id_bytes)
        self.eot = eot           # the id written after every document
        # UTF-8 bytes each id stands for in the text, 0 for specials and placeholders: val bits per byte
        # sums this over the targets, which makes losses comparable across tokenizers
        self.token_bytes = np.array([len(b) for b in id_bytes], dtype=np.int32)
        self.token_bytes[kinds >= KIND_SPECIAL] = 0
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

    def encode_batch(self, texts, threads=None):
        """list of str -> list of lists of ids, [self.encode(t) for t in texts], on `threads` threads"""
        flat = self.encode_flat(texts, threads) # no document's ids hold eot, so cutting at eot is exact
        ends = np.flatnonzero(flat == self.eot).tolist()
        ids = flat.tolist()
        return [ids[a:b] for a, b in zip([0] + [e + 1 for e in ends[:-1]], ends)]
