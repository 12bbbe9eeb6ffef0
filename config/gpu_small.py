# A GPU-scale middle point between the CPU toy and the paper: ~135M parameters (GPT-2 small's blocks,
# a 65,536-id codepoint tokenizer learned on the data), ~1B tokens, about 1-2 hours on one H100.
# Prepare the data on a machine that is online (not run in this repository's tests):
#   python prepare.py --name fwe65k --hf HuggingFaceFW/fineweb-edu --hf_config sample-10BT \
#       --tokenizer train --layout codepoint --vocab_size 65536 --max_tokens 1_000_000_000
#   python train.py config/gpu_small.py        (or torchrun --standalone --nproc_per_node=8 ...)
# Optimizer settings are ours (GPT-2 small's, as in nanoGPT): the paper publishes none.
out_dir = 'out/gpu_small'
dataset = 'fwe65k'
eval_interval = 250
eval_iters = 50
log_interval = 10

batch_size = 32
block_size = 1024
gradient_accumulation_steps = 16 # 32 x 1024 x 16 = 524,288 tokens per step
n_layer = 12
n_head = 12
n_embd = 768
embedding = 'glyph'

learning_rate = 6e-4
max_iters = 1900 # 1,900 x 524,288 = 1.0B tokens
warmup_iters = 100
lr_decay_iters = 1900
min_lr = 6e-5
weight_decay = 0.1
