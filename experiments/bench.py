"""
Every benchmark the project reports, in one place. Speed targets live here, not in the tests.
    python -m experiments.bench                   # all sections
    python -m experiments.bench tokenizer         # one section: tokenizer
    python -m experiments.bench tokenizer --gpt2 path/to/gpt2.tiktoken   # compare with GPT-2 offline
    python -m experiments.bench model --nanogpt path/to/nanoGPT          # model.py against nanoGPT's, side by side
    python -m experiments.bench eval --ckpt out/cpu/ckpt.pt --mmlu path/to/mmlu    # eval_mmlu.py's speed
    python -m experiments.bench loss              # the chunked loss at the paper's 131,072 ids: memory and speed
    python -m experiments.bench cpu               # config/cpu.py's step: float32 vs bfloat16, eager vs compiled
Each section prints its numbers; run on an otherwise idle machine.
"""
import argparse
import bisect
import importlib.util
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

import corpus
import eval_mmlu
import glyphs
import glyphs_report
import model as model_py
import prepare
import tokenizer
from eval_data import TASKS, load_mmlu, task_path
from model import GPT, GPTConfig, load_checkpoint, peak_flops
from tokenizer import load_tokenizer
from util import autocast, inference_dtype, native_bf16

def timed(fn, repeats=3):
    """median wall time of fn() over repeats, and its last result"""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out

_trained = {}
def trained_spec(vocab_size, layout, docs_key='train'):
    """a tokenizer trained on the default corpus, once per process, and the seconds it took"""
    key = (vocab_size, layout, docs_key)
    if key not in _trained:
        docs = list(corpus.documents('train')) if docs_key == 'train' else ten_mb()
        t0 = time.perf_counter()
        spec = tokenizer.train(docs, vocab_size, layout, verbose=False)
        _trained[key] = spec, time.perf_counter() - t0, sum(len(d.encode('utf-8')) for d in docs) / 1e6
    return _trained[key]

def ten_mb():
    docs = list(corpus.documents('all'))
    size = sum(len(d.encode('utf-8')) for d in docs)
    for d in list(docs): # the whole corpus is 9.7 MB: top it up to 10 MB
        if size >= 10e6:
            break
        docs.append(d)
        size += len(d.encode('utf-8'))
    return docs

def ood_sample():
    """out-of-domain text present on every Debian/Ubuntu machine: the GPL-3 (modern legal English)"""
    with open('/usr/share/common-licenses/GPL-3', encoding='utf-8') as f:
        return f.read()

# -----------------------------------------------------------------------------
def bench_tokenizer(gpt2='gpt2', hf=()):
    print(f"== tokenizer ({os.cpu_count()} cores)")
    spec65, t, mb = trained_spec(65536, 'codepoint')
    print(f"train codepoint 65,536 on the default train split ({mb:.1f} MB): {t:.1f}s (goal <= 120s)")
    spec131, t, mb10 = trained_spec(131072, 'codepoint', '10mb')
    counts = tokenizer.describe(load_tokenizer(spec131))
    print(f"train codepoint 131,072 on {mb10:.1f} MB: {t:.1f}s (goal <= 120s), "
          f"{counts['learned']} learned, {counts['placeholders']} placeholders")
    spec8, t, mb = trained_spec(8192, 'compact')
    print(f"train compact 8,192 (the default tokenizer) on {mb:.1f} MB: {t:.1f}s")
    train_docs = list(corpus.documents('train'))
    toks = {'compact-8192': load_tokenizer(spec8), 'codepoint-65536': load_tokenizer(spec65),
            'codepoint-131072': load_tokenizer(spec131)}
    try:
        toks['gpt2'] = load_tokenizer(gpt2)
    except Exception as e:
        print(f"(no GPT-2 comparison: {e})")
    for path in hf: # the paper's own: bvv241-2-3 and bvv241-max (tokenizer.HFTokenizer)
        tok = load_tokenizer(path)
        toks[tok.name] = tok

    # compression: UTF-8 bytes per token
    val = {lang: list(corpus.documents('val', (lang,))) for lang in ('en', 'ru', 'zh')}
    val['all'] = val['en'] + val['ru'] + val['zh']
    ood = ood_sample()
    mmlu = [(lambda q: ' '.join([q['question'], *q['choices']]))(json.loads(l)) for l in open('data/mmlu/test.jsonl')] if os.path.exists('data/mmlu/test.jsonl') else []
    print(f"UTF-8 bytes per token (higher is better); <unk>: the share of val tokens that lost their text; MMLU: "
          f"{len(mmlu):,} test questions{'' if mmlu else ' (none: python eval_data.py)'}")
    print(f"  {'tokenizer':18s} {'val':>6s} {'val en':>7s} {'val ru':>7s} {'val zh':>7s} {'GPL-3 (ood)':>12s} {'MMLU':>6s} {'<unk>':>8s}")
    def bpt(tok, docs):
        """UTF-8 bytes per token of docs"""
        return sum(len(d.encode('utf-8')) for d in docs) / max(1, sum(len(x) for x in tok.encode_batch(docs)))
    for name, tok in toks.items():
        ids = np.concatenate([np.asarray(x) for x in tok.encode_batch(val['all'])])
        unk = f"{(ids == tok.unk).mean():.4%}" if getattr(tok, 'unk', None) is not None else 'none'
        print(f"  {name:18s} {bpt(tok, val['all']):6.2f} {bpt(tok, val['en']):7.2f} {bpt(tok, val['ru']):7.2f} "
              f"{bpt(tok, val['zh']):7.2f} {bpt(tok, [ood]):12.2f} {bpt(tok, mmlu) if mmlu else float('nan'):6.2f} {unk:>8s}")

    # speed: one 2 MB string, and ~30,000 line-sized documents
    text = '\n'.join(train_docs)
    big = text.encode('utf-8')[:2_000_000].decode('utf-8', 'ignore')
    lines = [l for l in text.split('\n') if l.strip()]
    lines = lines[::max(1, len(lines) // 30000)][:30000]
    lines_mb = sum(len(l.encode('utf-8')) for l in lines) / 1e6
    print(f"encode speed, MB/s (goal >= 6 on 2 cores); {len(lines)} lines are {lines_mb:.1f} MB; encode() runs on "
          f"the calling thread, encode_batch() on one thread per core:")
    for name, tok in toks.items():
        t1, _ = timed(lambda: tok.encode(big))
        t2, _ = timed(lambda: tok.encode_batch(lines))
        print(f"  {name:18s} one 2 MB string {2 / t1:6.2f}   encode_batch {lines_mb / t2:6.2f}")

# -----------------------------------------------------------------------------
def bench_glyphs():
    """a cold build (no cache) of the 131,072-id codepoint tokenizer's matrix at n_embd 1024: rendering
    in this process, then PCA on one thread (glyphs.py says why)"""
    print(f"== glyphs ({os.cpu_count()} cores)")
    spec, _, _ = trained_spec(131072, 'codepoint', '10mb')
    tok = load_tokenizer(spec)
    for recipe in ('default', 'paper'):
        t0 = time.perf_counter()
        emb, X, rank = glyphs.build(tok, 1024, recipe, verbose=True)
        dt = time.perf_counter() - t0
        print(f"{tok.vocab_size:,} ids x 1024 ({recipe} recipe), cold: {dt:.1f}s (goal <= 30s); rank {rank}")
        rep = glyphs_report.collision_report(*glyphs.token_texts(tok), X)
        print(f"  {rep['distinct']:,} distinct rows; largest identical group {rep['largest']:,} ({rep['largest_example']}); "
              f"{rep['groups']} groups hold {rep['ids_in_groups']:,} ids; whitespace/control/byte/special ids sharing "
              f"a row: {rep['invisible_special_shared']}")

# -----------------------------------------------------------------------------
def bench_prepare(repeats=25):
    """prepare.py on the default corpus against the tokenizer alone on one core (goal >= 0.8 x single x
    cores). This machine's speed drifts by 20-30% from run to run, so three timings are interleaved,
    `repeats` rounds of each, and the ratios are taken per round:
      single    tok.encode_flat(every document) on one core, the documents already in memory
      ceiling   the same call on one thread per core, 40 equal shares of the documents handed out as
                threads free up, nothing else: what the machine gives to tokenizing on every core
      prepare   prepare.prepare() end to end: read corpus.py's cache, split, tokenize, write shards"""
    cores = os.cpu_count()
    print(f"== prepare ({cores} cores, {repeats} interleaved rounds)")
    tok = load_tokenizer(trained_spec(8192, 'compact')[0])
    docs = list(corpus.documents('all'))
    mb = sum(len(d.encode('utf-8')) for d in docs) / 1e6
    sizes = list(itertools.accumulate(len(d.encode('utf-8')) for d in docs))
    cuts = [bisect.bisect(sizes, sizes[-1] * k / 40) for k in range(40)] + [len(docs)]
    def share(lo, hi):
        """one share of the documents, encoded on the calling thread"""
        return tok.encode_flat(docs[lo:hi], threads=1)
    rounds = []
    with tempfile.TemporaryDirectory() as d, ThreadPoolExecutor(cores) as pool:
        for _ in range(repeats):
            single = timed(lambda: tok.encode_flat(docs, threads=1), 1)[0] # on the calling thread only
            ceiling = timed(lambda: list(pool.map(share, cuts[:-1], cuts[1:])), 1)[0]
            full = timed(lambda: prepare.prepare(corpus.default_files(), d, tok, verbose=False, overwrite=True), 1)[0]
            rounds.append((single, ceiling, full))
    med = statistics.median
    single, ceiling, full = (med([r[k] for r in rounds]) for k in range(3))
    print(f"default corpus, {mb:.1f} MB; medians of {repeats} rounds: tokenizer alone on one core {mb / single:.1f} MB/s, "
          f"on {cores} threads with nothing else {mb / ceiling:.1f} MB/s, prepare.py end to end {mb / full:.1f} MB/s")
    for name, k in [('ceiling', 1), ('prepare', 2)]:
        ratios = sorted(r[0] / (cores * r[k]) for r in rounds)
        print(f"  {name}: {med(ratios):.2f} x single x {cores} cores (median of rounds; range {ratios[0]:.2f}-{ratios[-1]:.2f})"
              + (" (goal >= 0.80)" if name == 'prepare' else ""))
    best = [min(r[k] for r in rounds) for k in range(3)]
    print(f"  fastest round of each: ceiling {best[0] / (cores * best[1]):.2f}, prepare {best[0] / (cores * best[2]):.2f} x single x {cores}")

# -----------------------------------------------------------------------------
def bench_model(nanogpt_dir, steps=5, repeats=3):
    """CPU training tokens/s of model.py against nanoGPT's model.py at the same shape (goal >= 0.95x).
    nanoGPT is loaded from a folder outside this repository (e.g. a clone of karpathy/nanoGPT)."""
    print(f"== model vs nanoGPT ({torch.get_num_threads()} threads, float32, no compile)")
    path = os.path.join(nanogpt_dir or '', 'model.py')
    if not nanogpt_dir or not os.path.exists(path):
        print("skipped: pass --nanogpt DIR, a folder holding nanoGPT's model.py (git clone karpathy/nanoGPT)")
        return
    spec = importlib.util.spec_from_file_location('nanogpt_model', path)
    ng = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ng)
    print("nanoGPT: learned positions, lm_head tied to wte; ours: rotary, untied lm_head, frozen wte ('random', the "
          "same cost as 'glyph') or trainable")
    for vocab, batch in [(8192, 8), (65536, 2)]: # config/cpu.py's shape, and the paper's 65k vocabulary
        kw = dict(n_layer=4, n_head=4, n_embd=256, block_size=512, vocab_size=vocab, bias=False, dropout=0.0)
        models = {'nanogpt': ng.GPT(ng.GPTConfig(**kw)), 'frozen': GPT(GPTConfig(**kw, embedding='random')),
                  'trainable': GPT(GPTConfig(**kw, embedding='trainable'))}
        opts = {k: m.configure_optimizers(0.1, 6e-4, (0.9, 0.95), 'cpu') for k, m in models.items()}
        g = torch.Generator().manual_seed(0)
        x, y = torch.randint(0, vocab, (2, batch, 512), generator=g)
        def step(k):
            t0 = time.perf_counter()
            _, loss = models[k](x, y)
            loss.backward()
            opts[k].step()
            opts[k].zero_grad(set_to_none=True)
            return time.perf_counter() - t0
        for k in models:
            step(k) # warm up
        for r in range(repeats):
            times = {k: [] for k in models}
            for _ in range(steps): # alternate the models step by step: drift in machine speed hits all alike
                for k in models:
                    times[k].append(step(k))
            tps = {k: batch * 512 / statistics.median(v) for k, v in times.items()}
            print(f"vocab {vocab}, batch {batch}, repeat {r}: nanoGPT {tps['nanogpt']:,.0f} tok/s; frozen {tps['frozen']:,.0f} "
                  f"({tps['frozen'] / tps['nanogpt']:.3f}x); trainable {tps['trainable']:,.0f} ({tps['trainable'] / tps['nanogpt']:.3f}x)")

# -----------------------------------------------------------------------------
def bench_cpu(rounds=8, run_steps=300, nanogpt_dir=None):
    """config/cpu.py's training step on this CPU: float32 vs bfloat16 autocast, eager vs torch.compile,
    interleaved round by round (goal: bfloat16 >= 1.25x float32). Compiled is worth it only if it wins
    including its compile time over a whole config/cpu.py run (run_steps steps). With --nanogpt, nanoGPT's
    float32 model at the same shape is a row too."""
    print(f"== cpu: config/cpu.py's shape, {torch.get_num_threads()} threads; bfloat16: {native_bf16()[1]}")
    kw = dict(n_layer=4, n_head=4, n_embd=256, block_size=512, vocab_size=8192, bias=False, dropout=0.0)
    batch = 8
    g = torch.Generator().manual_seed(0)
    x, y = torch.randint(0, kw['vocab_size'], (2, batch, 512), generator=g)
    rows = {} # name -> (callable model, optimizer, dtype)
    def add(name, model, dtype, compiled):
        opt = model.configure_optimizers(0.1, 6e-4, (0.9, 0.95), 'cpu')
        rows[name] = (torch.compile(model) if compiled else model, opt, dtype)
    for dtype in ('float32', 'bfloat16'):
        for compiled in (False, True):
            torch.manual_seed(0)
            add(f"{dtype} {'compiled' if compiled else 'eager'}", GPT(GPTConfig(**kw, embedding='random')), dtype, compiled)
    path = os.path.join(nanogpt_dir or '', 'model.py')
    if nanogpt_dir and os.path.exists(path):
        spec = importlib.util.spec_from_file_location('nanogpt_model', path)
        ng = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ng)
        add('nanoGPT float32 eager', ng.GPT(ng.GPTConfig(**kw)), 'float32', False)
    def step(name):
        model, opt, dtype = rows[name]
        t0 = time.perf_counter()
        with autocast(dtype, 'cpu'):
            _, loss = model(x, y)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0
    first = {name: step(name) for name in rows} # the compiled rows compile here
    for name in rows:
        step(name) # a second warm-up: compiled graphs settle after the first backward
    times = {name: [] for name in rows}
    for r in range(rounds): # one step of every row per round, the order rotating: drift hits all alike
        names = list(rows)[r % len(rows):] + list(rows)[:r % len(rows)]
        for name in names:
            times[name].append(step(name))
    base = statistics.median(times['float32 eager'])
    tok = batch * 512
    for name in rows:
        med = statistics.median(times[name])
        ratios = sorted(a / b for a, b in zip(times['float32 eager'], times[name]))
        whole = first[name] + run_steps * med
        print(f"{name:22s} {tok / med:7,.0f} tok/s, {base / med:.2f}x float32 eager (rounds {ratios[0]:.2f}-{ratios[-1]:.2f}); "
              f"first step {first[name]:.1f} s; a {run_steps}-step run ~{whole / 60:.1f} min")
    for dtype in ('float32', 'bfloat16'):
        e, c = (first[f"{dtype} {k}"] + run_steps * statistics.median(times[f"{dtype} {k}"]) for k in ('eager', 'compiled'))
        print(f"  {dtype}: compiled {'wins' if c < e else 'loses'} over a {run_steps}-step run, compile time included "
              f"({c / 60:.1f} vs {e / 60:.1f} min)")
    print(f"  bfloat16 eager / float32 eager: {base / statistics.median(times['bfloat16 eager']):.2f}x (goal >= 1.25)")

# -----------------------------------------------------------------------------
def bench_gpu(steps=10, warmup=3):
    """training tokens/s, MFU and peak memory of config/frozen.py's and config/gpu_small.py's shapes on
    one GPU, with the chunked loss and with the plain one: synthetic tokens, the 'random' frozen
    embedding (the same shapes and cost as 'glyph'), bf16 autocast, torch.compile, fused AdamW, as
    train.py runs them. Needs the core packages (torch, numpy, tiktoken, Pillow) and no data, font or network"""
    print("== gpu")
    if not torch.cuda.is_available():
        print("skipped: no CUDA device")
        return
    name = torch.cuda.get_device_name()
    print(f"{name}, torch {torch.__version__}; {warmup} warm-up and {steps} timed steps per row")
    torch.backends.cuda.matmul.allow_tf32 = True
    for cfg, kw, batch in [('frozen.py', dict(n_layer=16, n_head=32, n_embd=1024, vocab_size=131072), 16),
                           ('gpu_small.py', dict(n_layer=12, n_head=12, n_embd=768, vocab_size=65536), 32)]:
        for loss in ('chunked', 'plain'):
            model_py.CHUNKED_LOSS_VOCAB = 32768 if loss == 'chunked' else 10**9
            torch._dynamo.reset() # a fresh graph for each loss path
            torch.manual_seed(0)
            model = GPT(GPTConfig(block_size=1024, embedding='random', **kw)).cuda()
            opt = model.configure_optimizers(0.1, 3e-4, (0.9, 0.95), 'cuda')
            cmodel = torch.compile(model)
            x, y = torch.randint(0, kw['vocab_size'], (2, batch, 1024), device='cuda')
            torch.cuda.reset_peak_memory_stats()
            t_start = time.perf_counter()
            for i in range(warmup + steps):
                if i == warmup:
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                with torch.autocast('cuda', dtype=torch.bfloat16):
                    _, l = cmodel(x, y)
                l.backward()
                opt.step()
                opt.zero_grad(set_to_none=True)
            torch.cuda.synchronize()
            tps = batch * 1024 * steps / (time.perf_counter() - t0)
            mfu = model.flops_per_token() * tps / peak_flops(name) * 100 if peak_flops(name) else float('nan')
            print(f"{cfg} shape, {loss} loss, micro-batch {batch}x1024: {tps:,.0f} tok/s, MFU {mfu:.1f}%, peak memory "
                  f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB, loss {l.item():.3f}, "
                  f"{time.perf_counter() - t_start:.0f} s with compiling", flush=True)
            del model, opt, cmodel
    model_py.CHUNKED_LOSS_VOCAB = 32768

# -----------------------------------------------------------------------------
def bench_eval(ckpt, mmlu, limit=10, batch_size=16):
    """eval_mmlu.py's standard protocol (5-shot) in prompt tokens/s against the model's plain forward
    over the same padded batches (goal >= 0.8), and the wall time of both protocols; then every other
    task's time per 1,000 questions against MMLU's (goal <= 2x)"""
    print("== eval")
    if not os.path.exists(ckpt) or not mmlu or not os.path.exists(mmlu):
        print(f"skipped: needs a checkpoint (--ckpt, now {ckpt}) and MMLU data (--mmlu, now {mmlu}); see docs/evaluation.md")
        return
    model, tok = load_checkpoint(ckpt)
    data, _ = load_mmlu(mmlu, shots=5)
    res = eval_mmlu.evaluate(model, tok, data, shots=5, limit=limit, protocol='both', batch_size=batch_size, verbose=False)
    s, st = res['summary'], res['summary']['standard']
    rows = [r[0] for p in eval_mmlu.standard_prompts(tok, data, 5, limit, model.config.block_size, False,
                                                      eval_mmlu.letter_split(tok)) for r in p[2]]
    rows.sort(key=len, reverse=True)
    t0, n = time.perf_counter(), 0
    with torch.no_grad():
        for b in range(0, len(rows), batch_size):
            model(torch.zeros(len(rows[b:b + batch_size]), len(rows[b]), dtype=torch.long))
            n += sum(map(len, rows[b:b + batch_size]))
    plain = n / (time.perf_counter() - t0)
    print(f"{s['n_questions']} questions, 5-shot, both protocols: {s['wall_s']:.0f}s; standard protocol "
          f"{st['prompt_tokens_per_s']:,.0f} prompt tokens/s vs the plain forward over the same batches {plain:,.0f} "
          f"= {st['prompt_tokens_per_s'] / plain:.2f}x (goal >= 0.8)")
    # the other tasks, in the checkpoint's precision as eval_mmlu.py runs them: seconds per 1,000 questions
    # against the MMLU-570 run's, both protocols where a task has two (goal <= 2x)
    dtype, _ = inference_dtype(model, 'cpu')
    with autocast(dtype, 'cpu'):
        mmlu = eval_mmlu.evaluate(model, tok, data, shots=5, limit=limit, protocol='both', verbose=False)['summary']
        per_k = 1000 * mmlu['wall_s'] / mmlu['n_questions']
        print(f"in {dtype}: MMLU {mmlu['n_questions']} questions, both protocols, {per_k:.1f} s per 1,000 questions")
        for t in TASKS:
            if not os.path.exists(task_path(t)):
                print(f"  {t}: skipped, no data (python eval_data.py)")
                continue
            r = eval_mmlu.evaluate_task(model, tok, t, task_path(t), verbose=False)['summary']
            k = 1000 * r['wall_s'] / r['n_questions']
            acc = f"acc {r['standard']['accuracy']:.1%}" + (f", acc_norm {r['standard']['acc_norm']:.1%}" if 'acc_norm' in r['standard'] else '')
            print(f"  {t}: {r['n_questions']} questions in {r['wall_s']:.1f} s, {k:.1f} s per 1,000 = {k / per_k:.2f}x MMLU's "
                  f"(goal <= 2); {acc}, chance {r['standard']['chance']:.1%}")

# -----------------------------------------------------------------------------
LOSS_CHILD = """
import resource, sys, torch
import model
chunked, n = sys.argv[1] == 'chunked', int(sys.argv[2])
model.CHUNKED_LOSS_VOCAB = 32768 if chunked else 10**9
torch.manual_seed(0)
m = model.GPT(model.GPTConfig(block_size=1024, vocab_size=131072, n_layer=1, n_head=32, n_embd=1024, embedding='random'))
x = torch.randint(0, 131072, (n, 1024))
m(x, x)[1].backward()
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) # KB on Linux
"""

def bench_loss(rounds=5):
    """the paper's output layer (131,072 ids x n_embd 1024) with one block: peak memory per training
    token, from fresh processes at 1 and 4 sequences of 1,024 tokens (goal <= 256 KB chunked; the plain
    path's float32 logits and their gradient alone are 1,024 KB), and training tokens/s chunked vs plain,
    interleaved (goal >= 0.95)"""
    print(f"== loss at 131,072 ids x 1024 ({os.cpu_count()} cores)")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) # the repository: the child imports model.py
    per_token = {}
    for path in ('plain', 'chunked'):
        kb = [int(subprocess.run([sys.executable, '-c', LOSS_CHILD, path, str(n)], cwd=here, capture_output=True,
                                 text=True, check=True).stdout.split()[-1]) for n in (1, 4)]
        per_token[path] = (kb[1] - kb[0]) / (3 * 1024)
        print(f"{path:8s} peak RSS 1 x 1024 tokens {kb[0] / 2**20:.2f} GiB, 4 x 1024 {kb[1] / 2**20:.2f} GiB: "
              f"{per_token[path]:,.0f} KB per extra training token" + (" (goal <= 256)" if path == 'chunked' else ""))
    # the largest micro-batch of config/frozen.py's shape on an 80 GB GPU, by arithmetic: 16 blocks, one head
    block = per_token['chunked'] # one block and the chunked head, per token: nearly all of it the block
    fixed = (336e6 * 16 + 131072 * 1024 * 4) / 1024 # float32 weights, gradients, two AdamW moments; the frozen buffer
    for path in ('plain', 'chunked'):
        kb = 16 * block + (per_token['plain'] - per_token['chunked'] if path == 'plain' else 0)
        print(f"  estimate, config/frozen.py on 80 GB ({path}): {kb:,.0f} KB per token, micro-batch of "
              f"~{(80e9 / 1024 - fixed) / kb / 1024:.0f} sequences of 1,024 (float32 activations as on this CPU; "
              f"bf16 on a GPU halves most of them)")
    torch.manual_seed(0)
    m = model_py.GPT(model_py.GPTConfig(block_size=1024, vocab_size=131072, n_layer=1, n_head=32, n_embd=1024, embedding='random'))
    opt = m.configure_optimizers(0.1, 1e-4, (0.9, 0.95), 'cpu')
    x = torch.randint(0, 131072, (1, 1024))
    def step(threshold):
        model_py.CHUNKED_LOSS_VOCAB = threshold
        t0 = time.perf_counter()
        m(x, x)[1].backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return time.perf_counter() - t0
    step(32768), step(10**9) # warm-up
    ratios = []
    for r in range(rounds):
        if r % 2 == 0:
            plain, chunked = step(10**9), step(32768)
        else:
            chunked, plain = step(32768), step(10**9)
        ratios.append(plain / chunked)
    model_py.CHUNKED_LOSS_VOCAB = 32768
    print(f"training tokens/s, chunked / plain, 1 x 1024 tokens, median of {rounds} interleaved rounds: "
          f"{statistics.median(ratios):.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f}; goal >= 0.95)")

SECTIONS = {'tokenizer': bench_tokenizer, 'glyphs': bench_glyphs, 'prepare': bench_prepare, 'model': bench_model,
            'cpu': bench_cpu, 'gpu': bench_gpu, 'eval': bench_eval, 'loss': bench_loss}

if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('sections', nargs='*', default=list(SECTIONS), help=f"any of {', '.join(SECTIONS)}")
    parser.add_argument('--gpt2', default='gpt2', help="tokenizer spec for the GPT-2 comparison")
    parser.add_argument('--hf', default='', help="Hugging Face tokenizer.json files to compare, comma-separated, e.g. the paper's bvv241-2-3")
    parser.add_argument('--nanogpt', default=None, help="folder holding nanoGPT's model.py, for the model section")
    parser.add_argument('--ckpt', default='out/cpu/ckpt.pt', help="checkpoint for the eval section")
    parser.add_argument('--mmlu', default=os.environ.get('MMLU_DIR', 'data/mmlu'), help="MMLU data for the eval section")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} (other processes skew every number)")
    for s in args.sections:
        if s not in SECTIONS:
            raise SystemExit(f"unknown section {s!r}: use {', '.join(SECTIONS)}")
        kwargs = {'tokenizer': {'gpt2': args.gpt2, 'hf': [p for p in args.hf.split(',') if p]}, 'model': {'nanogpt_dir': args.nanogpt}, 'cpu': {'nanogpt_dir': args.nanogpt},
                  'eval': {'ckpt': args.ckpt, 'mmlu': args.mmlu}}.get(s, {})
        SECTIONS[s](**kwargs)
