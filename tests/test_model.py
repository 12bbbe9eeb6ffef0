"""Behaviour of model.py: frozen embeddings stay frozen, the cache decodes like the plain forward, init is sane."""

import io
import math
import warnings

import pytest
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

import chunked_loss
import embeddings
import model as model_py
from chunked_loss import chunked_cross_entropy
from model import (GPT, GPTConfig, KVCache, apply_rotary, load_checkpoint, model_from_checkpoint, peak_flops,
                   read_checkpoint)
from tokenizer import load_tokenizer

V, C = 512, 64

def tiny(embedding='trainable', **kw):
    args = dict(block_size=32, vocab_size=V, n_layer=2, n_head=4, n_embd=C, embedding=embedding)
    args.update(kw)
    return GPTConfig(**args)

def glyph_like(seed=0):
    # stands in for glyphs.py's output: float32 [V, C] with unit rows
    w = torch.randn(V, C, generator=torch.Generator().manual_seed(seed))
    return torch.nn.functional.normalize(w, dim=1)

def batch(seed=0, B=4, T=32):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, V, (B, T), generator=g), torch.randint(0, V, (B, T), generator=g)

def train_steps(model, n, lr=1e-2, wd=0.1):
    opt = model.configure_optimizers(wd, lr, (0.9, 0.95), 'cpu')
    x, y = batch()
    losses = []
    for _ in range(n):
        _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
    return opt, losses

# -----------------------------------------------------------------------------
# the frozen embedding

@pytest.mark.parametrize('embedding', ['glyph', 'random', 'binary'])
def test_frozen_embedding_is_untouched_by_training(embedding):
    torch.manual_seed(0)
    model = GPT(tiny(embedding), wte=glyph_like() if embedding == 'glyph' else None)
    wte = model.transformer.wte.weight
    before = wte.clone()
    assert not wte.requires_grad
    assert 'transformer.wte.weight' not in dict(model.named_parameters())
    assert 'transformer.wte.weight' in model.state_dict()
    opt, _ = train_steps(model, 5, wd=0.5) # weight decay would shrink it if it were in a group
    assert all(p is not wte for group in opt.param_groups for p in group['params'])
    assert torch.equal(model.transformer.wte.weight, before) # bit-identical
    if embedding == 'glyph':
        assert torch.equal(before, glyph_like())

def test_trainable_embedding_learns_without_decay():
    torch.manual_seed(0)
    model = GPT(tiny('trainable'))
    wte = model.transformer.wte.weight
    assert wte.requires_grad
    assert wte.norm(dim=1).mean().item() == pytest.approx(1.0, abs=0.1) # 'unit' init: rows like the frozen ones
    before = wte.detach().clone()
    opt, _ = train_steps(model, 3)
    assert not torch.equal(wte.detach(), before)
    groups = [g for g in opt.param_groups if any(p is wte for p in g['params'])]
    assert len(groups) == 1 and groups[0]['weight_decay'] == 0.0
    gpt2 = GPT(tiny('trainable', wte_init='gpt2')).transformer.wte.weight
    assert gpt2.std().item() == pytest.approx(0.02, rel=0.1)

@pytest.mark.parametrize('embedding', ['random', 'binary'])
def test_ablation_matrices_are_deterministic_and_unit_norm(embedding):
    torch.manual_seed(1)
    a = GPT(tiny(embedding)).transformer.wte.weight
    torch.manual_seed(2) # the model seed must not change the matrix
    b = GPT(tiny(embedding)).transformer.wte.weight
    assert torch.equal(a, b)
    assert a.dtype == torch.float32 and a.shape == (V, C)
    assert torch.allclose(a.norm(dim=1), torch.ones(V), atol=1e-5)

def test_random_embedding_follows_its_own_seed():
    a = GPT(tiny('random', embedding_seed=1)).transformer.wte.weight
    b = GPT(tiny('random', embedding_seed=2)).transformer.wte.weight
    assert not torch.equal(a, b)

def test_binary_rows_are_distinct_and_encode_the_id():
    w = GPT(tiny('binary')).transformer.wte.weight
    assert torch.unique(w, dim=0).shape[0] == V
    nbits = math.ceil(math.log2(V))
    signs = (w[:, :nbits] > 0).long()
    ids = (signs * (2 ** torch.arange(nbits))).sum(dim=1)
    assert torch.equal(ids, torch.arange(V))
    assert torch.equal(w[:, :nbits], w[:, nbits:2 * nbits]) # tiled

def test_glyph_init_starts_a_trainable_embedding_at_the_glyph_rows():
    torch.manual_seed(0)
    model = GPT(tiny('trainable', wte_init='glyph'), wte=glyph_like())
    wte = model.transformer.wte.weight
    assert isinstance(wte, torch.nn.Parameter) and wte.requires_grad
    assert torch.equal(wte.detach(), glyph_like()) # the rows themselves, not redrawn by the init
    torch.manual_seed(0) # the other weights are those of every arm under the same seed
    plain = GPT(tiny('trainable'))
    assert torch.equal(model.lm_head.weight, plain.lm_head.weight)
    train_steps(model, 3)
    assert not torch.equal(wte.detach(), glyph_like()) # and it learns from there
    back = GPT(tiny('trainable', wte_init='glyph')) # a checkpoint reader: zeros, then load_state_dict
    back.load_state_dict(model.state_dict())
    assert torch.equal(back.transformer.wte.weight, wte)
    with pytest.raises(ValueError, match="wte_init='glyph' wants"):
        GPT(tiny('trainable', wte_init='glyph'), wte=torch.zeros(V + 1, C))
    with pytest.raises(ValueError, match="unknown wte_init 'glyphs'"):
        GPT(tiny('trainable', wte_init='glyphs'))

def test_affine_embedding_is_table_free_and_a_recoding_of_the_binary_rows():
    cfg = lambda **kw: GPTConfig(block_size=8, vocab_size=256, n_layer=1, n_head=2, n_embd=64, **kw)
    model = GPT(cfg(embedding='affine', embedding_seed=3))
    emb = model.transformer.wte
    w = emb.weight
    assert w.shape == (256, 64) and torch.unique(w, dim=0).shape[0] == 256 # distinct rows
    assert torch.allclose(w.norm(dim=1), torch.ones(256), atol=1e-6)
    # at V = 2^K the rows are the binary arm's, in another order
    binary = GPT(cfg(embedding='binary')).transformer.wte.weight
    key = lambda m: sorted(map(tuple, (m > 0).int().tolist()))
    assert key(w) == key(binary) and not torch.equal(w, binary)
    # the forward pass computes what .weight holds, for any batch shape
    idx = torch.randint(0, 256, (3, 5))
    assert torch.equal(emb(idx), w[idx])
    # the same seed, the same map; another seed, another one; the model seed does not enter
    torch.manual_seed(9)
    assert torch.equal(GPT(cfg(embedding='affine', embedding_seed=3)).transformer.wte.weight, w)
    assert not torch.equal(GPT(cfg(embedding='affine', embedding_seed=4)).transformer.wte.weight, w)
    # A is invertible over GF(2), and the checkpoint holds A and b, no V x n_embd tensor
    sd = model.state_dict()
    assert {k for k in sd if k.startswith('transformer.wte')} == {'transformer.wte.A', 'transformer.wte.b'}
    assert sd['transformer.wte.A'].shape == (8, 8) and sd['transformer.wte.b'].shape == (8,)
    back = GPT(cfg(embedding='affine', embedding_seed=5)) # a reader loads the map, whatever its own seed
    back.load_state_dict(sd)
    assert torch.equal(back.transformer.wte.weight, w)
    assert not any(p is emb.A for p in model.parameters())
    with pytest.raises(ValueError, match="needs n_embd >= 9"):
        GPT(GPTConfig(block_size=8, vocab_size=300, n_layer=1, n_head=1, n_embd=8, embedding='affine'))

def test_bad_embedding_settings_are_one_sentence_each():
    cfg = lambda **kw: GPTConfig(block_size=8, vocab_size=64, n_layer=1, n_head=2, n_embd=16, **kw)
    with pytest.raises(ValueError, match="unknown embedding 'glyphs': use 'glyph', 'trainable'"):
        GPT(cfg(embedding='glyphs'))
    # a seed only random and affine draw from: said to be ignored elsewhere, and the rows do not change
    with pytest.warns(UserWarning, match="embedding_seed=7 is ignored: embedding='binary' draws nothing"):
        binary = GPT(cfg(embedding='binary', embedding_seed=7)).transformer.wte.weight
    assert torch.equal(binary, GPT(cfg(embedding='binary')).transformer.wte.weight)
    with warnings.catch_warnings():
        warnings.simplefilter('error') # the seed's own arms, and the default seed anywhere: no warning
        GPT(cfg(embedding='random', embedding_seed=7)), GPT(cfg(embedding='affine', embedding_seed=7))
        GPT(cfg(embedding='trainable'))

def test_invertible_gf2_finds_full_rank_matrices():
    g = torch.Generator().manual_seed(0)
    for k in (1, 4, 16):
        a = embeddings.invertible_gf2(k, g).long()
        # invertible: the map is one-to-one on all 2^k inputs (k <= 16 here)
        if k <= 16:
            x = (torch.arange(2 ** k).unsqueeze(1) >> torch.arange(k)) & 1
            assert torch.unique((x @ a.T) % 2, dim=0).shape[0] == 2 ** k

def test_glyph_mode_checks_its_matrix():
    with pytest.raises(ValueError, match='config wants'):
        GPT(tiny('glyph'), wte=torch.zeros(V + 1, C))
    with pytest.raises(ValueError, match="only used with embedding='glyph'"):
        GPT(tiny('random'), wte=glyph_like())
    with pytest.raises(ValueError, match='all zeros'):
        GPT(tiny('glyph')).configure_optimizers(0.1, 1e-3, (0.9, 0.95), 'cpu')
    model = GPT(tiny('glyph'), wte=glyph_like().numpy()) # an ndarray from glyphs.py works too
    assert model.transformer.wte.weight.dtype == torch.float32

def test_state_dict_round_trip_keeps_the_buffer():
    torch.manual_seed(0)
    model = GPT(tiny('glyph'), wte=glyph_like())
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    buf.seek(0)
    sd = torch.load(buf, weights_only=True)
    assert not any(k.startswith('rope') for k in sd) # recomputed from the config, not saved
    fresh = GPT(tiny('glyph')) # no font needed: the matrix comes back from the checkpoint
    fresh.load_state_dict(sd)
    assert torch.equal(fresh.transformer.wte.weight, glyph_like())
    x, y = batch()
    assert torch.equal(fresh(x, y)[1], model(x, y)[1])

# -----------------------------------------------------------------------------
# init, training, counting

@pytest.mark.parametrize('embedding', ['trainable', 'random', 'binary'])
def test_loss_at_init_is_near_uniform(embedding):
    torch.manual_seed(0)
    cfg = tiny(embedding, vocab_size=4096, n_embd=256)
    model = GPT(cfg)
    x = torch.randint(0, 4096, (4, 32))
    _, loss = model(x, x)
    # GPT-2's 0.02 head init would sit ~0.05 nats above ln(V) at this width
    assert abs(loss.item() - math.log(4096)) < 0.02

@pytest.mark.parametrize('embedding', ['glyph', 'trainable'])
def test_a_few_steps_lower_the_loss(embedding):
    torch.manual_seed(0)
    model = GPT(tiny(embedding), wte=glyph_like() if embedding == 'glyph' else None)
    _, losses = train_steps(model, 8)
    assert losses[-1] < losses[0] - 0.5

def test_ignore_index_and_output_shapes():
    model = GPT(tiny('random'))
    x, y = batch()
    logits, loss = model(x)
    assert logits.shape == (4, 1, V) and loss is None
    y[:, ::2] = -1
    logits, loss = model(x, y)
    assert logits.shape == (4, 32, V)
    ref = torch.nn.functional.cross_entropy(logits[:, 1::2].reshape(-1, V), y[:, 1::2].reshape(-1))
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)

def test_param_count_excludes_the_input_embedding():
    a, b = GPT(tiny('trainable')), GPT(tiny('binary'))
    assert a.get_num_params() == b.get_num_params() > 0
    assert sum(p.numel() for p in a.parameters()) - a.get_num_params() == V * C # the trainable wte

def test_flops_per_token_match_counted_matmuls():
    # count what forward + backward really multiply (the math attention kernel, which FlopCounterMode sees,
    # computes the full T x T scores as the PaLM formula assumes); layer norms and the lookup are not matmuls
    for embedding in ('trainable', 'glyph'):
        model = GPT(tiny(embedding), wte=glyph_like() if embedding == 'glyph' else None)
        x, y = batch()
        with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
            model(x, y)[1].backward()
        assert model.flops_per_token() * x.numel() == pytest.approx(counter.get_total_flops(), rel=0.01)

def test_state_dict_keys_and_shapes_are_pinned():
    # checkpoints written by earlier versions must keep loading: these names and shapes are the format
    model = GPT(tiny('glyph', n_layer=1), wte=glyph_like())
    assert {k: tuple(v.shape) for k, v in model.state_dict().items()} == {
        'transformer.wte.weight': (V, C), 'transformer.h.0.ln_1.weight': (C,),
        'transformer.h.0.attn.c_attn.weight': (3 * C, C), 'transformer.h.0.attn.c_proj.weight': (C, C),
        'transformer.h.0.ln_2.weight': (C,), 'transformer.h.0.mlp.c_fc.weight': (4 * C, C),
        'transformer.h.0.mlp.c_proj.weight': (C, 4 * C), 'transformer.ln_f.weight': (C,), 'lm_head.weight': (V, C)}

def test_rotary_scores_depend_on_distance_only():
    model = GPT(tiny('random'))
    hs = C // 4
    q, k = torch.randn(2, 1, 1, 1, hs).unbind(0) # (B, T, nh, hs) each
    def score(m, n): # rotated q at position m . rotated k at position n
        return (apply_rotary(q, model.rope[[m]]) * apply_rotary(k, model.rope[[n]])).sum().item()
    assert score(5, 3) == pytest.approx(score(15, 13), abs=1e-5)
    assert score(5, 3) == pytest.approx(score(31, 29), abs=1e-5)
    assert abs(score(5, 3) - score(5, 4)) > 1e-3 # and it does depend on the distance

def test_chunked_loss_and_every_gradient_equal_the_plain_head(monkeypatch):
    x, y = batch(B=3)
    y[0, ::3] = -1 # ignored targets
    grads, losses = {}, {}
    for chunked in (False, True):
        monkeypatch.setattr(model_py, 'CHUNKED_LOSS_VOCAB', V if chunked else V + 1)
        monkeypatch.setattr(chunked_loss, 'CHUNK', 10) # 96 positions: 10 chunks, the last one short
        torch.manual_seed(0)
        model = GPT(tiny('trainable'))
        logits, loss = model(x, y)
        assert (logits is None) == chunked
        (2.5 * loss).backward() # a scale, as gradient accumulation applies
        losses[chunked], grads[chunked] = loss, {n: p.grad for n, p in model.named_parameters()}
        with torch.no_grad():
            nats = model(x, y, reduction='none')[1]
        assert nats.shape == y.shape and (nats[y == -1] == 0).all()
        assert nats[y != -1].mean().item() == pytest.approx(loss.item(), rel=1e-6)
    assert losses[True].item() == pytest.approx(losses[False].item(), rel=1e-6)
    for n, g in grads[False].items():
        assert torch.allclose(grads[True][n], g, rtol=1e-4, atol=1e-7), n

def test_chunked_loss_under_bfloat16_autocast_on_cpu(monkeypatch):
    # matmuls in bfloat16, the log-sum-exp in float32: near the float32 loss, and chunked == plain
    x, y = batch()
    torch.manual_seed(0)
    model = GPT(tiny('trainable'))
    fp32 = model(x, y)[1].item()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        plain = model(x, y)[1]
        monkeypatch.setattr(model_py, 'CHUNKED_LOSS_VOCAB', V)
        chunked = model(x, y)[1]
    assert plain.dtype == chunked.dtype == torch.float32 and plain.item() != fp32
    assert chunked.item() == pytest.approx(plain.item(), rel=1e-3) and plain.item() == pytest.approx(fp32, rel=1e-2)
    chunked.backward()
    assert all(p.grad.dtype == p.dtype == torch.float32 and p.grad.isfinite().all() for p in model.parameters())

def test_chunked_loss_without_gradients_is_the_mean_of_the_nats():
    h, w = torch.randn(50, C), torch.randn(V, C) / 8
    t = torch.randint(0, V, (50,))
    ref = F.cross_entropy(h @ w.t(), t, reduction='none')
    assert torch.allclose(chunked_cross_entropy(h, w, t, 'none', chunk=7), ref, atol=1e-5)
    assert chunked_cross_entropy(h, w, t, chunk=7).item() == pytest.approx(ref.mean().item(), rel=1e-6)

# -----------------------------------------------------------------------------
# generation

def greedy_without_cache(model, idx, n):
    bs = model.config.block_size
    for _ in range(n):
        logits, _ = model(idx[:, -bs:])
        idx = torch.cat((idx, logits[:, -1].argmax(-1, keepdim=True)), dim=1)
    return idx

@pytest.mark.parametrize('prompt_len,new', [(5, 20), (40, 10), (20, 30)]) # short; longer than block; crossing it
def test_kv_cache_generation_equals_no_cache_greedy(prompt_len, new):
    torch.manual_seed(0)
    model = GPT(tiny('random')).eval()
    with torch.no_grad(): # a sharper head, so that every greedy choice depends on the context and positions
        model.lm_head.weight.mul_(30)
    idx = torch.randint(0, V, (2, prompt_len), generator=torch.Generator().manual_seed(1))
    ref = greedy_without_cache(model, idx, new)
    out = model.generate(idx, new, temperature=0)
    assert out.shape == (2, prompt_len + new)
    assert torch.equal(out, ref)
    assert len(set(out[0, prompt_len:].tolist())) > 3 # not a constant stream that any bug would also produce

def test_kv_cache_logits_match_the_full_forward():
    torch.manual_seed(0)
    model = GPT(tiny('random')).eval()
    idx = torch.randint(0, V, (2, 12))
    cache = KVCache(model.config, 2, 'cpu', torch.float32)
    model(idx[:, :5], cache=cache)
    for t in range(5, 12):
        step, _ = model(idx[:, t:t+1], cache=cache)
        full, _ = model(idx[:, :t+1])
        assert torch.allclose(step, full, atol=1e-5)

def test_sampling_is_reproducible_with_a_generator():
    torch.manual_seed(0)
    model = GPT(tiny('random')).eval()
    idx = torch.zeros(1, 1, dtype=torch.long)
    a = model.generate(idx, 10, top_k=50, generator=torch.Generator().manual_seed(7))
    b = model.generate(idx, 10, top_k=50, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)

def test_non_embedding_weights_do_not_depend_on_the_embedding_mode():
    # the comparison's arms must differ in the input embedding only
    states = {}
    for embedding in ['glyph', 'trainable', 'random', 'binary']:
        torch.manual_seed(1337)
        model = GPT(tiny(embedding), wte=glyph_like() if embedding == 'glyph' else None)
        states[embedding] = {k: v for k, v in model.state_dict().items() if k != 'transformer.wte.weight'}
    for embedding, state in states.items():
        assert all(torch.equal(state[k], states['glyph'][k]) for k in state), embedding

def test_load_checkpoint_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist: train one"):
        load_checkpoint(str(tmp_path / 'nope.pt'))
    torch.save({'model': {}}, tmp_path / 'foreign.pt')
    with pytest.raises(ValueError, match="no tokenizer or model record"):
        load_checkpoint(str(tmp_path / 'foreign.pt'))

def test_mfu_is_the_share_of_the_gpus_peak():
    model = GPT(tiny('trainable'))
    assert peak_flops('NVIDIA H100 80GB HBM3') == 989e12 and peak_flops('cpu') is None
    mfu = model.estimate_mfu(10_000, 0.5, 'NVIDIA A100-SXM4-40GB') # 20,000 tokens/s
    assert mfu == pytest.approx(model.flops_per_token() * 20_000 / 312e12, rel=1e-12)
    assert model.estimate_mfu(10_000, 0.5, 'cpu') is None # no peak to divide by

def test_every_reader_of_a_checkpoint_loads_the_same_model(tmp_path):
    # the layout train.py writes, read back by load_checkpoint (sample, eval) and by resume (train.py)
    tok = load_tokenizer('unicode')
    args = dict(block_size=16, vocab_size=tok.vocab_size, n_layer=1, n_head=2, n_embd=16, embedding='binary')
    torch.manual_seed(0)
    model = GPT(GPTConfig(**args))
    ckpt = {'model': model.state_dict(), 'model_args': args, 'iter_num': 3, 'config': {'dtype': 'float32'},
            'tokenizer': tok.spec, 'tokenizer_hash': tok.hash, 'provenance': {}}
    torch.save(ckpt, tmp_path / 'ckpt.pt')
    loaded, tok2 = load_checkpoint(str(tmp_path / 'ckpt.pt'))
    resumed = model_from_checkpoint(read_checkpoint(str(tmp_path / 'ckpt.pt')))
    assert tok2.hash == tok.hash and loaded.checkpoint['iter_num'] == 3 and not loaded.training
    for m in (loaded, resumed):
        assert all(torch.equal(a, b) for a, b in zip(m.state_dict().values(), model.state_dict().values()))
    with pytest.raises(FileNotFoundError, match='^no ckpt here: run the first stage$'):
        read_checkpoint(str(tmp_path / 'nope.pt'), 'no ckpt here: run the first stage')
