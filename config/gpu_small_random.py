exec(open('config/gpu_small.py').read())
embedding, out_dir = 'random', 'out/gpu_small_random'
