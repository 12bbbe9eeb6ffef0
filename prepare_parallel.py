"""
prepare.py's fast path, which it runs unless told parallel=False: the same shards as the plain path,
byte for byte (tests/test_prepare.py holds them equal), from one worker per core.

Local files are cut into byte ranges of about BATCH_BYTES, and each worker reads, decodes,
splits, hashes and tokenizes its own ranges: one process reading for all would cap a many-core
machine. A stream (Hugging Face) can only be read in order, so the calling process reads and splits
it and hands batches of texts to the workers. `python -m experiments.bench prepare` measures this path
against the tokenizer alone on one core.
"""
import collections
import gc
import itertools
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from corpus import SKIPPED, Files, encode_pairs, new_stats, read_bytes, read_file, split_docs, txt_docs
from util import in_val
from vocab import EOT

# Up to this many cores the workers are threads, above it processes. tiktoken lets go of the GIL
# while it encodes, so on a few cores threads do best: no process to start, nothing copied between
# processes. The rest of a document's cost (reading, splitting, hashing) holds the GIL, and on many
# cores it would keep threads from using them all, so there each worker is a forked process.
THREAD_CORES = 4
BATCH_BYTES = 1 << 18 # text per worker task: small enough that the last tasks keep every core busy

# -----------------------------------------------------------------------------
# byte ranges: where a file can be cut so that each piece holds whole documents

def find_cut(f, pos, sep, size):
    """the first offset >= pos where the file holds sep and text.split(sep) cuts there too, else None.
    That is an occurrence that no other overlaps from the left: in a run like '\\n\\n\\n', split on
    '\\n\\n', only the run's first occurrence is a cut for sure."""
    n = len(sep)
    while True:
        base = max(pos - (n - 1), 0)
        f.seek(base)
        buf = f.read(1 << 16)
        i = buf.find(sep, pos - base)
        while i >= 0 and buf.find(sep, max(i - n + 1, 0), i + n) != i:
            i = buf.find(sep, i + 1)
        if i >= 0:
            return base + i
        if base + len(buf) >= size:
            return None
        pos = base + len(buf) - (n - 1) # the next window overlaps this one by n - 1 bytes

def file_ranges(path, separator, size):
    """a file -> (path, start, end) byte ranges of about `size` bytes holding its documents in order:
    .jsonl files are cut at line ends and .txt files at the separator (which the ranges leave out);
    a file that is one document, and a .parquet file, is one range"""
    total, start, ranges = os.path.getsize(path), 0, []
    sep = b'\n' if path.endswith('.jsonl') else b'' if path.endswith('.parquet') else (separator or '').encode()
    with open(path, 'rb') as f:
        while sep and total - start > size:
            cut = find_cut(f, start + size, sep, total)
            if cut is None:
                break
            ranges.append((path, start, cut))
            start = cut + len(sep)
    return ranges + [(path, start, total)]

def batched(items, size, weight):
    """items -> lists of consecutive items that weigh about `size` in all (the last list less): one
    worker task each"""
    batch, n = [], 0
    for item in items:
        batch.append(item)
        n += weight(item)
        if n >= size:
            yield batch
            batch, n = [], 0
    if batch:
        yield batch

def file_tasks(files, size=None):
    """corpus.Files -> lists of byte ranges of about `size` bytes in all, in order"""
    size = size or BATCH_BYTES
    ranges = (r for path in files.paths for r in file_ranges(path, files.separator, size))
    return batched(ranges, size, lambda r: r[2] - r[1])

# -----------------------------------------------------------------------------
# plain text without a str per document

EOT_BYTES = EOT.encode()
# the first UTF-8 byte of every character str.isspace() accepts (the last is U+3000)
WHITESPACE_LEADS = frozenset(chr(c).encode()[0] for c in range(0x3001) if chr(c).isspace())

def plain_txt(raw, files, stats):
    """a .txt range that is valid UTF-8 and holds no <|endoftext|> -> (is_val, UTF-8 bytes, one str
    with <|endoftext|> after each document): what corpus.split_docs() and encode_pairs() make of it,
    with less work per document, all of which holds the GIL: the bytes are split and hashed as they
    are, and the text is decoded once instead of a str per document encoded back to UTF-8 to hash
    it. None for any other range, which the general path reads."""
    if EOT_BYTES in raw:
        return None
    docs = raw.split(files.separator.encode()) if files.separator else [raw]
    # a document is empty when it is all whitespace, which only a whitespace lead byte can start
    kept = [d for d in docs if d and not (d[0] in WHITESPACE_LEADS and d.decode('utf-8', 'replace').isspace())]
    try:
        text = (EOT_BYTES.join(kept) + EOT_BYTES).decode('utf-8') if kept else ''
    except UnicodeDecodeError:
        return None
    stats['empty'] += len(docs) - len(kept)
    return [in_val(d, files.val_permille) for d in kept], [len(d) for d in kept], text

# -----------------------------------------------------------------------------
# the workers

_tok = None # the tokenizer, for forked worker processes, which inherit it instead of unpickling it

def _encode_range(path, start, end, files, tok, stats):
    """one byte range of a file -> corpus.encode_pairs() of its documents"""
    if path.endswith(('.jsonl', '.parquet')):
        texts = read_file(path, files.text_field, files.separator, stats, start, end)
        fast = None
    else:
        raw = read_bytes(path, stats, start, end)
        fast = plain_txt(raw, files, stats)
        texts = None if fast else txt_docs(raw, files.separator, stats)
    if fast:
        is_val, nbytes, text = fast
        return np.array(is_val, bool), np.array(nbytes, np.int64), tok.encode_joined(text)
    return encode_pairs(list(split_docs(texts, files.val_permille, stats)), tok, threads=1)

def _encode(task, files, tok, dtype):
    """one task -> corpus.encode_pairs() of its documents, and what reading them counted.
    task: (split, text) pairs, or byte ranges of Files that this worker reads itself. tok: None in a
    forked worker, which has the parent's _tok"""
    tok = tok or _tok
    stats = new_stats()
    if files is None:
        parts = [encode_pairs(task, tok, threads=1)]
    else:
        parts = [_encode_range(path, start, end, files, tok, stats) for path, start, end in task]
    is_val, nbytes, tokens = (np.concatenate(p) for p in zip(*parts))
    return is_val, nbytes, tokens.astype(dtype), stats # the shards' dtype: uint16 sends half the bytes back

def encoded_batches(source, tok, stats, dtype):
    """corpus.Files or (split, text) pairs -> (is_val, UTF-8 bytes, tokens as dtype) per task, in
    order, as prepare.plain_batches() yields them, while the calling thread writes shards. One worker
    per core, each tokenizing on one thread."""
    global _tok
    files = source if isinstance(source, Files) else None
    if files:
        stats['total'] = sum(os.path.getsize(p) for p in files.paths)
    tasks = file_tasks(files) if files else batched(source, BATCH_BYTES, lambda pair: len(pair[1]))
    cores = os.cpu_count() or 1
    if cores <= THREAD_CORES or 'fork' not in multiprocessing.get_all_start_methods():
        pool, fork = ThreadPoolExecutor(cores), False
    else:
        _tok = tok
        gc.freeze() # the workers' garbage collector leaves what they inherit alone: no copy-on-write of it
        pool, fork = ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context('fork')), True
    try:
        window = collections.deque()
        for task in itertools.chain(tasks, [None]):
            if task is not None:
                window.append(pool.submit(_encode, task, files, None if fork else tok, dtype))
            while window and (len(window) > 2 * cores or task is None): # bounded read-ahead
                is_val, nbytes, tokens, counted = window.popleft().result()
                for k in SKIPPED + ('read',):
                    stats[k] += counted[k]
                yield is_val, nbytes, tokens
    finally:
        pool.shutdown(cancel_futures=True)
        if fork:
            gc.unfreeze()
            _tok = None
