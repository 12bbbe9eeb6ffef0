"""
The embedded default corpus: ~10 MB of English, Russian and Chinese text that Debian packages put on
the machine at setup time (nothing is vendored in this repository):

  English  bible-kjv-text + bible-kjv  King James Bible (public domain), one document per chapter
  Russian  fortunes-ru                 ~13k quotations and jokes (package GPL-2), one per fortune
  Chinese  fortunes-zh                 Tang and Song poems (public domain works) and the `chinese`
                                       fortunes file (package GPL-3), one per fortune

    python corpus.py            # documents, bytes and whitespace share per language and split

The fortune files are laid out for an 80-column terminal: centred titles, indented poems, attributions
after two tabs, tables framed with box-drawing characters (a third of the Chinese text). A model
trained on that learns layout, and continues a Chinese prompt with a line of spaces. So each document's layout is normalised (normalize_layout) before the split rule, val and
train alike; its text is kept, line by line.

The split is by document and deterministic (prepare.in_val, the one split rule): duplicated fortunes
always land on the same side. The first read extracts each language into data/corpus/<lang>.txt
(documents joined by SEP), and reads that file from then on, until the Debian files or the layout rule
change (both are in the stamp beside it); prepare.py's workers read parts of that file in parallel.
"""
import json
import os
import re
import shutil
import subprocess
import sys

from prepare import in_val
from util import atomic_write

FORTUNES = '/usr/share/games/fortunes'
APT_PACKAGES = 'bible-kjv fortunes-ru fortunes-zh'
VAL_PERMILLE = 20 # documents per 1000 in val, chosen by prepare.in_val, the one split rule
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
