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
    # on GPU machines, online (`pip install datasets`; not run in this repository's tests):
    python prepare.py --name fwe --hf HuggingFaceFW/fineweb-edu --hf_config sample-10BT --max_tokens 2_000_000_000
    python prepare.py --name wiki_ru --hf wikimedia/wikipedia --hf_config 20231101.ru --max_tokens 500_000_000

Inputs: a .txt file is one document, or is split on --separator; .jsonl holds one JSON object per line
with the text in --text_field; .parquet (needs pyarrow) the column --text_field; other files are read
as .txt; a folder means every .txt/.jsonl/.parquet file under it. A document is in val when
crc32(its UTF-8) % 1000 < --val_permille: deterministic, and duplicates never straddle the split (the
default corpus keeps corpus.py's own split). --tokenizer takes anything tokenizer.load_tokenizer()
does, or 'train' (BPE on the input's train split, --vocab_size/--layout); left out, data/<name>/
tokenizer.json is reused when present, else trained.

Speed: local files are cut into byte ranges of ~256 KB that one worker per core reads, splits, hashes
and tokenizes (threads up to THREAD_CORES cores, processes above); a stream is read here and its texts
go to the workers. `python bench.py prepare` measures it against the tokenizer alone on one core.
"""
import argparse
import codecs
import datetime
import gc
import glob
import collections
import itertools
import multiprocessing
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

import tokenizer
from tokenizer import load_tokenizer

MAGIC, VERSION = 20250704, 1 # the paper's arXiv month and day; bump VERSION when the layout changes
HEADER_INTS = 256 # magic, version, bytes per token, token count, 16 bytes of the tokenizer's sha256, zeros
DTYPES = {2: np.dtype('<u2'), 4: np.dtype('<u4')} # header code = bytes per token
SHARD_TOKENS = 100_000_000
BATCH_BYTES = 1 << 18 # text per worker task: small enough that the last tasks keep every core busy
THREAD_CORES = 4 # up to this many cores the workers are threads, above it processes (encoded_batches)
INPUT_EXTS = ('.txt', '.jsonl', '.parquet')
SHARD_NAME = re.compile(r'(train|val)_\d{6}\.bin(\.tmp)?')

# -----------------------------------------------------------------------------
# shards

def token_dtype(vocab_size):
    """uint16 when every id fits (ids 0..65535), else uint32: 131,072 ids do not fit"""
    return DTYPES[2] if vocab_size <= 1 << 16 else DTYPES[4]

def write_shard(path, tokens, tokenizer_hash):
    """header + tokens under a temporary name, then renamed: a shard that exists is complete"""
    header = np.zeros(HEADER_INTS, dtype='<i4')
    header[:4] = MAGIC, VERSION, tokens.dtype.itemsize, len(tokens)
    header[4:8] = np.frombuffer(bytes.fromhex(tokenizer_hash)[:16], dtype='<i4')
    with open(path + '.tmp', 'wb') as f:
        f.write(header.tobytes())
        tokens.tofile(f)
    os.replace(path + '.tmp', path)

def read_shard(path, tokenizer_hash=None):
    """a shard's tokens as a read-only memory map, once its header checks out (and, given the model's
    tokenizer_hash, that the same tokenizer wrote it)"""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"shard {path} does not exist: run prepare.py to write it")
    header = np.fromfile(path, dtype='<i4', count=HEADER_INTS)
    fix = "re-run prepare.py to rewrite it"
    if len(header) < HEADER_INTS or header[0] != MAGIC:
        raise ValueError(f"{path} is not a glyphgpt shard (magic {header[0] if len(header) else None}, expected {MAGIC}): {fix}")
    if header[1] != VERSION:
        raise ValueError(f"{path} is shard version {header[1]}, this code reads version {VERSION}: {fix}")
    if header[2] not in DTYPES:
        raise ValueError(f"{path} has token dtype code {header[2]} (bytes per token 2 or 4 expected): {fix}")
    dtype, count = DTYPES[int(header[2])], int(header[3])
    want, size = HEADER_INTS * 4 + count * dtype.itemsize, os.path.getsize(path)
    if size != want:
        raise ValueError(f"{path} is {size} bytes but its header promises {count} tokens ({want} bytes), so it is truncated or damaged: {fix}")
    got = header[4:8].tobytes().hex()
    if tokenizer_hash is not None and got != tokenizer_hash[:32]:
        raise ValueError(f"{path} was written with tokenizer {got}, the model uses tokenizer {tokenizer_hash[:32]}: "
                         f"re-run prepare.py with the model's tokenizer (--tokenizer) into another --name")
    if count == 0: # mmap cannot map zero bytes
        return np.zeros(0, dtype)
    return np.memmap(path, dtype=dtype, mode='r', offset=HEADER_INTS * 4, shape=(count,))

# -----------------------------------------------------------------------------
# reading documents. Local files are cut into byte ranges that the worker processes read, decode,
# split and tokenize in parallel (one process reading for all would cap a many-core machine); a
# stream (Hugging Face) is read here, and its texts go to the workers.

SKIPPED = ('bad_json', 'missing_field', 'replaced_bytes', 'empty')
def new_stats():
    """what the readers count: bad input (reported, and kept in meta.json) and input bytes read (for the ETA)"""
    return dict(bad_json=0, missing_field=0, replaced_bytes=0, empty=0, read=0, total=None)

_replaced = [0] # bytes the decoder below replaced so far
def _count_replaced(err):
    _replaced[0] += err.end - err.start
    return '\ufffd', err.end
codecs.register_error('glyphgpt_count', _count_replaced)

def decode(raw, stats):
    """bytes -> str; what is not UTF-8 becomes U+FFFD, and the bytes lost are counted"""
    before = _replaced[0]
    text = raw.decode('utf-8', 'glyphgpt_count')
    stats['replaced_bytes'] += _replaced[0] - before
    return text

def records_to_docs(records, text_field, stats):
    """dicts (JSONL lines, parquet rows, a streaming Hugging Face dataset) -> their texts; a record
    without a string under text_field is skipped and counted"""
    for r in records:
        text = r.get(text_field) if isinstance(r, dict) else None
        if isinstance(text, str):
            yield text
        else:
            stats['missing_field'] += 1

def read_bytes(path, stats, start=0, end=None):
    with open(path, 'rb') as f:
        f.seek(start)
        raw = f.read(-1 if end is None else end - start)
    stats['read'] += len(raw)
    return raw

def read_jsonl(path, text_field, stats, start=0, end=None):
    def records():
        for line in read_bytes(path, stats, start, end).split(b'\n'):
            if line.strip():
                try:
                    yield json.loads(decode(line, stats))
                except json.JSONDecodeError:
                    stats['bad_json'] += 1
    yield from records_to_docs(records(), text_field, stats)

def read_parquet(path, text_field, stats):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError(f"reading {path} needs pyarrow: `pip install pyarrow`, or convert it to .jsonl") from None
    pf = pq.ParquetFile(path)
    if text_field not in pf.schema_arrow.names:
        raise ValueError(f"{path} has no column {text_field!r} (it has {', '.join(pf.schema_arrow.names)}): pass --text_field")
    for batch in pf.iter_batches(columns=[text_field]):
        yield from records_to_docs(batch.to_pylist(), text_field, stats)
    stats['read'] += os.path.getsize(path)

def read_txt(path, separator, stats, start=0, end=None):
    return txt_docs(read_bytes(path, stats, start, end), separator, stats)

def txt_docs(raw, separator, stats):
    text = decode(raw, stats)
    return text.split(separator) if separator else [text]

def read_file(path, text_field, separator, stats, start=0, end=None):
    """the texts of one file, or of the byte range [start, end) of it that file_ranges() chose"""
    if path.endswith('.jsonl'):
        return read_jsonl(path, text_field, stats, start, end)
    if path.endswith('.parquet'):
        return read_parquet(path, text_field, stats)
    return read_txt(path, separator, stats, start, end)

def read_files(files, text_field, separator, stats):
    stats['total'] = sum(os.path.getsize(f) for f in files)
    for path in files:
        yield from read_file(path, text_field, separator, stats)

def input_files(inputs):
    """FILE|DIR|GLOB... -> the files, in a fixed order; an input that names nothing is an error"""
    files = []
    for inp in inputs:
        if os.path.isdir(inp):
            found = sorted(os.path.join(d, f) for d, _, fs in os.walk(inp) for f in fs if f.endswith(INPUT_EXTS))
            what = f"folder {inp} holds no {'/'.join(INPUT_EXTS)} files"
        elif any(c in inp for c in '*?['):
            found, what = sorted(p for p in glob.glob(inp, recursive=True) if os.path.isfile(p)), f"{inp} matches no files"
        else:
            found, what = [inp] if os.path.isfile(inp) else [], f"input {inp} does not exist"
        if not found:
            raise FileNotFoundError(f"{what}: check --input")
        files += found
    return files

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

def file_ranges(path, separator, size=None):
    """a file -> (path, start, end) byte ranges of about `size` bytes holding its documents in order:
    .jsonl files are cut at line ends and .txt files at the separator (which the ranges leave out);
    a file that is one document, and a .parquet file, is one range"""
    total, start, ranges, size = os.path.getsize(path), 0, [], size or BATCH_BYTES
    sep = b'\n' if path.endswith('.jsonl') else b'' if path.endswith('.parquet') else (separator or '').encode()
    with open(path, 'rb') as f:
        while sep and total - start > size:
            cut = find_cut(f, start + size, sep, total)
            if cut is None:
                break
            ranges.append((path, start, cut))
            start = cut + len(sep)
    return ranges + [(path, start, total)]

# local files, for the workers: val when crc32 % modulus < val_permille (the default corpus: % 100)
Files = collections.namedtuple('Files', 'paths separator text_field val_permille modulus', defaults=(1000,))

def file_tasks(files, size=None):
    """Files -> lists of byte ranges of about `size` bytes in all, in order: one worker task each"""
    task, n, size = [], 0, size or BATCH_BYTES
    for path in files.paths:
        for r in file_ranges(path, files.separator, size):
            task.append(r)
            n += r[2] - r[1]
            if n >= size:
                yield task
                task, n = [], 0
    if task:
        yield task

def hf_records(name, config=None, split='train'):
    """a Hugging Face dataset, streamed: records arrive as they download, --max_tokens decides when to stop"""
    try:
        from datasets import load_dataset
    except ImportError:
        raise RuntimeError("--hf needs the datasets package: `pip install datasets`, or prepare local files with --input") from None
    try:
        yield from load_dataset(name, config, split=split, streaming=True)
    except OSError as e: # ConnectionError, hub and requests errors, unknown datasets
        raise RuntimeError(f"could not stream {name} from the Hugging Face hub ({type(e).__name__}: {str(e)[:200]}): "
                           f"check the name and --hf_config, and if this machine is offline prepare local files with --input") from None

def in_val(utf8, val_permille, modulus=1000):
    """the split: val when crc32 of a document's UTF-8 % modulus < val_permille, so identical texts
    always land on the same side"""
    return zlib.crc32(utf8) % modulus < val_permille

def split_docs(texts, val_permille, stats, modulus=1000):
    """texts -> (split, text) pairs (see in_val). Empty documents are skipped and counted."""
    for text in texts:
        if not text or text.isspace():
            stats['empty'] += 1
            continue
        yield 'val' if in_val(text.encode('utf-8', 'surrogatepass'), val_permille, modulus) else 'train', text

def split_list(texts, val_permille, stats, modulus=1000):
    """split_docs for a worker's list of texts, as lists: is_val, the texts, their UTF-8 bytes"""
    kept = [t for t in texts if t and not t.isspace()]
    stats['empty'] += len(texts) - len(kept)
    utf8 = [t.encode('utf-8', 'surrogatepass') for t in kept]
    return [in_val(b, val_permille, modulus) for b in utf8], kept, [len(b) for b in utf8]

def file_pairs(files, stats):
    """(split, text) pairs of Files, read in this process (to train a tokenizer on)"""
    return split_docs(read_files(files.paths, files.text_field, files.separator, stats), files.val_permille, stats, files.modulus)

def default_files():
    """the embedded default corpus as Files: corpus.py's cache, with corpus.py's split"""
    import corpus
    return Files([corpus.cached(lang) for lang in corpus.SOURCES], corpus.SEP, None, corpus.VAL_PERCENT, 100)

def skipped_note(stats, text_field='text'):
    """one line on the bad input that was skipped or repaired, '' when there was none"""
    notes = [f"{n} {what}" for n, what in [(stats['bad_json'], "lines that are not JSON (skipped)"),
             (stats['missing_field'], f"records without a string {text_field!r} (skipped; see --text_field)"),
             (stats['empty'], "empty documents (skipped)"), (stats['replaced_bytes'], "bytes that are not UTF-8 (now U+FFFD)")] if n]
    return ', '.join(notes)

def no_text_error(stats, text_field='text'):
    note = skipped_note(stats, text_field)
    return ValueError(f"the input holds no text{' (' + note + ')' if note else ''}: pass files with documents in them")

# -----------------------------------------------------------------------------
# tokenizing

def progress_line(t0, docs, nbytes, tokens, stats, max_tokens):
    dt = max(time.time() - t0, 1e-6)
    if stats.get('total') and stats['read']: # local files: how much of them was read
        eta = f"ETA {max(stats['total'] - stats['read'], 0) * dt / stats['read']:.0f}s"
    elif max_tokens and tokens:
        eta = f"{tokens / max_tokens:.0%} of --max_tokens, ETA {max(max_tokens - tokens, 0) * dt / tokens:.0f}s"
    else:
        eta = "ETA ?" # a stream without a budget: no end in sight
    return f"docs {docs} | {nbytes / 1e6:.1f} MB | {nbytes / 1e6 / dt:.1f} MB/s | {eta} | {tokens / 1e6:.1f}M tokens"

EOT_BYTES = tokenizer.EOT.encode()
# the first UTF-8 byte of every character str.isspace() accepts (the last is U+3000)
WHITESPACE_LEADS = frozenset(chr(c).encode()[0] for c in range(0x3001) if chr(c).isspace())

def plain_txt(raw, files, stats):
    """the fast path for a .txt range that is valid UTF-8 and holds no <|endoftext|>: its documents
    as (is_val, UTF-8 bytes, one str with <|endoftext|> after each), what split_list() and
    encode_flat() would make of them, with no str per document: bytes are split and hashed as they
    are, and the text is decoded once. None otherwise."""
    if EOT_BYTES in raw:
        return None
    docs = raw.split(files.separator.encode()) if files.separator else [raw]
    kept = [d for d in docs if d and not (d[0] in WHITESPACE_LEADS and d.decode('utf-8', 'replace').isspace())]
    try:
        text = (EOT_BYTES.join(kept) + EOT_BYTES).decode('utf-8') if kept else ''
    except UnicodeDecodeError:
        return None
    stats['empty'] += len(docs) - len(kept)
    return [in_val(d, files.val_permille, files.modulus) for d in kept], [len(d) for d in kept], text

_tok = None # the tokenizer of a worker process, inherited from the parent by fork

def _encode(task, files=None, tok=None):
    """one task -> (is_val, UTF-8 bytes, tokens) of its documents in order, and what reading counted.
    task: (split, text) pairs, or byte ranges of Files that this worker reads itself."""
    tok, stats = tok or _tok, new_stats()
    if files is None:
        is_val, texts = [split == 'val' for split, _ in task], [text for _, text in task]
        nbytes = [len(text.encode('utf-8', 'surrogatepass')) for text in texts]
        tokens = tok.encode_flat(texts)
    else:
        is_val, nbytes, parts = [], [], []
        for path, start, end in task:
            if path.endswith(('.jsonl', '.parquet')):
                texts, fast = list(read_file(path, files.text_field, files.separator, stats, start, end)), None
            else:
                raw = read_bytes(path, stats, start, end)
                fast = plain_txt(raw, files, stats)
                texts = None if fast else txt_docs(raw, files.separator, stats)
            if fast:
                v, n, text = fast
                parts.append(tok.encode_joined(text))
            else:
                v, texts, n = split_list(texts, files.val_permille, stats, files.modulus)
                parts.append(tok.encode_flat(texts))
            is_val += v
            nbytes += n
        tokens = np.concatenate(parts)
    return np.array(is_val, bool), np.array(nbytes, np.int64), tokens.astype(token_dtype(tok.vocab_size)), stats

def pair_tasks(pairs, size=None):
    """(split, text) pairs -> lists of them of about `size` characters: one worker task each"""
    task, n, size = [], 0, size or BATCH_BYTES
    for pair in pairs:
        task.append(pair)
        n += len(pair[1])
        if n >= size:
            yield task
            task, n = [], 0
    if task:
        yield task

def encoded_batches(source, tok, stats):
    """Files or (split, text) pairs -> (is_val, UTF-8 bytes, tokens) per task, in order, while this
    thread writes shards. One worker per core. tiktoken lets go of the GIL while it encodes, so on a
    few cores threads do best: no process to start, nothing copied between processes. The rest of a
    document's cost (reading, splitting, hashing: ~10%) holds the GIL and would cap threads near ten
    cores' worth, so more cores than THREAD_CORES get a process each (forked: they inherit tok)."""
    global _tok
    files = source if isinstance(source, Files) else None
    if files:
        stats['total'] = sum(os.path.getsize(p) for p in files.paths)
    tasks = file_tasks(files) if files else pair_tasks(source)
    cores = os.cpu_count() or 1
    _tok, tokenizer.THREADS = tok, 1 # each worker on one core (THREADS is read at call time)
    if cores <= THREAD_CORES or 'fork' not in multiprocessing.get_all_start_methods():
        pool, fork = ThreadPoolExecutor(cores), False
    else:
        gc.freeze() # the workers' garbage collector leaves what they inherit alone: no copy-on-write of it
        pool, fork = ProcessPoolExecutor(cores, mp_context=multiprocessing.get_context('fork')), True
    try:
        window = collections.deque()
        for task in itertools.chain(tasks, [None]):
            if task is not None:
                window.append(pool.submit(_encode, task, files, None if fork else tok))
            while window and (len(window) > 2 * cores or task is None): # bounded read-ahead
                is_val, nbytes, tokens, counted = window.popleft().result()
                for k in SKIPPED + ('read',):
                    stats[k] += counted[k]
                yield is_val, nbytes, tokens
    finally:
        pool.shutdown(cancel_futures=True)
        if fork:
            gc.unfreeze()
        _tok, tokenizer.THREADS = None, cores

def tokenize(source, out_dir, tok, shard_tokens=SHARD_TOKENS, max_tokens=None, stats=None, verbose=True):
    """Files or (split, text) pairs -> out_dir/{train,val}_NNNNNN.bin. Each document becomes its
    tokens then eot, so the first document of a shard has no eot before it; a document may go on in
    the next shard. Returns the names of the shards and counts per split."""
    dtype, stats = token_dtype(tok.vocab_size), stats or new_stats()
    assert 0 < shard_tokens < 2**31, "the header stores the token count as int32"
    counts = {k: dict(train=0, val=0) for k in ('tokens', 'documents', 'bytes')}
    shards, fill = dict(train=[], val=[]), dict(train=0, val=0)
    bufs = {s: np.empty(shard_tokens, dtype) for s in shards} # pages never written cost no memory

    def add(split, arr, ndocs, nbytes):
        counts['documents'][split] += ndocs
        counts['tokens'][split] += len(arr)
        counts['bytes'][split] += nbytes
        while len(arr):
            n = min(len(arr), shard_tokens - fill[split])
            bufs[split][fill[split]:fill[split] + n] = arr[:n]
            fill[split] += n
            arr = arr[n:]
            if fill[split] == shard_tokens:
                flush(split)

    def flush(split):
        name = f"{split}_{len(shards[split]):06d}.bin"
        write_shard(os.path.join(out_dir, name), bufs[split][:fill[split]], tok.hash)
        shards[split].append(name)
        fill[split] = 0

    # the latest train document is held back: if no document hashed into val (a tiny input), it goes
    # there at the end, because train.py needs a val split
    held, total, docs, nbytes_all = None, 0, 0, 0
    t0 = shown = time.time()
    for is_val, nbytes, arr in encoded_batches(source, tok, stats):
        lengths = np.diff(np.flatnonzero(arr == tok.eot), prepend=-1) # per document, its eot included
        if max_tokens and total + len(arr) >= max_tokens: # stop after the document that reaches the budget
            keep = int(np.searchsorted(np.cumsum(lengths), max_tokens - total)) + 1
            is_val, nbytes, lengths, arr = is_val[:keep], nbytes[:keep], lengths[:keep], arr[:lengths[:keep].sum()]
        mask = np.repeat(is_val, lengths)
        val, train = arr[mask], arr[~mask]
        add('val', val, int(is_val.sum()), int(nbytes[is_val].sum()))
        if (~is_val).any():
            if held is not None:
                add('train', *held)
            last = int(lengths[~is_val][-1])
            add('train', train[:-last], int((~is_val).sum()) - 1, int(nbytes[~is_val][:-1].sum()))
            held = train[-last:], 1, int(nbytes[~is_val][-1])
        total, docs, nbytes_all = total + len(arr), docs + len(lengths), nbytes_all + int(nbytes.sum())
        if verbose and time.time() - shown > 1:
            print(progress_line(t0, docs, nbytes_all, total, stats, max_tokens), flush=True)
            shown = time.time()
        if max_tokens and total >= max_tokens:
            break
    if held is not None:
        if not counts['documents']['val'] and verbose:
            print("note: no document hashed into val (a small input): the last train document goes there")
        add('val' if not counts['documents']['val'] else 'train', *held)
    if verbose:
        print(f"done: {progress_line(t0, docs, nbytes_all, total, stats, max_tokens)}")
    for split in ('train', 'val'):
        if fill[split]:
            flush(split)
    return dict(shards=shards, **counts)

# -----------------------------------------------------------------------------
# a dataset folder

def load_meta(data_dir):
    path = os.path.join(data_dir, 'meta.json')
    if not os.path.exists(path):
        raise FileNotFoundError(f"{data_dir} holds no prepared dataset (no meta.json): run `python prepare.py` (see its --help)")
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
    return np.fromfile(os.path.join(out_dir, shards[0]), '<i4', 8)[4:8].tobytes().hex() if shards else None

def git_commit():
    try:
        r = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=os.path.dirname(os.path.abspath(__file__)),
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None

def prepare(source, out_dir, tok, tokenizer_arg=None, overwrite=False, shard_tokens=SHARD_TOKENS,
            max_tokens=None, stats=None, provenance=None, text_field='text', verbose=True):
    """Files or (split, text) pairs -> a complete dataset folder; returns its meta dict"""
    stats = stats or new_stats()
    os.makedirs(out_dir, exist_ok=True)
    old = old_hash(out_dir)
    if old and old != tok.hash[:32] and not overwrite:
        raise ValueError(f"{out_dir} holds shards of another tokenizer ({old}, this one is {tok.hash[:32]}): "
                         f"pass --overwrite to replace them, or choose another --name")
    for f in os.listdir(out_dir): # what an earlier run left: meta.json first, so the folder reads as unfinished
        if f in ('meta.json', 'tokenizer.json', 'token_bytes.npy') or SHARD_NAME.fullmatch(f):
            os.remove(os.path.join(out_dir, f))
    if isinstance(tok.spec, dict):
        tokenizer.save_spec(tok.spec, os.path.join(out_dir, 'tokenizer.json'))
        spec = 'tokenizer.json'
    elif tokenizer_arg and tokenizer_arg.endswith('.tiktoken'): # the dataset carries its own rank file
        spec = os.path.basename(tokenizer_arg)
        if os.path.abspath(tokenizer_arg) != os.path.abspath(os.path.join(out_dir, spec)):
            shutil.copyfile(tokenizer_arg, os.path.join(out_dir, spec))
    else:
        spec = tok.spec
    with open(os.path.join(out_dir, 'token_bytes.npy.tmp'), 'wb') as f:
        np.save(f, tok.token_bytes)
    os.replace(os.path.join(out_dir, 'token_bytes.npy.tmp'), os.path.join(out_dir, 'token_bytes.npy'))

    counts = tokenize(source, out_dir, tok, shard_tokens, max_tokens, stats, verbose)
    if not counts['documents']['train']:
        if not counts['documents']['val']:
            raise no_text_error(stats, text_field)
        raise ValueError(f"the input holds only {counts['documents']['val']} document(s), all in val, none for train: "
                         f"give at least two documents (or lower --val_permille)")
    meta = dict(tokenizer=spec, tokenizer_name=tok.name, tokenizer_hash=tok.hash, vocab_size=tok.vocab_size,
                eot=tok.eot, dtype=token_dtype(tok.vocab_size).name, shard_tokens=shard_tokens, **counts,
                token_bytes='token_bytes.npy', skipped={k: stats[k] for k in SKIPPED},
                provenance=dict(provenance or {}, command=shlex.join(sys.argv), git_commit=git_commit(),
                                date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')))
    with open(os.path.join(out_dir, 'meta.json.tmp'), 'w', encoding='utf-8') as f:
        json.dump(meta, f, ensure_ascii=False, indent=1)
    os.replace(os.path.join(out_dir, 'meta.json.tmp'), os.path.join(out_dir, 'meta.json'))
    if verbose:
        t, v = (f"{counts['tokens'][s] / 1e6:.2f}M tokens in {len(counts['shards'][s])} shard(s) "
                f"({counts['documents'][s]} documents, {counts['bytes'][s] / 1e6:.2f} MB)" for s in ('train', 'val'))
        print(f"wrote {out_dir}: train {t}, val {v}")
        if skipped_note(stats, text_field):
            print(f"bad input: {skipped_note(stats, text_field)}")
    return meta

# -----------------------------------------------------------------------------
def documents(a, stats):
    """what the command line names: Files, which the workers read, or (split, text) pairs of a stream"""
    if a.input:
        sep = a.separator.replace('\\n', '\n').replace('\\t', '\t') if a.separator else None
        return Files(input_files(a.input), sep, a.text_field, a.val_permille)
    if a.hf:
        return split_docs(records_to_docs(hf_records(a.hf, a.hf_config, a.hf_split), a.text_field, stats), a.val_permille, stats)
    return default_files()

def main(a):
    if a.input and a.hf:
        raise ValueError("pass either --input or --hf, not both")
    if (a.input or a.hf) and not a.name:
        raise ValueError("pass --name NAME: the dataset is written to data/NAME/")
    name = a.name or 'default'
    if a.input:
        input_files(a.input) # a missing input fails now, not after training a tokenizer
    out_dir = os.path.join(a.data_dir, name)
    spec = a.tokenizer or ('train' if not os.path.exists(os.path.join(out_dir, 'tokenizer.json')) else
                           os.path.join(out_dir, 'tokenizer.json'))
    if spec == 'train':
        print(f"training a {a.layout} tokenizer with {a.vocab_size} ids on up to {a.train_mb} MB of the train split")
        texts, size, stats = [], 0, new_stats()
        docs = documents(a, stats)
        for split, text in file_pairs(docs, stats) if isinstance(docs, Files) else docs:
            if size >= a.train_mb * 1e6:
                break
            if split == 'train':
                texts.append(text)
                size += len(text.encode('utf-8', 'surrogatepass'))
        if not texts:
            raise no_text_error(stats, a.text_field)
        spec = dict(tokenizer.train(texts, a.vocab_size, a.layout), name=f"{name}-{a.layout}-{a.vocab_size}", trained_on=name)
    tok = load_tokenizer(spec)
    print(f"tokenizer {tok.name}: {tok.vocab_size} ids, hash {tok.hash[:16]}, {token_dtype(tok.vocab_size).name} shards")
    source = dict(inputs=a.input or ([f"hf:{a.hf}:{a.hf_config}:{a.hf_split}"] if a.hf else ['corpus.py']),
                  val=f"crc32 % 1000 < {a.val_permille}" if a.input or a.hf else "corpus.py's split")
    stats = new_stats()
    prepare(documents(a, stats), out_dir, tok, a.tokenizer, a.overwrite, a.shard_tokens, a.max_tokens,
            stats, source, a.text_field)

if __name__ == '__main__':
    p = argparse.ArgumentParser(description="text to token shards in data/<name>/ (see the docstring)")
    p.add_argument('--name', help="dataset name: output in <data_dir>/<name>/ (default: 'default', the embedded corpus)")
    p.add_argument('--input', nargs='+', help="files, folders or globs: .txt, .jsonl, .parquet")
    p.add_argument('--hf', help="a Hugging Face dataset, streamed (needs `pip install datasets` and a network)")
    p.add_argument('--hf_config', help="e.g. sample-10BT (FineWeb-Edu), 20231101.en (wikimedia/wikipedia)")
    p.add_argument('--hf_split', default='train', help="the dataset's split to stream; val is carved out of it")
    p.add_argument('--text_field', default='text', help="JSONL key / parquet column / HF field holding the text")
    p.add_argument('--separator', help=r"split .txt files into documents on this string (\n and \t understood), e.g. '\n\n\n'; default: one document per file")
    p.add_argument('--tokenizer', help="a tokenizer.load_tokenizer spec (unicode, gpt2, path.json, ranks.tiktoken) or 'train'")
    p.add_argument('--vocab_size', type=int, default=8192, help="for --tokenizer train")
    p.add_argument('--layout', choices=['compact', 'codepoint'], default='compact', help="for --tokenizer train")
    p.add_argument('--train_mb', type=float, default=100, help="for --tokenizer train: MB of train text it learns from")
    p.add_argument('--val_permille', type=int, default=5, help="documents per 1000 that go to val (by text hash)")
    p.add_argument('--max_tokens', type=int, help="stop after this many tokens (train + val): the budget for streams")
    p.add_argument('--shard_tokens', type=int, default=SHARD_TOKENS, help="tokens per shard")
    p.add_argument('--data_dir', default='data', help="where dataset folders go")
    p.add_argument('--overwrite', action='store_true', help="replace a dataset written with another tokenizer")
    try:
        main(p.parse_args())
    except (ValueError, FileNotFoundError, RuntimeError) as e:
        sys.exit(f"error: {e}")
