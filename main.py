"""
The main job on the embedded default corpus, end to end on a laptop CPU. The README's first command:
    bash setup.sh && .venv/bin/python main.py
Each stage is one of the project's scripts, run as a user would run it; the commands are printed.
"""
import os
import subprocess
import sys
import time

import corpus
import tokenizer

DATA = 'data/default'

def run(stage, cmd):
    print(f"\n=== {stage}\n$ {' '.join(cmd)}", flush=True)
    t0 = time.time()
    subprocess.run(cmd, check=True)
    print(f"--- {stage}: {time.time() - t0:.1f}s", flush=True)

if __name__ == '__main__':
    t0 = time.time()
    py = sys.executable
    path = os.path.join(DATA, 'tokenizer.json')
    if not os.path.exists(path):
        os.makedirs(DATA, exist_ok=True)
        print("=== train the default tokenizer (compact, 8,192 ids) on the corpus's train split", flush=True)
        tokenizer.save_spec(tokenizer.train(corpus.documents('train'), 8192, 'compact'), path)
    run("tokenizer", [py, 'tokenizer.py', 'info', path])
    tok = tokenizer.load_tokenizer(path)
    for lang in ('en', 'ru', 'zh'):
        docs = list(corpus.documents('val', (lang,)))
        nbytes = sum(len(d.encode('utf-8')) for d in docs)
        ntok = sum(len(ids) for ids in tok.encode_batch(docs))
        print(f"val {lang}: {nbytes / ntok:.2f} UTF-8 bytes per token")
    print(f"\ndone in {time.time() - t0:.0f}s; artifacts: {path}")
