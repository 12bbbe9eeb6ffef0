"""
Several checkpoints as one model: logit fusion of experts that share a tokenizer (the paper's "MoE").
Each expert keeps its own blocks and head; nothing is shared but the vocabulary. Two rules:
  logits  the paper's: the mean of the experts' logits. softmax(mean of logits) is proportional to the
          geometric mean of the experts' probabilities: a product of experts, not a mixture
  probs   the mixture: the mean of the experts' probabilities
Averaging logits never touches the input embedding, so fusion itself needs only a shared vocabulary: any
embedding fuses, the table-free 'affine' one too (it holds no V x n_embd table, and fusion reads none).
    python sample.py a.pt b.pt --start "Жизнь"  # --fusion probs for the mixture
    python eval_mmlu.py a.pt b.pt --limit 10 --out fused.json
"""
import math
from types import SimpleNamespace

import torch
import torch.nn as nn
from torch.nn import functional as F

from model import GPT, load_checkpoint

class Caches:
    """one KV cache per expert, moved together: GPT.generate reads and resets .pos"""
    def __init__(self, caches):
        self.caches = caches

    @property
    def pos(self):
        return self.caches[0].pos

    @pos.setter
    def pos(self, value):
        for c in self.caches:
            c.pos = value

class Fused(nn.Module):
    def __init__(self, experts, rule='logits'):
        super().__init__()
        if rule not in ('logits', 'probs'):
            raise ValueError(f"fusion rule {rule!r}: use 'logits' (the paper's) or 'probs' (the mixture)")
        self.experts, self.rule = nn.ModuleList(experts), rule
        self.config = SimpleNamespace(block_size=min(e.config.block_size for e in experts),
                                      vocab_size=experts[0].config.vocab_size)

    def combine(self, logits):
        """[(..., V) per expert] -> (..., V): mean logits, or the log of the mean probability"""
        if self.rule == 'logits':
            return torch.stack([l.float() for l in logits]).mean(0)
        logp = torch.stack([F.log_softmax(l.float(), dim=-1) for l in logits])
        return torch.logsumexp(logp, dim=0) - math.log(len(logits))

    def logits_at(self, idx, rows, cols):
        return self.combine([e.logits_at(idx, rows, cols) for e in self.experts])

    def forward(self, idx, targets=None, cache=None, reduction='mean'):
        """GPT.forward's contract. Without targets, generation's step: the last position's combined logits.
        With targets, the combined logits at every position and their cross-entropy, so that the val split
        scores a fused model as it scores one (experiments/rarity.py's val_nats). Fused models are for
        inference: train the experts"""
        if targets is None:
            caches = cache.caches if cache is not None else [None] * len(self.experts)
            return self.combine([e(idx, cache=c)[0] for e, c in zip(self.experts, caches)]), None
        B, T = idx.shape
        rows = torch.arange(B).repeat_interleave(T) # (B*T,) every position, row by row
        cols = torch.arange(T).repeat(B)
        logits = self.logits_at(idx, rows, cols) # (B*T, V)
        loss = F.cross_entropy(logits, targets.reshape(-1), ignore_index=-1, reduction=reduction)
        return logits.view(B, T, -1), loss.view_as(targets) if reduction == 'none' else loss

    def new_cache(self, batch_size, device):
        return Caches([e.new_cache(batch_size, device) for e in self.experts])

    generate = GPT.generate # the same sampling loop: it needs only forward, new_cache and config.block_size

def describe(model):
    """what an expert is, for the fused model's record: its embedding and shape"""
    return {k: getattr(model.config, k) for k in ('embedding', 'n_layer', 'n_embd', 'block_size')}

def load_model(paths, device='cpu', rule='logits'):
    """one checkpoint -> (GPT, tokenizer); several -> (Fused, tokenizer), refused with one sentence when
    their tokenizers or vocabularies differ. Different embeddings (glyph, trainable, random, binary,
    affine), depths or widths are allowed and named in model.checkpoint, which the evaluation's JSON
    carries"""
    if isinstance(paths, str) or len(paths) == 1:
        return load_checkpoint(paths if isinstance(paths, str) else paths[0], device)
    loaded = [load_checkpoint(p, device) for p in paths]
    first, tok = loaded[0]
    for (m, t), p in zip(loaded[1:], paths[1:]):
        if t.hash != tok.hash:
            raise ValueError(f"{p} has another tokenizer than {paths[0]} ({t.hash[:16]} vs {tok.hash[:16]}): "
                             f"fuse experts trained on one tokenizer "
                             f"(prepare.py --tokenizer data/<dataset>/tokenizer.json)")
        if m.config.vocab_size != first.config.vocab_size:
            raise ValueError(f"{p} has {m.config.vocab_size} ids and {paths[0]} {first.config.vocab_size}: "
                             f"fuse experts with one vocabulary")
    model = Fused([m for m, _ in loaded], rule).eval()
    sizes = sorted({m.config.block_size for m, _ in loaded})
    if len(sizes) > 1:
        print(f"fusion: the experts' contexts differ ({', '.join(map(str, sizes))}): "
              f"using the smallest, {sizes[0]}")
    experts = []
    for p, (m, _) in zip(paths, loaded):
        experts.append(dict(path=p, **describe(m), iter_num=m.checkpoint['iter_num'],
                            provenance=m.checkpoint['provenance']))
    # the first expert's config: its precision is the fused model's
    model.checkpoint = {'fusion': rule, 'config': first.checkpoint['config'], 'experts': experts}
    return model, tok
