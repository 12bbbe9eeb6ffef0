"""
The frozen input embeddings the glyph is compared with, none of which looks at the text: Gaussian rows,
the id's bits, and the id's bits recoded by a random affine map over GF(2) with no table at all (after
A. Bochkov, arXiv 2605.09751). model.make_embedding picks one by GPTConfig.embedding.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

def random_rows(config):
    # its own generator: the matrix does not change when the model seed does, and arms stay comparable
    g = torch.Generator().manual_seed(config.embedding_seed)
    w = torch.randn(config.vocab_size, config.n_embd, generator=g)
    return F.normalize(w, dim=1)

def id_bits(config):
    """K = ceil(log2 V): the bits an id needs; n_embd must hold them for distinct ids to get distinct rows"""
    nbits = max(1, math.ceil(math.log2(config.vocab_size)))
    if config.n_embd < nbits:
        raise ValueError(f"embedding '{config.embedding}' needs n_embd >= {nbits} to keep "
                         f"{config.vocab_size} ids distinct; n_embd is {config.n_embd}: "
                         "raise n_embd or use a smaller vocabulary")
    return nbits

def bits_of(ids, nbits):
    """(..., nbits) the bits of each id, least significant first"""
    return (ids.unsqueeze(-1) >> torch.arange(nbits, device=ids.device)) & 1

def sign_rows(bits, n_embd):
    """bits (..., K) as +-1, tiled then truncated to n_embd, unit length: distinct bits, distinct rows"""
    reps = [1] * (bits.dim() - 1) + [math.ceil(n_embd / bits.shape[-1])]
    return F.normalize((2.0 * bits - 1.0).repeat(*reps)[..., :n_embd], dim=-1)

def binary_rows(config):
    # the id's ceil(log2 V) bits as +-1: a fixed address with no look
    return sign_rows(bits_of(torch.arange(config.vocab_size), id_bits(config)), config.n_embd)

def invertible_gf2(k, g):
    """a uniformly random invertible k x k bit matrix: draw until Gaussian elimination over GF(2) finds full
    rank (about 3.5 draws on average: the share of invertible matrices tends to 0.289)"""
    while True:
        a = torch.randint(0, 2, (k, k), generator=g, dtype=torch.uint8)
        m, rank = a.clone(), 0
        for col in range(k):
            rows = (m[rank:, col] == 1).nonzero()
            if len(rows) == 0:
                continue
            r = rank + int(rows[0])
            m[[rank, r]] = m[[r, rank]]
            below = m[:, col].clone()
            below[rank] = 0
            m ^= below.unsqueeze(1) * m[rank] # clear the column everywhere else
            rank += 1
        if rank == k:
            return a

class AffineEmbedding(nn.Module):
    """ the table-free embedding: an id's K bits x, recoded y = Ax + b over GF(2), as the 'binary' rows of y.
    Only A (K x K) and b (K) are held, drawn from embedding_seed; each row is computed in the forward pass,
    and .weight computes the whole table for the readers that want one """

    def __init__(self, config):
        super().__init__()
        self.n_embd, self.vocab_size, k = config.n_embd, config.vocab_size, id_bits(config)
        g = torch.Generator().manual_seed(config.embedding_seed)
        self.register_buffer('A', invertible_gf2(k, g))
        self.register_buffer('b', torch.randint(0, 2, (k,), generator=g, dtype=torch.uint8))

    def forward(self, idx):
        x = bits_of(idx, self.A.shape[0])
        # an exact integer product: each sum is at most K, then mod 2 is the GF(2) product
        return sign_rows((x @ self.A.long().T + self.b.long()) % 2, self.n_embd)

    @property
    def weight(self):
        return self(torch.arange(self.vocab_size, device=self.A.device))
