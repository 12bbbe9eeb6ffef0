"""prepare.py: shard headers, dtype, document separators, the split, token bytes, streaming, bad input;
corpus.py's readers of its input; prepare_parallel.py: the same shards as prepare.py's plain path."""
import importlib.util
import json
import os
import sys
import types
import zlib

import numpy as np
import pytest

import corpus
import prepare
import prepare_parallel
import tokenizer
from conftest import run
from prepare import MAGIC, read_shard, write_shard
from tokenizer import load_tokenizer

DOCS = [f"Document {i}: In the beginning God created the heaven and the earth. "
        f"В начале сотворил Бог небо и землю {i}. 起初，神创造天地 {i}。 😀\n" for i in range(60)]

@pytest.fixture(scope='module')
def uni():
    return load_tokenizer('unicode')

@pytest.fixture(scope='module')
def compact():
    return load_tokenizer(tokenizer.train(DOCS, 512, 'compact', verbose=False))

def pairs(docs, val_permille=5, stats=None):
    return corpus.split_docs(iter(docs), val_permille, stats or corpus.new_stats())

def docs_of(tokens, tok):
    """a shard's tokens -> its documents: every document ends with eot"""
    ends = np.flatnonzero(np.asarray(tokens) == tok.eot)
    starts = np.concatenate([[0], ends[:-1] + 1])
    return [tok.decode(tokens[s:e].tolist()) for s, e in zip(starts, ends)]

def shard_tokens(out, meta, split):
    return np.concatenate([read_shard(os.path.join(out, f), meta['tokenizer_hash']) for f in meta['shards'][split]])

# -----------------------------------------------------------------------------
# shards

def test_header_round_trip(tmp_path, uni):
    for dtype in (np.uint16, np.uint32):
        tokens = np.array([0, 1, 65535, 7, uni.eot], dtype=dtype)
        path = str(tmp_path / f'{np.dtype(dtype).name}.bin')
        write_shard(path, tokens, uni.hash)
        header = np.fromfile(path, dtype='<i4', count=256)
        assert list(header[:4]) == [MAGIC, 1, np.dtype(dtype).itemsize, 5]
        assert header[4:8].tobytes() == bytes.fromhex(uni.hash)[:16] and not header[8:].any()
        assert os.path.getsize(path) == 1024 + 5 * np.dtype(dtype).itemsize
        got = read_shard(path, uni.hash)
        assert got.dtype == dtype and got.tolist() == tokens.tolist()
        with pytest.raises(ValueError): # read-only: train.py cannot damage its data
            got[0] = 1
    assert [f for f in os.listdir(tmp_path) if f.endswith('.tmp')] == []

def test_read_shard_errors(tmp_path, uni):
    path = str(tmp_path / 's.bin')
    write_shard(path, np.arange(100, dtype=np.uint16), uni.hash)
    good = open(path, 'rb').read()
    def damaged(slot, value):
        h = np.frombuffer(good[:1024], dtype='<i4').copy()
        h[slot] = value
        p = str(tmp_path / f'bad{slot}.bin')
        open(p, 'wb').write(h.tobytes() + good[1024:])
        return p
    for slot, value, words in [(0, 1234, 'not a glyphgpt shard'), (1, 99, 'version 99'), (2, 3, 'dtype code 3'),
                               (3, 101, 'truncated')]:
        with pytest.raises(ValueError, match=words) as e:
            read_shard(damaged(slot, value))
        assert 'prepare.py' in str(e.value)
    for name, data in [('cut.bin', good[:-10]), ('padded.bin', good + b'\0\0')]:
        open(str(tmp_path / name), 'wb').write(data)
        with pytest.raises(ValueError, match='truncated or damaged'):
            read_shard(str(tmp_path / name))
    with pytest.raises(ValueError, match='not a glyphgpt shard'):
        open(str(tmp_path / 'short.bin'), 'wb').write(b'abc')
        read_shard(str(tmp_path / 'short.bin'))
    other = 'ab' * 32
    with pytest.raises(ValueError, match="model's tokenizer") as e:
        read_shard(path, other)
    assert other[:32] in str(e.value) and uni.hash[:32] in str(e.value)
    with pytest.raises(FileNotFoundError, match='prepare.py'):
        read_shard(str(tmp_path / 'missing.bin'))

def test_dtype_choice(tmp_path):
    assert prepare.token_dtype(65536) == np.uint16
    assert prepare.token_dtype(65537) == np.uint32 and prepare.token_dtype(131072) == np.uint32
    # a 131,072-id tokenizer whose learned tokens run past U+FFFF: their ids must survive the shard
    cjk = [chr(c) for c in range(0x4E00, 0x4E00 + 100)]
    learned = [a + b for a in cjk for b in cjk][:8400]
    tok = load_tokenizer(tokenizer.new_spec('codepoint', 131072, [], learned, tokenizer.PATTERN))
    text = learned[-1] + ' ' + learned[0]
    assert max(tok.encode(text)) > 65535
    meta = prepare.prepare(pairs([text, 'abc']), str(tmp_path), tok, verbose=False)
    assert meta['dtype'] == 'uint32'
    tokens = shard_tokens(str(tmp_path), meta, 'train').tolist() + shard_tokens(str(tmp_path), meta, 'val').tolist()
    assert tok.encode(text) + [tok.eot] in [tokens[:len(tok.encode(text)) + 1], tokens[-len(tok.encode(text)) - 1:]]

# -----------------------------------------------------------------------------
# what goes into the shards

def test_document_separators(tmp_path, uni):
    meta = prepare.prepare(pairs(DOCS, 0), str(tmp_path), uni, verbose=False)
    train = shard_tokens(str(tmp_path), meta, 'train')
    assert train[0] != uni.eot and train[-1] == uni.eot # [doc..., eot] per document, no leading eot
    assert (train == uni.eot).sum() == meta['documents']['train'] == len(DOCS) - 1
    assert docs_of(train, uni) == DOCS[:-1]
    assert docs_of(shard_tokens(str(tmp_path), meta, 'val'), uni) == DOCS[-1:] # nothing hashed into val: last doc

def test_shard_size_and_spanning_documents(tmp_path, uni):
    meta = prepare.prepare(pairs(DOCS, 0), str(tmp_path), uni, shard_tokens=1000, verbose=False)
    sizes = [len(read_shard(os.path.join(tmp_path, f))) for f in meta['shards']['train']]
    assert len(sizes) > 3 and set(sizes[:-1]) == {1000} and sum(sizes) == meta['tokens']['train']
    assert meta['shards']['train'][:2] == ['train_000000.bin', 'train_000001.bin']
    assert docs_of(shard_tokens(str(tmp_path), meta, 'train'), uni) == DOCS[:-1]

def test_deterministic_split(tmp_path, uni):
    permille = sorted(zlib.crc32(d.encode()) % 1000 for d in DOCS)[len(DOCS) // 4] # one document sits on the boundary
    want_val = [d for d in DOCS if zlib.crc32(d.encode()) % 1000 < permille]
    assert 0 < len(want_val) < len(DOCS)
    meta = prepare.prepare(pairs(DOCS, permille), str(tmp_path / 'a'), uni, verbose=False)
    assert meta['documents'] == dict(train=len(DOCS) - len(want_val), val=len(want_val))
    assert docs_of(shard_tokens(str(tmp_path / 'a'), meta, 'val'), uni) == want_val
    # the text alone decides: in another order, after other documents, a document keeps its side
    meta = prepare.prepare(pairs(['other', 'docs', 'first'] + DOCS[::-1], permille), str(tmp_path / 'b'), uni, verbose=False)
    assert [d for d in docs_of(shard_tokens(str(tmp_path / 'b'), meta, 'val'), uni) if d in DOCS] == want_val[::-1]

def test_token_bytes_bookkeeping(tmp_path, compact):
    docs = DOCS + ["bytes the tokenizer never saw: ☃ ∮ ✈ 𝄞", "<|endoftext|> is text here"]
    meta = prepare.prepare(pairs(docs, 300), str(tmp_path), compact, verbose=False)
    table = np.load(tmp_path / meta['token_bytes'])
    assert (table == compact.token_bytes).all() and table[compact.eot] == 0
    assert load_tokenizer(str(tmp_path / 'tokenizer.json')).hash == meta['tokenizer_hash'] == compact.hash
    assert prepare.dataset_tokenizer(str(tmp_path)).hash == compact.hash
    for split in ('train', 'val'):
        tokens = shard_tokens(str(tmp_path), meta, split)
        assert int(table[tokens].sum()) == meta['bytes'][split] > 0 # bits per byte needs exactly this
        assert (tokens == compact.eot).sum() == meta['documents'][split]
    assert meta['bytes']['train'] + meta['bytes']['val'] == sum(len(d.encode()) for d in docs)

# -----------------------------------------------------------------------------
# the streaming path (what load_dataset(..., streaming=True) feeds), in memory

def test_streaming_records_with_budget(tmp_path, uni):
    def stream(): # endless, like a big online dataset: only --max_tokens ends it
        i = 0
        while True:
            yield {'text': DOCS[i % len(DOCS)] + str(i), 'id': i}
            if i % 10 == 0:
                yield {'id': i, 'content': 'no text field'}
            i += 1
    stats = corpus.new_stats()
    docs = corpus.records_to_docs(stream(), 'text', stats)
    meta = prepare.prepare(corpus.split_docs(docs, 5, stats), str(tmp_path), uni, max_tokens=5000, stats=stats, verbose=False)
    total = meta['tokens']['train'] + meta['tokens']['val']
    assert 5000 <= total < 5000 + len(uni.encode(DOCS[0])) + 10 # stops at the document that reaches the budget
    assert meta['skipped']['missing_field'] == stats['missing_field'] > 0
    assert meta['documents']['val'] >= 1

# -----------------------------------------------------------------------------
# local files: prepare_parallel's workers read byte ranges of them, and must write what the plain path does

def test_file_ranges_cut_where_split_does(tmp_path):
    rng = np.random.default_rng(0) # runs of overlapping separators ('\n\n\n' split on '\n\n') included
    for sep in ['\n%\n', '\n\n', '%', 'ab', 'В\n']:
        for trial in range(40):
            text = ''.join(rng.choice(['a', 'b', '\n', '%', 'В'], size=int(rng.integers(0, 300)), p=[.3, .1, .3, .2, .1]))
            path = str(tmp_path / 'a.txt')
            open(path, 'w', encoding='utf-8').write(text)
            size = int(rng.integers(1, 40))
            ranges = prepare_parallel.file_ranges(path, sep, size)
            assert ranges[0][1] == 0 and ranges[-1][2] == len(text.encode())
            docs = [d for _, a, b in ranges for d in corpus.read_file(path, None, sep, corpus.new_stats(), a, b)]
            assert docs == text.split(sep), (sep, text, size, ranges)

def test_plain_txt_fast_path_equals_split_docs(uni):
    files = corpus.Files(['unused'], '\n%\n', None, 300)
    docs = ['plain', '', '  indented', '\u3000\u2003', '\x1c ', '「quote」', 'Ж', ' \t', 'x' * 100, '\n'] + DOCS
    fast, slow = corpus.new_stats(), corpus.new_stats()
    is_val, nbytes, text = prepare_parallel.plain_txt('\n%\n'.join(docs).encode(), files, fast)
    want = list(corpus.split_docs(docs, 300, slow))
    want_val, want_bytes, _ = corpus.encode_pairs(want, uni)
    assert (is_val, nbytes) == (want_val.tolist(), want_bytes.tolist())
    assert fast['empty'] == slow['empty'] == 5 and any(is_val) and not all(is_val)
    assert text == ''.join(t + '<|endoftext|>' for _, t in want)
    assert uni.encode_joined(text).tolist() == uni.encode_flat([t for _, t in want]).tolist()
    # what it leaves to the general path: special-token text, bytes that are not UTF-8
    assert prepare_parallel.plain_txt(b'a<|endoftext|>b', files, fast) is None
    assert prepare_parallel.plain_txt(b'a\xffb', files, fast) is None

@pytest.mark.parametrize('sep', ['\n%\n', '\n\n']) # DOCS end in '\n': joined on '\n\n', runs of '\n\n\n'
def test_workers_write_the_plain_paths_shards(tmp_path, uni, monkeypatch, sep):
    monkeypatch.setattr(prepare_parallel, 'BATCH_BYTES', 300) # many small tasks, each file cut in many ranges
    monkeypatch.setattr(prepare, 'BATCH_DOCS', 7) # and the plain path in many batches too
    (tmp_path / 'in').mkdir()
    bad = [b'\xff\xfe broken \xe4\xb8', b'', b' \t', '\u3000'.encode(), b'<|endoftext|> as text', b'\n']
    (tmp_path / 'in' / 'a.txt').write_bytes(sep.encode().join([d.encode() for d in DOCS[:25]] + bad))
    lines = [json.dumps({'text': d}) for d in DOCS[25:50]] + ['not json', json.dumps({'body': 'x'}), json.dumps({'text': ' '})]
    (tmp_path / 'in' / 'b.jsonl').write_bytes('\n'.join(lines).encode() + b'\n\xff\n')
    for i, d in enumerate(DOCS[50:]): # one document per file, one of them empty
        (tmp_path / 'in' / f'c{i}.txt').write_text(d if i else '')
    files = corpus.Files(corpus.input_files([str(tmp_path / 'in')]), sep, 'text', 300)
    assert len(list(prepare_parallel.file_tasks(files))) > 10
    plain = prepare.prepare(files, str(tmp_path / 'plain'), uni, verbose=False, parallel=False)
    assert plain['skipped'] == dict(bad_json=2, missing_field=1, replaced_bytes=4 + 1, empty=4 + 1 + 1)
    for workers, thread_cores in [('threads', 64), ('processes', 0)]: # os.cpu_count() decides between them
        monkeypatch.setattr(prepare_parallel, 'THREAD_CORES', thread_cores)
        stats = corpus.new_stats()
        fast = prepare.prepare(files, str(tmp_path / workers), uni, stats=stats, verbose=False)
        for k in ('tokens', 'documents', 'bytes', 'skipped', 'shards'):
            assert plain[k] == fast[k], (workers, k)
        for f in fast['shards']['train'] + fast['shards']['val']:
            assert (tmp_path / 'plain' / f).read_bytes() == (tmp_path / workers / f).read_bytes(), (workers, f)
        assert 0.9 < stats['read'] / stats['total'] <= 1 # for the ETA: all but the separators between ranges
    # and the plain path is str.split: every document there, in order (the last train one may be in val)
    text = (tmp_path / 'in' / 'a.txt').read_bytes().decode('utf-8', 'replace')
    want = [d for d in text.split(sep) + DOCS[25:50] + DOCS[51:] if d.strip()]
    got = docs_of(shard_tokens(str(tmp_path / 'plain'), plain, 'train'), uni)
    assert sorted(got + docs_of(shard_tokens(str(tmp_path / 'plain'), plain, 'val'), uni)) == sorted(want)
    assert got == [d for d in want if d in got]

def test_workers_on_a_stream_write_the_plain_paths_shards(tmp_path, uni, monkeypatch):
    monkeypatch.setattr(prepare_parallel, 'BATCH_BYTES', 300) # a stream is read here, its texts go to the workers
    docs = DOCS + ['', ' \n', '<|endoftext|> as text', 'a lone surrogate \ud800 here'] + DOCS[::-1]
    plain = prepare.prepare(pairs(docs, 300), str(tmp_path / 'plain'), uni, verbose=False, parallel=False)
    for workers, thread_cores in [('threads', 64), ('processes', 0)]:
        monkeypatch.setattr(prepare_parallel, 'THREAD_CORES', thread_cores)
        fast = prepare.prepare(pairs(docs, 300), str(tmp_path / workers), uni, verbose=False)
        for k in ('tokens', 'documents', 'bytes', 'shards'):
            assert plain[k] == fast[k], (workers, k)
        for f in fast['shards']['train'] + fast['shards']['val']:
            assert (tmp_path / 'plain' / f).read_bytes() == (tmp_path / workers / f).read_bytes(), (workers, f)
    assert plain['documents']['train'] + plain['documents']['val'] == len(docs) - 2

def test_hf_without_datasets_or_offline(monkeypatch):
    monkeypatch.setitem(sys.modules, 'datasets', None)
    with pytest.raises(RuntimeError, match='pip install datasets'):
        next(corpus.hf_records('HuggingFaceFW/fineweb-edu', 'sample-10BT'))
    def load_dataset(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'HuggingFaceFW/fineweb-edu' on the Hub")
    monkeypatch.setitem(sys.modules, 'datasets', types.SimpleNamespace(load_dataset=load_dataset))
    with pytest.raises(RuntimeError, match='offline.*--input'):
        next(corpus.hf_records('HuggingFaceFW/fineweb-edu', 'sample-10BT'))

# -----------------------------------------------------------------------------
# bad input

def test_missing_and_empty_input(tmp_path, uni):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        corpus.input_files([str(tmp_path / 'nope.txt')])
    with pytest.raises(FileNotFoundError, match='matches no files'):
        corpus.input_files([str(tmp_path / '*.jsonl')])
    (tmp_path / 'empty_dir').mkdir()
    with pytest.raises(FileNotFoundError, match='holds no'):
        corpus.input_files([str(tmp_path / 'empty_dir')])
    (tmp_path / 'empty.txt').write_text('')
    (tmp_path / 'blank.txt').write_text(' \n\n ')
    stats = corpus.new_stats()
    files = corpus.Files(corpus.input_files([str(tmp_path / '*.txt')]), None, 'text', 5)
    with pytest.raises(ValueError, match='holds no text.*2 empty documents'):
        prepare.prepare(files, str(tmp_path / 'out'), uni, stats=stats, verbose=False)
    assert not os.path.exists(tmp_path / 'out' / 'meta.json')

def test_one_document_is_not_enough(tmp_path, uni):
    with pytest.raises(ValueError, match='only 1 document.*at least two'):
        prepare.prepare(pairs(DOCS[:1]), str(tmp_path), uni, verbose=False)

def test_txt_separator_and_non_utf8(tmp_path, uni):
    (tmp_path / 'a.txt').write_bytes('first one\n%\nsecond\n%\n\n%\nthird'.encode() + b' \xff\xfe bad \xe4\xb8')
    stats = corpus.new_stats()
    texts = list(corpus.read_file(str(tmp_path / 'a.txt'), 'text', '\n%\n', stats))
    assert texts == ['first one', 'second', '', 'third \ufffd\ufffd bad \ufffd'] and stats['replaced_bytes'] == 4
    meta = prepare.prepare(corpus.split_docs(texts, 5, stats), str(tmp_path / 'out'), uni, stats=stats, verbose=False)
    assert meta['skipped']['replaced_bytes'] == 4 and meta['skipped']['empty'] == 1
    assert meta['documents']['train'] + meta['documents']['val'] == 3

def test_bad_json_lines_and_missing_field(tmp_path, uni):
    lines = [json.dumps({'text': d}) for d in DOCS[:5]] + ['{"text": "cut off', 'not json', '[1, 2]',
             json.dumps({'body': 'other field'}), json.dumps({'text': None}), '']
    (tmp_path / 'a.jsonl').write_text('\n'.join(lines) + '\n')
    stats = corpus.new_stats()
    texts = list(corpus.read_file(str(tmp_path / 'a.jsonl'), 'text', None, stats))
    assert texts == DOCS[:5]
    assert (stats['bad_json'], stats['missing_field']) == (2, 3)
    assert '2 lines that are not JSON (skipped), 3 records without' in corpus.skipped_note(stats)
    stats = corpus.new_stats() # the wrong field everywhere: the error names the fix
    texts = corpus.read_file(str(tmp_path / 'a.jsonl'), 'content', None, stats)
    with pytest.raises(ValueError, match="holds no text.*'content' \\(skipped; see --text_field\\)"):
        prepare.prepare(corpus.split_docs(texts, 5, stats), str(tmp_path / 'out'), uni, stats=stats,
                        text_field='content', verbose=False)

def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, 'pyarrow', None)
    monkeypatch.setitem(sys.modules, 'pyarrow.parquet', None)
    (tmp_path / 'a.parquet').write_bytes(b'PAR1')
    with pytest.raises(RuntimeError, match='pip install pyarrow'):
        list(corpus.read_file(str(tmp_path / 'a.parquet'), 'text', None, corpus.new_stats()))

def test_refuses_shards_of_another_tokenizer(tmp_path, uni, compact):
    out = str(tmp_path / 'd')
    prepare.prepare(pairs(DOCS), out, uni, verbose=False)
    prepare.prepare(pairs(DOCS), out, uni, verbose=False) # same tokenizer: rewriting is fine
    with pytest.raises(ValueError, match='another tokenizer.*--overwrite'):
        prepare.prepare(pairs(DOCS), out, compact, verbose=False)
    os.remove(os.path.join(out, 'meta.json')) # an unfinished run's shards count too
    with pytest.raises(ValueError, match='another tokenizer'):
        prepare.prepare(pairs(DOCS), out, compact, verbose=False)
    meta = prepare.prepare(pairs(DOCS), out, compact, overwrite=True, shard_tokens=10**6, verbose=False)
    assert meta['tokenizer_hash'] == compact.hash
    assert sorted(f for f in os.listdir(out) if f.endswith('.bin')) == ['train_000000.bin', 'val_000000.bin']

def test_interrupted_run_is_not_complete(tmp_path, uni):
    def broken():
        yield from pairs(DOCS * 5)
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        prepare.prepare(broken(), str(tmp_path), uni, shard_tokens=500, verbose=False)
    assert [f for f in os.listdir(tmp_path) if f.endswith('.tmp')] == []
    with pytest.raises(FileNotFoundError, match='no meta.json'):
        prepare.load_meta(str(tmp_path))
    # a run killed while writing leaves util.atomic_write's temporary files: the next run removes them
    for f in ['train_000009.bin.123.tmp', 'val_000000.bin.4567.tmp']:
        (tmp_path / f).write_bytes(b'')
    prepare.prepare(pairs(DOCS), str(tmp_path), uni, verbose=False)
    assert sorted(os.listdir(tmp_path)) == ['meta.json', 'token_bytes.npy', 'tokenizer.json', 'train_000000.bin', 'val_000000.bin']

# -----------------------------------------------------------------------------
# the command line

def cli(*args, cwd, env=None):
    return run(list(args), cwd, check=False, script='prepare.py', env=env)

def test_cli_end_to_end(tmp_path):
    (tmp_path / 'in').mkdir()
    for i, d in enumerate(DOCS[:20]):
        (tmp_path / 'in' / f'{i:02d}.txt').write_text(d)
    (tmp_path / 'in' / 'more.jsonl').write_text('\n'.join(json.dumps({'body': d}) for d in DOCS[20:]) + '\nnot json\n')
    r = cli('--name', 'tiny', '--input', str(tmp_path / 'in'), '--text_field', 'body', '--tokenizer', 'train',
            '--vocab_size', '512', '--data_dir', 'data', cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert 'MB/s' in r.stdout and 'bad input: 1 lines that are not JSON' in r.stdout
    out = str(tmp_path / 'data' / 'tiny')
    meta = prepare.load_meta(out)
    assert meta['documents']['train'] + meta['documents']['val'] == len(DOCS)
    assert meta['provenance']['inputs'] == [str(tmp_path / 'in')] and meta['skipped']['bad_json'] == 1
    tok = prepare.dataset_tokenizer(out)
    assert tok.vocab_size == 512 and tok.hash == meta['tokenizer_hash']
    assert sorted(docs_of(np.concatenate([shard_tokens(out, meta, 'train'), shard_tokens(out, meta, 'val')]), tok)) == sorted(DOCS)
    # run again: the tokenizer it wrote is reused; another tokenizer is refused with one sentence
    r = cli('--name', 'tiny', '--input', str(tmp_path / 'in' / '0*.txt'), cwd=tmp_path)
    assert r.returncode == 0 and 'training' not in r.stdout and prepare.load_meta(out)['tokenizer_hash'] == tok.hash
    r = cli('--name', 'tiny', '--input', str(tmp_path / 'in'), '--tokenizer', 'unicode', cwd=tmp_path)
    assert r.returncode == 1 and r.stderr.startswith('error: ') and r.stderr.count('\n') == 1 and '--overwrite' in r.stderr

def test_cli_bad_input_one_sentence(tmp_path):
    for args, words in [(['--name', 'x', '--input', str(tmp_path / 'missing.txt')], 'does not exist'),
                        (['--input', str(tmp_path)], '--name'),
                        (['--name', 'x', '--hf', 'HuggingFaceFW/fineweb-edu', '--tokenizer', 'unicode'],
                         'pip install datasets' if importlib.util.find_spec('datasets') is None else 'offline')]:
        r = cli(*args, cwd=tmp_path, env={'HF_HUB_OFFLINE': '1'}) # offline at once, not after five retries
        assert r.returncode == 1 and r.stderr.startswith('error: ') and words in r.stderr, r.stderr
        assert r.stderr.count('\n') == 1 # one sentence, no traceback

def test_language_subsets_of_the_default_corpus_share_a_tokenizer(work, tmp_path):
    # experts to fuse need one vocabulary: a language subset keeps the tokenizer it is given
    spec = str(work / 'data' / 'tiny' / 'tokenizer.json')
    run(['--name=zh', '--languages=zh', f'--tokenizer={spec}', f'--data_dir={tmp_path}'], tmp_path, script='prepare.py')
    meta = json.load(open(tmp_path / 'zh' / 'meta.json'))
    tok = load_tokenizer(spec)
    assert meta['tokenizer_hash'] == tok.hash
    text = tok.decode(read_shard(str(tmp_path / 'zh' / meta['shards']['val'][0]), tok.hash)[:3000].tolist())
    assert sum('\u4e00' <= c <= '\u9fff' for c in text) > 300 and 'LORD' not in text and 'Жизнь' not in text
    r = run(['--name=q', '--languages=ru,xx', f'--data_dir={tmp_path}'], tmp_path, check=False, script='prepare.py')
    assert r.returncode != 0 and 'use a comma-separated subset of en, ru, zh' in r.stderr and 'Traceback' not in r.stderr
    r = run(['--languages=ru', f'--data_dir={tmp_path}'], tmp_path, check=False, script='prepare.py')
    assert r.returncode != 0 and 'pass --name NAME' in r.stderr
