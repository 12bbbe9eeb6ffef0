exec(open('config/gpu_small.py').read())
embedding, out_dir = 'trainable', 'out/gpu_small_trainable'
