"""
Every benchmark the project reports, in one place. Speed targets live here, not in the tests.
    python -m experiments.bench                   # all sections
    python -m experiments.bench tokenizer         # one section: tokenizer
    python -m experiments.bench tokenizer --gpt2 path/to/gpt2.tiktoken   # compare with GPT-2 offline
    python -m experiments.bench model --nanogpt path/to/nanoGPT          # model.py against nanoGPT's, side by side
    python -m experiments.bench eval --ckpt out/cpu/ckpt.pt --mmlu path/to/mmlu    # eval_mmlu.py's speed
    python -m experiments.bench loss              # the chunked loss at the paper's 131,072 ids: memory and speed
    python -m experiments.bench cpu               # config/cpu.py's step: float32 vs bfloat16, eager vs compiled
    python -m experiments.bench ... --docs        # also: each section's figures into docs/benchmarks_bench.json
                                                  # and its tables into docs/benchmarks.md
Each section prints its numbers and returns them; run on an otherwise idle machine. With --docs the
sections run replace theirs in the summary (the others keep their earlier run, with its date and commit),
and tables() below makes every table of docs/benchmarks.md from the summary alone; a test holds them equal.
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
from datetime import date

import numpy as np
import torch

import corpus
import eval_mmlu
import glyphs
import glyphs_report
import model as model_py
import prepare
import tokenizer
from eval_data import PAPER_TASKS, TASKS, load_mmlu, task_path
from experiments.results import machine, save_summary, write_tables
from model import GPT, GPTConfig, load_checkpoint, peak_flops
from tokenizer import load_tokenizer
from util import autocast, git_commit, inference_dtype, native_bf16

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUMMARY = os.path.join(ROOT, 'docs', 'benchmarks_bench.json')
PAGE = os.path.join(ROOT, 'docs', 'benchmarks.md')

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
    r = {'training': []}
    spec65, t, mb = trained_spec(65536, 'codepoint')
    r['training'].append(dict(name='codepoint 65,536', data=f'the default train split ({mb:.1f} MB)', seconds=t))
    print(f"train codepoint 65,536 on the default train split ({mb:.1f} MB): {t:.1f}s (goal <= 120s)")
    spec131, t, mb10 = trained_spec(131072, 'codepoint', '10mb')
    counts = tokenizer.describe(load_tokenizer(spec131))
    r['training'].append(dict(name='codepoint 131,072', data=f'{mb10:.1f} MB: the whole corpus, topped up by '
                              'repeating documents', seconds=t))
    r['learned_131072'], r['placeholders_131072'] = counts['learned'], counts['placeholders']
    print(f"train codepoint 131,072 on {mb10:.1f} MB: {t:.1f}s (goal <= 120s), "
          f"{counts['learned']} learned, {counts['placeholders']} placeholders")
    spec8, t, mb = trained_spec(8192, 'compact')
    r['training'].append(dict(name='compact 8,192, the default', data=f'the default train split ({mb:.1f} MB)',
                              seconds=t))
    print(f"train compact 8,192 (the default tokenizer) on {mb:.1f} MB: {t:.1f}s")
    train_docs = list(corpus.documents('train'))
    toks = {'compact 8,192': load_tokenizer(spec8), 'codepoint 65,536': load_tokenizer(spec65),
            'codepoint 131,072': load_tokenizer(spec131)}
    try:
        toks['GPT-2'] = load_tokenizer(gpt2)
    except Exception as e:
        print(f"(no GPT-2 comparison: {e})")
    for path in hf: # the paper's own: bvv241-2-3 and bvv241-max (tokenizer.HFTokenizer)
        tok = load_tokenizer(path)
        toks[f"{tok.name} ({tok.vocab_size:,})"] = tok

    # compression: UTF-8 bytes per token
    val = {lang: list(corpus.documents('val', (lang,))) for lang in ('en', 'ru', 'zh')}
    val['all'] = val['en'] + val['ru'] + val['zh']
    ood = ood_sample()
    path = 'data/mmlu/test.jsonl'
    mmlu = ([(lambda q: ' '.join([q['question'], *q['choices']]))(json.loads(line)) for line in open(path)]
            if os.path.exists(path) else [])
    r['mmlu_questions'] = len(mmlu)
    print(f"UTF-8 bytes per token (higher is better); <unk>: the share of val tokens that lost their text; MMLU: "
          f"{len(mmlu):,} test questions{'' if mmlu else ' (none: python eval_data.py)'}")
    print(f"  {'tokenizer':24s} {'val':>6s} {'val en':>7s} {'val ru':>7s} {'val zh':>7s} {'GPL-3 (ood)':>12s} "
          f"{'MMLU':>6s} {'<unk>':>8s}")
    def bpt(tok, docs):
        """UTF-8 bytes per token of docs"""
        return sum(len(d.encode('utf-8')) for d in docs) / max(1, sum(len(x) for x in tok.encode_batch(docs)))
    r['compression'] = {}
    for name, tok in toks.items():
        ids = np.concatenate([np.asarray(x) for x in tok.encode_batch(val['all'])])
        unk = float((ids == tok.unk).mean()) if getattr(tok, 'unk', None) is not None else None
        c = r['compression'][name] = dict(val=bpt(tok, val['all']), en=bpt(tok, val['en']), ru=bpt(tok, val['ru']),
                                          zh=bpt(tok, val['zh']), ood=bpt(tok, [ood]),
                                          mmlu=bpt(tok, mmlu) if mmlu else None, unk=unk)
        print(f"  {name:24s} {c['val']:6.2f} {c['en']:7.2f} {c['ru']:7.2f} {c['zh']:7.2f} {c['ood']:12.2f} "
              f"{c['mmlu'] or float('nan'):6.2f} {'none' if unk is None else f'{unk:.4%}':>8s}")

    # speed: one 2 MB string, and ~30,000 line-sized documents
    text = '\n'.join(train_docs)
    big = text.encode('utf-8')[:2_000_000].decode('utf-8', 'ignore')
    lines = [line for line in text.split('\n') if line.strip()]
    lines = lines[::max(1, len(lines) // 30000)][:30000]
    lines_mb = sum(len(line.encode('utf-8')) for line in lines) / 1e6
    r['lines'], r['lines_mb'], r['speed'] = len(lines), lines_mb, {}
    print(f"encode speed, MB/s (goal >= 6 on 2 cores); {len(lines)} lines are {lines_mb:.1f} MB; encode() runs on "
          f"the calling thread, encode_batch() on one thread per core:")
    for name, tok in toks.items():
        t1, _ = timed(lambda: tok.encode(big))
        t2, _ = timed(lambda: tok.encode_batch(lines))
        r['speed'][name] = dict(string=2 / t1, batch=lines_mb / t2)
        print(f"  {name:24s} one 2 MB string {2 / t1:6.2f}   encode_batch {lines_mb / t2:6.2f}")
    return r

# -----------------------------------------------------------------------------
def bench_glyphs():
    """a cold build (no cache) of the 131,072-id codepoint tokenizer's matrix at n_embd 1024: rendering
    in this process, then PCA on one thread (glyphs.py says why); the rendering is also timed alone"""
    print(f"== glyphs ({os.cpu_count()} cores)")
    spec, _, _ = trained_spec(131072, 'codepoint', '10mb')
    tok = load_tokenizer(spec)
    r = {'vocab_size': tok.vocab_size, 'n_embd': 1024, 'recipes': {}}
    for recipe in ('default', 'paper'):
        render = timed(lambda: glyphs.render(tok, 1024, recipe), 1)[0]
        t0 = time.perf_counter()
        emb, X, rank = glyphs.build(tok, 1024, recipe, verbose=True)
        dt = time.perf_counter() - t0
        print(f"{tok.vocab_size:,} ids x 1024 ({recipe} recipe), cold: {dt:.1f}s (goal <= 30s); rank {rank}")
        rep = glyphs_report.collision_report(*glyphs.token_texts(tok), X)
        r['recipes'][recipe] = dict(seconds=dt, render_seconds=render, rank=rank, distinct=rep['distinct'],
                                    invisible_special_shared=rep['invisible_special_shared'])
        print(f"  {rep['distinct']:,} distinct rows; largest identical group {rep['largest']:,} "
              f"({rep['largest_example']}); {rep['groups']} groups hold {rep['ids_in_groups']:,} ids; "
              f"whitespace/control/byte/special ids sharing a row: {rep['invisible_special_shared']}")
    return r

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
    out = dict(mb=mb, cores=cores, repeats=repeats, single_mb_s=mb / single, ceiling_mb_s=mb / ceiling,
               prepare_mb_s=mb / full)
    for name, k in [('ceiling', 1), ('prepare', 2)]:
        ratios = sorted(r[0] / (cores * r[k]) for r in rounds)
        out[name] = dict(ratio=med(ratios), low=ratios[0], high=ratios[-1])
        print(f"  {name}: {med(ratios):.2f} x single x {cores} cores (median of rounds; range {ratios[0]:.2f}-"
              f"{ratios[-1]:.2f})" + (" (goal >= 0.80)" if name == 'prepare' else ""))
    best = [min(r[k] for r in rounds) for k in range(3)]
    print(f"  fastest round of each: ceiling {best[0] / (cores * best[1]):.2f}, prepare "
          f"{best[0] / (cores * best[2]):.2f} x single x {cores}")
    return out

# -----------------------------------------------------------------------------
def bench_model(nanogpt_dir, steps=5, repeats=3):
    """CPU training tokens/s of model.py against nanoGPT's model.py at the same shape (goal >= 0.95x).
    nanoGPT is loaded from a folder outside this repository (e.g. a clone of karpathy/nanoGPT)."""
    print(f"== model vs nanoGPT ({torch.get_num_threads()} threads, float32, no compile)")
    path = os.path.join(nanogpt_dir or '', 'model.py')
    if not nanogpt_dir or not os.path.exists(path):
        print("skipped: pass --nanogpt DIR, a folder holding nanoGPT's model.py (git clone karpathy/nanoGPT)")
        return None
    ng = nanogpt(path)
    out = {'steps': steps, 'repeats': repeats, 'shapes': []}
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
        row = dict(vocab=vocab, batch=batch, nanogpt=[], frozen=[], trainable=[])
        out['shapes'].append(row)
        for r in range(repeats):
            times = {k: [] for k in models}
            for _ in range(steps): # alternate the models step by step: drift in machine speed hits all alike
                for k in models:
                    times[k].append(step(k))
            tps = {k: batch * 512 / statistics.median(v) for k, v in times.items()}
            row['nanogpt'].append(tps['nanogpt'])
            row['frozen'].append(tps['frozen'] / tps['nanogpt'])
            row['trainable'].append(tps['trainable'] / tps['nanogpt'])
            print(f"vocab {vocab}, batch {batch}, repeat {r}: nanoGPT {tps['nanogpt']:,.0f} tok/s; frozen {tps['frozen']:,.0f} "
                  f"({tps['frozen'] / tps['nanogpt']:.3f}x); trainable {tps['trainable']:,.0f} ({tps['trainable'] / tps['nanogpt']:.3f}x)")
    return out

def nanogpt(path):
    """nanoGPT's model.py, imported from a folder outside this repository"""
    spec = importlib.util.spec_from_file_location('nanogpt_model', path)
    ng = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ng)
    return ng

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
        ng = nanogpt(path)
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
    out = dict(rounds=rounds, run_steps=run_steps, bf16=native_bf16()[1], rows={})
    for name in rows:
        med = statistics.median(times[name])
        ratios = sorted(a / b for a, b in zip(times['float32 eager'], times[name]))
        whole = first[name] + run_steps * med
        out['rows'][name] = dict(tokens_per_s=tok / med, ratio=base / med, low=ratios[0], high=ratios[-1],
                                 first_step=first[name], run_minutes=whole / 60)
        print(f"{name:22s} {tok / med:7,.0f} tok/s, {base / med:.2f}x float32 eager (rounds {ratios[0]:.2f}-{ratios[-1]:.2f}); "
              f"first step {first[name]:.1f} s; a {run_steps}-step run ~{whole / 60:.1f} min")
    for dtype in ('float32', 'bfloat16'):
        e, c = (first[f"{dtype} {k}"] + run_steps * statistics.median(times[f"{dtype} {k}"]) for k in ('eager', 'compiled'))
        print(f"  {dtype}: compiled {'wins' if c < e else 'loses'} over a {run_steps}-step run, compile time included "
              f"({c / 60:.1f} vs {e / 60:.1f} min)")
    print(f"  bfloat16 eager / float32 eager: {base / statistics.median(times['bfloat16 eager']):.2f}x (goal >= 1.25)")
    return out

# -----------------------------------------------------------------------------
def bench_gpu(steps=10, warmup=3):
    """training tokens/s, MFU and peak memory of config/frozen.py's and config/gpu_small.py's shapes on
    one GPU, with the chunked loss and with the plain one: synthetic tokens, the 'random' frozen
    embedding (the same shapes and cost as 'glyph'), bf16 autocast, torch.compile, fused AdamW, as
    train.py runs them. Needs the core packages (torch, numpy, tiktoken, Pillow) and no data, font or network"""
    print("== gpu")
    if not torch.cuda.is_available():
        print("skipped: no CUDA device")
        return None
    name = torch.cuda.get_device_name()
    out = dict(device=name, torch=torch.__version__, steps=steps, warmup=warmup, rows=[])
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
            mfu = model.flops_per_token() * tps / peak_flops(name) * 100 if peak_flops(name) else None
            out['rows'].append(dict(config=cfg, loss=loss, batch=batch, tokens_per_s=tps, mfu=mfu,
                                    peak_gib=torch.cuda.max_memory_allocated() / 2**30, final_loss=l.item()))
            print(f"{cfg} shape, {loss} loss, micro-batch {batch}x1024: {tps:,.0f} tok/s, MFU {mfu or float('nan'):.1f}%, peak memory "
                  f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB, loss {l.item():.3f}, "
                  f"{time.perf_counter() - t_start:.0f} s with compiling", flush=True)
            del model, opt, cmodel
    model_py.CHUNKED_LOSS_VOCAB = 32768
    return out

# -----------------------------------------------------------------------------
def bench_eval(ckpt, mmlu, limit=10, batch_size=16):
    """eval_mmlu.py's standard protocol (5-shot) in prompt tokens/s against the model's plain forward
    over the same padded batches (goal >= 0.8), and the wall time of both protocols; then every other
    task's time per 1,000 questions against MMLU's (goal <= 2x)"""
    print("== eval")
    if not os.path.exists(ckpt) or not mmlu or not os.path.exists(mmlu):
        print(f"skipped: needs a checkpoint (--ckpt, now {ckpt}) and MMLU data (--mmlu, now {mmlu}); see docs/evaluation.md")
        return None
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
    out = dict(checkpoint=os.path.relpath(os.path.abspath(ckpt), ROOT), questions=s['n_questions'], wall_s=s['wall_s'],
               standard_tokens_per_s=st['prompt_tokens_per_s'], plain_tokens_per_s=plain)
    print(f"{s['n_questions']} questions, 5-shot, both protocols: {s['wall_s']:.0f}s; standard protocol "
          f"{st['prompt_tokens_per_s']:,.0f} prompt tokens/s vs the plain forward over the same batches {plain:,.0f} "
          f"= {st['prompt_tokens_per_s'] / plain:.2f}x (goal >= 0.8)")
    # the other tasks, in the checkpoint's precision as eval_mmlu.py runs them: seconds per 1,000 questions
    # against the MMLU-570 run's, both protocols where a task has two (goal <= 2x)
    dtype, _ = inference_dtype(model, 'cpu')
    with autocast(dtype, 'cpu'):
        mmlu = eval_mmlu.evaluate(model, tok, data, shots=5, limit=limit, protocol='both', verbose=False)['summary']
        per_k = 1000 * mmlu['wall_s'] / mmlu['n_questions']
        out['dtype'] = str(dtype)
        out['tasks'] = [dict(task='mmlu', questions=mmlu['n_questions'], seconds=mmlu['wall_s'], both=True)]
        print(f"in {dtype}: MMLU {mmlu['n_questions']} questions, both protocols, {per_k:.1f} s per 1,000 questions")
        for t in TASKS:
            if not os.path.exists(task_path(t)):
                print(f"  {t}: skipped, no data (python eval_data.py)")
                continue
            r = eval_mmlu.evaluate_task(model, tok, t, task_path(t), verbose=False)['summary']
            k = 1000 * r['wall_s'] / r['n_questions']
            out['tasks'].append(dict(task=t, questions=r['n_questions'], seconds=r['wall_s'], both=t in PAPER_TASKS))
            acc = f"acc {r['standard']['accuracy']:.1%}" + (f", acc_norm {r['standard']['acc_norm']:.1%}" if 'acc_norm' in r['standard'] else '')
            print(f"  {t}: {r['n_questions']} questions in {r['wall_s']:.1f} s, {k:.1f} s per 1,000 = {k / per_k:.2f}x MMLU's "
                  f"(goal <= 2); {acc}, chance {r['standard']['chance']:.1%}")
    return out

# -----------------------------------------------------------------------------
LOSS_CHILD = """
import resource, sys, torch
import model
chunked, n = sys.argv[1] == 'chunked', int(sys.argv[2])
model.CHUNKED_LOSS_VOCAB = 32768 if chunked else 10**9
torch.manual_seed(0)
m = model.GPT(model.GPTConfig(block_size=1024, vocab_size=131072, n_layer=1, n_head=32, n_embd=1024, embedding='random'))
x = torch.randint(0, 131072, (n, 1024))
try: # the peak of the step alone: building the model can reach higher than a step at 1 x 1,024 tokens
    open('/proc/self/clear_refs', 'w').write('5') # Linux: resets the peak resident size to the current one
except OSError:
    pass # elsewhere the lifetime peak, which includes the build
m(x, x)[1].backward()
hwm = [int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')] if sys.platform == 'linux' else []
print(hwm[0] if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) # KB
"""

def bench_loss(rounds=5):
    """the paper's output layer (131,072 ids x n_embd 1024) with one block: peak memory per training
    token of one step (the peak reset after the model is built), from fresh processes at 1 and 4 sequences of 1,024 tokens (goal <= 256 KB chunked; the plain
    path's float32 logits and their gradient alone are 1,024 KB), and training tokens/s chunked vs plain,
    interleaved (goal >= 0.95)"""
    print(f"== loss at 131,072 ids x 1024 ({os.cpu_count()} cores)")
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) # the repository: the child imports model.py
    per_token, out = {}, {'rounds': rounds, 'paths': {}}
    for path in ('plain', 'chunked'):
        kb = [int(subprocess.run([sys.executable, '-c', LOSS_CHILD, path, str(n)], cwd=here, capture_output=True,
                                 text=True, check=True).stdout.split()[-1]) for n in (1, 4)]
        per_token[path] = (kb[1] - kb[0]) / (3 * 1024)
        out['paths'][path] = dict(peak_1_gib=kb[0] / 2**20, peak_4_gib=kb[1] / 2**20, kb_per_token=per_token[path])
        print(f"{path:8s} peak RSS 1 x 1024 tokens {kb[0] / 2**20:.2f} GiB, 4 x 1024 {kb[1] / 2**20:.2f} GiB: "
              f"{per_token[path]:,.0f} KB per extra training token" + (" (goal <= 256)" if path == 'chunked' else ""))
    # the largest micro-batch of config/frozen.py's shape on an 80 GB GPU, by arithmetic: 16 blocks, one head
    block = per_token['chunked'] # one block and the chunked head, per token: nearly all of it the block
    fixed = (336e6 * 16 + 131072 * 1024 * 4) / 1024 # float32 weights, gradients, two AdamW moments; the frozen buffer
    out['fixed_gb'] = fixed * 1024 / 1e9
    for path in ('plain', 'chunked'):
        kb = 16 * block + (per_token['plain'] - per_token['chunked'] if path == 'plain' else 0)
        out['paths'][path]['frozen_80gb_batch'] = (80e9 / 1024 - fixed) / kb / 1024 if kb > 0 else None
        print(f"  estimate, config/frozen.py on 80 GB ({path}): {kb:,.0f} KB per token, micro-batch of "
              f"~{out['paths'][path]['frozen_80gb_batch'] or float('nan'):.0f} sequences of 1,024 (float32 activations as on this CPU; "
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
    out['speed'] = dict(ratio=statistics.median(ratios), low=min(ratios), high=max(ratios))
    print(f"training tokens/s, chunked / plain, 1 x 1024 tokens, median of {rounds} interleaved rounds: "
          f"{statistics.median(ratios):.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f}; goal >= 0.95)")
    return out

# -----------------------------------------------------------------------------
# the tables of docs/benchmarks.md, made from the summary alone

TASK_NAMES = {'mmlu': 'MMLU', 'arc_easy': 'ARC-Easy', 'arc_challenge': 'ARC-Challenge',
              'commonsense_qa': 'CommonsenseQA', 'sciq': 'SciQ', 'piqa': 'PIQA', 'hellaswag': 'HellaSwag'}

def table(head, rows):
    return '\n'.join(['| ' + ' | '.join(head) + ' |', '|' + ' --- |' * len(head),
                      *('| ' + ' | '.join(map(str, r)) + ' |' for r in rows)])

def tables(summary):
    """{name: markdown table} of every section in the summary"""
    out, sec = {}, {k: v['results'] for k, v in summary['sections'].items() if v['results']}
    if 'tokenizer' in sec:
        r = sec['tokenizer']
        out['tokenizer_training'] = table(['tokenizer', 'trained on', 'seconds'],
                                          [(t['name'], t['data'], f"{t['seconds']:.1f}") for t in r['training']])
        na = lambda x, f: '-' if x is None else format(x, f)
        out['tokenizer_compression'] = table(
            ['tokenizer', 'val', 'val en', 'val ru', 'val zh', 'GPL-3', 'MMLU', '`<unk>`'],
            [(n, *(na(c[k], '.2f') for k in ('val', 'en', 'ru', 'zh', 'ood', 'mmlu')),
              'none' if c['unk'] is None else f"{c['unk']:.4%}") for n, c in r['compression'].items()])
        out['tokenizer_speed'] = table(['tokenizer', 'one 2 MB string', f"`encode_batch`, {r['lines']:,} lines"],
                                       [(n, f"{v['string']:.1f}", f"{v['batch']:.1f}") for n, v in r['speed'].items()])
    if 'glyphs' in sec:
        out['glyphs'] = table(['recipe', 'seconds, cold', 'rendering alone', 'rank',
                               'whitespace, control, byte and special ids sharing a row'],
                              [(k, f"{v['seconds']:.1f}", f"{v['render_seconds']:.1f}", f"{v['rank']:,}",
                                v['invisible_special_shared']) for k, v in sec['glyphs']['recipes'].items()])
    if 'prepare' in sec:
        r = sec['prepare']
        rng = lambda x: f"{x['ratio']:.2f} (rounds {x['low']:.2f}-{x['high']:.2f})"
        out['prepare'] = table(['tokenizer alone, one core', 'prepare.py', f"prepare / (single x {r['cores']})",
                                f"ceiling / (single x {r['cores']})"],
                               [(f"{r['single_mb_s']:.1f} MB/s", f"{r['prepare_mb_s']:.1f} MB/s", rng(r['prepare']),
                                 rng(r['ceiling']))])
    if 'model' in sec:
        out['model'] = table(['shape', 'nanoGPT tok/s', 'frozen / nanoGPT, per repeat', 'trainable / nanoGPT, per repeat'],
                             [(f"4 x 256, context 512, vocab {x['vocab']:,}, batch {x['batch']}",
                               f"{min(x['nanogpt']):,.0f}-{max(x['nanogpt']):,.0f}",
                               ', '.join(f'{v:.3f}' for v in x['frozen']), ', '.join(f'{v:.3f}' for v in x['trainable']))
                              for x in sec['model']['shapes']])
    if 'cpu' in sec:
        r = sec['cpu']
        out['cpu'] = table(['row', 'tokens/s', 'x float32 eager (rounds)', 'first step', f"a {r['run_steps']}-step run"],
                           [(n, f"{v['tokens_per_s']:,.0f}",
                             '1.00' if n == 'float32 eager' else f"{v['ratio']:.2f} ({v['low']:.2f}-{v['high']:.2f})",
                             f"{v['first_step']:.1f} s", f"~{v['run_minutes']:.1f} min") for n, v in r['rows'].items()])
    if 'eval' in sec:
        r = sec['eval']
        out['eval_forward'] = table(['standard protocol, prompt tokens/s', 'plain forward, tokens/s', 'ratio',
                                     'both protocols, seconds'],
                                    [(f"{r['standard_tokens_per_s']:,.0f}", f"{r['plain_tokens_per_s']:,.0f}",
                                      f"{r['standard_tokens_per_s'] / r['plain_tokens_per_s']:.2f}", f"{r['wall_s']:.0f}")])
        per_k = 1000 * r['tasks'][0]['seconds'] / r['tasks'][0]['questions'] # MMLU's, the first row
        out['eval_tasks'] = table([f"task ({r['dtype'].replace('torch.', '')})", 'protocols', 'questions', 'seconds',
                                   'seconds per 1,000', "x MMLU's"],
                                  [(TASK_NAMES.get(t['task'], t['task']), 'both' if t['both'] else 'standard',
                                    f"{t['questions']:,}", f"{t['seconds']:.1f}",
                                    f"{1000 * t['seconds'] / t['questions']:.1f}",
                                    f"{1000 * t['seconds'] / t['questions'] / per_k:.2f}") for t in r['tasks']])
    if 'gpu' in sec:
        r = sec['gpu']
        out['gpu'] = table(['shape', 'loss', 'micro-batch', 'tokens/s', 'MFU', 'peak memory'],
                           [(f"`{x['config']}`", x['loss'], f"{x['batch']} x 1024", f"{x['tokens_per_s']:,.0f}",
                             '-' if x['mfu'] is None else f"{x['mfu']:.1f}%", f"{x['peak_gib']:.1f} GiB")
                            for x in r['rows']])
    if 'loss' in sec:
        r, names = sec['loss'], {'plain': 'plain `lm_head` + `F.cross_entropy`',
                                 'chunked': 'chunked ([chunked_loss.py](../chunked_loss.py))'}
        sp = r['speed']
        out['loss'] = table(['path', 'peak, 1 x 1,024 tokens', 'peak, 4 x 1,024 tokens', 'per extra token',
                             'tokens/s vs plain', 'estimate: micro-batch of frozen.py on 80 GB'],
                            [(names[k], f"{v['peak_1_gib']:.2f} GiB", f"{v['peak_4_gib']:.2f} GiB",
                              f"{v['kb_per_token']:,.0f} KB",
                              '1' if k == 'plain' else f"{sp['ratio']:.2f} (rounds {sp['low']:.2f}-{sp['high']:.2f})",
                              '-' if v['frozen_80gb_batch'] is None else f"~{v['frozen_80gb_batch']:.0f} x 1,024")
                             for k, v in r['paths'].items()])
    return out

SECTIONS = {'tokenizer': bench_tokenizer, 'glyphs': bench_glyphs, 'prepare': bench_prepare, 'model': bench_model,
            'cpu': bench_cpu, 'gpu': bench_gpu, 'eval': bench_eval, 'loss': bench_loss}

if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('sections', nargs='*', default=list(SECTIONS), help=f"any of {', '.join(SECTIONS)}")
    parser.add_argument('--gpt2', default='gpt2', help="tokenizer spec for the GPT-2 comparison")
    parser.add_argument('--hf', default='', help="Hugging Face tokenizer.json files to compare, comma-separated, "
                        "e.g. the paper's bvv241-2-3")
    parser.add_argument('--nanogpt', default=None, help="folder holding nanoGPT's model.py, for the model section")
    parser.add_argument('--ckpt', default='out/cpu/ckpt.pt', help="checkpoint for the eval section")
    parser.add_argument('--mmlu', default=os.environ.get('MMLU_DIR', 'data/mmlu'), help="MMLU data for the eval section")
    parser.add_argument('--docs', action='store_true', help=f"write the sections' figures into "
                        f"{os.path.relpath(SUMMARY, ROOT)} and their tables into {os.path.relpath(PAGE, ROOT)}")
    args = parser.parse_args()
    bad = [s for s in args.sections if s not in SECTIONS]
    if bad:
        parser.error(f"unknown section {bad[0]!r}: use {', '.join(SECTIONS)}")
    load = os.getloadavg()[0]
    print(f"load average before: {load:.2f} (other processes skew every number)")
    kwargs = {'tokenizer': {'gpt2': args.gpt2, 'hf': [p for p in args.hf.split(',') if p]},
              'model': {'nanogpt_dir': args.nanogpt}, 'cpu': {'nanogpt_dir': args.nanogpt},
              'eval': {'ckpt': args.ckpt, 'mmlu': args.mmlu}}
    summary = json.load(open(SUMMARY)) if args.docs and os.path.exists(SUMMARY) else {'sections': {}}
    for s in args.sections:
        load_now = os.getloadavg()[0]
        results = SECTIONS[s](**kwargs.get(s, {}))
        if args.docs and results is not None: # a skipped section keeps its earlier run
            summary['sections'][s] = dict(command=' '.join(['python -m experiments.bench', *sys.argv[1:]]),
                                          commit=git_commit(), machine=machine(), date=date.today().isoformat(),
                                          load_before=load_now, results=results)
    if args.docs:
        save_summary(SUMMARY, summary)
        write_tables(PAGE, 'bench', tables(summary))
        print(f"wrote {os.path.relpath(SUMMARY, ROOT)} and the tables of {os.path.relpath(PAGE, ROOT)}")
