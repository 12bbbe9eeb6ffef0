"""
One interface for every tokenizer glyphgpt uses: the Unicode-centric tokenizer of the paper (made
lossless), any tiktoken encoding, and the paper's own Hugging Face files (the last section). train.py,
sample.py, eval_mmlu.py, glyphs.py and prepare.py only ever call load_tokenizer(spec), where spec is
  'unicode'                  65,536 ids, id = code point, no learned tokens, nothing to train
  path/to/tokenizer.json     a tokenizer trained by tokenizer_train.py or prepare.py, or a Hugging Face
                             one like the paper's bvv241 files (or the dict a checkpoint stores)
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

    python tokenizer_train.py --input FILE... --vocab_size 65536 --layout codepoint --out tok.json
    python tokenizer.py train ...   # the same command, under its older name
    python tokenizer.py info tok.json

Encoding runs in tiktoken's Rust BPE: our tokens become a tiktoken rank table (ranks in merge order,
plus the UTF-8 byte prefixes of multi-byte characters, which its byte-level BPE needs to get from
bytes to a character). encode_flat(), what prepare.py calls, has its speed machinery in a section of
its own; training (frequency-driven BPE) is in tokenizer_train.py.
"""
import argparse
import json
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import tiktoken
from tiktoken.load import load_tiktoken_bpe

import tokenizer_train
from tokenizer_train import train # re-exported: tokenizer.train(texts, vocab_size, ...) -> a spec, as before
# The vocabulary contract lives one floor down, in vocab.py, so that tokenizer_train.py builds on it
# without importing this file; its names stay importable from here.
from vocab import (EOT, FORMAT, KIND_BYTE, KIND_PLACEHOLDER, KIND_SPECIAL, KIND_TEXT, PATTERN, SPECIALS,
                   SURROGATE, VERSION, Vocab, check_size, codepoint_known, codepoint_slots, new_spec,
                   save_spec)

GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# -----------------------------------------------------------------------------

class Tokenizer(Vocab):
    """our tokenizers and tiktoken's: vocab.Vocab's per-id tables, with encode/decode done by tiktoken's
    Rust BPE. Build with load_tokenizer()."""

    def __init__(self, name, spec, enc, id_bytes, kinds, specials, byte_ids, prefix_ids=()):
        super().__init__(name, spec, id_bytes, kinds, specials, specials[EOT])
        self.enc = enc           # the tiktoken.Encoding doing the BPE; its ranks are our ids
        self.byte_ids = byte_ids # byte value -> the id that spells it when its character is unknown
        # rank vocab_size + k is a byte prefix (see _from_dict), row k its byte tokens padded with -1
        self._prefix_ids = np.array(prefix_ids, np.int32).reshape(-1, 3)

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
        ranks = self.enc.encode_to_numpy(text, allowed_special=allowed, disallowed_special=())
        return self._spell_prefixes(ranks).tolist()

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

    def encode_joined(self, text):
        """documents already joined, each followed by <|endoftext|> (which none holds otherwise) ->
        encode_flat() of them, in one call on this thread. tiktoken encodes the text between two
        specials on its own, exactly as if it were alone."""
        ranks = self.enc.encode_to_numpy(text, allowed_special={EOT}, disallowed_special=())
        return self._spell_prefixes(ranks)

# -----------------------------------------------------------------------------
# building a Tokenizer from a spec

def _from_dict(d):
    """the Unicode-centric tokenizer from its file contents"""
    try:
        assert d['format'] == FORMAT, f"format is {d.get('format')!r}"
        assert d['version'] == VERSION, f"version {d['version']} (this code reads {VERSION})"
        layout = d['layout']
        V = d['vocab_size']
        specials = d['specials']
        chars = d['chars']
        tokens = d['tokens']
        assert specials[0] == EOT, f"the first special must be {EOT}"
        check_size(layout, V)
    except (AssertionError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not a valid glyphgpt tokenizer ({e}): "
                         f"retrain it with `python tokenizer.py train ...`") from None
    # which ids hold characters, and which (the slots) hold byte tokens, specials, then learned tokens
    if layout == 'codepoint':
        slots = codepoint_slots(V)
        chars = [chr(c) for c in range(0x10000) if codepoint_known(c)]
        char_ids = [ord(c) for c in chars]
    else:
        n = 256 + len(specials)
        slots = list(range(n)) + list(range(n + len(chars), V))
        char_ids = range(n, min(n + len(chars), V))
    if len(slots) < 256 + len(specials) + len(tokens):
        raise ValueError(f"not a valid glyphgpt tokenizer: {len(tokens)} learned tokens "
                         f"do not fit {V} ids: retrain it")
    id_bytes = [b''] * V
    kinds = np.full(V, KIND_PLACEHOLDER, dtype=np.uint8)
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
    enc = tiktoken.Encoding(f"glyphgpt-{layout}-{V}", pat_str=d['pattern'], mergeable_ranks=ranks,
                            special_tokens=specials)
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
    byte_ids = [enc.encode_single_token(bytes([b])) for b in range(256)]
    return Tokenizer(name, name, enc, id_bytes, kinds, specials, byte_ids)

def _from_rank_file(path):
    """a local .tiktoken rank file, read with GPT-2's split pattern; end of text gets the id after the last"""
    if not os.path.exists(path):
        raise FileNotFoundError(f"tokenizer file {path} does not exist: check the path")
    ranks = load_tiktoken_bpe(path)
    name = os.path.basename(path)[:-len('.tiktoken')]
    specials = {EOT: len(ranks)}
    enc = tiktoken.Encoding(name, pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens=specials)
    return _from_tiktoken(name, enc)

def _from_json_file(path):
    """a tokenizer .json: ours, or a Hugging Face one (HFTokenizer, below)"""
    try:
        with open(path, encoding='utf-8') as f:
            d = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"tokenizer file {path} does not exist: train one with "
                                f"`python tokenizer.py train ...` or check the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read tokenizer file {path} ({e}): "
                         f"retrain it with `python tokenizer.py train ...`") from None
    if is_hf_tokenizer(d):
        name = os.path.basename(path)[:-len('.json')] if path.endswith('.json') else path
        return HFTokenizer(d, name)
    return load_tokenizer(d) if isinstance(d, dict) else _from_dict(d)

def _from_tiktoken_name(name):
    """one of tiktoken's own encodings, 'gpt2', 'cl100k_base', ..."""
    try:
        enc = tiktoken.get_encoding(name)
    except Exception as e:
        raise RuntimeError(f"tiktoken could not load {name!r} ({type(e).__name__}): "
                           f"it downloads the ranks on first use, so run once online or pass a local file, "
                           f"--tokenizer path/to/{name}.tiktoken") from None
    return _from_tiktoken(name, enc)

def load_tokenizer(spec):
    """'unicode' | path to a tokenizer .json, ours or a Hugging Face one like the paper's (or a folder
    holding tokenizer.json) | the dict a checkpoint stores | a tiktoken name | path to a .tiktoken rank
    file -> Tokenizer (or HFTokenizer, behind the same interface)"""
    if isinstance(spec, dict):
        if spec.get('format') == HF_FORMAT: # the paper's own tokenizer.json files
            return HFTokenizer(spec['tokenizer'], spec['name'])
        return _from_dict(spec)
    if spec == 'unicode':
        return _from_dict(new_spec('codepoint', 65536, [], [], PATTERN, name='unicode'))
    if os.path.isdir(spec) and os.path.exists(os.path.join(spec, 'tokenizer.json')):
        spec = os.path.join(spec, 'tokenizer.json')
    if spec.endswith('.tiktoken'):
        return _from_rank_file(spec)
    if spec.endswith('.json') or os.sep in spec:
        return _from_json_file(spec)
    if spec in tiktoken.list_encoding_names():
        return _from_tiktoken_name(spec)
    raise ValueError(f"unknown tokenizer {spec!r}: use 'unicode', a tokenizer .json path, a .tiktoken file "
                     f"or one of tiktoken's {', '.join(tiktoken.list_encoding_names())}")

def describe(tok):
    """how many ids go to bytes, specials, characters, learned tokens and placeholders"""
    text = tok.kinds == KIND_TEXT
    nchar = sum(1 for i in np.flatnonzero(text) if len(tok.id_bytes[i].decode('utf-8')) == 1)
    return dict(name=tok.name, vocab_size=tok.vocab_size, bytes=int((tok.kinds == KIND_BYTE).sum()),
                specials=len(tok.specials), characters=nchar, learned=int(text.sum()) - nchar,
                placeholders=int((tok.kinds == KIND_PLACEHOLDER).sum()), hash=tok.hash[:16])

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
# the paper's own tokenizers: Hugging Face tokenizer.json files
# bvv241-2-3 (65,536 ids) of the uni-glyph-335m models, bvv241-max (131,072) of best_bvv_* and
# max_bvv_*. The format: BPE over characters, no pre-tokenizer, `<unk>` for every character the
# vocabulary lacks (all past U+FFFF, private use), added tokens (`<pad>`, `<s>`, `</s>`, ...) in the
# private-use range. The `tokenizers` library, the format's reference implementation, encodes them,
# not tiktoken: Hugging Face's BPE merges by the rank of the *pair*, tiktoken by the rank of the
# *result*, and thousands of bvv241 tokens arise from more than one pair, so an emulation on tiktoken
# could pass every test text and still give other ids. Where they differ from ours:
#   - no byte fallback: decode(encode(s)) loses what became `<unk>`. Bits per byte still count the
#     text's true UTF-8 bytes: prepare.count_unknown records them per split, and
#     experiments/rarity.py's val_scores spreads the bytes no token spells over the `<unk>` positions
#   - added tokens written in the text become those tokens, as in the library (ours keep them as text)
#   - a lone surrogate, which the library refuses, is one `<unk>` like any unknown character

HF_EOT, HF_UNK = '</s>', '<unk>' # the paper's end of text (id 57346 in bvv241) and unknown token
PLACEHOLDER = re.compile(r'<[^<>]*_\d+>') # bvv241's <unused_63743>, <special_token_57367>
HF_FORMAT = 'huggingface-tokenizer' # the spec a dataset and a checkpoint keep: {format, name, tokenizer}

def is_hf_tokenizer(d):
    """a dict that looks like a Hugging Face tokenizer.json"""
    return isinstance(d, dict) and isinstance(d.get('model'), dict) and 'added_tokens' in d

def check_supported(d):
    """the kind of tokenizer.json HFTokenizer reads, or one sentence saying what differs"""
    m = d['model']
    problems = []
    if m.get('type') != 'BPE':
        problems.append(f"model type {m.get('type')!r} (BPE is read)")
    if d.get('pre_tokenizer'):
        problems.append("a pre-tokenizer")
    if d.get('normalizer'):
        problems.append("a normalizer")
    if m.get('byte_fallback'):
        problems.append("byte fallback")
    if d.get('post_processor'):
        problems.append("a post-processor")
    if HF_EOT not in {t['content'] for t in d['added_tokens']}:
        problems.append(f"no {HF_EOT!r} added token to end documents with")
    if problems:
        raise ValueError(f"this tokenizer.json has {', '.join(problems)}: glyphgpt reads the paper's kind "
                         f"(BPE over characters, no pre-tokenizer or normalizer, no byte fallback, "
                         f"{HF_EOT!r} and {HF_UNK!r} as added tokens), such as bvv241-2-3")

class HFTokenizer(Vocab):
    """Tokenizer's interface over the `tokenizers` library. kinds: added tokens are KIND_SPECIAL
    (`<unk>` among them, self.unk), tokens that BPE can produce KIND_TEXT, and vocabulary entries no
    merge makes and named like `<unused_63743>` KIND_PLACEHOLDER: the default glyph recipe leaves them
    blank, the paper's draws their names"""

    def __init__(self, d, name):
        try: # an optional dependency, needed only for these files
            import tokenizers
        except ImportError:
            raise ImportError("reading a Hugging Face tokenizer.json needs the `tokenizers` library: "
                              "pip install tokenizers") from None
        check_supported(d)
        self.engine = tokenizers.Tokenizer.from_str(json.dumps(d))
        vocab = d['model']['vocab']
        added = {t['content']: t['id'] for t in d['added_tokens']}
        V = max([*vocab.values(), *added.values()]) + 1
        # a merge is written "a b" in older files, ["a", "b"] in newer ones
        pairs = (m.split(' ', 1) if isinstance(m, str) else m for m in d['model']['merges'])
        made = {a + b for a, b in pairs} # every token some merge produces
        texts = [None] * V
        kinds = np.full(V, KIND_PLACEHOLDER, np.uint8)
        # a placeholder is a name no merge makes; an n-gram no merge makes (bvv241-2-3 has 158) stays
        # text: BPE never emits it, but the paper's recipe draws its letters
        for t, i in vocab.items():
            texts[i] = t
            kinds[i] = KIND_PLACEHOLDER if t not in made and PLACEHOLDER.fullmatch(t) else KIND_TEXT
        for t, i in added.items():
            texts[i], kinds[i] = t, KIND_SPECIAL
        texts = [t if t is not None else f'<|unused_{i}|>' for i, t in enumerate(texts)]
        id_bytes = [t.encode('utf-8', 'surrogatepass') for t in texts]
        spec = dict(format=HF_FORMAT, name=name, tokenizer=d)
        # token_bytes: `<unk>` stands for 1-4 bytes it cannot spell, and counts none here; prepare.py sets
        # its entry in the dataset's token_bytes.npy from the text it encoded (count_unknown)
        super().__init__(name, spec, id_bytes, kinds, added, added[HF_EOT])
        self.unk = added.get(HF_UNK, vocab.get(HF_UNK))

    def encode(self, text, allowed_special=()):
        """str -> list of ids, the library's (it matches added tokens in the text whatever
        allowed_special says)"""
        if SURROGATE.search(text): # the library takes no lone surrogate: each is an unknown character
            out, piece = [], []
            for c in text + '\ud800':
                if '\ud800' <= c <= '\udfff':
                    out += self.engine.encode(''.join(piece), add_special_tokens=False).ids + [self.unk]
                    piece = []
                else:
                    piece.append(c)
            return out[:-1]
        return self.engine.encode(text, add_special_tokens=False).ids

    def decode(self, ids):
        """ids -> the tokens' texts concatenated, specials and `<unk>` as their names (the library's
        decode drops them)"""
        return b''.join(self.id_bytes[i] for i in ids).decode('utf-8', 'replace')

    def encode_flat(self, texts, threads=None):
        """each document on its own, then `</s>`: with no pre-tokenizer, merges would cross the boundary of
        documents joined into one text. The library spreads the batch over its own threads"""
        texts = list(texts)
        # a document holding `</s>` or a lone surrogate goes through document(), the rest in one batch
        plain = [HF_EOT not in t and not SURROGATE.search(t) for t in texts]
        batch = self.engine.encode_batch([t for t, p in zip(texts, plain) if p], add_special_tokens=False)
        fast = iter(batch)
        ids = [next(fast).ids if p else self.document(t) for t, p in zip(texts, plain)]
        return np.array([i for doc in ids for i in doc + [self.eot]], np.uint32)

    def document(self, text):
        """encode() of a document, but a `</s>` written in it is spelled as text (`<` apart from `/s>...`):
        the shards hold exactly one end of text per document, as prepare.py counts them"""
        parts = text.split(HF_EOT)
        ids = self.encode(parts[0])
        for p in parts[1:]:
            ids += self.encode('<') + self.encode('/s>' + p)
        return ids

    def encode_joined(self, text):
        """documents each followed by our <|endoftext|> (prepare_parallel's fast path) -> encode_flat()
        of them"""
        return self.encode_flat(text.split(EOT)[:-1])

# -----------------------------------------------------------------------------
if __name__ == '__main__':
    parser = argparse.ArgumentParser(description="train or inspect a glyphgpt tokenizer")
    sub = parser.add_subparsers(dest='cmd', required=True)
    # train's arguments, --help included, are tokenizer_train.py's own: they are handed on to it
    sub.add_parser('train', help="frequency-driven BPE over characters (tokenizer_train.py)", add_help=False)
    p = sub.add_parser('info', help="print what the ids of a tokenizer hold")
    p.add_argument('spec')
    args, rest = parser.parse_known_args()
    if args.cmd == 'train':
        tokenizer_train.main(rest, prog='tokenizer.py train')
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    else:
        try:
            for k, v in describe(load_tokenizer(args.spec)).items():
                print(f"{k:>12s}: {v}")
        except (ValueError, FileNotFoundError, RuntimeError) as e:
            sys.exit(f"error: {e}")
