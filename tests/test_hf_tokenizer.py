"""tokenizer.HFTokenizer: the paper's tokenizer.json format read through the `tokenizers` library. A small
tokenizer built here with the library, whose ids are worked out by hand from BPE by pair rank (an emulation
merging by the rank of the result gives other ids); the rebuilt bvv241 files of ../shared/ref against the
library's ids (skipped when ../shared is absent); the pipeline (prepare, bits per byte on true bytes, train,
sample); the paper's glyph matrix over bvv241-2-3 against a transcription of the reference notebook."""
import json
import os
import subprocess
import sys

import numpy as np
import torch
import pytest

import glyphs
import glyphs_paper
from conftest import ROOT, TINY, run
from experiments import rarity
from model import GPT, GPTConfig
from prepare import load_meta, read_shard
from tokenizer import KIND_PLACEHOLDER, KIND_SPECIAL, KIND_TEXT, load_tokenizer

REF = os.path.join(os.path.dirname(ROOT), 'shared', 'ref')

@pytest.fixture(scope='module')
def small(tmp_path_factory):
    """ids: a b c d ' ' -> 0-4, 'ab' 5, 'bc' 6, specials 7-10, a placeholder 11, an n-gram no merge makes 12.
    Merges (b, c) before (a, b), while 'ab' has the smaller id"""
    from tokenizers import Tokenizer, decoders, models # here: the optional library, as tokenizer.py imports it
    vocab = {'a': 0, 'b': 1, 'c': 2, 'd': 3, ' ': 4, 'ab': 5, 'bc': 6, '<pad>': 7, '<s>': 8, '</s>': 9, '<unk>': 10,
             '<unused_11>': 11, 'cd': 12}
    t = Tokenizer(models.BPE(vocab=vocab, merges=[('b', 'c'), ('a', 'b')], unk_token='<unk>'))
    t.add_special_tokens(['<pad>', '<s>', '</s>', '<unk>'])
    t.decoder = decoders.Sequence([])
    path = tmp_path_factory.mktemp('hf') / 'small.json'
    t.save(str(path))
    return str(path)

def test_ids_kinds_and_awkward_inputs(small):
    tok = load_tokenizer(small)
    assert tok.name == 'small' and tok.vocab_size == 13 and tok.eot == 9 and tok.unk == 10
    cases = {'abc': [0, 6], # by pair rank: (b, c) first. By result rank 'ab' (id 5) would win: [5, 2]
             'ab c': [5, 4, 2], 'abd': [5, 3], 'cd': [2, 3], # 'cd' is in the vocabulary but no merge makes it
             'a</s>b': [0, 9, 1], 'a<s>bc': [0, 8, 6], # added tokens written in the text, as the library does
             'x': [10], 'a\U0001F600': [0, 10], '\ue000': [10], # unknown, astral, private use: <unk>
             'a\ud800bc': [0, 10, 6], '\udfff': [10], '': []} # a lone surrogate is one unknown character
    for text, ids in cases.items():
        assert tok.encode(text) == ids, text
    assert list(tok.kinds) == [KIND_TEXT] * 7 + [KIND_SPECIAL] * 4 + [KIND_PLACEHOLDER, KIND_TEXT]
    assert list(tok.token_bytes) == [1] * 5 + [2, 2] + [0] * 5 + [2] # specials, <unk> and placeholders spell no bytes
    assert tok.decode([5, 4, 9, 10]) == 'ab </s><unk>' # token texts concatenated
    flat = tok.encode_flat(['ab', 'c', ''])
    assert list(flat) == [5, 9, 2, 9, 9] # each document alone: joined, 'ab' + 'c' would not merge differently here,
    assert list(tok.encode_joined('abc<|endoftext|>d<|endoftext|>')) == [0, 6, 9, 3, 9] # but the rule is per document
    assert list(tok.encode_flat(['a</s>bc'])) == [0, 10, 10, 10, 10, 6, 9] # in a document, '</s>' is text: '<', '/s>bc'
    again = load_tokenizer(tok.spec) # what a checkpoint stores
    assert again.hash == tok.hash and again.name == 'small' and again.encode('abc') == [0, 6]

def test_unsupported_files_and_a_missing_library(small, tmp_path, monkeypatch):
    d = json.load(open(small))
    for change, words in [(lambda d: d['model'].update(type='WordPiece'), 'model type'),
                          (lambda d: d['model'].update(byte_fallback=True), 'byte fallback'),
                          (lambda d: d.update(pre_tokenizer={'type': 'Whitespace'}), 'a pre-tokenizer'),
                          (lambda d: d.update(added_tokens=[t for t in d['added_tokens'] if t['content'] != '</s>']), "no '</s>'")]:
        bad = json.loads(json.dumps(d))
        change(bad)
        (tmp_path / 'bad.json').write_text(json.dumps(bad))
        with pytest.raises(ValueError, match=words):
            load_tokenizer(str(tmp_path / 'bad.json'))
    monkeypatch.setitem(sys.modules, 'tokenizers', None)
    with pytest.raises(ImportError, match='pip install tokenizers'):
        load_tokenizer(small)

def test_prepare_train_sample_on_true_bytes(small, tmp_path):
    docs = ['abc ab d\U0001F600', 'ab ab c\ue000', 'cd ab', 'bc a</s>b'] * 40 # <unk>: 4 and 3 bytes
    (tmp_path / 'in.jsonl').write_text(''.join(json.dumps({'text': t}) + '\n' for t in docs))
    run(['--name=hf', f'--input={tmp_path / "in.jsonl"}', f'--tokenizer={small}', '--val_permille=250'], tmp_path, script='prepare.py')
    meta = json.load(open(tmp_path / 'data' / 'hf' / 'meta.json'))
    tok = load_tokenizer(str(tmp_path / 'data' / 'hf' / 'tokenizer.json'))
    assert tok.hash == meta['tokenizer_hash'] and meta['eot'] == 9
    for split in ('train', 'val'):
        shard = read_shard(str(tmp_path / 'data' / 'hf' / meta['shards'][split][0]))
        assert meta['unk']['tokens'][split] == (shard == 10).sum() > 0
        # the bytes behind <unk> (and behind the '</s>' written in the text, which no token spells): the text's true bytes
        assert meta['unk']['bytes'][split] == meta['bytes'][split] - tok.token_bytes[shard].sum()
        assert (shard == 9).sum() == meta['documents'][split] # a '</s>' in the text is spelled, not an end of text
    assert meta['bytes']['train'] + meta['bytes']['val'] == sum(len(t.encode()) for t in docs)
    assert np.load(tmp_path / 'data' / 'hf' / 'token_bytes.npy')[10] == round(meta['unk']['bytes']['train'] / meta['unk']['tokens']['train'])
    model = GPT(GPTConfig(block_size=16, vocab_size=13, n_layer=1, n_head=2, n_embd=16, embedding='trainable')).eval()
    nats, nbytes = rarity.val_scores(model, str(tmp_path / 'data' / 'hf'))
    val = read_shard(str(tmp_path / 'data' / 'hf' / meta['shards']['val'][0]))
    assert abs(nbytes.sum() + tok.token_bytes[val[0]] - meta['bytes']['val']) < 1e-6 # every byte once (the first token is no target)
    r = run(['--dataset=hf', '--out_dir=o', '--max_iters=2', '--eval_interval=2', '--embedding=trainable', *TINY], tmp_path)
    assert 'val bpb' in r.stdout
    r = run(['o/ckpt.pt', '--start=ab', '--num_samples=1', '--max_new_tokens=5'], tmp_path, script='sample.py')
    assert r.stdout.split('\n', 1)[1].startswith('ab')
    piqa = tmp_path / 'piqa.jsonl' # both protocols of the evaluation run on it
    piqa.write_text(''.join(json.dumps({'goal': f'ab {w}', 'sol1': 'c d', 'sol2': 'bc', 'label': i % 2}) + '\n' for i, w in enumerate('abc')))
    r = run(['o/ckpt.pt', '--task=piqa', f'--data={piqa}', '--out=e.json'], tmp_path, script='eval_mmlu.py')
    assert json.load(open(tmp_path / 'e.json'))['summary']['standard']['n'] == 3

def shared(name):
    path = os.path.join(REF, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} is absent: the rebuilt bvv241 tokenizers live in ../shared/ref beside the checkout")
    return path

@pytest.mark.parametrize('name', ['bvv241-2-3', 'bvv241-max'])
def test_the_papers_tokenizers_give_the_librarys_ids(name):
    tok = load_tokenizer(shared(f'{name}.json'))
    records = [json.loads(line) for line in open(shared(f'{name}.expected.jsonl'), encoding='utf-8')]
    assert len(records) > 200
    for r in records:
        assert tok.encode(r['text']) == r['ids'], r['text']
        shown = ''.join(tok.token_text(i) for i in r['ids'] if tok.kinds[i] != KIND_SPECIAL)
        assert shown == r['decoded'] # the library's decode drops <unk> and the specials
    assert (tok.vocab_size, tok.eot, tok.unk) == ({'bvv241-2-3': 65536, 'bvv241-max': 131072}[name], 57346, 57347)
    assert tok.encode('\ue002') == [57347] # a private-use character is <unk>, not the special at its code point
    assert tok.encode('\ud800') == [57347] and tok.encode('') == []
    assert (tok.kinds == KIND_SPECIAL).sum() == 23

def test_the_papers_matrix_over_bvv241_2_3():
    from test_glyphs import FONT, _reference_bits # another test module's helpers: only this test needs them
    tok = load_tokenizer(shared('bvv241-2-3.json'))
    texts, _ = glyphs.token_texts(tok)
    # in id order, every id's vocabulary string drawn literally: characters, n-grams, specials, placeholders
    ids = [65, 0x4E2D, 0x0416, 0xD800, 0xD9A0, 0xE100, 57344, 57346, 57347, 57360, 63743, 0xE0F0, 0xF8FF, 32, 10]
    X = glyphs_paper.paper_cells(texts, (FONT, None), 32, False)
    for i in ids:
        assert (X[i] == _reference_bits(texts[i])).all(), (i, texts[i])
    # the reference's PCA (sklearn's: components by variance), transcribed in numpy, then unit rows
    emb, _ = glyphs.pca(X, 1024)
    Xc = X.astype(np.float64) - X.mean(0)
    w, v = np.linalg.eigh(Xc.T @ Xc)
    order = np.argsort(w)[::-1]
    w, v = w[order], v[:, order]
    ref = Xc @ v
    ref /= np.linalg.norm(ref, axis=1, keepdims=True)
    distinct = np.flatnonzero((w[:-2] - w[1:-1] > 1e-6 * w[0]) & (w[1:-1] - w[2:] > 1e-6 * w[0])) + 1 # eigenvalue has no twin
    assert len(distinct) > 500
    for j in distinct[:200]:
        sign = np.sign(ref[:, j] @ emb[:, j])
        assert np.allclose(emb[:, j], sign * ref[:, j], atol=1e-4), j

def test_compare_runs_the_paper_exact_arm_at_equal_training_bytes(work, small):
    # data/tiny_bvv241: the same text as data/tiny, encoded with a Hugging Face tokenizer (here the small one)
    run(['--name=tiny_bvv241', f'--input={work / "tiny.txt"}', f'--tokenizer={small}', '--separator=\n\n', '--val_permille=100'],
        work, script='prepare.py')
    compare = [sys.executable, '-m', 'experiments.compare'] # run from work/, the repository on the path
    env = {**os.environ, 'PYTHONPATH': ROOT}
    args = [*compare, '--max_iters=2', '--mmlu=absent', '--dataset=tiny', '--seeds=1',
            '--arms=glyph_paper,paper_exact', f'--bvv241={small}', '--out=out/exact', '--eval_interval=1',
            *[a for a in TINY if not a.startswith(('--warmup', '--learning'))]]
    r = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    metas = [load_meta(str(work / 'data' / d)) for d in ('tiny', 'tiny_bvv241')]
    per_token = [m['bytes']['train'] / m['tokens']['train'] for m in metas]
    steps = round(2 * per_token[0] / per_token[1])
    assert steps > 2 and f'(paper_exact {steps} steps: as many training bytes)' in r.stdout
    res = json.load(open(work / 'out' / 'exact' / 'results.json'))
    assert res['runs']['paper_exact_s1337']['max_iters'] == steps and 'paper_exact - glyph_paper' in res['pairs']
    ck = torch.load(work / 'out' / 'exact' / 'paper_exact_s1337' / 'ckpt.pt', weights_only=True)
    assert ck['config']['dataset'] == 'tiny_bvv241' and ck['config']['glyph_recipe'] == 'paper' and ck['tokenizer']['name'] == 'small'
    bad = subprocess.run([*compare, '--arms=paper_exact', '--bvv241=missing.json', '--dataset=other'], cwd=work,
                         capture_output=True, text=True, env=env)
    assert bad.returncode != 0 and 'data/other_bvv241 is not prepared' in bad.stderr
