exec(open('config/frozen.py').read())
embedding, out_dir = 'binary', 'out/frozen_binary'
