# The budget sweep's shape (python -m experiments.sweep): config/cpu.py at half the width and half the
# context, 16 x 256 = 4,096 tokens per step as there. Measured on 2 cores (AMD EPYC, float32): ~4,600
# tokens/s for one run on both cores, ~5,000 for two runs side by side on one core each (what the sweep
# does); config/cpu.py's shape reaches ~3,300. Eager: at this size compiling costs ~50 s a run and wins
# nothing. The sweep sets max_iters, lr_decay_iters and warmup_iters per budget.
out_dir = 'out/sweep'
dataset = 'default'
eval_interval = 100
eval_iters = 10
log_interval = 10

batch_size = 16
block_size = 256
n_layer = 4
n_head = 4
n_embd = 128
embedding = 'glyph'

learning_rate = 2e-3
max_iters = 300
warmup_iters = 30
lr_decay_iters = 300
min_lr = 2e-4

device = 'cpu'
dtype = 'auto'
compile = False
