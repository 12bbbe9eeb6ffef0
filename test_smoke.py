"""The quick smoke entry: every stage of the pipeline touched once, on tiny inputs.
    .venv/bin/python -m pytest -q test_smoke.py
"""
import json
import math
import os

import numpy as np
import torch

import corpus
import eval_mmlu
import glyphs
import prepare
import tokenizer
from model import GPT, GPTConfig

def test_default_corpus_has_three_languages_and_a_disjoint_val_split():
    for lang, probe in [('en', 'God'), ('ru', 'и'), ('zh', '的')]:
        val = list(corpus.documents('val', (lang,)))
        train = corpus.documents('train', (lang,))
        first = [next(train) for _ in range(50)]
        assert val and any(probe in d for d in val + first), lang
        assert not set(val) & set(first)
    assert all(corpus.is_val(d) for d in corpus.documents('val', ('zh',)))

def test_corpus_cache_holds_the_extracted_documents(tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, 'CACHE', str(tmp_path))
    path = corpus.cached('zh')
    docs = [corpus.normalize_layout(d) for d in corpus.SOURCES['zh']()] # straight from the Debian files
    assert open(path, encoding='utf-8').read().split(corpus.SEP) == docs == list(corpus.documents('all', ('zh',)))
    os.utime(path, ns=(1, 1))
    assert corpus.cached('zh') == path and os.stat(path).st_mtime_ns == 1 # up to date: not written again
    with open(path + '.json') as f:
        stamp = json.load(f)
    stamp['files'][0][1] += 1 # as if a source file changed size
    with open(path + '.json', 'w') as f:
        json.dump(stamp, f)
    with open(path, 'w') as f:
        f.write('stale')
    assert list(corpus.documents('all', ('zh',))) == docs # extracted again

def test_tokenizer_round_trip_on_the_corpus():
    docs = list(corpus.documents('val'))
    spec = tokenizer.train(docs, 1024, 'compact', verbose=False)
    tok = tokenizer.load_tokenizer(spec)
    ids = tok.encode_batch(docs)
    assert [tok.decode(x) for x in ids] == docs
    assert sum(map(len, ids)) < sum(len(d) for d in docs) # it compresses

def test_glyph_model_shards_and_mmlu_prompt_fit_together(tmp_path):
    docs = list(corpus.documents('val'))
    tok = tokenizer.load_tokenizer(tokenizer.train(docs, 1024, 'compact', verbose=False))
    meta = prepare.prepare(prepare.split_docs(docs, 10, prepare.new_stats()), str(tmp_path), tok, verbose=False)
    x = prepare.read_shard(str(tmp_path / meta['shards']['train'][0]), tok.hash)[:65].astype(np.int64)
    wte = glyphs.glyph_embeddings(tok, 64, cache=False)
    model = GPT(GPTConfig(block_size=64, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=64), wte=wte)
    _, loss = model(torch.from_numpy(x[None, :-1]), torch.from_numpy(x[None, 1:]))
    assert abs(loss.item() - math.log(tok.vocab_size)) < 0.1
    # our tokenizers keep ' A' as space + letter: the shortcut scores the four letters after one shared space
    shared, finals = eval_mmlu.letter_split(tok)
    assert shared == tok.encode(' ') and finals == [tok.encode(L)[0] for L in 'ABCD']
