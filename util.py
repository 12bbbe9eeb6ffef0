"""
Small rules several scripts need, each stated once: atomic writes and the git commit; the split rule and
the training windows' sampling rule; the precision rule; the ranks-agree rule (DDP processes compare a
hash); and the configuration rule (train.py's config files, --key=value overrides and --help, after
nanoGPT's configurator). torch is imported inside the few functions that use it: prepare.py and
corpus.py import this file and never need torch.
"""
import ast
import hashlib
import io
import os
import re
import subprocess
import sys
import tokenize
import zlib
from contextlib import nullcontext

import numpy as np

# -----------------------------------------------------------------------------
# files: written whole or not at all, and the commit that wrote them

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

# -----------------------------------------------------------------------------
# data: which documents are val, and which windows a training step sees

def in_val(utf8, val_permille):
    """the split, one rule for every dataset (corpus.py's too): a document is in val when the crc32 of
    its UTF-8 % 1000 < val_permille, so identical texts always land on the same side"""
    return zlib.crc32(utf8) % 1000 < val_permille

def draw_windows(arrays, block_size, rng, n):
    """n windows of block_size + 1 tokens at random places of a split's token arrays -> (n, block_size + 1)
    array. A shard is picked with probability proportional to the windows it holds, then a uniform offset
    in it: every window of the split is equally likely. train.py draws its batches with this, from an rng
    seeded by (seed, iteration, micro-step, rank); experiments/rarity.py replays them to count what a run
    saw"""
    arrays = [a for a in arrays if len(a) > block_size]
    room = np.array([len(a) - block_size - 1 for a in arrays], dtype=np.float64)
    rows = []
    for k in rng.choice(len(arrays), size=n, p=room / room.sum()):
        o = rng.integers(0, int(room[k]) + 1)
        rows.append(arrays[k][o:o + block_size + 1])
    return np.stack(rows)

def spread_windows(arrays, block_size, n):
    """n windows of block_size + 1 tokens spread evenly over a split's token arrays -> (n, block_size + 1)
    array: the k-th starts k/n of the way through the split's window starts, counted across its shards.
    They do not overlap wherever the split holds n windows. train.py's val estimate reads these, so that it
    covers the split as the whole-split score does: random windows read ~0.13 bpb high on the default
    corpus, whose val split is uneven (its English, Russian and Chinese come in long runs)"""
    arrays = [a for a in arrays if len(a) > block_size]
    room = np.array([len(a) - block_size for a in arrays], dtype=np.int64) # window starts per array
    first = np.cumsum(room) - room
    rows = []
    for p in np.arange(n, dtype=np.int64) * int(room.sum()) // n:
        k = int(np.searchsorted(first, p, side='right')) - 1
        o = int(p - first[k])
        rows.append(arrays[k][o:o + block_size + 1])
    return np.stack(rows)

# -----------------------------------------------------------------------------
# precision: which dtype a device computes in, and the autocast context for it

def native_bf16(cpuinfo='/proc/cpuinfo'):
    """(True/False, why): whether this CPU multiplies bfloat16 in hardware. Where it does (x86
    AVX512-BF16 or AMX, Arm's bf16 extension) a bfloat16 matmul runs 2-3x float32's; where it does not,
    bfloat16 is emulated and slower than float32. Read from Linux's /proc/cpuinfo, the only place that
    names the feature"""
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
        import torch # deferred: prepare.py and corpus.py import this file and never need torch
        ok = torch.cuda.is_bf16_supported()
        why = 'the GPU supports bfloat16' if ok else 'the GPU lacks bfloat16'
        return ('bfloat16' if ok else 'float32'), why
    ok, why = native_bf16() if device_type == 'cpu' else (False, f"no bfloat16 rule for {device_type}")
    return ('bfloat16' if ok else 'float32'), why

def autocast(dtype, device_type):
    """the mixed-precision context: matmuls in dtype, weights and optimizer state stay float32, and autocast
    keeps layer norms, softmax and log-sum-exp in float32. float32: no context at all"""
    if dtype == 'float32':
        return nullcontext()
    import torch # deferred, as above: only the training and evaluation scripts get here
    half = {'bfloat16': torch.bfloat16, 'float16': torch.float16}[dtype]
    return torch.amp.autocast(device_type=device_type, dtype=half)

def inference_dtype(model, device_type, asked='checkpoint'):
    """the precision sample.py and the evaluation run a checkpoint in -> (dtype, why): the dtype it was
    trained in unless asked otherwise. On a CPU a half-precision checkpoint runs in bfloat16 where the CPU
    has it natively and in float32 elsewhere (float16 autocast is for GPUs)"""
    if asked != 'checkpoint':
        return resolve_dtype(asked, device_type)
    dtype = ((getattr(model, 'checkpoint', None) or {}).get('config') or {}).get('dtype', 'float32')
    if dtype == 'float32' or (device_type == 'cuda' and dtype != 'auto'):
        return dtype, 'as trained'
    return resolve_dtype('auto', device_type)

# -----------------------------------------------------------------------------
# the ranks agree: DDP processes compare a hash of what must be the same on all of them

def weights_hash(tensors):
    """sha256 of the tensors' bytes, in order: what the processes compare of their weights"""
    h = hashlib.sha256()
    for t in tensors:
        h.update(t.detach().cpu().numpy().tobytes())
    return h.hexdigest()

def ranks_agree(text, device):
    """True when every DDP process passes the same text (a hex hash): one all_gather of its first 8 bytes.
    device: where this process's collectives run (its GPU under nccl, the CPU under gloo)"""
    import torch # deferred, as above: only train.py under torchrun gets here
    import torch.distributed as dist
    mine = torch.tensor(list(bytes.fromhex(text)[:8]), dtype=torch.int64, device=device)
    everyone = [torch.zeros_like(mine) for _ in range(dist.get_world_size())]
    dist.all_gather(everyone, mine)
    return all(torch.equal(e, everyone[0]) for e in everyone)

def share_input_embedding(model, tokenizer_hash, dataset, device):
    """under DDP, before training: check that every process holds the same tokenizer, send rank 0's
    frozen input matrix to the others (a trainable one is already equal: DDP broadcasts parameters), and
    check that they now agree. Returns the matrix's hash; a ValueError names what differs"""
    import torch # deferred, as above
    import torch.distributed as dist
    if not ranks_agree(tokenizer_hash, device):
        raise ValueError(f"the processes were given different tokenizers (data/{dataset} differs between "
                         "nodes): give every node the same prepared dataset")
    wte = model.transformer.wte.weight
    if not isinstance(wte, torch.nn.Parameter):
        dist.broadcast(wte.data, 0)
    wte_hash = weights_hash([wte])
    if not ranks_agree(wte_hash, device):
        raise ValueError("the input embedding differs between processes after the broadcast from rank 0")
    return wte_hash

# -----------------------------------------------------------------------------
# the configuration rule, after nanoGPT's poor man's configurator. train.py hands configure() its globals:
#     python train.py config/cpu.py --batch_size=8 --embedding='trainable'
#     python train.py --help
# A config file is plain Python, exec'd on a dict of train.py's config globals; --key=value is parsed
# with ast.literal_eval (a bare word is taken as a string). Unknown keys and type mismatches are errors,
# so that a typo never silently trains the wrong model. --help (or -h) prints every key with its value
# so far and its comment, read from train.py's source: the globals and their comments are the
# documentation.

def read_globals(path, until='config_keys'):
    """the module-level `name = value` lines of a Python file, above the one that assigns `until` ->
    [(name, source of the value, the comment on its line, its section)]; a section is the last comment
    standing alone on its line above it (`# data`, `# model`), without the '# '"""
    with open(path, encoding='utf-8') as f:
        source = f.read()
    trailing, headers = {}, [] # comments after code, by line; comments alone on their line
    for t in tokenize.generate_tokens(io.StringIO(source).readline):
        if t.type != tokenize.COMMENT:
            continue
        text = t.string.lstrip('#').strip()
        if t.line[:t.start[1]].strip():
            trailing[t.start[0]] = text
        elif not text.startswith('---'): # a `# ----` rule between sections is no section
            headers.append((t.start[0], text))
    found = []
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if name == until:
            break
        section = max([h for h in headers if h[0] < node.lineno], default=(0, ''))[1]
        value = ast.get_source_segment(source, node.value)
        found.append((name, value, trailing.get(node.end_lineno, ''), section))
    return found

def is_literal(text):
    """whether a value's source is a plain literal (42, 'out'), not computed (torch.cuda.is_available())"""
    try:
        ast.literal_eval(text)
        return True
    except (SyntaxError, ValueError):
        return False

def print_help(config, path):
    """every key of config, by section, with its value so far and what path's source says of it"""
    documented = {name: (value, comment, section) for name, value, comment, section in read_globals(path)}
    print(f"usage: python {os.path.basename(path)} [config file ...] [--key=value ...]")
    print("Config files are plain Python, run in order; --key=value overrides (a bare word is a string).")
    print("Every key, with its value so far and its comment:")
    width = max(len(f"{k} = {v!r}") for k, v in config.items())
    section = None
    for key, value in config.items():
        written, comment, sec = documented.get(key, ('', '', ''))
        if sec != section:
            section = sec
            print(f"\n# {section}")
        if written and not is_literal(written): # computed, e.g. from torch.cuda: say how
            comment = f"{comment} [default: {written}]".strip()
        line = f"{key} = {value!r}"
        print(f"  {line.ljust(width)}  {comment}".rstrip())

def configure(config, argv, source=None):
    """apply config files and --key=value overrides from argv to the dict config (train.py's globals).
    source: the file whose globals config holds, documented by --help or -h (which then exits)"""
    for arg in argv:
        if arg in ('-h', '--help'):
            assert source, f"{arg}: this caller has no help to print"
            print_help(config, source)
            sys.exit(0)
        if '=' not in arg:
            assert not arg.startswith('--'), f"{arg}: overrides are --key=value"
            try:
                with open(arg) as f:
                    text = f.read()
            except OSError:
                sys.exit(f"error: config file {arg} not found: pass a path like config/cpu.py")
            print(f"Overriding config with {arg}")
            known = set(config)
            exec(compile(text, arg, 'exec'), config)
            for k in [k for k in config if k.startswith('__') and k not in known]:
                del config[k] # __builtins__, and __warningregistry__ when a config execs another
            unknown = set(config) - known
            if unknown:
                sys.exit(f"error: {arg} sets unknown config key(s) {', '.join(sorted(unknown))}: "
                         f"check the spelling against the globals at the top of train.py")
        else:
            assert arg.startswith('--'), f"{arg}: overrides are --key=value"
            key, val = arg[2:].split('=', 1)
            if key not in config:
                sys.exit(f"error: unknown config key {key!r}: "
                         "check the spelling against the globals at the top of train.py")
            try:
                attempt = ast.literal_eval(val)
            except (SyntaxError, ValueError):
                attempt = val # a bare word, e.g. --embedding=trainable
            old = config[key]
            if isinstance(old, float) and isinstance(attempt, int) and not isinstance(attempt, bool):
                attempt = float(attempt) # --learning_rate=1 means 1.0
            if old is not None and type(attempt) != type(old):
                sys.exit(f"error: --{key}={val} is a {type(attempt).__name__}, but {key} is a "
                         f"{type(old).__name__} (default {old!r}): pass a value of that type")
            print(f"Overriding: {key} = {attempt!r}")
            config[key] = attempt
