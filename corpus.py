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
"""
import os
import re
import shutil
import subprocess
import sys
import zlib

FORTUNES = '/usr/share/games/fortunes'
APT_PACKAGES = 'bible-kjv fortunes-ru fortunes-zh'
VAL_PERCENT = 2 # of documents, chosen by a hash of their text

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

def is_val(doc):
    return zlib.crc32(doc.encode('utf-8')) % 100 < VAL_PERCENT

def documents(split='train', languages=('en', 'ru', 'zh')):
    """Yield the default corpus's documents (str) of one split ('train', 'val' or 'all'), in a fixed order."""
    assert split in ('train', 'val', 'all'), f"split must be train, val or all, not {split!r}"
    for lang in languages:
        for doc in SOURCES[lang]():
            if split == 'all' or is_val(doc) == (split == 'val'):
                yield doc

if __name__ == '__main__':
    for lang in SOURCES:
        for split in ('train', 'val'):
            docs = list(documents(split, (lang,)))
            nbytes = sum(len(d.encode('utf-8')) for d in docs)
            print(f"{lang} {split:5s}: {len(docs):6d} documents, {nbytes / 1e6:6.2f} MB")
    sys.exit(0)
