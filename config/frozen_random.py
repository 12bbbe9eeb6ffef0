exec(open('config/frozen.py').read())
embedding, out_dir = 'random', 'out/frozen_random'
