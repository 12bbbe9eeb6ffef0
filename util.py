"""
Small things several scripts need, stated once: atomic writes, the git commit, the split rule, the
training windows' sampling rule, the precision rule.
"""
import os
import re
import subprocess
import zlib
from contextlib import nullcontext

def atomic_write(path, write, mode='wb'):
    """write(f) into a temporary file beside path, then rename it over path. A reader (another
    process, or the next run after a crash) sees the old file or the whole new one, never half of one.
    The temporary name holds the process id: processes writing the same path each rename their own."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f'{path}.{os.getpid()}.tmp'
    try:
        with open(tmp, mode, **({} if 'b' in mode else {'encoding': 'utf-8'})) as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

def git_commit():
    """the commit of this checkout, recorded in datasets and checkpoints; None outside git"""
    try:
        r = subprocess.run(['git', 'rev-parse', 'HEAD'], cwd=os.path.dirname(os.path.abspath(__file__)),
                           capture_output=True, text=True, timeout=10)
        return r.stdout.strip() if r.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None

def in_val(utf8, val_permille):
    """the split, one rule for every dataset (corpus.py's too): a document is in val when the crc32 of
    its UTF-8 % 1000 < val_permille, so identical texts always land on the same side"""
    return zlib.crc32(utf8) % 1000 < val_permille

def draw_windows(arrays, block_size, rng, n):
    """n windows of block_size + 1 tokens at random places of a split's token arrays -> (n, block_size + 1)
    array. A shard is picked with probability proportional to the windows it holds, then a uniform offset
    in it: every window of the split is equally likely. train.py draws its batches with this, from an rng
    seeded by (seed, iteration, micro-step, rank); rarity.py replays them to count what a run saw"""
    import numpy as np
    arrays = [a for a in arrays if len(a) > block_size]
    room = np.array([len(a) - block_size - 1 for a in arrays], dtype=np.float64)
    rows = []
    for k in rng.choice(len(arrays), size=n, p=room / room.sum()):
        o = rng.integers(0, int(room[k]) + 1)
        rows.append(arrays[k][o:o + block_size + 1])
    return np.stack(rows)

def native_bf16(cpuinfo='/proc/cpuinfo'):
    """(True/False, why): whether this CPU multiplies bfloat16 in hardware. Where it does (x86 AVX512-BF16
    or AMX, Arm's bf16 extension) a bfloat16 matmul runs 2-3x float32's; where it does not, bfloat16 is
    emulated and slower than float32. Read from Linux's /proc/cpuinfo, the only place that names the feature"""
    try:
        with open(cpuinfo) as f:
            info = f.read()
    except OSError:
        return False, "the CPU's features cannot be read here (no /proc/cpuinfo)"
    for flag in ('amx_bf16', 'avx512_bf16', 'bf16'): # the last is Arm's, in its 'Features' line
        if re.search(rf'\b{flag}\b', info):
            return True, f"the CPU has {flag}"
    return False, "the CPU has neither avx512_bf16, amx_bf16 nor Arm's bf16: bfloat16 would be emulated"

def resolve_dtype(dtype, device_type):
    """'auto' -> 'bfloat16' where the device computes it natively, else 'float32'; -> (dtype, why)"""
    if dtype != 'auto':
        return dtype, 'as asked'
    if device_type == 'cuda':
        import torch # here, not at the top: prepare.py and corpus.py use this file without torch
        ok = torch.cuda.is_bf16_supported()
        return ('bfloat16' if ok else 'float32'), ('the GPU supports bfloat16' if ok else 'the GPU lacks bfloat16')
    ok, why = native_bf16() if device_type == 'cpu' else (False, f"no bfloat16 rule for {device_type}")
    return ('bfloat16' if ok else 'float32'), why

def autocast(dtype, device_type):
    """the mixed-precision context: matmuls in dtype, weights and optimizer state stay float32, and autocast
    keeps layer norms, softmax and log-sum-exp in float32. float32: no context at all"""
    if dtype == 'float32':
        return nullcontext()
    import torch
    return torch.amp.autocast(device_type=device_type, dtype={'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype])

def inference_dtype(model, device_type, asked='checkpoint'):
    """the precision sample.py and the evaluation run a checkpoint in -> (dtype, why): the dtype it was trained
    in unless asked otherwise. On a CPU a half-precision checkpoint runs in bfloat16 where the CPU has it
    natively and in float32 elsewhere (float16 autocast is for GPUs)"""
    if asked != 'checkpoint':
        return resolve_dtype(asked, device_type)
    dtype = ((getattr(model, 'checkpoint', None) or {}).get('config') or {}).get('dtype', 'float32')
    if dtype == 'float32' or (device_type == 'cuda' and dtype != 'auto'):
        return dtype, 'as trained'
    return resolve_dtype('auto', device_type)
