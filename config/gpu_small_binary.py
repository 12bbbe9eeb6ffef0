exec(open('config/gpu_small.py').read())
embedding, out_dir = 'binary', 'out/gpu_small_binary'
