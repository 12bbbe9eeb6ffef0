"""
The import graph runs one way. Every import of the project's own modules counts: at module level, inside
a function, and __import__('x'). A cycle means a file split in two that import each other (a script
launched directly then runs twice, once as __main__ and once under its name), so no cycle is allowed;
and the library (the top level) never imports a research script (experiments/), so the library can be
read, and forked, without them.
"""
import ast
import os

from conftest import ROOT

def project_modules(root):
    """{module name: path} of the top level and experiments/ (tests and conftest.py left out)"""
    mods = {}
    for folder, prefix in ((root, ''), (os.path.join(root, 'experiments'), 'experiments.')):
        if not os.path.isdir(folder):
            continue
        for f in sorted(os.listdir(folder)):
            if f.endswith('.py') and not f.startswith('test_') and f != 'conftest.py':
                mods[prefix + f[:-3]] = os.path.join(folder, f)
    return mods

def imported_names(tree, module):
    """every module name an ast imports, anywhere in it"""
    package = module.rsplit('.', 1)[0] if '.' in module else ''
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level: # relative, inside a package
                base = f"{package}.{base}" if base else package
            yield base
            yield from (f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Call) and getattr(node.func, 'id', None) == '__import__' \
                and node.args and isinstance(node.args[0], ast.Constant):
            yield node.args[0].value

def import_graph(root):
    """{module: set of the project's modules it imports}"""
    mods = project_modules(root)
    graph = {m: set() for m in mods}
    for m, path in mods.items():
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read())
        for name in imported_names(tree, m):
            target = name if name in mods else name.split('.')[0] if name.split('.')[0] in mods else None
            if target and target != m:
                graph[m].add(target)
    return graph

def cycles(graph):
    """the strongly connected groups of more than one module (Tarjan's algorithm), each sorted"""
    index, low, on_stack, stack, found = {}, {}, set(), [], []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found

def test_no_import_cycle():
    graph = import_graph(ROOT)
    assert len(graph) > 20 # it sees the project at all
    assert cycles(graph) == [], "import cycles: move the shared piece down to a module both sides import"

def test_the_library_never_imports_an_experiment():
    graph = import_graph(ROOT)
    up = [(m, t) for m, ts in graph.items() if not m.startswith('experiments') for t in ts if t.startswith('experiments')]
    assert up == [], f"library modules importing research scripts: {up}"

def test_a_cycle_is_caught(tmp_path):
    (tmp_path / 'a.py').write_text("import b\n")
    (tmp_path / 'b.py').write_text("def f():\n    from c import g\n")        # function-local counts
    (tmp_path / 'c.py').write_text("x = __import__('a')\n")                   # so does __import__
    (tmp_path / 'd.py').write_text("import a\n")                              # on the path, not in the cycle
    (tmp_path / 'experiments').mkdir()
    (tmp_path / 'experiments' / 'e.py').write_text("from experiments import f\nimport d\n")
    (tmp_path / 'experiments' / 'f.py').write_text("from . import e\n")       # relative, inside the package
    graph = import_graph(str(tmp_path))
    assert cycles(graph) == [['a', 'b', 'c'], ['experiments.e', 'experiments.f']]
