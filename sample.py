"""
Sample from a trained model:
    python sample.py out/cpu/ckpt.pt --start "In the beginning" --num_samples 3 --max_new_tokens 200
    python sample.py out/cpu/ckpt.pt --start FILE:prompt.txt --temperature 0 # greedy
    python sample.py out/ru/ckpt.pt out/zh/ckpt.pt --start "Жизнь"              # two experts, fused
The checkpoint carries the tokenizer and the (frozen or trained) embedding: no font, no data needed.
"""
import argparse
import sys

import torch

from fusion import load_model
from util import autocast, inference_dtype

parser = argparse.ArgumentParser(description="sample text from a glyphgpt checkpoint")
parser.add_argument('ckpt', nargs='+',
                    help="a ckpt.pt written by train.py; several: their logit fusion (fusion.py)")
parser.add_argument('--fusion', default='logits', choices=['logits', 'probs'],
                    help="several checkpoints: mean of logits (the paper's) or of probabilities")
parser.add_argument('--start', default='',
                    help="the prompt, or FILE:path to read it from a file; empty: start a new document")
parser.add_argument('--num_samples', type=int, default=3, help="number of samples to draw")
parser.add_argument('--max_new_tokens', type=int, default=200,
                    help="number of tokens generated in each sample")
parser.add_argument('--temperature', type=float, default=0.8,
                    help="1.0 = no change, < 1.0 = less random, 0 = greedy")
parser.add_argument('--top_k', type=int, default=200,
                    help="retain only the top_k most likely tokens (0: all)")
parser.add_argument('--seed', type=int, default=1337)
parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
parser.add_argument('--dtype', default='checkpoint',
                    choices=['checkpoint', 'auto', 'float32', 'bfloat16', 'float16'],
                    help="autocast precision (default: the checkpoint's)")
args = parser.parse_args()

try:
    model, tok = load_model(args.ckpt, args.device, args.fusion)
except (FileNotFoundError, ValueError) as e:
    sys.exit(f"error: {e}")
device_type = torch.device(args.device).type
dtype, _ = inference_dtype(model, device_type, args.dtype)
ctx = autocast(dtype, device_type)
start = args.start
if start.startswith('FILE:'):
    with open(start[5:], encoding='utf-8') as f:
        start = f.read()
# an empty prompt starts a fresh document: end-of-text is what precedes every document in training
start_ids = tok.encode(start) if start else [tok.eot]
x = torch.tensor(start_ids, dtype=torch.long, device=args.device)[None, ...]
g = torch.Generator(device=args.device).manual_seed(args.seed)
top_k = args.top_k or None # 0: every token
for k in range(args.num_samples):
    with ctx:
        y = model.generate(x, args.max_new_tokens, temperature=args.temperature, top_k=top_k, generator=g)
    print(tok.decode(y[0].tolist()[0 if start else 1:])) # without the end-of-text an empty prompt began with
    print('---------------', flush=True)
