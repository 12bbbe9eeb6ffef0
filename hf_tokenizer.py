"""
The paper's own tokenizers: Hugging Face tokenizer.json files (bvv241-2-3, 65,536 ids, of the uni-glyph-335m
models; bvv241-max, 131,072, of best_bvv_* and max_bvv_*), behind the interface of tokenizer.Tokenizer (both
subclass vocab.Vocab), so that tokenizer.load_tokenizer returns them and prepare.py, train.py, glyphs.py,
sample.py and the evaluation take them like any other tokenizer:
    python prepare.py --name default_bvv --tokenizer path/to/bvv241-2-3.json
The format: BPE over characters, no pre-tokenizer, no byte fallback, `<unk>` for every character the
vocabulary lacks (everything past U+FFFF, private-use characters), added tokens (`<pad>`, `<s>`, `</s>`,
...) in the private-use range. The engine is the `tokenizers` library, the format's reference
implementation (pip install tokenizers; imported only here). Not tiktoken: Hugging Face's BPE merges by the
rank of the *pair*, tiktoken by the rank of the *result*, and thousands of bvv241 tokens arise from more
than one pair, so an emulation could pass every test text and still be wrong.
What differs from our own tokenizers, and why:
  - no byte fallback: decode(encode(s)) loses what became `<unk>`; bits per byte still count the text's
    true UTF-8 bytes (prepare.count_unknown records them per split; rarity.val_scores spreads the bytes the
    tokens do not spell over the `<unk>` positions)
  - added tokens written in the text become those tokens, as the library does (ours keep them as text)
  - a lone surrogate (which the library cannot take) is one `<unk>`, as any unknown character
"""
import json
import re

import numpy as np

from vocab import EOT as JOIN # ours, <|endoftext|>: what prepare_parallel joins documents with
from vocab import KIND_PLACEHOLDER, KIND_SPECIAL, KIND_TEXT, SURROGATE, Vocab

EOT, UNK = '</s>', '<unk>' # the paper's end of text (id 57346 in bvv241) and unknown token
PLACEHOLDER = re.compile(r'<[^<>]*_\d+>') # bvv241's <unused_63743>, <special_token_57367>
FORMAT = 'huggingface-tokenizer' # the spec a dataset and a checkpoint keep: {'format', 'name', 'tokenizer': the file's dict}

def is_hf_tokenizer(d):
    """a dict that looks like a Hugging Face tokenizer.json"""
    return isinstance(d, dict) and isinstance(d.get('model'), dict) and 'added_tokens' in d

def check_supported(d):
    """the kind of tokenizer.json this reader takes, or one sentence saying what differs"""
    m = d['model']
    problems = [f"model type {m.get('type')!r} (BPE is read)" if m.get('type') != 'BPE' else None,
                "a pre-tokenizer" if d.get('pre_tokenizer') else None, "a normalizer" if d.get('normalizer') else None,
                "byte fallback" if m.get('byte_fallback') else None, "a post-processor" if d.get('post_processor') else None,
                f"no {EOT!r} added token to end documents with" if EOT not in {t['content'] for t in d['added_tokens']} else None]
    problems = [p for p in problems if p]
    if problems:
        raise ValueError(f"this tokenizer.json has {', '.join(problems)}: glyphgpt reads the paper's kind (BPE over characters, "
                         f"no pre-tokenizer or normalizer, no byte fallback, {EOT!r} and {UNK!r} as added tokens), such as bvv241-2-3")

class HFTokenizer(Vocab):
    """tokenizer.Tokenizer's interface over the `tokenizers` library. kinds: added tokens are KIND_SPECIAL
    (`<unk>` among them, self.unk), tokens that BPE can produce KIND_TEXT, and vocabulary entries no merge
    makes and named like `<unused_63743>` KIND_PLACEHOLDER: the default glyph recipe leaves them blank, the
    paper's draws their names"""

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
        made = {a + b for a, b in (m.split(' ', 1) if isinstance(m, str) else m for m in d['model']['merges'])}
        texts, kinds = [None] * V, np.full(V, KIND_PLACEHOLDER, np.uint8)
        for t, i in vocab.items(): # a placeholder is a name no merge makes; an n-gram no merge makes (bvv241-2-3
            # has 158) stays text: BPE never emits it, but the paper's recipe draws its letters
            texts[i], kinds[i] = t, KIND_PLACEHOLDER if t not in made and PLACEHOLDER.fullmatch(t) else KIND_TEXT
        for t, i in added.items():
            texts[i], kinds[i] = t, KIND_SPECIAL
        texts = [t if t is not None else f'<|unused_{i}|>' for i, t in enumerate(texts)]
        id_bytes = [t.encode('utf-8', 'surrogatepass') for t in texts]
        spec = dict(format=FORMAT, name=name, tokenizer=d)
        # token_bytes: `<unk>` stands for 1-4 bytes it cannot spell, and counts none here; prepare.py sets
        # its entry in the dataset's token_bytes.npy from the text it encoded (count_unknown)
        super().__init__(name, spec, id_bytes, kinds, added, added[EOT])
        self.unk = added.get(UNK, vocab.get(UNK))

    def encode(self, text, allowed_special=()):
        """str -> list of ids, the library's (added tokens in the text are matched whatever allowed_special says)"""
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
        """ids -> the tokens' texts concatenated (specials and `<unk>` as their names: the library's decode drops them)"""
        return b''.join(self.id_bytes[i] for i in ids).decode('utf-8', 'replace')

    def encode_flat(self, texts, threads=None):
        """each document on its own, then `</s>`: with no pre-tokenizer, merges would cross the boundary of
        documents joined into one text. The library spreads the batch over its own threads"""
        texts = list(texts)
        plain = [EOT not in t and not SURROGATE.search(t) for t in texts]
        fast = iter(self.engine.encode_batch([t for t, p in zip(texts, plain) if p], add_special_tokens=False))
        ids = [next(fast).ids if p else self.document(t) for t, p in zip(texts, plain)]
        return np.array([i for doc in ids for i in doc + [self.eot]], np.uint32)

    def document(self, text):
        """encode() of a document, but a `</s>` written in it is spelled as text (`<` apart from `/s>...`):
        the shards hold exactly one end of text per document, as prepare.py counts them"""
        parts = text.split(EOT)
        return self.encode(parts[0]) + [i for p in parts[1:] for i in self.encode('<') + self.encode('/s>' + p)]

    def encode_joined(self, text):
        """documents joined by JOIN (prepare_parallel's fast path) -> encode_flat() of them"""
        return self.encode_flat(text.split(JOIN)[:-1])
