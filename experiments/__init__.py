"""
The research scripts: the experiments that answer the paper's questions, and the benchmarks. They sit on
top of the library (the files one folder up) and no library module imports them. Run each from the
repository root as a module, so that the library is importable:
    python -m experiments.compare --quick
    python -m experiments.bench cpu
What they share lives here once: stats.py (intervals, paired differences), runs.py (the arms, the run
arguments and the logged train.py call), rarity.py (a checkpoint scored over the whole val split).
"""
