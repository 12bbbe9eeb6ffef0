"""
The paper's "MoE", measured as the paper built it: two experts that share English and add one language
each (English+Russian and English+Chinese, the pair its fused models came from), each alone, fused under
both rules of fusion.py, against one model trained on all three languages at the experts' combined token
count; with frozen-glyph experts and with trainable-embedding experts, seeds paired as in compare.py.
    python -m experiments.compare_fusion               # the paper's setup: glyph and trainable, 3 seeds,
                                                       # 300 steps per expert (~2 h on 2 cores)
    python -m experiments.compare_fusion --shared none # the monolingual control: experts on ru and on zh
    python -m experiments.compare_fusion --report      # the summary and tables of the runs finished so
                                                       # far (evaluating any not yet scored); trains nothing
    python -m experiments.compare_fusion --docs        # --report, and the summary written to
                                                       # docs/fusion_compare.json, the chart to
                                                       # docs/fusion.png, tables to docs/fusion.md
    python -m experiments.compare_fusion --n_layer=2   # any other --key=value goes to train.py for every run
The paper's two tests, per arm, as paired differences in val bits per byte:
  (a) the union: on every language's val split together (en, ru and zh), fused minus each expert. The
      paper's claim is that the fused model beats each expert: negative here
  (b) forgetting: on each expert's own languages (en and ru for the en+ru expert; each, and pooled), fused
      minus that expert. No catastrophic forgetting: close to zero, not large and positive
and fused minus the joint model, fused minus the language router, the two rules against each other.
The language router (an oracle: it is told each document's language) sends each language to the experts
that trained on it; English, which both trained on, goes to either by a fair coin per document, so its
expected bits are the mean of the two experts'. A fixed rule, chosen before any run: routing English to
whichever expert scores better on it would pick by the val score itself, per seed.
Data: prepare.py's language subsets of the default corpus on its tokenizer, so that every model has one
vocabulary: data/enru and data/enzh for the experts, data/en, data/ru and data/zh to score each
language's whole val split (the split is decided per document, so these are the experts' own val
documents), data/default (the three languages) for the joint model; each is prepared once (about a
minute in all on 2 cores). --shared none: data/ru, data/zh and data/ruzh. Per seed and arm, one train.py
run of config/cpu.py per model, in
out/fusion_enru_enzh_<max_iters>/<arm>_s<seed>/<dataset>/: the experts max_iters steps each (4,096 tokens a
step), the joint model the sum, 2 x max_iters, on all three languages. Finished runs are kept and an
interrupted one resumes; a seed's scores are cached in its folder's eval.json, on those very checkpoints;
a seed and arm kept in the committed summary with the same experts, steps and overrides is not trained
again, so the experiment spans machines as experiments/sweep.py does. Each run of the script leaves the
summary and a plot (summary.json, fusion.png) in that folder too; only --docs touches docs/.
Cost: 1,200 steps per seed and arm, the monolingual version's count, which took 83 minutes for 2 seeds x
2 arms on 2 cores (docs/fusion.md); scoring (seven passes of an expert over the 50k val tokens: each alone,
twice fused, and the joint model) adds a few minutes per seed and arm. The default, 3 seeds x 2 arms:
about 2 to 2.5 hours; --seeds 2 about 1.5 hours.
What the control can show: averaging logits never touches the input embedding, so fusion needs only a
shared vocabulary. Glyph-vs-trainable experts measures how each expert copes with tokens it trained on
little or not at all (a trainable expert's rows for tokens it never saw keep their random start), not
whether a shared input space is required.
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from corpus import SOURCES
from experiments import plots
from experiments.rarity import bpb, evaluating, val_scores
from experiments.results import save_summary, write_tables
from experiments.runs import ARMS, CPU_CONFIG, ROOT, add_run_arguments, arms_and_overrides, finished, \
    seeds_from, train_command, train_logged
from experiments.stats import fmt, mean_ci, paired
from util import git_commit

SUMMARY = os.path.join(ROOT, 'docs', 'fusion_compare.json')
PAGE = os.path.join(ROOT, 'docs', 'fusion.md')
RULES = ('fused_logits', 'fused_probs') # fusion.py's rules: the paper's mean of logits, and the mixture

# -----------------------------------------------------------------------------
# the setup: which languages each model trains on, and where

def ordered(langs):
    """languages in the default corpus's order: one spelling for each set"""
    return [lang for lang in SOURCES if lang in langs]

def name(langs):
    """a model (or val column) by its languages: 'en+ru'"""
    return '+'.join(langs)

def dataset(langs):
    """the prepared dataset of these languages: data/enru; all of the corpus's is data/default itself"""
    return 'default' if set(langs) == set(SOURCES) else ''.join(langs)

def settings(languages, shared, arms, seeds, max_iters, extra):
    """everything that defines the experiment, as the summary records it. One expert per language of
    `languages`, each also trained on `shared` (None: one language each); the joint model and the val
    splits scored cover all of them"""
    experts = [ordered([lang] + ([shared] if shared else [])) for lang in languages]
    setup = f'paper: every expert also trains on {shared}' if shared else 'monolingual: one language each'
    return dict(setup=setup, experts=experts, languages=ordered(sum(experts, [])), arms=arms, seeds=seeds,
                max_iters=max_iters, extra=extra)

def jobs(s):
    """[(model, dataset, steps)]: each expert max_iters steps, the joint model the sum of theirs"""
    steps = s['max_iters']
    return ([(name(e), dataset(e), steps) for e in s['experts']]
            + [('joint', dataset(s['languages']), steps * len(s['experts']))])

def models(s):
    """every model a seed is scored for, in the tables' order; 'oracle' is the language router"""
    return [*(name(e) for e in s['experts']), *RULES, 'oracle', 'joint']

def columns(s):
    """the val splits scored: each language, each expert's own languages pooled (where it has more than
    one: forgetting, test b), and all of them pooled (the union, test a)"""
    return [*s['languages'], *(name(e) for e in s['experts'] if len(e) > 1), 'all']

def ensure_dataset(data, languages):
    """data/<data>: the default corpus's `languages` on the default corpus's tokenizer, prepared once"""
    prepare = [sys.executable, os.path.join(ROOT, 'prepare.py')]
    if not os.path.exists('data/default/meta.json'):
        subprocess.run(prepare, check=True)
    want = json.load(open('data/default/meta.json'))['tokenizer_hash']
    if not os.path.exists(f'data/{data}/meta.json'):
        subprocess.run([*prepare, '--name', data, '--languages', ','.join(languages),
                        '--tokenizer', 'data/default/tokenizer.json'], check=True)
    if json.load(open(f'data/{data}/meta.json'))['tokenizer_hash'] != want:
        sys.exit(f"data/{data} has another tokenizer than data/default: delete data/{data} and run again, "
                 f"so that its experts fuse")

# -----------------------------------------------------------------------------
# the runs

def run_dir(root, arm, seed):
    return os.path.join(root, f'{arm}_s{seed}')

def train_seed(root, arm, seed, s, t0):
    """the train.py runs of one seed and arm not finished yet, each one's seconds kept beside it"""
    for model, data, steps in jobs(s):
        out_dir = os.path.join(run_dir(root, arm, seed), data)
        if finished(out_dir, steps):
            continue
        cmd = train_command(CPU_CONFIG, out_dir, [f'--dataset={data}', *ARMS[arm]], seed, steps, steps,
                            s['extra'])
        print(f"{arm} seed {seed}, {model} on {data}: $ {' '.join(cmd)}  "
              f"({(time.time() - t0) / 60:.0f} min so far)", flush=True)
        t = time.time()
        train_logged(cmd, out_dir, f"{arm} seed {seed} {model}")
        with open(os.path.join(out_dir, 'seconds.json'), 'a') as f: # a resumed run adds its part
            f.write(json.dumps({'seconds': time.time() - t}) + '\n')

def evaluate(folder, s):
    """one seed and arm scored -> {'bpb': {model: {lang: val bpb}}, 'val_bytes': {lang: target bytes},
    'tokens': {model: training tokens}}: the experts, their fusion under both rules and the joint model,
    each over the whole val split of each language. Cached in folder/eval.json on these very checkpoints"""
    paths = {model: os.path.join(folder, data, 'ckpt.pt') for model, data, _ in jobs(s)}
    experts = [paths[name(e)] for e in s['experts']]
    cache = os.path.join(folder, 'eval.json')
    stamp = {m: os.path.getmtime(p) for m, p in paths.items()}
    res = json.load(open(cache)) if os.path.exists(cache) else {}
    if res.get('stamp') == stamp and set(res.get('bpb', {})) == set(paths) | set(RULES):
        return res
    scored, tokens = {}, {}
    each = [(m, [p], 'logits') for m, p in paths.items()]
    for model, ckpts, rule in each + [(r, experts, r.split('_')[1]) for r in RULES]:
        with evaluating(ckpts, rule) as (m, _, _):
            scored[model] = {lang: val_scores(m, os.path.join('data', dataset([lang])))
                             for lang in s['languages']}
            if len(ckpts) == 1:
                c = m.checkpoint['config'] # gradient_accumulation_steps: micro-steps of all processes
                tokens[model] = (m.checkpoint['iter_num'] * c['gradient_accumulation_steps']
                                 * c['batch_size'] * c['block_size'])
    first = next(iter(scored.values()))
    # every model scores the same targets, so one language's bytes serve all of them and pool exactly
    res = dict(bpb={m: {lang: bpb(*x) for lang, x in per.items()} for m, per in scored.items()},
               val_bytes={lang: float(nbytes.sum()) for lang, (_, nbytes) in first.items()},
               tokens=tokens, stamp=stamp)
    with open(cache, 'w') as f:
        json.dump(res, f, indent=1)
    return res

def record(root, arm, seed, s):
    """a finished seed and arm as the summary keeps it: its scores and its training minutes (None for
    runs that kept no seconds.json)"""
    folder = run_dir(root, arm, seed)
    res = evaluate(folder, s)
    paths = [os.path.join(folder, data, 'seconds.json') for _, data, _ in jobs(s)]
    seconds = [json.loads(line)['seconds'] for p in paths if os.path.exists(p) for line in open(p)]
    return dict(bpb=res['bpb'], val_bytes=res['val_bytes'], tokens=res['tokens'],
                minutes=sum(seconds) / 60 if seconds else None)

def kept(previous, s):
    """{(arm, seed): record} of a committed summary made with the same experts, steps and overrides: those
    are not trained again (out/ is not kept between machines, the summary is)"""
    if not previous or any(previous.get(k) != s[k] for k in ('experts', 'max_iters', 'extra')):
        return {}
    trained = [name(e) for e in s['experts']] + [*RULES, 'joint'] # the router is derived, not stored
    return {(arm, int(seed)): dict(bpb={m: {lang: r['bpb'][m][lang] for lang in s['languages']}
                                        for m in trained},
                                   val_bytes=previous['val_bytes'], tokens=previous['tokens'],
                                   minutes=r['minutes'])
            for arm, a in previous['arms'].items() for seed, r in a['runs'].items()}

# -----------------------------------------------------------------------------
# the summary: every number the tables print, from the seeds' records

def pooled(per_lang, langs, val_bytes):
    """bits per byte of several val splits together: each one's bits over all their bytes"""
    return sum(per_lang[lang] * val_bytes[lang] for lang in langs) / sum(val_bytes[lang] for lang in langs)

def scores(rec, s):
    """one record -> {model: {column: val bpb}}, with the router and the pooled columns"""
    per = dict(rec['bpb'])
    per['oracle'] = {lang: float(np.mean([per[name(e)][lang] for e in s['experts'] if lang in e]))
                     for lang in s['languages']}
    pools = [(name(e), e) for e in s['experts'] if len(e) > 1] + [('all', s['languages'])]
    return {m: {**{lang: per[m][lang] for lang in s['languages']},
                **{col: pooled(per[m], langs, rec['val_bytes']) for col, langs in pools}}
            for m in models(s)}

def differences(s):
    """the (a, b) whose paired difference a - b the summary keeps, on every column"""
    experts = [name(e) for e in s['experts']]
    return ([(r, e) for r in RULES for e in experts] # the paper's tests: (a) on 'all', (b) on e's own
            + [(r, 'joint') for r in RULES] + [(r, 'oracle') for r in RULES]
            + [('fused_logits', 'fused_probs'), ('joint', 'oracle')])

def by_seed(arm, m, col):
    """{seed: val bpb} of one model on one column, from an arm of the summary"""
    return {int(seed): r['bpb'][m][col] for seed, r in arm['runs'].items()}

def summarise(s, runs):
    """s: settings(); runs: {(arm, seed): record} -> the summary dict written to docs/fusion_compare.json"""
    cols, arms = columns(s), {}
    for arm in s['arms']:
        seeds = sorted(seed for a, seed in runs if a == arm)
        if not seeds:
            continue
        a = arms[arm] = dict(seeds=seeds, runs={str(seed): dict(bpb=scores(runs[arm, seed], s),
                                                                minutes=runs[arm, seed]['minutes'])
                                                for seed in seeds})
        a['mean'] = {m: {col: mean_ci(list(by_seed(a, m, col).values())) for col in cols} for m in models(s)}
        a['pairs'] = {f'{x} - {y}': {col: paired(by_seed(a, x, col), by_seed(a, y, col)) for col in cols}
                      for x, y in differences(s)}
    between = {} # another arm's experts against trainable ones: the same model, the same seeds
    for arm in arms:
        if arm == 'trainable' or 'trainable' not in arms:
            continue
        if set(arms[arm]['seeds']) & set(arms['trainable']['seeds']):
            between[f'{arm} - trainable'] = {m: {col: paired(by_seed(arms[arm], m, col),
                                                             by_seed(arms['trainable'], m, col))
                                                 for col in cols} for m in models(s)}
    first = next(iter(runs.values()), None)
    minutes = [r['minutes'] or 0 for r in runs.values()]
    args = [a for a in sys.argv[1:] if a not in ('--report', '--docs')] # the command that trains them
    return dict(command=' '.join(['python -m experiments.compare_fusion', *args]), commit=git_commit(),
                config=os.path.relpath(CPU_CONFIG, ROOT), **{k: v for k, v in s.items() if k != 'arms'},
                arms_planned=s['arms'], columns=cols,
                oracle={lang: [name(e) for e in s['experts'] if lang in e] for lang in s['languages']},
                tokens=first['tokens'] if first else {}, val_bytes=first['val_bytes'] if first else {},
                train_minutes=sum(minutes), arms=arms, between=between)

# -----------------------------------------------------------------------------
# the tables: markdown made from the summary alone, so the docs can be regenerated and checked

def label(m, summary, short=False):
    experts = [name(e) for e in summary['experts']]
    if m in experts:
        return f'{m} expert' if short else f'expert on {m}'
    if short:
        return {'fused_logits': 'fused (logits)', 'fused_probs': 'fused (probs)', 'oracle': 'router',
                'joint': 'joint'}[m]
    return {'fused_logits': "fused: mean of logits (the paper's)",
            'fused_probs': 'fused: mean of probabilities',
            'oracle': 'language router (oracle)', 'joint': f"one model on {name(summary['languages'])}"}[m]

def diff(p):
    """a paired difference, bold where its interval excludes zero (as experiments/sweep.py's diff)"""
    if p is None:
        return '-'
    text = fmt(p['mean'], p['ci95'], 3, sign=True)
    return text if p['ci95'] is None or abs(p['mean']) <= p['ci95'] else f'**{text}**'

def tokens_cell(m, summary):
    t, experts = summary['tokens'], [name(e) for e in summary['experts']]
    if m in RULES or m == 'oracle':
        return f"{sum(t[e] for e in experts):,} (the experts')" if t else '-'
    return f'{t[m]:,}' if m in t else '-'

def tables(summary):
    """{name: markdown table} of the summary; bold: the paired interval excludes zero"""
    experts, langs, arms = [name(e) for e in summary['experts']], summary['languages'], summary['arms']
    ms = [*experts, *RULES, 'oracle', 'joint']
    cols = [*langs, 'all']
    head = ' | '.join(f'val bpb {c}' if c in langs else f'all ({name(langs)})' for c in cols)
    rows = [f"| model ({summary['setup']}) | training tokens | embedding | {head} |",
            '| --- ' * (3 + len(cols)) + '|']
    for m in ms:
        for k, arm in enumerate(arms):
            mean = arms[arm]['mean'][m]
            first = f"{label(m, summary)} | {tokens_cell(m, summary)}" if k == 0 else ' | '
            rows.append(f"| {first} | {arm} ({len(arms[arm]['seeds'])}) | "
                        + ' | '.join(fmt(*mean[c], 3) for c in cols) + ' |')
    out = {'bpb': '\n'.join(rows)}
    rows = [f'| paired difference | embedding | {" | ".join(cols[:-1])} | all ({name(langs)}) |',
            '| --- ' * (2 + len(cols)) + '|']
    for pair in [f'{a} - {b}' for a, b in differences(summary)]:
        a, b = pair.split(' - ')
        for k, arm in enumerate(arms):
            p = arms[arm]['pairs'][pair]
            rows.append(f"| {f'{label(a, summary, True)} - {label(b, summary, True)}' if k == 0 else ''} "
                        f"| {arm} | " + ' | '.join(diff(p[c]) for c in cols) + ' |')
    out['differences'] = '\n'.join(rows)
    rows = [f'| fused - expert, on the expert\'s own languages | embedding | {" | ".join(langs)} '
            '| its languages together |', '| --- ' * (3 + len(langs)) + '|']
    for r in RULES:
        for e, e_langs in zip(experts, summary['experts']):
            for k, arm in enumerate(arms):
                p = arms[arm]['pairs'][f'{r} - {e}']
                own = p[e] if len(e_langs) > 1 else p[e_langs[0]]
                rows.append(f"| {f'{label(r, summary, True)} - {label(e, summary, True)}' if k == 0 else ''} "
                            f"| {arm} | " + ' | '.join(diff(p[c]) if c in e_langs else '' for c in langs)
                            + f' | {diff(own)} |')
    out['forgetting'] = '\n'.join(rows)
    if summary['between']:
        rows = [f'| same model, other experts | {" | ".join(cols[:-1])} | all ({name(langs)}) |',
                '| --- ' * (1 + len(cols)) + '|']
        for pair, per_model in summary['between'].items():
            for m in ms:
                rows.append(f'| {label(m, summary, True)}: {pair} | '
                            + ' | '.join(diff(per_model[m][c]) for c in cols) + ' |')
        out['embedding'] = '\n'.join(rows)
    return out

def plot(summary, path):
    """every model's val bpb on all languages together, one dot per arm, mean and 95% interval"""
    arms = summary['arms']
    ms = [*(name(e) for e in summary['experts']), *RULES, 'oracle', 'joint']
    plots.plot_buckets({arm: [(label(m, summary, True), *a['mean'][m]['all']) for m in ms]
                        for arm, a in arms.items()}, path, xlabel='',
                       title=f"val bits per byte on {name(summary['languages'])} val together "
                             f"(mean, 95% interval over seeds)")

if __name__ == '__main__':
    ap = argparse.ArgumentParser(allow_abbrev=False, # train.py's --seed=N is an override, not --seeds
                                 description="language experts, alone, fused (both rules), and one model on "
                                             "all their languages; seeds paired")
    ap.add_argument('--languages', default='ru,zh',
                    help="one expert per language, comma-separated, of en, ru, zh")
    ap.add_argument('--shared', default='en',
                    help="the language every expert also trains on, as the paper's did; "
                         "'none': one language each (the monolingual control)")
    add_run_arguments(ap, 3, 300, "steps per expert; the joint model trains their sum",
                      'out/fusion_<datasets>_<max_iters>')
    ap.add_argument('--report', action='store_true',
                    help="the summary and tables from the finished runs; train nothing")
    ap.add_argument('--docs', action='store_true',
                    help="--report, and write the summary and tables into docs/")
    args, extra = ap.parse_known_args() # anything else is a train.py override for every run, --key=value
    arms, langs = arms_and_overrides(ap, args, extra), args.languages.split(',')
    shared = None if args.shared == 'none' else args.shared
    if len(langs) < 2 or len(set(langs)) != len(langs) or set(langs) - set(SOURCES):
        ap.error(f"--languages {args.languages}: name two or more different languages of "
                 f"{', '.join(SOURCES)}, e.g. ru,zh")
    if shared is not None and (shared not in SOURCES or shared in langs):
        ap.error(f"--shared {args.shared}: one of {', '.join(SOURCES)} that --languages does not name, "
                 f"or 'none'")
    s = settings(langs, shared, arms, seeds_from(args.seeds, args.first_seed), args.max_iters, extra)
    root = args.out or f"out/fusion_{'_'.join(dataset(e) for e in s['experts'])}_{args.max_iters}"
    train = not (args.report or args.docs)
    if train:
        for data, subset in {dataset(x): x for x in [*s['experts'], *([lang] for lang in s['languages']),
                                                     s['languages']]}.items():
            ensure_dataset(data, subset)
    plan = ', '.join(f'{m} on data/{d} ({n} steps)' for m, d, n in jobs(s))
    print(f"{s['setup']}. {len(arms)} arms ({', '.join(arms)}) x {len(s['seeds'])} seeds x "
          f"{len(jobs(s))} runs of config/cpu.py: {plan}{' ' + ' '.join(extra) if extra else ''}; "
          f"val bits per byte over the whole val split of each of {', '.join(s['languages'])}", flush=True)

    previous = json.load(open(SUMMARY)) if os.path.exists(SUMMARY) else None
    t0, done, runs = time.time(), kept(previous, s), {}
    for seed in s['seeds']: # seed-major: a stop leaves whole pairs behind
        for arm in arms:
            if (arm, seed) in done:
                runs[arm, seed] = done[arm, seed]
                continue
            if train:
                train_seed(root, arm, seed, s, t0)
            if all(finished(os.path.join(run_dir(root, arm, seed), d), n) for _, d, n in jobs(s)):
                runs[arm, seed] = record(root, arm, seed, s)
                got = scores(runs[arm, seed], s)
                print(f"  {arm} seed {seed}: " + ', '.join(f"{m} {got[m]['all']:.3f}" for m in models(s))
                      + " (val bpb, all languages)", flush=True)

    summary = summarise(s, runs)
    tabs = tables(summary)
    for tab, md in tabs.items():
        print(f"\n{tab}:\n{md}")
    if runs:
        os.makedirs(root, exist_ok=True)
        save_summary(os.path.join(root, 'summary.json'), summary)
        plot(summary, os.path.join(root, 'fusion.png'))
        print(f"\nwrote {root}/summary.json and {root}/fusion.png ({(time.time() - t0) / 60:.0f} min, "
              f"{len(runs)} of {len(arms) * len(s['seeds'])} seeds and arms finished)")
    if args.docs:
        save_summary(SUMMARY, summary)
        plot(summary, os.path.join(ROOT, 'docs', 'fusion.png'))
        write_tables(PAGE, 'compare_fusion', tabs)
        print(f"wrote {os.path.relpath(SUMMARY, ROOT)}, docs/fusion.png and the tables of "
              f"{os.path.relpath(PAGE, ROOT)}")
