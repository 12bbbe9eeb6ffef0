"""
Poor man's configurator, after nanoGPT's. train.py imports configure() and hands it its globals:
    python train.py config/cpu.py --batch_size=8 --embedding='trainable'
    python train.py --help
A config file is plain Python, exec'd on a dict of train.py's config globals; --key=value is parsed
with ast.literal_eval (a bare word is taken as a string). Unknown keys and type mismatches are errors,
so that a typo never silently trains the wrong model. --help (or -h) prints every key with its value so
far and its comment, read from train.py's source: the globals and their comments are the documentation.
"""
import ast
import io
import os
import sys
import tokenize

def read_globals(path, until='config_keys'):
    """the module-level `name = value` lines of a Python file, above the one that assigns `until` ->
    [(name, source of the value, the comment on its line, its section)]; a section is the last comment
    standing alone on its line above it (`# data`, `# model`), without the '# '"""
    with open(path, encoding='utf-8') as f:
        source = f.read()
    trailing, headers = {}, [] # comments after code, by line; comments alone on their line
    for t in tokenize.generate_tokens(io.StringIO(source).readline):
        if t.type != tokenize.COMMENT:
            continue
        text = t.string.lstrip('#').strip()
        if t.line[:t.start[1]].strip():
            trailing[t.start[0]] = text
        elif not text.startswith('---'): # a `# ----` rule between sections is no section
            headers.append((t.start[0], text))
    found = []
    for node in ast.parse(source).body:
        if not (isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)):
            continue
        name = node.targets[0].id
        if name == until:
            break
        section = max([h for h in headers if h[0] < node.lineno], default=(0, ''))[1]
        value = ast.get_source_segment(source, node.value)
        found.append((name, value, trailing.get(node.end_lineno, ''), section))
    return found

def is_literal(text):
    """whether a value's source is a plain literal (42, 'out'), not computed (torch.cuda.is_available())"""
    try:
        ast.literal_eval(text)
        return True
    except (SyntaxError, ValueError):
        return False

def print_help(config, path):
    """every key of config, by section, with its value so far and what path's source says of it"""
    documented = {name: (value, comment, section) for name, value, comment, section in read_globals(path)}
    print(f"usage: python {os.path.basename(path)} [config file ...] [--key=value ...]")
    print("Config files are plain Python, run in order; --key=value overrides (a bare word is a string).")
    print("Every key, with its value so far and its comment:")
    width = max(len(f"{k} = {v!r}") for k, v in config.items())
    section = None
    for key, value in config.items():
        written, comment, sec = documented.get(key, ('', '', ''))
        if sec != section:
            section = sec
            print(f"\n# {section}")
        if written and not is_literal(written): # computed, e.g. from torch.cuda: say how
            comment = f"{comment} [default: {written}]".strip()
        line = f"{key} = {value!r}"
        print(f"  {line.ljust(width)}  {comment}".rstrip())

def configure(config, argv, source=None):
    """apply config files and --key=value overrides from argv to the dict config (train.py's globals).
    source: the file whose globals config holds, documented by --help or -h (which then exits)"""
    for arg in argv:
        if arg in ('-h', '--help'):
            assert source, f"{arg}: this caller has no help to print"
            print_help(config, source)
            sys.exit(0)
        if '=' not in arg:
            assert not arg.startswith('--'), f"{arg}: overrides are --key=value"
            try:
                with open(arg) as f:
                    text = f.read()
            except OSError:
                sys.exit(f"error: config file {arg} not found: pass a path like config/cpu.py")
            print(f"Overriding config with {arg}")
            known = set(config)
            exec(compile(text, arg, 'exec'), config)
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
                sys.exit(f"error: unknown config key {key!r}: "
                         "check the spelling against the globals at the top of train.py")
            try:
                attempt = ast.literal_eval(val)
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
