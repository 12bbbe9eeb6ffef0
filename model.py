"""
The GPT of the paper, all of it in this single file: pre-norm blocks, rotary positions, GELU MLP 4x,
causal attention through F.scaled_dot_product_attention, an untied trainable output head, and an input
embedding chosen by one key, GPTConfig.embedding:
  'glyph'     frozen matrix from glyphs.py, passed in as GPT(config, wte=matrix)   (the paper's model)
  'trainable' an ordinary learned nn.Embedding                                      (the paper's baseline)
  'random'    frozen Gaussian rows, L2-normalized                                   (ablation)
  'binary'    frozen +-1 bits of the token id, tiled to n_embd, L2-normalized       (ablation)
  'affine'    'binary' of the id recoded by x -> Ax + b over GF(2), computed on the fly: no table
              (table-free, after Bochkov, arXiv 2605.09751)                         (ablation)
Every frozen matrix is a buffer, saved in the state_dict, so sampling and eval need no font. The
ablations' rows are made in embeddings.py.
References: karpathy/nanoGPT model.py (the shape of this file), RoFormer (arXiv 2104.09864).
"""

import math
import os
import warnings
from dataclasses import dataclass

import torch
import torch.nn as nn
from torch.nn import functional as F

from chunked_loss import chunked_cross_entropy
from embeddings import AffineEmbedding, binary_rows, random_rows
from tokenizer import load_tokenizer

# from this many ids on, the loss runs chunk by chunk (chunked_loss.py): at 32,768 the full float32
# logits and their gradient cost 256 KB per token, more than the rest of a token's training memory at
# n_embd <= 1024
CHUNKED_LOSS_VOCAB = 32768

# -----------------------------------------------------------------------------
# rotary positions

def rotary_table(block_size, head_size, base):
    # one rotation frequency per pair of channels, as (cos, sin) for every position the model can see;
    # kept real (not complex) so that model.to(dtype) casts it like any other buffer
    inv_freq = 1.0 / (base ** (torch.arange(0, head_size, 2, dtype=torch.float32) / head_size))
    angles = torch.outer(torch.arange(block_size, dtype=torch.float32), inv_freq) # (block_size, hs/2)
    return torch.stack((angles.cos(), angles.sin()), dim=-1) # (block_size, hs/2, 2)

def apply_rotary(x, rope):
    """x (B, T, nh, hs): rotate each channel pair (2i, 2i+1) by its position's angle at its frequency, so
    that a rotated query . a rotated key depends on their distance only. In fp32: angles need the precision"""
    x1, x2 = x.float().unflatten(-1, (-1, 2)).unbind(-1) # (B, T, nh, hs/2) each
    cos, sin = rope.float().unsqueeze(1).unbind(-1) # (T, 1, hs/2) each
    return torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1).flatten(-2).type_as(x)

# -----------------------------------------------------------------------------
# the blocks

class KVCache:
    """ keys and values of every layer for the positions seen so far: a new token costs one position """

    def __init__(self, config, batch_size, device, dtype):
        hs = config.n_embd // config.n_head
        shape = (config.n_layer, batch_size, config.n_head, config.block_size, hs)
        self.k = torch.empty(shape, device=device, dtype=dtype)
        self.v = torch.empty(shape, device=device, dtype=dtype)
        self.pos = 0 # positions filled so far, also the rotary position of the next token

class CausalSelfAttention(nn.Module):

    def __init__(self, config, layer):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        # one matmul makes q, k and v for every head at once
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        self.dropout = config.dropout
        self.layer = layer # which slice of a KVCache is ours

    def forward(self, x, rope, cache=None):
        B, T, C = x.size() # sequences, positions, channels (n_embd)
        hs = C // self.n_head
        # split into q, k, v, each (B, T, nh, hs); heads become a batch dimension for the attention kernel
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q = apply_rotary(q.view(B, T, self.n_head, hs), rope).transpose(1, 2) # (B, nh, T, hs)
        k = apply_rotary(k.view(B, T, self.n_head, hs), rope).transpose(1, 2) # (B, nh, T, hs)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2) # (B, nh, T, hs)
        if cache is not None:
            # is_causal aligns the mask top-left, which is only right for a prefill from 0 or a single query
            p = cache.pos
            assert p == 0 or T == 1, "the KV cache takes a prefill from position 0, then one token at a time"
            cache.k[self.layer, :, :, p:p+T] = k
            cache.v[self.layer, :, :, p:p+T] = v
            k = cache.k[self.layer, :, :, :p+T] # (B, nh, p+T, hs)
            v = cache.v[self.layer, :, :, :p+T]
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0,
                                           is_causal=T > 1)
        y = y.transpose(1, 2).contiguous().view(B, T, C) # the heads' outputs concatenated per position
        return self.resid_dropout(self.c_proj(y))

class MLP(nn.Module):

    def __init__(self, config):
        super().__init__()
        self.c_fc    = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu    = nn.GELU()
        self.c_proj  = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))

class Block(nn.Module):

    def __init__(self, config, layer):
        super().__init__()
        self.ln_1 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config, layer)
        self.ln_2 = nn.LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x, rope, cache=None):
        x = x + self.attn(self.ln_1(x), rope, cache)
        x = x + self.mlp(self.ln_2(x))
        return x

# -----------------------------------------------------------------------------
# the input embeddings

class FrozenEmbedding(nn.Module):
    """ a lookup table held as a buffer, not a Parameter, so no optimizer can ever touch it """

    def __init__(self, weight):
        super().__init__()
        # persistent: saved in the checkpoint
        self.register_buffer('weight', weight.detach().float().contiguous())

    def forward(self, idx):
        return F.embedding(idx, self.weight)

def make_embedding(config, wte=None):
    """the input embedding that config.embedding names; wte is the glyph matrix, for 'glyph' only"""
    V, C = config.vocab_size, config.n_embd
    if config.embedding == 'glyph':
        # zeros until a checkpoint's load_state_dict fills them; configure_optimizers refuses to train zeros
        wte = torch.zeros(V, C) if wte is None else torch.as_tensor(wte, dtype=torch.float32)
        if tuple(wte.shape) != (V, C):
            raise ValueError(f"glyph matrix is {tuple(wte.shape)}, the config wants ({V}, {C}): "
                             "build it with the same tokenizer and n_embd")
        emb = FrozenEmbedding(wte)
    elif config.embedding == 'trainable' and config.wte_init == 'glyph':
        # the glyph rows as the starting point of a learned table: glyph content without the freezing.
        # Zeros until a checkpoint fills them, as for 'glyph' (train.py passes the matrix)
        wte = torch.zeros(V, C) if wte is None else torch.as_tensor(wte, dtype=torch.float32).clone()
        if tuple(wte.shape) != (V, C):
            raise ValueError(f"glyph matrix is {tuple(wte.shape)}, wte_init='glyph' wants ({V}, {C}): "
                             "build it with the same tokenizer and n_embd")
        emb = nn.Embedding.from_pretrained(wte, freeze=False)
    elif wte is not None:
        raise ValueError("wte is the glyph matrix, only used with embedding='glyph' or wte_init='glyph', "
                         f"not '{config.embedding}'")
    elif config.embedding == 'trainable':
        # from an empty tensor, initialised by GPT.__init__ last: constructing it draws no random numbers,
        # so the non-embedding weights are the same for every embedding mode under the same seed
        emb = nn.Embedding.from_pretrained(torch.empty(V, C), freeze=False)
    elif config.embedding == 'random':
        emb = FrozenEmbedding(random_rows(config))
    elif config.embedding == 'binary':
        emb = FrozenEmbedding(binary_rows(config))
    elif config.embedding == 'affine':
        emb = AffineEmbedding(config)
    else:
        raise ValueError(f"unknown embedding '{config.embedding}': "
                         "use 'glyph', 'trainable', 'random', 'binary' or 'affine'")
    if config.embedding not in ('random', 'affine') and config.embedding_seed != GPTConfig.embedding_seed:
        warnings.warn(f"embedding_seed={config.embedding_seed} is ignored: embedding='{config.embedding}' "
                      "draws nothing from it (only 'random' and 'affine' do)")
    if config.wte_init not in ('unit', 'gpt2', 'glyph'):
        raise ValueError(f"unknown wte_init '{config.wte_init}': use 'unit', 'gpt2' or 'glyph'")
    return emb

@dataclass
class GPTConfig:
    block_size: int = 1024
    vocab_size: int = 131072 # whatever the tokenizer says, unpadded (nanoGPT pads to a multiple of 64)
    n_layer: int = 16
    n_head: int = 32
    n_embd: int = 1024 # defaults are the paper's 0.5B model; train.py sets the CPU-sized one
    dropout: float = 0.0
    bias: bool = False # True: bias in Linears and LayerNorms, like GPT-2. False: a bit better and faster
    rope_base: float = 10000.0 # rotary base period
    embedding: str = 'glyph' # 'glyph' | 'trainable' | 'random' | 'binary' | 'affine', see the docstring
    # trainable only: 'unit' N(0, 1/n_embd), rows of norm ~1 like the frozen ones; 'gpt2' N(0, 0.02^2);
    # 'glyph' the glyph rows (unit norm too), learned from there
    wte_init: str = 'unit'
    embedding_seed: int = 42 # random and affine only: seed of the frozen matrix (map), not the model seed

# -----------------------------------------------------------------------------
# the model

class GPT(nn.Module):

    def __init__(self, config, wte=None):
        super().__init__()
        assert config.vocab_size is not None
        assert config.block_size is not None
        self.config = config
        V, C = config.vocab_size, config.n_embd
        emb = make_embedding(config, wte)

        self.transformer = nn.ModuleDict(dict(
            wte = emb,
            drop = nn.Dropout(config.dropout),
            h = nn.ModuleList([Block(config, i) for i in range(config.n_layer)]),
            ln_f = nn.LayerNorm(C, bias=config.bias),
        ))
        # untied, as in the paper: tied to a frozen input matrix, the head would be frozen too
        self.lm_head = nn.Linear(C, V, bias=False)
        # not persistent: recomputed from the config, so they never bloat or go stale in a checkpoint
        rope = rotary_table(config.block_size, C // config.n_head, config.rope_base)
        self.register_buffer('rope', rope, persistent=False)

        # init all weights
        self.apply(self._init_weights)
        # GPT-2's rule: projections that add into the residual stream start smaller, by 1/sqrt(2 * n_layer)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02/math.sqrt(2 * config.n_layer))
        # ln_f output has unit variance per channel, so logits start with std 0.1 and the loss within
        # ~0.005 of ln(V); GPT-2's 0.02 would give std 0.02*sqrt(n_embd) (0.64 at 1024), i.e. +0.2 nats
        # of noise at step 0
        torch.nn.init.normal_(self.lm_head.weight, mean=0.0, std=0.1 / math.sqrt(C))
        if isinstance(emb, nn.Embedding) and config.wte_init != 'glyph':
            std = {'unit': 1.0 / math.sqrt(C), 'gpt2': 0.02}[config.wte_init]
            torch.nn.init.normal_(emb.weight, mean=0.0, std=std)

        # report number of parameters
        print("number of parameters: %.2fM" % (self.get_num_params()/1e6,))

    def get_num_params(self):
        """ parameters excluding the input embedding (a lookup, and a buffer in the frozen modes) """
        n_params = sum(p.numel() for p in self.parameters())
        if isinstance(self.transformer.wte, nn.Embedding):
            n_params -= self.transformer.wte.weight.numel()
        return n_params

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            torch.nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                torch.nn.init.zeros_(module.bias)

    def hidden(self, idx, cache=None):
        """ the post-ln_f hidden states (B, T, C): eval_mmlu.py runs lm_head at the positions it scores """
        B, T = idx.size()
        p = 0 if cache is None else cache.pos
        bs = self.config.block_size
        assert p + T <= bs, f"Cannot forward sequence of length {p + T}, block size is only {bs}"
        rope = self.rope[p:p+T] # (T, hs/2, 2), the absolute positions of these tokens

        # no input scale, as in the paper and alike for all four modes so the arms compare: ln_1 rescales
        # what block 0 reads anyway, and unit rows (rms 1/sqrt(n_embd) per channel: 0.031 at 1024) sit
        # where GPT-2's wte + wpe at std 0.02 do (0.028)
        x = self.transformer.drop(self.transformer.wte(idx)) # (B, T, C)
        for block in self.transformer.h:
            x = block(x, rope, cache)
        if cache is not None:
            cache.pos += T
        return self.transformer.ln_f(x)

    def logits_at(self, idx, rows, cols):
        """logits (N, V) at the positions (rows[n], cols[n]) of idx only: evaluation scores a few"""
        return self.lm_head(self.hidden(idx)[rows, cols])

    def forward(self, idx, targets=None, cache=None, reduction='mean'):
        """-> (logits, loss). With targets: logits at every position and the mean cross-entropy over the
        targets (-1 = ignored), or each position's nats (B, T) with reduction='none'. From
        CHUNKED_LOSS_VOCAB ids on, the loss goes through chunked_loss.py and logits are None: the full
        logits would cost more memory than the rest of the model. Without targets: the last position's
        logits"""
        x = self.hidden(idx, cache) # (B, T, C)
        if targets is None:
            # generation needs the next token only: the head runs on the last position alone
            return self.lm_head(x[:, [-1], :]), None # (B, 1, V); the list [-1] keeps the time dimension
        if self.config.vocab_size >= CHUNKED_LOSS_VOCAB:
            h = x.view(-1, x.size(-1)) # (B*T, C)
            loss = chunked_cross_entropy(h, self.lm_head.weight, targets.view(-1), reduction)
            return None, loss.view_as(targets) if reduction == 'none' else loss
        logits = self.lm_head(x) # (B, T, V)
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1,
                               reduction=reduction)
        return logits, loss.view_as(targets) if reduction == 'none' else loss

    def configure_optimizers(self, weight_decay, learning_rate, betas, device_type):
        if self.config.embedding == 'glyph' and not self.transformer.wte.weight.any():
            raise ValueError("the glyph embedding is all zeros: "
                             "pass GPT(config, wte=<matrix from glyphs.py>) before training")
        # only what requires grad; the frozen embedding is a buffer and is not even in named_parameters()
        param_dict = {pn: p for pn, p in self.named_parameters() if p.requires_grad}
        # every 2D weight of a matmul decays; biases, LayerNorms and the trainable embedding (a lookup) don't
        decay_params = [p for n, p in param_dict.items() if p.dim() >= 2 and n != 'transformer.wte.weight']
        nodecay_params = [p for n, p in param_dict.items() if p.dim() < 2 or n == 'transformer.wte.weight']
        optim_groups = [
            {'params': decay_params, 'weight_decay': weight_decay},
            {'params': nodecay_params, 'weight_decay': 0.0}
        ]
        num_decay_params = sum(p.numel() for p in decay_params)
        num_nodecay_params = sum(p.numel() for p in nodecay_params)
        print(f"num decayed parameter tensors: {len(decay_params)}, with {num_decay_params:,} parameters")
        print(f"num non-decayed parameter tensors: {len(nodecay_params)}, "
              f"with {num_nodecay_params:,} parameters")
        # fused AdamW: one kernel over all tensors instead of a Python loop of small ops per tensor; on CPU
        # too (torch >= 2.4)
        use_fused = device_type in ('cuda', 'cpu')
        optimizer = torch.optim.AdamW(optim_groups, lr=learning_rate, betas=betas, fused=use_fused or None)
        print(f"using fused AdamW: {use_fused}")
        return optimizer

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, generator=None):
        """
        idx (B, T) token ids -> idx extended by max_new_tokens ids, each drawn from the model's
        distribution given everything before it.
        The prompt is prefilled once into a KV cache, then each new token costs one position.
        temperature=0 is greedy decoding. Most likely you'll want to be in model.eval() mode.
        """
        bs = self.config.block_size
        cache = self.new_cache(idx.size(0), idx.device)
        logits, _ = self(idx[:, -bs:], cache=cache) # a prompt longer than the context is cropped to its end
        for i in range(max_new_tokens):
            logits = logits[:, -1, :] # (B, V)
            if temperature == 0:
                idx_next = logits.argmax(dim=-1, keepdim=True)
            else:
                logits = logits / temperature
                if top_k is not None:
                    v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                    logits[logits < v[:, [-1]]] = -float('Inf')
                probs = F.softmax(logits, dim=-1)
                idx_next = torch.multinomial(probs, num_samples=1, generator=generator)
            idx = torch.cat((idx, idx_next), dim=1)
            if i == max_new_tokens - 1:
                break
            if cache.pos < bs:
                logits, _ = self(idx_next, cache=cache)
            else:
                # the window slides: the no-cache path sees the last block_size tokens from position 0,
                # whose keys differ from the cached ones (those saw more context), so redo the window to
                # stay identical
                cache.pos = 0
                logits, _ = self(idx[:, -bs:], cache=cache)
        return idx

    def new_cache(self, batch_size, device):
        return KVCache(self.config, batch_size, device, self.lm_head.weight.dtype)

    def flops_per_token(self):
        """ training flops per token, PaLM appendix B: 6 per weight (fwd+bwd) plus attention. The input
        embedding is a lookup and is not counted """
        cfg = self.config
        N = sum(p.numel() for p in self.transformer.h.parameters()) + self.lm_head.weight.numel()
        return 6 * N + 12 * cfg.n_layer * cfg.n_embd * cfg.block_size

    def estimate_mfu(self, tokens, seconds, device_name):
        """model flops utilization: the fraction of one GPU's bf16 peak used by training `tokens` tokens
        on it in `seconds`; None for a device whose peak PEAK_FLOPS does not list (a CPU among them)"""
        peak = peak_flops(device_name)
        if peak is None:
            return None
        return self.flops_per_token() * tokens / seconds / peak

# dense bf16 peak FLOP/s per GPU (vendor datasheets), the denominator of GPT.estimate_mfu
PEAK_FLOPS = {'A100': 312e12, 'H100': 989e12, 'H200': 989e12}

def peak_flops(device_name):
    """the peak of a GPU named as torch.cuda.get_device_name() names it, or None"""
    return next((v for k, v in PEAK_FLOPS.items() if k in device_name), None)

# -----------------------------------------------------------------------------
# checkpoints: the one reader of the layout train.py writes, for sampling, evaluation, resume and growth

def read_checkpoint(path, missing=None):
    """the dict train.py saved at path, on the CPU: 'model' (the state_dict), 'optimizer', 'model_args',
    'iter_num', 'config', 'stages', 'world_size', 'tokenizer' (its spec), 'tokenizer_hash', 'provenance'.
    missing: the sentence for a path that does not exist, naming the caller's fix"""
    if not os.path.exists(path):
        raise FileNotFoundError(missing or f"checkpoint {path} does not exist: "
                                           "train one with `python train.py config/cpu.py`")
    checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    if 'tokenizer' not in checkpoint or 'model_args' not in checkpoint:
        raise ValueError(f"{path} has no tokenizer or model record: "
                         "it was not written by glyphgpt's train.py")
    return checkpoint

def model_from_checkpoint(checkpoint):
    """the GPT of a read_checkpoint dict, every weight loaded (the frozen embedding too), on the CPU"""
    model = GPT(GPTConfig(**checkpoint['model_args']))
    model.load_state_dict(checkpoint['model'])
    return model

def load_checkpoint(path, device='cpu'):
    """ckpt.pt written by train.py -> (model in eval mode on device, tokenizer), for sample.py and the
    evaluations. The checkpoint holds the tokenizer and every weight: no font and no dataset are needed."""
    checkpoint = read_checkpoint(path)
    tok = load_tokenizer(checkpoint['tokenizer'])
    if tok.hash != checkpoint['tokenizer_hash']:
        raise ValueError(f"the tokenizer stored in {path} rebuilds with another hash ({tok.hash[:16]} vs "
                         f"{checkpoint['tokenizer_hash'][:16]}): use the glyphgpt version that wrote it")
    model = model_from_checkpoint(checkpoint)
    kept = ('iter_num', 'config', 'world_size', 'provenance', 'tokenizer_hash')
    model.checkpoint = {k: checkpoint.get(k) for k in kept}
    return model.to(device).eval(), tok
