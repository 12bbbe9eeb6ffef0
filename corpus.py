"""
The embedded default corpus: ~10 MB of English, Russian and Chinese text that Debian packages put on
the machine at setup time (nothing is vendored in this repository):

  English  bible-kjv-text + bible-kjv  King James Bible (public domain), one document per chapter
  Russian  fortunes-ru                 ~13k quotations and jokes (package GPL-2), one per fortune
  Chinese  fortunes-zh                 Tang and Song poems (public domain works) and the `chinese`
                                       fortunes file (package GPL-3), one per fortune

    python corpus.py            # prints documents and bytes per language and split

The train/val split is by document and deterministic: a document is in val when the CRC32 of its text
falls in the first 2% (so duplicated fortunes always land on the same side).

The first read extracts each language into data/corpus/<lang>.txt (documents joined by SEP), and reads
that file from then on, until the Debian files change: extracting runs the `bible` program and costs
~0.2 s, reading the cache ~10 ms, and prepare.py's workers read parts of it in parallel.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import zlib

FORTUNES = '/usr/share/games/fortunes'
APT_PACKAGES = 'bible-kjv fortunes-ru fortunes-zh'
VAL_PERCENT = 2 # of documents, chosen by a hash of their text
CACHE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'data', 'corpus')
SEP = '\x1e' # ASCII record separator: between documents in the cache files (no document holds one)

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
    """path of data/corpus/<lang>.txt, the language's documents joined by SEP; extracted again when
    the files it came from changed (their paths, sizes and times are kept beside it)"""
    path = os.path.join(CACHE, f'{lang}.txt')
    stamp = [[p, st.st_size, st.st_mtime_ns] for p in _source_files(lang) for st in [os.stat(p)]]
    try:
        with open(path + '.json', encoding='utf-8') as f:
            if json.load(f) == stamp and os.path.exists(path):
                return path
    except (OSError, ValueError):
        pass
    docs = list(SOURCES[lang]())
    assert not any(SEP in d for d in docs), "a document holds the cache's separator"
    os.makedirs(CACHE, exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp' # several processes may extract at once: each renames its own
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(SEP.join(docs))
    os.replace(tmp, path)
    with open(tmp, 'w', encoding='utf-8') as f:
        json.dump(stamp, f)
    os.replace(tmp, path + '.json')
    return path

def is_val(doc):
    return zlib.crc32(doc.encode('utf-8')) % 100 < VAL_PERCENT

def documents(split='train', languages=('en', 'ru', 'zh')):
    """Yield the default corpus's documents (str) of one split ('train', 'val' or 'all'), in a fixed order."""
    assert split in ('train', 'val', 'all'), f"split must be train, val or all, not {split!r}"
    for lang in languages:
        with open(cached(lang), encoding='utf-8') as f:
            docs = f.read().split(SEP)
        for doc in docs:
            if split == 'all' or is_val(doc) == (split == 'val'):
                yield doc

if __name__ == '__main__':
    for lang in SOURCES:
        for split in ('train', 'val'):
            docs = list(documents(split, (lang,)))
            nbytes = sum(len(d.encode('utf-8')) for d in docs)
            print(f"{lang} {split:5s}: {len(docs):6d} documents, {nbytes / 1e6:6.2f} MB")
    sys.exit(0)
