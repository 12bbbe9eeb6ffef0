"""corpus.py's layout rule: crafted terminal layout goes, text stays; the cache follows the rule's version."""
import json
import os
import random

import corpus
import glyphs
from conftest import ROOT
from corpus import normalize_layout

def test_layout_is_normalised_and_text_kept():
    doc = ("\n\n        《静夜思》\n    作者：李白\n\n\n\n床前明月光，\u3000\u3000疑是地上霜。  \n"
           "举头望明月，\u3000低头思故乡。\n\t\t-- Автор\u00a0\u00a0Имя\n\n")
    assert normalize_layout(doc) == ("《静夜思》\n作者：李白\n\n床前明月光， 疑是地上霜。\n"
                                     "举头望明月，\u3000低头思故乡。\n-- Автор Имя")
    assert normalize_layout("a\tb") == "a b" and normalize_layout("  \n \t \n") == ""
    table = "表：\n┌────┬────┐\n│ 名 │ 值 │\n├────┼────┤\n│ x  │ 1  │\n└────┴────┘\n完"
    assert normalize_layout(table) == "表：\n名 值\nx 1\n完"

def test_idempotent_and_lossless_without_layout():
    rng = random.Random(0)
    alphabet = ['a', 'b', 'я', '字', '。', '，', ' ', '  ', '\t', '\n', '\n\n\n', '\u3000', '\u3000\u3000', '-- ', '│', '──']
    for _ in range(500):
        doc = ''.join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        once = normalize_layout(doc)
        assert normalize_layout(once) == once, repr(doc)
        assert '\t' not in once and '  ' not in once and '\n\n\n' not in once
        assert once.split() == corpus.BOX.sub(' ', doc).split() # the same words in the same order
    plain = "In the beginning God created the heaven and the earth.\nЖизнь — это 春眠不觉晓，处处闻啼鸟。\n\nx y"
    assert normalize_layout(plain) == plain

def test_default_corpus_is_mostly_text_now():
    zh = list(corpus.documents('all', ('zh',)))
    assert corpus.whitespace_share(zh) < 0.15
    assert not any('    ' in d or '\t' in d or corpus.BOX.search(d) for d in zh)

def test_cache_rebuilds_when_the_layout_rule_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, 'CACHE', str(tmp_path))
    path = corpus.cached('zh')
    with open(path, 'w', encoding='utf-8') as f:
        f.write('stale')
    assert corpus.cached('zh') == path and open(path, encoding='utf-8').read() == 'stale' # stamp still matches
    monkeypatch.setattr(corpus, 'LAYOUT_VERSION', corpus.LAYOUT_VERSION + 1)
    corpus.cached('zh')
    assert open(path, encoding='utf-8').read() != 'stale'
    assert json.load(open(path + '.json'))['layout'] == corpus.LAYOUT_VERSION

def test_the_suite_keeps_its_caches_out_of_the_checkout_and_home():
    for path in (corpus.CACHE, glyphs.cache_path('0' * 64)):
        assert not os.path.abspath(path).startswith((ROOT, os.path.expanduser('~/.cache'))), path
