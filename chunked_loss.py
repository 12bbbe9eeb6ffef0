"""
Cross-entropy through the output layer without the (positions x vocabulary) logits ever existing at
once. At the paper's 131,072 ids the logits and their gradient are most of a training step's memory:
1,024 KB per token in float32, against ~100 KB for everything else a token costs at n_embd 1024. So
the positions go through the head CHUNK at a time, and each chunk's gradients with respect to the hidden
states and the head weight are computed right there, in the forward pass, while its logits exist (the
approach of Liger Kernel's fused linear cross-entropy). The backward pass then only scales them: no
second head matmul, and nothing of size V per position is kept.

model.py calls this when the vocabulary has at least CHUNKED_LOSS_VOCAB ids; tests/test_model.py holds
its loss and every gradient equal to the plain lm_head + F.cross_entropy.
"""
import torch

CHUNK = 1024 # positions per chunk: 512 MiB of float32 logits at 131,072 ids, whatever the batch

def chunk_nats(h, weight, targets, ignore_index=-1):
    """a chunk of hidden states (n, C) -> nats of each target (0 where ignored), the float32 logits
    (n, V) and their log-sum-exp (n,). In float32 whatever dtype the matmul ran in (autocast)"""
    logits = (h @ weight.t()).float() # (n, V)
    lse = torch.logsumexp(logits, dim=-1)
    nats = lse - logits.gather(1, targets.clamp_min(0)[:, None]).squeeze(1)
    return nats.masked_fill(targets == ignore_index, 0.0), logits, lse

class ChunkedCrossEntropy(torch.autograd.Function):
    """mean cross-entropy over the targets that are not ignore_index, with its gradients made in forward"""

    @staticmethod
    def forward(ctx, h, weight, targets, ignore_index, chunk):
        keep = targets != ignore_index
        count = keep.sum().clamp_min(1).float()
        total = torch.zeros((), dtype=torch.float32, device=h.device)
        grad_h = torch.empty_like(h) # (N, C)
        grad_w = torch.zeros(weight.shape, dtype=torch.float32, device=weight.device) # (V, C)
        for i in range(0, h.size(0), chunk):
            hc, tc = h[i:i + chunk], targets[i:i + chunk]
            nats, logits, lse = chunk_nats(hc, weight, tc, ignore_index)
            total += nats.sum()
            # d(sum of nats)/d logits = softmax - one-hot of the target, zero on ignored positions;
            # made in place, in the logits' buffer: the chunk's largest tensor exists once
            g = logits.sub_(lse[:, None]).exp_()
            rows = torch.arange(len(tc), device=h.device)
            g[rows, tc.clamp_min(0)] -= 1.0
            g.mul_(keep[i:i + chunk, None])
            g = g.to(h.dtype)
            grad_h[i:i + chunk] = g @ weight.to(h.dtype) # (n, C)
            grad_w += (g.t() @ hc).float() # (V, C)
            del logits, g # before the next chunk's logits: one chunk's buffer at a time, however many chunks
        ctx.save_for_backward(grad_h.div_(count.to(h.dtype)), grad_w.div_(count).to(weight.dtype))
        return total / count

    @staticmethod
    def backward(ctx, grad_loss):
        grad_h, grad_w = ctx.saved_tensors
        return grad_h * grad_loss.to(grad_h.dtype), grad_w * grad_loss.to(grad_w.dtype), None, None, None

def chunked_cross_entropy(h, weight, targets, reduction='mean', ignore_index=-1, chunk=None):
    """h (N, C) hidden states, weight (V, C) the head, targets (N,) -> the mean loss (reduction='mean',
    differentiable) or each position's nats (reduction='none', for evaluation: no gradients)"""
    chunk = chunk or CHUNK
    if reduction == 'none':
        with torch.no_grad():
            return torch.cat([chunk_nats(h[i:i + chunk], weight, targets[i:i + chunk], ignore_index)[0]
                              for i in range(0, h.size(0), chunk)])
    assert reduction == 'mean', f"reduction {reduction!r}: use 'mean' or 'none'"
    if not (torch.is_grad_enabled() and (h.requires_grad or weight.requires_grad)):
        nats = chunked_cross_entropy(h, weight, targets, 'none', ignore_index, chunk)
        return nats.sum() / (targets != ignore_index).sum().clamp_min(1)
    return ChunkedCrossEntropy.apply(h, weight, targets, ignore_index, chunk)
