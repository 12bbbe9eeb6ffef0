"""
Text to token shards, the only thing train.py reads. A dataset is a folder data/<name>/ holding
  train_000000.bin ... val_000000.bin ...  shards: a header of 256 int32, then the tokens
  tokenizer.json        the tokenizer (for a tiktoken encoding, meta.json names it instead)
  token_bytes.npy       UTF-8 bytes per token id: validation loss in bits per byte needs it
  meta.json             tokenizer hash, counts, provenance; written last, so no meta.json = not done

    python prepare.py   # the embedded default corpus (corpus.py) -> data/default/, for config/cpu.py;
                        # the first run trains its tokenizer (compact layout, 8,192 ids, ~20 s)
    python prepare.py --name notes --input notes/ more/*.jsonl --tokenizer gpt2
    python prepare.py --name books --input books/*.txt --separator '\n\n\n' --vocab_size 16384
    python prepare.py --name ru --languages ru --tokenizer data/default/tokenizer.json
                        # one language of the default corpus, with the default's ids
    # on GPU machines, online (`pip install datasets`; not run in this repository's tests):
    python prepare.py --name fwe --hf HuggingFaceFW/fineweb-edu --hf_config sample-10BT --max_tokens 2_000_000_000

Inputs (read by corpus.py): a .txt file is one document, or is split on --separator; .jsonl holds one
JSON object per line with the text in --text_field; .parquet (needs pyarrow) the column --text_field;
other files are read as .txt; a folder means every .txt/.jsonl/.parquet file under it. A document is in
val when crc32(its UTF-8) % 1000 < --val_permille (util.in_val; the default corpus: corpus.VAL_PERMILLE),
so duplicates never straddle the split. --tokenizer takes anything tokenizer.load_tokenizer() does, or
'train' (BPE on the input's train split, tokenizer_train.py); left out, data/<name>/tokenizer.json is
reused when present, else trained.

This file is the plain path: read documents, split them, tokenize them here, write shards. By default
prepare_parallel.py tokenizes with one worker per core; same shards, byte for byte (tests/test_prepare.py).
"""
import argparse
import datetime
import itertools
import json
import os
import re
import shlex
import shutil
import sys
import time
from functools import partial

import numpy as np

import prepare_parallel
import tokenizer_train
from corpus import (SKIPPED, Files, default_files, encode_pairs, file_pairs, hf_records, input_files,
                    new_stats, no_text_error, records_to_docs, skipped_note, split_docs)
from tokenizer import load_tokenizer, save_spec
from util import atomic_write, git_commit

MAGIC, VERSION = 20250704, 1 # the paper's arXiv month and day; bump VERSION when the layout changes
HEADER_INTS = 256 # magic, version, bytes per token, token count, 16 bytes of the tokenizer's sha256, zeros
DTYPES = {2: np.dtype('<u2'), 4: np.dtype('<u4')} # header code = bytes per token
SHARD_TOKENS = 100_000_000
BATCH_DOCS = 1000 # documents per tokenizer call in the plain path: an endless stream is read a part at a time
# a shard, or one that util.atomic_write left half written
SHARD_NAME = re.compile(r'(train|val)_\d{6}\.bin(\.\d+\.tmp)?')

# -----------------------------------------------------------------------------
# shards

def token_dtype(vocab_size):
    """uint16 when every id fits (ids 0..65535), else uint32: 131,072 ids do not fit"""
    return DTYPES[2] if vocab_size <= 1 << 16 else DTYPES[4]

def write_arrays(arrays, f):
    """the arrays' bytes as they are in memory, one after the other"""
    f.writelines(np.ascontiguousarray(a) for a in arrays)

def write_shard(path, tokens, tokenizer_hash):
    """header + tokens, written atomically: a shard that exists is complete"""
    header = np.zeros(HEADER_INTS, dtype='<i4')
    header[:4] = MAGIC, VERSION, tokens.dtype.itemsize, len(tokens)
    header[4:8] = np.frombuffer(bytes.fromhex(tokenizer_hash)[:16], dtype='<i4')
    atomic_write(path, partial(write_arrays, [header, tokens]))

def read_shard(path, tokenizer_hash=None):
    """a shard's tokens as a read-only memory map, once its header checks out (and, given the model's
    tokenizer_hash, that the same tokenizer wrote it)"""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"shard {path} does not exist: run prepare.py to write it")
    header = np.fromfile(path, dtype='<i4', count=HEADER_INTS)
    fix = "re-run prepare.py to rewrite it"
    if len(header) < HEADER_INTS or header[0] != MAGIC:
        magic = header[0] if len(header) else None
        raise ValueError(f"{path} is not a glyphgpt shard (magic {magic}, expected {MAGIC}): {fix}")
    if header[1] != VERSION:
        raise ValueError(f"{path} is shard version {header[1]}, this code reads version {VERSION}: {fix}")
    if header[2] not in DTYPES:
        raise ValueError(f"{path} has token dtype code {header[2]} (bytes per token 2 or 4 expected): {fix}")
    dtype = DTYPES[int(header[2])]
    count = int(header[3])
    want = HEADER_INTS * 4 + count * dtype.itemsize
    size = os.path.getsize(path)
    if size != want:
        raise ValueError(f"{path} is {size} bytes but its header promises {count} tokens ({want} bytes), "
                         f"so it is truncated or damaged: {fix}")
    got = header[4:8].tobytes().hex()
    if tokenizer_hash is not None and got != tokenizer_hash[:32]:
        raise ValueError(f"{path} was written with tokenizer {got}, "
                         f"the model uses tokenizer {tokenizer_hash[:32]}: "
                         f"re-run prepare.py with the model's tokenizer (--tokenizer) into another --name")
    if count == 0: # mmap cannot map zero bytes
        return np.zeros(0, dtype)
    return np.memmap(path, dtype=dtype, mode='r', offset=HEADER_INTS * 4, shape=(count,))

# -----------------------------------------------------------------------------
# tokenizing: documents (corpus.py reads and splits them) -> shards

def plain_batches(source, tok, stats):
    """Files or (split, text) pairs -> encode_pairs() of BATCH_DOCS of them at a time, in this process"""
    pairs = iter(file_pairs(source, stats) if isinstance(source, Files) else source)
    while batch := list(itertools.islice(pairs, BATCH_DOCS)):
        yield encode_pairs(batch, tok)

def progress_line(t0, docs, nbytes, tokens, stats, max_tokens):
    dt = max(time.time() - t0, 1e-6)
    if stats.get('total') and stats['read']: # local files: how much of them was read
        eta = f"ETA {max(stats['total'] - stats['read'], 0) * dt / stats['read']:.0f}s"
    elif max_tokens and tokens:
        left = max(max_tokens - tokens, 0) * dt / tokens
        eta = f"{tokens / max_tokens:.0%} of --max_tokens, ETA {left:.0f}s"
    else:
        eta = "ETA ?" # a stream without a budget: no end in sight
    mb = nbytes / 1e6
    return f"docs {docs} | {mb:.1f} MB | {mb / dt:.1f} MB/s | {eta} | {tokens / 1e6:.1f}M tokens"

class Shards:
    """one split's shards: tokens fill a buffer of shard_tokens, and each full buffer, and at close()
    what is left, is written as the next shard"""
    def __init__(self, out_dir, split, tok, shard_tokens):
        assert 0 < shard_tokens < 2**31, "the header stores the token count as int32"
        self.out_dir = out_dir
        self.split = split
        self.hash = tok.hash
        self.shards = []
        self.buf = np.empty(shard_tokens, token_dtype(tok.vocab_size)) # pages never written cost no memory
        self.fill = 0
        self.tokens = self.documents = self.bytes = 0

    def add(self, tokens, documents, nbytes):
        self.tokens += len(tokens)
        self.documents += documents
        self.bytes += nbytes
        while len(tokens):
            n = min(len(tokens), len(self.buf) - self.fill)
            self.buf[self.fill:self.fill + n] = tokens[:n]
            tokens = tokens[n:]
            self.fill += n
            if self.fill == len(self.buf):
                self.close()

    def close(self):
        if self.fill:
            self.shards.append(f"{self.split}_{len(self.shards):06d}.bin")
            write_shard(os.path.join(self.out_dir, self.shards[-1]), self.buf[:self.fill], self.hash)
            self.fill = 0

def tokenize(source, out_dir, tok, shard_tokens=SHARD_TOKENS, max_tokens=None, stats=None, verbose=True,
             parallel=True):
    """Files or (split, text) pairs -> out_dir/{train,val}_NNNNNN.bin. Each document becomes its
    tokens then eot, so the first document of a shard has no eot before it; a document may go on in
    the next shard. Returns the names of the shards and counts per split."""
    stats = stats or new_stats()
    train = Shards(out_dir, 'train', tok, shard_tokens)
    val = Shards(out_dir, 'val', tok, shard_tokens)
    if parallel:
        batches = prepare_parallel.encoded_batches(source, tok, stats, token_dtype(tok.vocab_size))
    else:
        batches = plain_batches(source, tok, stats)
    # the latest train document is held back: if no document hashed into val (a tiny input), it goes
    # there at the end, because train.py needs a val split
    held = None
    total = docs = nbytes_all = 0
    t0 = shown = time.time()
    for is_val, nbytes, tokens in batches:
        lengths = np.diff(np.flatnonzero(tokens == tok.eot), prepend=-1) # per document, its eot included
        if max_tokens and total + len(tokens) >= max_tokens: # stop after the document that reaches the budget
            keep = int(np.searchsorted(np.cumsum(lengths), max_tokens - total)) + 1
            is_val = is_val[:keep]
            nbytes = nbytes[:keep]
            lengths = lengths[:keep]
            tokens = tokens[:lengths.sum()]
        mask = np.repeat(is_val, lengths) # per token
        val.add(tokens[mask], int(is_val.sum()), int(nbytes[is_val].sum()))
        if not is_val.all():
            if held is not None:
                train.add(*held)
            rest = tokens[~mask]
            last = int(lengths[~is_val][-1])
            train.add(rest[:-last], int((~is_val).sum()) - 1, int(nbytes[~is_val][:-1].sum()))
            held = rest[-last:], 1, int(nbytes[~is_val][-1])
        total += len(tokens)
        docs += len(lengths)
        nbytes_all += int(nbytes.sum())
        if verbose and time.time() - shown > 1:
            print(progress_line(t0, docs, nbytes_all, total, stats, max_tokens), flush=True)
            shown = time.time()
        if max_tokens and total >= max_tokens:
            break
    if held is not None:
        if not val.documents and verbose:
            print("note: no document hashed into val (a small input): the last train document goes there")
        (train if val.documents else val).add(*held)
    if verbose:
        print(f"done: {progress_line(t0, docs, nbytes_all, total, stats, max_tokens)}")
    train.close()
    val.close()
    fields = ('shards', 'tokens', 'documents', 'bytes')
    return {k: dict(train=getattr(train, k), val=getattr(val, k)) for k in fields}

def count_unknown(out_dir, tok, counts):
    """after the shards are written, for a tokenizer with an `<unk>` (tokenizer.HFTokenizer): how many `<unk>`
    each split holds and how many UTF-8 bytes they stand for (the split's text less what its other
    tokens spell). The dataset's token_bytes.npy gives `<unk>` the train split's mean, so train.py's
    running estimate counts them; rarity.val_scores uses the val split's own total, so the whole-split
    val bits per byte count the text's true bytes. -> meta.json's 'unk'"""
    rec = dict(id=int(tok.unk), tokens={}, bytes={})
    for split in ('train', 'val'):
        n = spelled = 0
        for f in counts['shards'][split]:
            c = np.bincount(read_shard(os.path.join(out_dir, f)), minlength=tok.vocab_size)
            n += int(c[tok.unk])
            spelled += int(c @ tok.token_bytes.astype(np.int64))
        rec['tokens'][split] = n
        rec['bytes'][split] = int(counts['bytes'][split]) - spelled
    token_bytes = tok.token_bytes.copy()
    if rec['tokens']['train']:
        token_bytes[tok.unk] = max(1, round(rec['bytes']['train'] / rec['tokens']['train']))
    atomic_write(os.path.join(out_dir, 'token_bytes.npy'), partial(np.save, arr=token_bytes))
    share = {s: rec['tokens'][s] / max(1, counts['tokens'][s]) for s in ('train', 'val')}
    print(f"<unk>: {rec['tokens']['train']:,} train tokens ({share['train']:.4%}), "
          f"{rec['tokens']['val']:,} val ({share['val']:.4%}), "
          f"standing for {rec['bytes']['train']:,} and {rec['bytes']['val']:,} bytes of text")
    return rec

# -----------------------------------------------------------------------------
# a dataset folder

def load_meta(data_dir):
    path = os.path.join(data_dir, 'meta.json')
    if not os.path.exists(path):
        raise FileNotFoundError(f"{data_dir} holds no prepared dataset (no meta.json): "
                                f"run `python prepare.py` (see its --help)")
    with open(path, encoding='utf-8') as f:
        return json.load(f)

def dataset_tokenizer(data_dir):
    """the tokenizer that wrote a prepared dataset"""
    spec = load_meta(data_dir)['tokenizer']
    local = os.path.join(data_dir, spec)
    return load_tokenizer(local if os.path.isfile(local) else spec)

def old_hash(out_dir):
    """the tokenizer hash (32 hex digits) of what an earlier run left in out_dir, or None"""
    if os.path.exists(os.path.join(out_dir, 'meta.json')):
        return load_meta(out_dir)['tokenizer_hash'][:32]
    shards = sorted(f for f in os.listdir(out_dir) if SHARD_NAME.fullmatch(f)) # an unfinished run's
    if not shards:
        return None
    return np.fromfile(os.path.join(out_dir, shards[0]), '<i4', 8)[4:8].tobytes().hex()

def prepare(source, out_dir, tok, tokenizer_arg=None, overwrite=False, shard_tokens=SHARD_TOKENS,
            max_tokens=None, stats=None, provenance=None, text_field='text', verbose=True, parallel=True):
    """Files or (split, text) pairs -> a complete dataset folder; returns its meta dict"""
    stats = stats or new_stats()
    os.makedirs(out_dir, exist_ok=True)
    old = old_hash(out_dir)
    if old and old != tok.hash[:32] and not overwrite:
        raise ValueError(f"{out_dir} holds shards of another tokenizer ({old}, this one is {tok.hash[:32]}): "
                         f"pass --overwrite to replace them, or choose another --name")
    # what an earlier run left: meta.json first, so the folder reads as unfinished
    for f in os.listdir(out_dir):
        if f in ('meta.json', 'tokenizer.json', 'token_bytes.npy') or SHARD_NAME.fullmatch(f):
            os.remove(os.path.join(out_dir, f))
    spec = tok.spec # the name meta.json gives the tokenizer, or the file the dataset carries:
    if isinstance(tok.spec, dict):
        spec = 'tokenizer.json'
        save_spec(tok.spec, os.path.join(out_dir, spec))
    elif tokenizer_arg and tokenizer_arg.endswith('.tiktoken'): # its own copy of the rank file
        spec = os.path.basename(tokenizer_arg)
        if os.path.abspath(tokenizer_arg) != os.path.abspath(os.path.join(out_dir, spec)):
            with open(tokenizer_arg, 'rb') as ranks:
                atomic_write(os.path.join(out_dir, spec), partial(shutil.copyfileobj, ranks))
    atomic_write(os.path.join(out_dir, 'token_bytes.npy'), partial(np.save, arr=tok.token_bytes))
    counts = tokenize(source, out_dir, tok, shard_tokens, max_tokens, stats, verbose, parallel)
    if not counts['documents']['train']:
        if not counts['documents']['val']:
            raise no_text_error(stats, text_field)
        raise ValueError(f"the input holds only {counts['documents']['val']} document(s), all in val, "
                         f"none for train: give at least two documents (or lower --val_permille)")
    unk = {} # the paper's tokenizers have an <unk>: meta.json says what it stands for
    if getattr(tok, 'unk', None) is not None:
        unk['unk'] = count_unknown(out_dir, tok, counts)
    date = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')
    provenance = dict(provenance or {}, command=shlex.join(sys.argv), git_commit=git_commit(), date=date)
    meta = dict(tokenizer=spec, tokenizer_name=tok.name, tokenizer_hash=tok.hash, vocab_size=tok.vocab_size,
                eot=tok.eot, dtype=token_dtype(tok.vocab_size).name, shard_tokens=shard_tokens, **counts,
                token_bytes='token_bytes.npy', skipped={k: stats[k] for k in SKIPPED}, **unk,
                provenance=provenance)
    write_meta = partial(json.dump, meta, ensure_ascii=False, indent=1)
    atomic_write(os.path.join(out_dir, 'meta.json'), write_meta, 'w')
    if verbose:
        t, v = (f"{counts['tokens'][s] / 1e6:.2f}M tokens in {len(counts['shards'][s])} shard(s) "
                f"({counts['documents'][s]} documents, {counts['bytes'][s] / 1e6:.2f} MB)"
                for s in ('train', 'val'))
        print(f"wrote {out_dir}: train {t}, val {v}")
        if skipped_note(stats, text_field):
            print(f"bad input: {skipped_note(stats, text_field)}")
    return meta

# -----------------------------------------------------------------------------
def documents(a, stats):
    """what the command line names: Files, or (split, text) pairs of a stream"""
    if a.input:
        sep = a.separator.replace('\\n', '\n').replace('\\t', '\t') if a.separator else None
        return Files(input_files(a.input), sep, a.text_field, a.val_permille)
    if a.hf:
        records = hf_records(a.hf, a.hf_config, a.hf_split)
        return split_docs(records_to_docs(records, a.text_field, stats), a.val_permille, stats)
    return default_files(a.languages and a.languages.split(','))

def main(a):
    if a.input and a.hf:
        raise ValueError("pass either --input or --hf, not both")
    if (a.input or a.hf or a.languages) and not a.name:
        raise ValueError("pass --name NAME: the dataset is written to data/NAME/")
    name = a.name or 'default'
    out_dir = os.path.join(a.data_dir, name)
    if a.input:
        input_files(a.input) # a missing input fails now, not after training a tokenizer
    local = os.path.join(out_dir, 'tokenizer.json')
    spec = a.tokenizer or (local if os.path.exists(local) else 'train')
    if spec == 'train':
        print(f"training a {a.layout} tokenizer with {a.vocab_size} ids "
              f"on up to {a.train_mb} MB of the train split")
        texts = []
        size = 0
        stats = new_stats()
        docs = documents(a, stats)
        for split, text in file_pairs(docs, stats) if isinstance(docs, Files) else docs:
            if size >= a.train_mb * 1e6:
                break
            if split == 'train':
                texts.append(text)
                size += len(text.encode('utf-8', 'surrogatepass'))
        if not texts:
            raise no_text_error(stats, a.text_field)
        spec = tokenizer_train.train(texts, a.vocab_size, a.layout)
        spec = dict(spec, name=f"{name}-{a.layout}-{a.vocab_size}", trained_on=name)
    tok = load_tokenizer(spec)
    print(f"tokenizer {tok.name}: {tok.vocab_size} ids, hash {tok.hash[:16]}, "
          f"{token_dtype(tok.vocab_size).name} shards")
    inputs = a.input or ([f"hf:{a.hf}:{a.hf_config}:{a.hf_split}"] if a.hf else ['corpus.py'])
    val = f"crc32 % 1000 < {a.val_permille}" if a.input or a.hf else "corpus.py's split"
    source = dict(inputs=inputs, val=val)
    stats = new_stats()
    prepare(documents(a, stats), out_dir, tok, a.tokenizer, a.overwrite, a.shard_tokens, a.max_tokens,
            stats, source, a.text_field)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description="text to token shards in data/<name>/ (see the docstring)")
    p.add_argument('--name', help="dataset name: output in <data_dir>/<name>/ "
                                  "(default: 'default', the embedded corpus)")
    p.add_argument('--input', nargs='+', help="files, folders or globs: .txt, .jsonl, .parquet")
    p.add_argument('--hf',
                   help="a Hugging Face dataset, streamed (needs `pip install datasets` and a network)")
    p.add_argument('--hf_config', help="e.g. sample-10BT (FineWeb-Edu), 20231101.en (wikimedia/wikipedia)")
    p.add_argument('--hf_split', default='train',
                   help="the dataset's split to stream; val is carved out of it")
    p.add_argument('--text_field', default='text',
                   help="JSONL key / parquet column / HF field holding the text")
    p.add_argument('--separator',
                   help=r"split .txt files into documents on this string (\n and \t understood), "
                        r"e.g. '\n\n\n'; default: one document per file")
    p.add_argument('--languages', help="the default corpus: only these of en, ru, zh, e.g. ru "
                                       "(needs --name; see docs/fusion.md)")
    p.add_argument('--tokenizer', help="a tokenizer.load_tokenizer spec "
                                       "(unicode, gpt2, path.json, ranks.tiktoken) or 'train'")
    p.add_argument('--vocab_size', type=int, default=8192, help="for --tokenizer train")
    p.add_argument('--layout', choices=['compact', 'codepoint'], default='compact',
                   help="for --tokenizer train")
    p.add_argument('--train_mb', type=float, default=100,
                   help="for --tokenizer train: MB of train text it learns from")
    p.add_argument('--val_permille', type=int, default=5,
                   help="documents per 1000 that go to val (by text hash)")
    p.add_argument('--max_tokens', type=int,
                   help="stop after this many tokens (train + val): the budget for streams")
    p.add_argument('--shard_tokens', type=int, default=SHARD_TOKENS, help="tokens per shard")
    p.add_argument('--data_dir', default='data', help="where dataset folders go")
    p.add_argument('--overwrite', action='store_true',
                   help="replace a dataset written with another tokenizer")
    try:
        main(p.parse_args())
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        sys.exit(f"error: {e}")
