"""
Training script for glyphgpt. Runs on one CPU or GPU, or on many with DDP.

On a laptop CPU (the embedded default, after `python prepare.py`):
$ python train.py config/cpu.py

On one GPU:
$ python train.py config/frozen.py

DDP on 8 GPUs of one node:
$ torchrun --standalone --nproc_per_node=8 train.py config/frozen.py

DDP on 2 nodes of 8 GPUs, master at 123.456.123.456:
- first (master) node:
$ torchrun --nproc_per_node=8 --nnodes=2 --node_rank=0 --master_addr=123.456.123.456 --master_port=1234 train.py config/frozen.py
- worker node:
$ torchrun --nproc_per_node=8 --nnodes=2 --node_rank=1 --master_addr=123.456.123.456 --master_port=1234 train.py config/frozen.py
(If your cluster has no Infiniband interconnect prepend NCCL_IB_DISABLE=1.)

Resume an interrupted run (exactly: same losses as if never stopped):
$ python train.py config/cpu.py --init_from=resume

Every config key, with its default and what it means (the globals below, read from this file):
$ python train.py --help
"""
import json
import math
import os
import shutil
import signal
import sys
import sysconfig
import time

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel as DDP

import glyphs
from grow import describe, grow_model, resume_model
from model import GPT, GPTConfig, read_checkpoint
from prepare import dataset_tokenizer, load_meta, read_shard
from util import (atomic_write, autocast, configure, draw_windows, git_commit, ranks_agree, resolve_dtype,
                  share_input_embedding, spread_windows, weights_hash)

# -----------------------------------------------------------------------------
# default config values: a small model on the embedded default corpus, for a laptop CPU
# I/O
out_dir = 'out' # where ckpt.pt and log.jsonl are written
eval_interval = 100 # iterations between evaluations; a checkpoint is written after each
log_interval = 10 # iterations between log lines
eval_iters = 20 # validation batches per evaluation (always the same ones, spread over the split)
eval_only = False # if True, evaluate once and exit
init_from = 'scratch' # 'scratch', 'resume' (out_dir/ckpt.pt) or 'grow' (new blocks on grow_from's: grow.py)
grow_from = '' # init_from='grow': the previous stage's ckpt.pt
grow_embedding = 'frozen' # init_from='grow', a trainable embedding: 'frozen' from now on, or 'trainable'
wandb_log = False # log to Weights & Biases; needs `pip install wandb`
wandb_project = 'glyphgpt' # the wandb project the run is logged under
wandb_run_name = 'run' # its name there
# data
dataset = 'default' # reads data/<dataset>/, written by prepare.py
gradient_accumulation_steps = 1 # micro-steps per optimizer step, summed over all processes
batch_size = 8 # sequences per micro-step per process
block_size = 512 # context length in tokens
# model
n_layer = 4 # transformer blocks
n_head = 4 # attention heads per block; n_embd must be a multiple
n_embd = 256 # channels of the residual stream, and the width of the input embedding
dropout = 0.0 # probability of zeroing an activation; 0 for pretraining
bias = False # biases in the Linear and LayerNorm layers, as GPT-2 has
embedding = 'glyph' # 'glyph' (frozen, glyphs.py) | 'trainable' | 'random' | 'binary' | 'affine' (embeddings.py)
glyph_recipe = 'default' # 'default' (flaws fixed) | 'paper' (the reference recipe, step by step)
wte_init = 'unit' # trainable only: 'unit' N(0, 1/n_embd) | 'gpt2' N(0, 0.02^2), as GPT-2 | 'glyph' its glyph rows
embedding_seed = 42 # 'random' and 'affine' only: their own seed, so the model seed does not change them
# adamw optimizer
learning_rate = 1e-3 # max learning rate
max_iters = 1000 # total number of optimizer steps
weight_decay = 1e-1 # AdamW's decoupled decay of the 2D weights (not biases, norms, or the embedding)
beta1 = 0.9 # AdamW's first-moment decay
beta2 = 0.95 # AdamW's second-moment decay
grad_clip = 1.0 # clip gradients at this norm, or disable if == 0.0
# learning rate schedule: depends on these, never on max_iters, so a run can be stopped and extended
decay_lr = True # False: learning_rate throughout
warmup_iters = 50 # linear warmup steps
lr_decay_iters = 1000 # cosine decay reaches min_lr here; should be ~= max_iters per Chinchilla
min_lr = 1e-4 # minimum learning rate, ~= learning_rate/10 per Chinchilla
# system
device = 'cuda' if torch.cuda.is_available() else 'cpu' # 'cpu', 'cuda', 'cuda:0', 'mps'
dtype = 'auto' # 'auto' (bfloat16 where native, else float32) | 'float32' | 'bfloat16' | 'float16'
compile = torch.cuda.is_available() # torch.compile the model (needs a C++ compiler on CPU)
backend = 'nccl' if torch.cuda.is_available() else 'gloo' # DDP backend
seed = 1337 # model init, data order and dropout all derive from it
# -----------------------------------------------------------------------------
config_keys = [k for k, v in globals().items()
               if not k.startswith('_') and isinstance(v, (int, float, bool, str))]
_config = {k: globals()[k] for k in config_keys}
# overrides from the command line or a config file; --help prints the keys above with their comments
configure(_config, sys.argv[1:], source=__file__)
globals().update(_config)
config = {k: globals()[k] for k in config_keys} # the final config: logged and stored in the checkpoint
# -----------------------------------------------------------------------------

def fail(msg):
    print(f"error: {msg}", file=sys.stderr, flush=True)
    sys.exit(1)

# processes, devices, precision
ddp = int(os.environ.get('RANK', -1)) != -1 # torchrun sets RANK: one of several processes
if ddp:
    dist.init_process_group(backend=backend)
    ddp_rank = int(os.environ['RANK'])
    ddp_local_rank = int(os.environ['LOCAL_RANK'])
    ddp_world_size = int(os.environ['WORLD_SIZE'])
    if device.startswith('cuda'):
        device = f'cuda:{ddp_local_rank}'
        torch.cuda.set_device(device)
    master_process = ddp_rank == 0 # rank 0 alone prints, logs and writes checkpoints
    # gradient_accumulation_steps counts micro-steps over all processes together: each does its share
    if gradient_accumulation_steps % ddp_world_size != 0:
        fit = ddp_world_size * max(1, gradient_accumulation_steps // ddp_world_size)
        fail(f"gradient_accumulation_steps={gradient_accumulation_steps} must be a multiple of the "
             f"{ddp_world_size} processes: set it to {fit}")
    gradient_accumulation_steps //= ddp_world_size
else:
    # one process, on one CPU or GPU
    master_process = True
    ddp_rank, ddp_world_size = 0, 1
tokens_per_iter = gradient_accumulation_steps * ddp_world_size * batch_size * block_size
if master_process:
    print(f"tokens per iteration will be: {tokens_per_iter:,}")
    os.makedirs(out_dir, exist_ok=True)
device_type = 'cuda' if 'cuda' in device else 'cpu' # what torch.autocast and the optimizer need to know
if device_type == 'cuda':
    # TF32 tensor cores for fp32 matmuls and convolutions: faster, with a 10-bit mantissa
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
if dtype not in ('auto', 'float32', 'bfloat16', 'float16'):
    fail(f"dtype={dtype!r}: use 'auto', 'float32', 'bfloat16' or 'float16'")
if dtype == 'float16' and device_type == 'cpu':
    fail("dtype='float16' needs a GPU: on CPU use 'bfloat16' or 'float32'")
# mixed precision on CPU too, where it multiplies bfloat16 natively (AVX512-BF16, AMX, Arm bf16): faster
# than float32 there. 'auto' is resolved once here, and the checkpoint keeps the result
dtype, why = resolve_dtype(dtype, device_type)
config['dtype'] = dtype
ctx = autocast(dtype, device_type)
if master_process:
    precision = 'float32' if dtype == 'float32' else f"{dtype} autocast, float32 weights"
    print(f"precision on {device_type}: {precision} ({why})")

# -----------------------------------------------------------------------------
# data: shards from prepare.py. Every micro-batch is drawn from its own generator seeded by
# (seed, iteration, micro-step, rank): no data position or RNG state needs saving, and a resumed
# run, on any number of processes, sees exactly the batches it would have seen.
data_dir = os.path.join('data', dataset)
try:
    meta = load_meta(data_dir)
    tok = dataset_tokenizer(data_dir)
    shards = {s: [read_shard(os.path.join(data_dir, f), tok.hash) for f in meta['shards'][s]]
              for s in ('train', 'val')}
except (FileNotFoundError, ValueError) as e:
    fail(e)
# the UTF-8 bytes each token id stands for, 0 for specials: what turns nats per token into bits per byte
token_bytes = np.load(os.path.join(data_dir, meta['token_bytes']))
token_bytes = torch.from_numpy(token_bytes.astype(np.int64)).to(device)
for s in ('train', 'val'):
    if not any(len(a) > block_size for a in shards[s]):
        fail(f"the {s} split of {data_dir} has no shard longer than block_size={block_size}: "
             "lower block_size or prepare more text")

def sample_windows(split, rng, n):
    """n windows of block_size + 1 tokens at random places of a split, as (x, y) on the device. The rule
    itself is util.draw_windows, so that experiments/rarity.py can replay exactly the tokens a run saw"""
    return as_batch(draw_windows(shards[split], block_size, rng, n))

def as_batch(rows):
    """(n, block_size + 1) windows of token ids -> (x, y) on the device, y the next token of x"""
    data = torch.from_numpy(rows.astype(np.int64))
    x, y = data[:, :-1].contiguous(), data[:, 1:].contiguous()
    if device_type == 'cuda':
        # page-locked memory lets the copy to the GPU run while the CPU goes on (non_blocking)
        return x.pin_memory().to(device, non_blocking=True), y.pin_memory().to(device, non_blocking=True)
    return x.to(device), y.to(device)

def get_batch(it, micro_step):
    return sample_windows('train', np.random.default_rng([seed, it, micro_step, ddp_rank]), batch_size)

# the same eval_iters val batches at every evaluation and for every seed (runs compare), split by rank:
# windows spread evenly over the val split (util.spread_windows), so the estimate covers it as a whole
val_rows = spread_windows(shards['val'], block_size, eval_iters * batch_size)
val_batches = [as_batch(val_rows[k * batch_size:(k + 1) * batch_size]) for k in range(eval_iters)]
val_batches = val_batches[ddp_rank::ddp_world_size]

def unigram_bpb():
    """bits per byte of the best context-free model: the entropy of the train split's token
    frequencies, per UTF-8 byte. A model that does not beat it has learned nothing from context."""
    counts = sum(np.bincount(a, minlength=tok.vocab_size) for a in shards['train']).astype(np.float64)
    tb = token_bytes.cpu().numpy()
    counts[tb == 0] = 0 # end-of-text and other specials stand for no bytes (as in the val bpb)
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log2(p)).sum() * counts.sum() / (counts * tb).sum())

# -----------------------------------------------------------------------------
# model init
iter_num = 0 # optimizer steps done
model_args = dict(n_layer=n_layer, n_head=n_head, n_embd=n_embd, block_size=block_size, bias=bias,
                  vocab_size=tok.vocab_size, dropout=dropout, embedding=embedding, wte_init=wte_init,
                  embedding_seed=embedding_seed)
provenance = {'torch': str(torch.__version__)}
ckpt_path = os.path.join(out_dir, 'ckpt.pt')
if init_from == 'scratch':
    print("Initializing a new model from scratch")
    wte = None
    try: # a font, recipe, embedding or wte_init that cannot be: one sentence, not a traceback
        if embedding == 'glyph' or (embedding == 'trainable' and wte_init == 'glyph'):
            # rank 0 renders (or reads its cache); the others receive the matrix below
            if master_process:
                t0 = time.time()
                wte = torch.from_numpy(glyphs.glyph_embeddings(tok, n_embd, glyph_recipe))
                provenance.update(glyphs.provenance(tok, n_embd, glyph_recipe))
                print(f"glyph embedding ({glyph_recipe} recipe) ready in {time.time() - t0:.1f}s")
            else:
                wte = torch.zeros(tok.vocab_size, n_embd)
        torch.manual_seed(seed) # the non-embedding weights are the same for every embedding mode
        model = GPT(GPTConfig(**model_args), wte=wte)
    except (FileNotFoundError, ValueError) as e:
        fail(e)
    stages = [dict(source=None, layers=n_layer, iters=0, tokens=0)] # a model trained whole is one stage
elif init_from == 'grow':
    if os.path.abspath(grow_from) == os.path.abspath(ckpt_path):
        fail(f"grow_from={grow_from} is this run's own checkpoint: grow into another --out_dir")
    try:
        model, model_args, stages = grow_model(grow_from, model_args, tok.hash, seed, grow_embedding)
    except (FileNotFoundError, ValueError) as e:
        fail(e)
    new_layers = stages[-1]['layers']
    print(f"growing {grow_from}: {n_layer - new_layers} frozen layers and {new_layers} new ones")
elif init_from == 'resume':
    print(f"Resuming training from {out_dir}")
    absent = (f"no checkpoint at {ckpt_path} to resume from: "
              "train with --init_from=scratch first, or set --out_dir")
    try:
        checkpoint = read_checkpoint(ckpt_path, absent)
        if checkpoint['tokenizer_hash'] != tok.hash:
            raise ValueError(f"{ckpt_path} was trained on a tokenizer with hash "
                             f"{checkpoint['tokenizer_hash'][:16]}, but {data_dir} was prepared with "
                             f"{tok.hash[:16]}: resume on the dataset it was trained on")
        model = resume_model(checkpoint, n_layer, ckpt_path)
    except (FileNotFoundError, ValueError) as e:
        fail(e)
    # the shape of the model is the checkpoint's; everything else may be overridden
    model_args, iter_num = checkpoint['model_args'], checkpoint['iter_num']
    provenance, stages = checkpoint['provenance'], checkpoint['stages']
else:
    fail(f"init_from={init_from!r}: use 'scratch', 'resume' or 'grow'")
if block_size != model.config.block_size:
    fail(f"block_size={block_size} differs from the checkpoint's {model.config.block_size}: "
         "resume with the same block_size")
model.to(device)
if master_process:
    print(describe(model))

if ddp:
    # every rank must hold the same tokenizer, and then the same frozen matrix: rank 0 built it (or
    # loaded it) and sends it once. Nodes with other shards or another Unifont cannot train apart
    try:
        wte_hash = share_input_embedding(model, tok.hash, dataset, device)
    except ValueError as e:
        fail(f"rank {ddp_rank}: {e}")
    if master_process:
        print(f"all {ddp_world_size} processes agree on the tokenizer "
              f"and the input embedding ({wte_hash[:16]})")

# loss scaling, needed by float16 only (bfloat16 has float32's range); disabled it does nothing
scaler = torch.amp.GradScaler(device_type, enabled=(dtype == 'float16'))

# optimizer
optimizer = model.configure_optimizers(weight_decay, learning_rate, (beta1, beta2), device_type)
if init_from == 'resume':
    optimizer.load_state_dict(checkpoint['optimizer'])
    checkpoint = None # the optimizer state now lives in the optimizer: let the copy go

# compile the model
if compile and device_type == 'cpu':
    # inductor writes C++ for the CPU and builds it with the system's compiler against Python's headers
    cxx = os.environ.get('CXX') or next((c for c in ('g++', 'clang++', 'c++') if shutil.which(c)), None)
    python_h = os.path.join(sysconfig.get_paths()['include'], 'Python.h')
    if not cxx or not os.path.exists(python_h):
        compile = config['compile'] = False
        if master_process:
            print("compile=True on CPU needs a C++ compiler and Python's headers, training eager instead: "
                  "`sudo apt-get install g++ python3-dev` (macOS: `xcode-select --install`) to compile")
if compile:
    if master_process:
        print("compiling the model... (takes a ~minute)")
    model = torch.compile(model)

# wrap model into DDP container. broadcast_buffers=False: by default DDP re-sends every buffer on
# every forward, which for the frozen embedding (512 MiB in config/frozen.py) is pure waste
if ddp:
    device_ids = [ddp_local_rank] if device_type == 'cuda' else None
    model = DDP(model, device_ids=device_ids, broadcast_buffers=False)
raw_model = model.module if ddp else model # the GPT itself, under DDP's wrapper
raw_model = getattr(raw_model, '_orig_mod', raw_model) # and torch.compile's

@torch.no_grad()
def estimate_loss():
    """val loss (nats per token) and val bits per byte on the fixed val batches, all processes"""
    model.eval()
    sums = torch.zeros(4, dtype=torch.float64, device=device) # nats, tokens, nats on byte-tokens, bytes
    for X, Y in val_batches:
        with ctx:
            _, nats = model(X, Y, reduction='none') # (B, T): the chunked loss never makes the full logits
        nats, nbytes = nats.float().view(-1), token_bytes[Y.view(-1)]
        sums += torch.stack([nats.sum(), torch.tensor(nats.numel(), device=device),
                             nats[nbytes > 0].sum(), nbytes.sum()]).double()
    if ddp:
        dist.all_reduce(sums)
    model.train()
    return (sums[0] / sums[1]).item(), (sums[2] / math.log(2) / sums[3]).item()

def get_lr(it):
    """learning rate decay scheduler (cosine with warmup)"""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it >= lr_decay_iters: # also when there is no decay phase (lr_decay_iters <= warmup_iters)
        return min_lr
    decay_ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    coeff = 0.5 * (1.0 + math.cos(math.pi * decay_ratio)) # 1 at the end of warmup, 0 at lr_decay_iters
    return min_lr + coeff * (learning_rate - min_lr)

def save_checkpoint():
    """written under a temporary name and renamed: a crash mid-write never leaves a broken ckpt.pt"""
    # the stage in training is the last
    stage = {**stages[-1], 'iters': iter_num, 'tokens': iter_num * tokens_per_iter}
    # the layout model.read_checkpoint reads
    checkpoint = {'model': raw_model.state_dict(), 'optimizer': optimizer.state_dict(),
                  'model_args': model_args, 'iter_num': iter_num, 'config': config,
                  'stages': [*stages[:-1], stage], 'world_size': ddp_world_size,
                  'tokenizer': tok.spec, 'tokenizer_hash': tok.hash,
                  'provenance': {**provenance, 'git_commit': git_commit()}}
    atomic_write(ckpt_path, lambda f: torch.save(checkpoint, f))
    print(f"saving checkpoint to {ckpt_path}")

# stop cleanly on SIGINT/SIGTERM: finish the step in flight, write a checkpoint, exit
stop_requested = False
def request_stop(signum, frame):
    global stop_requested
    stop_requested = True
signal.signal(signal.SIGINT, request_stop)
signal.signal(signal.SIGTERM, request_stop)

# logging
if wandb_log and master_process:
    import wandb # here, not at the top: optional (`pip install wandb`), needed only when logging to it
    wandb.init(project=wandb_project, name=wandb_run_name, config=config)
if master_process:
    print(f"unigram baseline: {unigram_bpb():.4f} bits per byte (the train split's token frequencies, "
          "per train byte; experiments/sweep.py scores them on val too)")
gpu_name = torch.cuda.get_device_name() if device_type == 'cuda' else 'cpu' # its peak, for the MFU

def evaluate_and_save():
    val_loss, val_bpb = estimate_loss()
    if not math.isfinite(val_loss):
        fail(f"val loss is {val_loss} at iter {iter_num}: training diverged; "
             f"the last good checkpoint is {ckpt_path}. Lower learning_rate, or set grad_clip")
    if master_process:
        print(f"step {iter_num}: val loss {val_loss:.4f}, val bpb {val_bpb:.4f}")
        entry = {'iter': iter_num, 'val_loss': val_loss, 'val_bpb': val_bpb, 'lr': get_lr(iter_num),
                 'tokens': iter_num * tokens_per_iter, 'time': time.time()}
        with open(os.path.join(out_dir, 'log.jsonl'), 'a') as f:
            f.write(json.dumps(entry) + '\n')
        if wandb_log:
            wandb.log({'iter': iter_num, 'val/loss': val_loss, 'val/bpb': val_bpb})
        if iter_num > iter_start and not eval_only: # nothing new to save right after a resume
            save_checkpoint()

# training loop
model.train()
iter_start = iter_num
t0 = time.time()
while True:
    if iter_num % eval_interval == 0 or iter_num == max_iters or eval_only:
        evaluate_and_save()
    if iter_num >= max_iters or eval_only:
        break

    # this step's learning rate
    lr = get_lr(iter_num) if decay_lr else learning_rate
    for param_group in optimizer.param_groups:
        param_group['lr'] = lr

    # forward and backward over the micro-steps, gradients summed, then one optimizer step
    for micro_step in range(gradient_accumulation_steps):
        X, Y = get_batch(iter_num, micro_step)
        if dropout > 0: # dropout masks from the same kind of stateless seed as the data
            torch.manual_seed(hash((seed, iter_num, micro_step, ddp_rank)) % 2**63)
        if ddp:
            # sync gradients at the last micro step only; set before the forward, which is when DDP reads it
            model.require_backward_grad_sync = (micro_step == gradient_accumulation_steps - 1)
        with ctx:
            _, loss = model(X, Y)
            loss = loss / gradient_accumulation_steps # summed over micro-steps, the gradient is the mean's
        scaler.scale(loss).backward()
    # clip the gradient
    if grad_clip != 0.0:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    # the optimizer step (through the scaler, which unscales for float16)
    scaler.step(optimizer)
    scaler.update()
    # set_to_none frees the gradients' memory until the next backward
    optimizer.zero_grad(set_to_none=True)

    # timing and logging. loss.item() waits for the GPU: on log steps only (every step on CPU: it is free)
    iter_num += 1
    if iter_num % log_interval == 0 or device_type == 'cpu':
        lossf = loss.item() * gradient_accumulation_steps
        if not math.isfinite(lossf):
            fail(f"loss is {lossf} at iter {iter_num - 1}: training diverged; "
                 f"the last good checkpoint is {ckpt_path}. Lower learning_rate, or set grad_clip")
    if iter_num % log_interval == 0 and master_process:
        dt = (time.time() - t0) / log_interval
        t0 = time.time()
        mfu = raw_model.estimate_mfu(tokens_per_iter // ddp_world_size, dt, gpu_name) # one GPU's share
        mfu_text = f", mfu {mfu * 100:.2f}%" if mfu is not None else ""
        eta = (max_iters - iter_num) * dt
        print(f"iter {iter_num - 1}: loss {lossf:.4f}, time {dt * 1000:.2f}ms, "
              f"tok/s {tokens_per_iter / dt:,.0f}{mfu_text}, "
              f"lr {lr:.2e}, eta {eta // 60:.0f}m{eta % 60:02.0f}s", flush=True)
    if ddp: # every process must stop at the same step, or the others wait forever in the next all-reduce
        flag = torch.tensor(float(stop_requested), device=device)
        dist.all_reduce(flag)
        stop_requested = flag.item() > 0
    if stop_requested:
        if master_process:
            print(f"stopping at iter {iter_num} on request")
            save_checkpoint()
        break

if ddp:
    # DDP keeps the copies equal by construction; one hash per run catches whatever breaks that
    if not ranks_agree(weights_hash(raw_model.state_dict().values()), device):
        fail(f"rank {ddp_rank}: the model weights differ between processes at iter {iter_num}")
    if master_process:
        print(f"all {ddp_world_size} processes hold identical weights at iter {iter_num}")
    dist.destroy_process_group()
    sys.stdout.flush()
    os._exit(0) # gloo can abort at interpreter exit (seen ~1 run in 15); nothing is left to clean up
