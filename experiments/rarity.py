"""
Val bits per byte over the whole val split, and split by token rarity: how often each position's input
token (and, separately, its target token) occurred in the tokens the run actually trained on. Where a
frozen visual embedding could matter at all is on rare tokens: a token seen a handful of times keeps a
trainable row near its random start, while its glyph row already sits near tokens that look alike.
    python -m experiments.rarity out/cpu/ckpt.pt                 # the dataset named in the checkpoint's config
    python -m experiments.rarity out/cpu/ckpt.pt --json r.json
evaluating() is the one way the experiments load a checkpoint (or fuse several) and score it: its
inference precision, no gradients. The training counts are replayed, not stored: train.py draws every micro-batch from an rng seeded by
(seed, iteration, micro-step, rank) through util.draw_windows, so the same calls give the same tokens.
"""
import argparse
import contextlib
import json
import math
import os
import sys

import numpy as np
import torch

from fusion import load_model
from prepare import load_meta, read_shard
from util import autocast, draw_windows, inference_dtype

EDGES = [0, 1, 10, 100, 1000] # bucket lower bounds: never, 1-9, 10-99, 100-999, 1000+
MIN_POSITIONS = 1000 # a bucket with fewer val positions is merged into its neighbour

def trained_counts(config, train_arrays, vocab_size, iters, world_size=1):
    """(vocab_size,) how often each id was an input position in the first `iters` optimizer steps of a run
    with this config, replayed from (seed, iteration, micro-step, rank) as train.py draws them"""
    counts = np.zeros(vocab_size, dtype=np.int64)
    per_rank = config['gradient_accumulation_steps'] // world_size
    for it in range(iters):
        for micro in range(per_rank):
            for rank in range(world_size):
                rng = np.random.default_rng([config['seed'], it, micro, rank])
                rows = draw_windows(train_arrays, config['block_size'], rng, config['batch_size'])
                counts += np.bincount(rows[:, :-1].ravel(), minlength=vocab_size)
    return counts

@torch.no_grad()
def val_nats(model, val_arrays, batch_size=8):
    """every val token once: non-overlapping windows of block_size over each shard (the last one shorter)
    -> (inputs, targets, nats per target), flat numpy arrays"""
    T = model.config.block_size
    windows = [a[o:o + T + 1] for a in val_arrays for o in range(0, len(a) - 1, T)]
    xs, ys, ns = [], [], []
    full = [w for w in windows if len(w) == T + 1]
    batches = [full[b:b + batch_size] for b in range(0, len(full), batch_size)] + [[w] for w in windows if len(w) < T + 1]
    device = next(model.parameters()).device # a GPT or a fusion.Fused of several
    for batch in batches:
        data = torch.from_numpy(np.stack(batch).astype(np.int64)).to(device)
        _, nats = model(data[:, :-1].contiguous(), data[:, 1:].contiguous(), reduction='none') # (B, T') nats per target
        xs.append(data[:, :-1].reshape(-1).cpu().numpy())
        ys.append(data[:, 1:].reshape(-1).cpu().numpy())
        ns.append(nats.float().reshape(-1).cpu().numpy())
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ns).astype(np.float64)

def bpb(nats, nbytes):
    """bits per byte as train.py counts them: nats on targets that stand for bytes, over those bytes"""
    return float(nats[nbytes > 0].sum() / math.log(2) / nbytes.sum())

def val_scores(model, data_dir, batch_size=8):
    """a model's (or a fusion.Fused's) nats and target bytes at every position of a prepared dataset's whole
    val split, as flat numpy arrays: bpb() of them is its val bits per byte, and splits concatenate"""
    meta = load_meta(data_dir)
    val = [read_shard(os.path.join(data_dir, f), meta['tokenizer_hash']) for f in meta['shards']['val']]
    token_bytes = np.load(os.path.join(data_dir, meta['token_bytes'])).astype(np.int64)
    _, y, nats = val_nats(model, val, batch_size)
    nbytes = token_bytes[y].astype(np.float64)
    if meta.get('unk', {}).get('tokens', {}).get('val'): # prepare.count_unknown: <unk> spread over the bytes it hides
        nbytes[y == meta['unk']['id']] = meta['unk']['bytes']['val'] / meta['unk']['tokens']['val']
    return nats, nbytes

def dataset_dir(model):
    """the prepared dataset a checkpoint was trained on"""
    return os.path.join('data', model.checkpoint['config']['dataset'])

@contextlib.contextmanager
def evaluating(ckpts, rule='logits', device='cpu'):
    """a checkpoint (several: fused by `rule`, see fusion.py) loaded, and the block run under its inference
    precision with no gradients -> (model, tokenizer, dtype)"""
    model, tok = load_model(ckpts, device, rule)
    device_type = torch.device(device).type
    dtype, _ = inference_dtype(model, device_type)
    with torch.no_grad(), autocast(dtype, device_type):
        yield model, tok, dtype

def whole_val_bpb(ckpt):
    """val bits per byte of a checkpoint over the whole val split of its dataset"""
    with evaluating(ckpt) as (model, _, _):
        return bpb(*val_scores(model, dataset_dir(model)))

def merged_edges(counts, ids, edges=EDGES, min_positions=MIN_POSITIONS):
    """the bucket edges, each bucket holding fewer than min_positions of ids merged into the next commoner
    one (the commonest into the one before it)"""
    sizes = np.bincount(np.searchsorted(edges, counts[ids], side='right') - 1, minlength=len(edges))
    out, held, is_open = [], 0, False
    for lo, size in zip(edges, sizes):
        if not is_open: # a new bucket starts here and takes in its neighbours until it is big enough
            out.append(lo)
            is_open = True
        held += size
        if held >= min_positions:
            held, is_open = 0, False
    if is_open and len(out) > 1: # the commonest bucket came out too small: merge it into the one before
        out.pop()
    return out

def label(edges, k):
    lo, hi = edges[k], (edges[k + 1] - 1 if k + 1 < len(edges) else None)
    if hi is None:
        return f"{lo:,}+"
    return 'never' if (lo, hi) == (0, 0) else (f"never-{hi:,}" if lo == 0 else f"{lo:,}-{hi:,}")

def split(nats, ids, counts, nbytes, edges):
    """val bits per byte per bucket of counts[ids], with each bucket's share of positions and of bytes
    (nbytes: each position's target bytes). Bits per byte as train.py computes them: nats on targets that
    stand for bytes, over those bytes"""
    bucket = np.searchsorted(edges, counts[ids], side='right') - 1
    total_bytes = nbytes.sum()
    rows = []
    for k in range(len(edges)):
        m = bucket == k
        b = nbytes[m].sum()
        rows.append(dict(label=label(edges, k), positions=int(m.sum()), positions_share=float(m.mean()),
                         bytes_share=float(b / total_bytes), bpb=float(nats[m & (nbytes > 0)].sum() / math.log(2) / b) if b else None))
    return rows

def analyse(model, shards, token_bytes, counts, batch_size=8, edges=None):
    """-> {'val_bpb', 'val_loss', 'positions', 'edges', 'by_input': [...], 'by_target': [...]}"""
    x, y, nats = val_nats(model, shards['val'], batch_size)
    nbytes = token_bytes[y]
    edges = edges or merged_edges(counts, x)
    return dict(val_loss=float(nats.mean()), val_bpb=bpb(nats, nbytes),
                positions=len(y), edges=edges, by_input=split(nats, x, counts, nbytes, edges),
                by_target=split(nats, y, counts, nbytes, edges))

def report(res):
    print(f"val bits per byte over the whole val split: {res['val_bpb']:.4f} ({res['positions']:,} positions)")
    for key, what in (('by_input', 'input'), ('by_target', 'target')):
        print(f"  by how often the {what} token occurred in training:")
        for r in res[key]:
            bpb = f"{r['bpb']:.4f}" if r['bpb'] is not None else '     -'
            print(f"    {r['label']:>12s}: {bpb} bits per byte, {r['positions_share']:6.1%} of positions, {r['bytes_share']:6.1%} of bytes")

def analyse_checkpoint(ckpt, data_dir=None, batch_size=8, edges=None, device='cpu'):
    """a checkpoint written by train.py and its dataset -> analyse()'s dict, with the training counts replayed"""
    with evaluating(ckpt, device=device) as (model, tok, dtype):
        c = model.checkpoint['config']
        data_dir = data_dir or dataset_dir(model)
        meta = load_meta(data_dir)
        shards = {s: [read_shard(os.path.join(data_dir, f), tok.hash) for f in meta['shards'][s]] for s in ('train', 'val')}
        token_bytes = np.load(os.path.join(data_dir, meta['token_bytes'])).astype(np.int64)
        world_size = model.checkpoint['world_size'] or 1 # checkpoints before the field: one process
        counts = trained_counts(c, shards['train'], model.config.vocab_size, model.checkpoint['iter_num'], world_size)
        res = analyse(model, shards, token_bytes, counts, batch_size, edges)
    return dict(res, checkpoint=ckpt, tokenizer=tok.name, trained_tokens=int(counts.sum()), dtype=dtype)

if __name__ == '__main__':
    parser = argparse.ArgumentParser(description="val bits per byte over the whole val split, by token rarity in training")
    parser.add_argument('ckpt', help="a ckpt.pt written by train.py")
    parser.add_argument('--data_dir', default=None, help="the prepared dataset (default: data/<the checkpoint's dataset>)")
    parser.add_argument('--batch_size', type=int, default=8)
    parser.add_argument('--json', default='', help="write the result here")
    args = parser.parse_args()
    try:
        res = analyse_checkpoint(args.ckpt, args.data_dir, args.batch_size)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    print(f"{res['checkpoint']}: tokenizer {res['tokenizer']}, {res['trained_tokens']:,} training input positions replayed")
    report(res)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(res, f, indent=1)
