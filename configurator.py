"""
Poor man's configurator, after nanoGPT's. train.py imports configure() and hands it its globals:
    python train.py config/cpu.py --batch_size=8 --embedding='trainable'
A config file is plain Python, exec'd on a dict of train.py's config globals; --key=value is parsed
with ast.literal_eval (a bare word is taken as a string). Unknown keys and type mismatches are errors,
so that a typo never silently trains the wrong model.
"""
import sys
from ast import literal_eval

def configure(config, argv):
    """apply config files and --key=value overrides from argv to the dict config (train.py's globals)"""
    for arg in argv:
        if '=' not in arg:
            assert not arg.startswith('--'), f"{arg}: overrides are --key=value"
            try:
                with open(arg) as f:
                    source = f.read()
            except OSError:
                sys.exit(f"error: config file {arg} not found: pass a path like config/cpu.py")
            print(f"Overriding config with {arg}")
            known = set(config)
            exec(compile(source, arg, 'exec'), config)
            for k in [k for k in config if k.startswith('__') and k not in known]:
                del config[k] # __builtins__, and __warningregistry__ when a config execs another
            unknown = set(config) - known
            if unknown:
                sys.exit(f"error: {arg} sets unknown config key(s) {', '.join(sorted(unknown))}: "
                         f"check the spelling against the globals at the top of train.py")
        else:
            assert arg.startswith('--'), f"{arg}: overrides are --key=value"
            key, val = arg[2:].split('=', 1)
            if key not in config:
                sys.exit(f"error: unknown config key {key!r}: check the spelling against the globals at the top of train.py")
            try:
                attempt = literal_eval(val)
            except (SyntaxError, ValueError):
                attempt = val # a bare word, e.g. --embedding=trainable
            old = config[key]
            if isinstance(old, float) and isinstance(attempt, int) and not isinstance(attempt, bool):
                attempt = float(attempt) # --learning_rate=1 means 1.0
            if old is not None and type(attempt) != type(old):
                sys.exit(f"error: --{key}={val} is a {type(attempt).__name__}, but {key} is a "
                         f"{type(old).__name__} (default {old!r}): pass a value of that type")
            print(f"Overriding: {key} = {attempt!r}")
            config[key] = attempt
