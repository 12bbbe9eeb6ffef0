"""export_hf.py: a tiny random checkpoint exported and loaded by transformers' AutoModelForCausalLM with no
custom code gives glyphgpt's logits at full context (bias and no bias, frozen glyph, trainable and table-free inputs);
the paper's Hugging Face tokenizer is written so that AutoTokenizer gives glyphgpt's ids on the default
corpus's val text; the refusals and the warning for tokenizers that cannot be written."""
import dataclasses
import json
import os

import numpy as np
import pytest
import torch

pytest.importorskip('transformers', reason="the export test needs transformers: pip install transformers")
pytest.importorskip('safetensors', reason="the export test needs safetensors: pip install safetensors")

import export_hf
from conftest import ROOT
from model import GPT, GPTConfig
from tokenizer import load_tokenizer

REF = os.path.join(os.path.dirname(ROOT), 'shared', 'ref')

def small_hf_tokenizer(d):
    """a 13-id tokenizer.json of the paper's kind, made with the library"""
    from tokenizers import Tokenizer, decoders, models
    vocab = {'a': 0, 'b': 1, 'c': 2, 'd': 3, ' ': 4, 'ab': 5, 'bc': 6, '<pad>': 7, '<s>': 8, '</s>': 9,
             '<unk>': 10, '<unused_11>': 11, 'cd': 12}
    t = Tokenizer(models.BPE(vocab=vocab, merges=[('b', 'c'), ('a', 'b')], unk_token='<unk>'))
    t.add_special_tokens(['<pad>', '<s>', '</s>', '<unk>'])
    t.decoder = decoders.Sequence([])
    t.save(str(d / 'small.json'))
    return str(d / 'small.json')

def save_ckpt(path, tok, bias=False, embedding='glyph', seed=0, n_embd=32):
    """a checkpoint in train.py's layout, every weight random and large enough that a wrong layout shows"""
    cfg = GPTConfig(block_size=32, vocab_size=tok.vocab_size, n_layer=2, n_head=2, n_embd=n_embd,
                    bias=bias, embedding=embedding)
    g = torch.Generator().manual_seed(seed)
    wte = torch.randn(cfg.vocab_size, n_embd, generator=g) if embedding == 'glyph' else None
    model = GPT(cfg, wte=wte)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3 + (p.dim() == 1)) # LayerNorm gains near 1
    ck = {'model': model.state_dict(), 'model_args': dataclasses.asdict(cfg), 'iter_num': 7,
          'config': {'dataset': 'tiny', 'glyph_recipe': 'default', 'batch_size': 4,
                     'gradient_accumulation_steps': 1, 'learning_rate': 1e-3, 'seed': seed},
          'stages': [], 'world_size': 1, 'tokenizer': tok.spec, 'tokenizer_hash': tok.hash,
          'provenance': {'glyph_key': 'k' * 64, 'git_commit': 'abc'}}
    torch.save(ck, path)
    return model.eval()

@pytest.mark.parametrize('bias,embedding', [(False, 'glyph'), (True, 'glyph'), (False, 'trainable'),
                                            (False, 'affine')]) # affine: the table it computes
def test_logits_equal_glyphgpts_at_full_context(tmp_path, bias, embedding):
    from transformers import AutoModelForCausalLM
    tok = load_tokenizer(small_hf_tokenizer(tmp_path))
    model = save_ckpt(tmp_path / 'ckpt.pt', tok, bias, embedding)
    export_hf.main([str(tmp_path / 'ckpt.pt'), str(tmp_path / 'hf')])
    hf = AutoModelForCausalLM.from_pretrained(tmp_path / 'hf').eval() # no trust_remote_code
    idx = torch.randint(0, tok.vocab_size, (3, 32), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, _ = model(idx, targets=idx)
        theirs = hf(idx).logits
    assert ours.abs().max() > 1 # the logits are not all near zero, so a layout mistake would show
    assert (ours - theirs).abs().max() <= 1e-4
    config = json.load(open(tmp_path / 'hf' / 'config.json'))
    assert config['glyphgpt']['glyph_key'] == 'k' * 64 and config['glyphgpt']['tokenizer']['hash'] == tok.hash
    assert 'val bits per byte | not recorded' in (tmp_path / 'hf' / 'README.md').read_text()

def test_the_interleaved_rotary_order_matters(tmp_path):
    # the same export without the halves permutation must fail the comparison: the test above can fail
    from transformers import AutoModelForCausalLM
    tok = load_tokenizer(small_hf_tokenizer(tmp_path))
    model = save_ckpt(tmp_path / 'ckpt.pt', tok)
    real = export_hf.halves_order
    try:
        export_hf.halves_order = torch.arange
        export_hf.main([str(tmp_path / 'ckpt.pt'), str(tmp_path / 'hf')])
    finally:
        export_hf.halves_order = real
    hf = AutoModelForCausalLM.from_pretrained(tmp_path / 'hf').eval()
    idx = torch.randint(0, tok.vocab_size, (1, 32), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert (model(idx, targets=idx)[0] - hf(idx).logits).abs().max() > 1e-2

def val_text(n_docs=300):
    """the default corpus's val documents, decoded from data/default's val shard (lossless tokenizer)"""
    d = os.path.join(ROOT, 'data', 'default')
    if not os.path.exists(os.path.join(d, 'val_000000.bin')):
        pytest.skip("data/default is not prepared: python prepare.py (or python main.py)")
    from prepare import read_shard
    ours = load_tokenizer(os.path.join(d, 'tokenizer.json'))
    ids = read_shard(os.path.join(d, 'val_000000.bin'))
    cuts = np.flatnonzero(ids == ours.eot)[:n_docs]
    return [ours.decode(ids[a + 1:b].tolist()) for a, b in zip([-1, *cuts[:-1]], cuts)]

def test_the_papers_tokenizer_gives_glyphgpts_ids_through_autotokenizer(tmp_path):
    from transformers import AutoTokenizer
    path = os.path.join(REF, 'bvv241-2-3.json')
    if not os.path.exists(path):
        pytest.skip(f"{path} is absent: the rebuilt bvv241 tokenizers live in ../shared/ref "
                    "beside the checkout")
    tok = load_tokenizer(path)
    save_ckpt(tmp_path / 'ckpt.pt', tok, n_embd=8)
    export_hf.main([str(tmp_path / 'ckpt.pt'), str(tmp_path / 'hf')])
    hf_tok = AutoTokenizer.from_pretrained(tmp_path / 'hf')
    docs = val_text()
    assert len(docs) >= 100 and sum(map(len, docs)) > 20000
    for text in docs:
        assert hf_tok.encode(text, add_special_tokens=False) == tok.encode(text), text[:80]

def test_refusals_and_the_tokenizer_warning(tmp_path, capsys):
    tok = load_tokenizer(small_hf_tokenizer(tmp_path))
    save_ckpt(tmp_path / 'ckpt.pt', tok)
    with pytest.raises(SystemExit, match='fused model'):
        export_hf.main([str(tmp_path / 'ckpt.pt'), str(tmp_path / 'ckpt.pt'), str(tmp_path / 'hf')])
    with pytest.raises(SystemExit, match='does not exist'):
        export_hf.main([str(tmp_path / 'missing.pt'), str(tmp_path / 'hf')])
    ours = load_tokenizer('unicode') # glyphgpt's own kind: no exact tokenizer.json, said in one sentence
    save_ckpt(tmp_path / 'u.pt', ours, n_embd=8)
    export_hf.main([str(tmp_path / 'u.pt'), str(tmp_path / 'u')])
    assert 'not written as a Hugging Face tokenizer.json' in capsys.readouterr().err
    assert not (tmp_path / 'u' / 'tokenizer.json').exists()
    assert load_tokenizer(str(tmp_path / 'u' / 'glyphgpt_tokenizer.json')).hash == ours.hash
