"""
Where documents come from: the readers of prepare.py's inputs (local .txt, .jsonl and .parquet files,
a Hugging Face stream), the split rule applied to what they read, and the embedded default corpus.

The readers (read_file, hf_records) skip or repair bad input and count it (new_stats), so that
prepare.py can report it and keep it in meta.json. A split is by document (util.in_val, the one split
rule). prepare.py reads Files in this process; prepare_parallel.py's workers read byte ranges of the
same Files with the same readers.

The embedded default corpus: ~10 MB of English, Russian and Chinese text that Debian packages put on
the machine at setup time (nothing is vendored in this repository):

  English  bible-kjv-text + bible-kjv  King James Bible (public domain), one document per chapter
  Russian  fortunes-ru                 ~13k quotations and jokes (package GPL-2), one per fortune
  Chinese  fortunes-zh                 Tang and Song poems (public domain works) and the `chinese`
                                       fortunes file (package GPL-3), one per fortune

    python corpus.py            # documents, bytes and whitespace share per language and split

The fortune files are laid out for an 80-column terminal: centred titles, indented poems, attributions
after two tabs, tables framed with box-drawing characters (a third of the Chinese text). A model
trained on that learns layout, and continues a Chinese prompt with a line of spaces. So each
document's layout is normalised (normalize_layout) before the split rule, val and train alike; its
text is kept, line by line.

The split is by document and deterministic (util.in_val): duplicated fortunes always land on the same
side. The first read extracts each language into data/corpus/<lang>.txt (documents joined by SEP), and
reads that file from then on, until the Debian files or the layout rule change (both are in the stamp
beside it); prepare.py's workers read parts of that file in parallel.
"""
import collections
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np

from util import atomic_write, in_val

INPUT_EXTS = ('.txt', '.jsonl', '.parquet')

# -----------------------------------------------------------------------------
# reading documents: local files (read_file) or a stream (hf_records); bad input is skipped or
# repaired, and counted

SKIPPED = ('bad_json', 'missing_field', 'replaced_bytes', 'empty')

def new_stats():
    """what the readers count: bad input (reported, and kept in meta.json) and input bytes read (for
    the ETA)"""
    return dict(bad_json=0, missing_field=0, replaced_bytes=0, empty=0, read=0, total=None)

# 'surrogateescape' decodes each byte that is not UTF-8 to one of these
NOT_UTF8 = re.compile('[\udc80-\udcff]')

def decode(raw, stats):
    """bytes -> str; what is not UTF-8 becomes U+FFFD, and the bytes lost are counted"""
    try:
        return raw.decode('utf-8')
    except UnicodeDecodeError:
        stats['replaced_bytes'] += len(NOT_UTF8.findall(raw.decode('utf-8', 'surrogateescape')))
        return raw.decode('utf-8', 'replace')

def records_to_docs(records, text_field, stats):
    """dicts (JSONL lines, parquet rows, a Hugging Face stream) -> their texts; one without a string
    text_field is counted"""
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
    for line in read_bytes(path, stats, start, end).split(b'\n'):
        if line.strip():
            try:
                yield from records_to_docs([json.loads(decode(line, stats))], text_field, stats)
            except json.JSONDecodeError:
                stats['bad_json'] += 1

def read_parquet(path, text_field, stats):
    try: # an optional dependency, for .parquet inputs only
        import pyarrow.parquet as pq
    except ImportError:
        raise RuntimeError(f"reading {path} needs pyarrow: `pip install pyarrow`, "
                           f"or convert it to .jsonl") from None
    pf = pq.ParquetFile(path)
    columns = pf.schema_arrow.names
    if text_field not in columns:
        raise ValueError(f"{path} has no column {text_field!r} (it has {', '.join(columns)}): "
                         f"pass --text_field")
    for batch in pf.iter_batches(columns=[text_field]):
        yield from records_to_docs(batch.to_pylist(), text_field, stats)
    stats['read'] += os.path.getsize(path)

def txt_docs(raw, separator, stats):
    """a .txt file's bytes -> its documents"""
    text = decode(raw, stats)
    return text.split(separator) if separator else [text]

def read_file(path, text_field, separator, stats, start=0, end=None):
    """the texts of one file, or of the byte range [start, end) of it (prepare_parallel reads ranges)"""
    if path.endswith('.jsonl'):
        return read_jsonl(path, text_field, stats, start, end)
    if path.endswith('.parquet'):
        return read_parquet(path, text_field, stats)
    return txt_docs(read_bytes(path, stats, start, end), separator, stats)

def input_files(inputs):
    """FILE|DIR|GLOB... -> the files, in a fixed order; an input that names nothing is an error"""
    files = []
    for inp in inputs:
        if os.path.isdir(inp):
            found = sorted(os.path.join(d, f) for d, _, fs in os.walk(inp)
                           for f in fs if f.endswith(INPUT_EXTS))
            what = f"folder {inp} holds no {'/'.join(INPUT_EXTS)} files"
        elif any(c in inp for c in '*?['):
            found = sorted(p for p in glob.glob(inp, recursive=True) if os.path.isfile(p))
            what = f"{inp} matches no files"
        else:
            found = [inp] if os.path.isfile(inp) else []
            what = f"input {inp} does not exist"
        if not found:
            raise FileNotFoundError(f"{what}: check --input")
        files += found
    return files

def hf_records(name, config=None, split='train'):
    """a Hugging Face dataset, streamed: records arrive as they download, --max_tokens decides when to stop"""
    try: # an optional dependency, for --hf only
        from datasets import load_dataset
        from huggingface_hub.utils import logging as hub_logging
    except ImportError:
        raise RuntimeError("--hf needs the datasets package: `pip install datasets`, "
                           "or prepare local files with --input") from None
    # the hub's warnings (one per retry of an unreachable host) are not the one sentence a failure prints
    hub_logging.set_verbosity_error()
    try:
        yield from load_dataset(name, config, split=split, streaming=True)
    except OSError as e: # ConnectionError, hub and requests errors, unknown datasets
        raise RuntimeError(f"could not stream {name} from the Hugging Face hub "
                           f"({type(e).__name__}: {str(e)[:200]}): "
                           f"check the name and --hf_config, and if this machine is offline "
                           f"prepare local files with --input") from None

# -----------------------------------------------------------------------------
# the split, and what the shards count of each document

def split_docs(texts, val_permille, stats):
    """texts -> (split, text) pairs (see util.in_val). Empty documents (nothing but whitespace) are
    skipped and counted."""
    for text in texts:
        if not text or text.isspace():
            stats['empty'] += 1
            continue
        yield 'val' if in_val(text.encode('utf-8', 'surrogatepass'), val_permille) else 'train', text

# local files, which prepare.py reads here and prepare_parallel's workers in byte ranges
Files = collections.namedtuple('Files', 'paths separator text_field val_permille')

def file_pairs(files, stats):
    """(split, text) pairs of Files, read in this process"""
    stats['total'] = sum(os.path.getsize(p) for p in files.paths)
    texts = (text for path in files.paths
             for text in read_file(path, files.text_field, files.separator, stats))
    return split_docs(texts, files.val_permille, stats)

def encode_pairs(pairs, tok, threads=None):
    """(split, text) pairs -> is_val and UTF-8 bytes per document, and their tokens, each document's
    then eot: what prepare.py's plain path and prepare_parallel's workers both write"""
    is_val = np.array([split == 'val' for split, _ in pairs], bool)
    nbytes = np.array([len(text.encode('utf-8', 'surrogatepass')) for _, text in pairs], np.int64)
    return is_val, nbytes, tok.encode_flat([text for _, text in pairs], threads=threads)

def skipped_note(stats, text_field='text'):
    """one line on the bad input that was skipped or repaired, '' when there was none"""
    missing = f"records without a string {text_field!r} (skipped; see --text_field)"
    counted = [(stats['bad_json'], "lines that are not JSON (skipped)"),
               (stats['missing_field'], missing),
               (stats['empty'], "empty documents (skipped)"),
               (stats['replaced_bytes'], "bytes that are not UTF-8 (now U+FFFD)")]
    return ', '.join(f"{n} {what}" for n, what in counted if n)

def no_text_error(stats, text_field='text'):
    note = skipped_note(stats, text_field)
    return ValueError(f"the input holds no text{' (' + note + ')' if note else ''}: "
                      f"pass files with documents in them")

# -----------------------------------------------------------------------------
# the embedded default corpus

FORTUNES = '/usr/share/games/fortunes'
APT_PACKAGES = 'bible-kjv fortunes-ru fortunes-zh'
VAL_PERMILLE = 20 # documents per 1000 in val, chosen by util.in_val, the one split rule
CACHE = os.environ.get('GLYPHGPT_CORPUS_CACHE') or os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'corpus')
SEP = '\x1e' # ASCII record separator: between documents in the cache files (no document holds one)
LAYOUT_VERSION = 2 # bump when normalize_layout changes: the cached extraction is then rebuilt
BLANK_RUN = re.compile(r'\n{3,}')
SPACE_RUN = re.compile(r'[^\S\n]{2,}|\t') # two or more whitespace characters within a line, or a tab
BOX = re.compile('[\u2500-\u257f]') # box drawing: the frames of tables drawn for a terminal

def normalize_layout(doc):
    """a document's text without its terminal layout: tabs and runs of spaces (full-width U+3000
    included) become one space, each line loses its leading and trailing whitespace, and runs of blank
    lines become one blank line. Tables drawn with box characters lose their frames: a line of nothing
    but frame goes, and in other lines each box character becomes a space between the cells' texts.
    Every line's text stays, and so does a single space between words (an ideographic space between
    two verses of a poem too); punctuation, full-width or not, is text. Idempotent, and the identity
    on text that has no such layout."""
    lines = []
    for line in doc.split('\n'):
        if BOX.search(line):
            line = BOX.sub(' ', line)
            if not line.strip():
                continue
        lines.append(SPACE_RUN.sub(' ', line).strip())
    return BLANK_RUN.sub('\n\n', '\n'.join(lines)).strip('\n')

def whitespace_share(docs):
    """the share of characters that are whitespace, over documents"""
    chars = sum(len(d) for d in docs)
    return sum(c.isspace() for d in docs for c in d) / max(chars, 1)

def _missing(what):
    return FileNotFoundError(f"the default corpus needs {what}: install it with "
                             f"`sudo apt-get install {APT_PACKAGES}` (or run `bash setup.sh`)")

def _english():
    if shutil.which('bible') is None:
        raise _missing("the `bible` program (Debian package bible-kjv)")
    # -f turns pretty printing off: one verse per line, "Ge1:1 In the beginning ..."
    out = subprocess.run(['bible', '-f', 'Gen1:1-Rev22:21'], capture_output=True, check=True).stdout
    chapter, verses = None, []
    for line in out.decode('utf-8').splitlines():
        ref, _, verse = line.partition(' ')
        key = ref.split(':')[0] # "Ge1"
        if key != chapter and verses:
            yield '\n'.join(verses)
            verses = []
        chapter = key
        verses.append(verse)
    if verses:
        yield '\n'.join(verses)

def _fortunes(path):
    ansi = re.compile(r'\x1b\[[0-9;]*m') # the Chinese files colour their titles for terminals
    with open(path, encoding='utf-8', errors='replace') as f:
        text = ansi.sub('', f.read())
    for doc in re.split(r'\n%\n', text):
        doc = doc.strip('\n%')
        if doc.strip():
            yield doc

def _russian():
    folder = os.path.join(FORTUNES, 'ru')
    if not os.path.isdir(folder):
        raise _missing(f"{folder} (Debian package fortunes-ru)")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(('.dat', '.u8')): # .u8 are links to the same files
            yield from _fortunes(os.path.join(folder, name))

def _chinese():
    for name in ['tang300', 'song100', 'chinese']:
        path = os.path.join(FORTUNES, name)
        if not os.path.exists(path):
            raise _missing(f"{path} (Debian package fortunes-zh)")
        yield from _fortunes(path)

SOURCES = {'en': _english, 'ru': _russian, 'zh': _chinese}

def _source_files(lang):
    """the files a language is read from (those present: a missing one fails in SOURCES, with the fix)"""
    if lang == 'en':
        return [p for p in [shutil.which('bible'), '/usr/lib/bible.data'] if p and os.path.exists(p)]
    if lang == 'ru':
        folder = os.path.join(FORTUNES, 'ru')
        return sorted(os.path.join(folder, f) for f in os.listdir(folder)) if os.path.isdir(folder) else []
    return [p for p in (os.path.join(FORTUNES, name) for name in ['tang300', 'song100', 'chinese']) if os.path.exists(p)]

def cached(lang):
    """path of data/corpus/<lang>.txt, the language's documents, layout normalised, joined by SEP;
    extracted again when the files it came from (paths, sizes, times) or the layout rule changed"""
    path = os.path.join(CACHE, f'{lang}.txt')
    stamp = {'layout': LAYOUT_VERSION,
             'files': [[p, st.st_size, st.st_mtime_ns] for p in _source_files(lang) for st in [os.stat(p)]]}
    try:
        with open(path + '.json', encoding='utf-8') as f:
            if json.load(f) == stamp and os.path.exists(path):
                return path
    except (OSError, ValueError):
        pass
    docs = [d for d in map(normalize_layout, SOURCES[lang]()) if d]
    assert not any(SEP in d for d in docs), "a document holds the cache's separator"
    atomic_write(path, lambda f: f.write(SEP.join(docs)), 'w')
    atomic_write(path + '.json', lambda f: json.dump(stamp, f), 'w') # the stamp last: no stamp, no cache
    return path

def is_val(doc):
    return in_val(doc.encode('utf-8'), VAL_PERMILLE)

def documents(split='train', languages=('en', 'ru', 'zh')):
    """Yield the default corpus's documents (str) of one split ('train', 'val' or 'all'), in a fixed order."""
    assert split in ('train', 'val', 'all'), f"split must be train, val or all, not {split!r}"
    for lang in languages:
        with open(cached(lang), encoding='utf-8') as f:
            docs = f.read().split(SEP)
        for doc in docs:
            if split == 'all' or is_val(doc) == (split == 'val'):
                yield doc

def default_files(languages=None):
    """the embedded default corpus (or some of its languages) as Files, which prepare.py reads: the
    extraction cache's files, documents joined by SEP, and this corpus's split"""
    if set(languages or ()) - set(SOURCES):
        raise ValueError(f"--languages {','.join(languages)}: "
                         f"use a comma-separated subset of {', '.join(SOURCES)}")
    return Files([cached(lang) for lang in languages or SOURCES], SEP, None, VAL_PERMILLE)

if __name__ == '__main__':
    for lang in SOURCES:
        raw = list(SOURCES[lang]())
        print(f"{lang} whitespace share: {whitespace_share(raw):.1%} as packaged, "
              f"{whitespace_share(list(documents('all', (lang,)))):.1%} after normalize_layout")
        for split in ('train', 'val'):
            docs = list(documents(split, (lang,)))
            nbytes = sum(len(d.encode('utf-8')) for d in docs)
            print(f"  {split:5s}: {len(docs):6d} documents, {nbytes / 1e6:6.2f} MB")
    sys.exit(0)
