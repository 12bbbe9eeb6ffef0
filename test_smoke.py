"""The quick smoke entry: every stage of the pipeline touched once, on tiny inputs.
    .venv/bin/python -m pytest -q test_smoke.py
"""
import corpus
import tokenizer

def test_default_corpus_has_three_languages_and_a_disjoint_val_split():
    for lang, probe in [('en', 'God'), ('ru', 'и'), ('zh', '的')]:
        val = list(corpus.documents('val', (lang,)))
        train = corpus.documents('train', (lang,))
        first = [next(train) for _ in range(50)]
        assert val and any(probe in d for d in val + first), lang
        assert not set(val) & set(first)
    assert all(corpus.is_val(d) for d in corpus.documents('val', ('zh',)))

def test_tokenizer_round_trip_on_the_corpus():
    docs = list(corpus.documents('val'))
    spec = tokenizer.train(docs, 1024, 'compact', verbose=False)
    tok = tokenizer.load_tokenizer(spec)
    ids = tok.encode_batch(docs)
    assert [tok.decode(x) for x in ids] == docs
    assert sum(map(len, ids)) < sum(len(d) for d in docs) # it compresses
