# The embedded default on a laptop CPU: a 4-layer model on the ~10 MB English/Russian/Chinese corpus
# (python prepare.py), ~5 minutes on 2 cores. Frozen glyph embedding, the default recipe.
out_dir = 'out/cpu'
dataset = 'default'
eval_interval = 100
eval_iters = 10
log_interval = 10

batch_size = 8
block_size = 512
n_layer = 4
n_head = 4
n_embd = 256
embedding = 'glyph'

learning_rate = 2e-3
max_iters = 300
warmup_iters = 50
lr_decay_iters = 300
min_lr = 2e-4

device = 'cpu'
dtype = 'auto' # bfloat16 autocast where this CPU has it natively (detected and printed), float32 otherwise
compile = True # measured: wins over a whole run, compile time included (docs/training.md); eager without a C++ compiler
