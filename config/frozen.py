# The paper's model (Bochkov 2025): 16 layers, d_model 1024, 32 heads, context 1024, rotary, GELU MLP 4x,
# untied output head, frozen glyph embedding over the 131,072-id codepoint tokenizer: ~0.5B parameters
# counting both 131k-row matrices. Prepare its data first, e.g. on a GPU machine (online):
#   python prepare.py --name fwe131k --hf HuggingFaceFW/fineweb-edu --hf_config sample-10BT \
#       --tokenizer train --layout codepoint --vocab_size 131072 --max_tokens 9_000_000_000
#   torchrun --standalone --nproc_per_node=8 train.py config/frozen.py
# The paper publishes no optimizer, learning rate, batch or schedule. These are OUR choice: GPT-2
# medium's recipe (AdamW 3e-4, betas 0.9/0.95, wd 0.1, ~0.5M tokens per step, cosine to 3e-5) for
# the paper's ~9B tokens.
out_dir = 'out/frozen'
dataset = 'fwe131k'
eval_interval = 500
eval_iters = 100
log_interval = 10

batch_size = 16
block_size = 1024
gradient_accumulation_steps = 32 # 16 x 1024 x 32 = 524,288 tokens per step on any number of GPUs
n_layer = 16
n_head = 32
n_embd = 1024
dropout = 0.0
embedding = 'glyph'

learning_rate = 3e-4
max_iters = 17_000 # 17,000 x 524,288 = 8.9B tokens
warmup_iters = 700
lr_decay_iters = 17_000
min_lr = 3e-5
weight_decay = 0.1
