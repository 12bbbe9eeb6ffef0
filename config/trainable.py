exec(open('config/frozen.py').read())
embedding, out_dir = 'trainable', 'out/trainable'
