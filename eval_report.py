"""
What a results dict of eval_mmlu.py (its results.json) reads as, line by line. MMLU: each protocol's
accuracy with its 95% interval beside its baselines, the accuracy per category, then a table per subject.
The other tasks: lm-eval's metrics, then the paper's protocol where it ran. eval_mmlu.py's command line
prints each task's report as the task finishes:
    report(evaluate(model, tok, 'data/mmlu'))
It only formats: every number it prints is in the dict, computed by eval_mmlu.py; it computes none.
"""

# -----------------------------------------------------------------------------
# the pieces of a line

def pct(x):
    """a share as a percentage, five characters wide"""
    return f"{100 * x:5.1f}%"

def accuracy_text(r):
    """a protocol's accuracy and its 95% interval"""
    return f"{pct(r['accuracy'])} +- {100 * r['ci95']:.1f}"

def always_text(r):
    """the baseline of always answering the most common gold letter"""
    return f"always {r['most_common_gold']['label']} {pct(r['most_common_gold']['accuracy'])}"

def skipped_text(s):
    """the bad rows --skip_bad_rows skipped, where there were any"""
    return f"; {s['bad_rows_skipped']} bad rows skipped" if s['bad_rows_skipped'] else ""

def category_text(r):
    """the accuracy per MMLU category, on one line"""
    return '  '.join(f"{c} {pct(v['accuracy'])}" for c, v in r['categories'].items())

def subject_cell(s, name, subject):
    """a protocol's accuracy on one subject for the table, a dash where the protocol did not run"""
    return pct(s[name]['subjects'][subject]['accuracy']) if name in s else '    -'

# -----------------------------------------------------------------------------
# the reports

def report_task(s):
    """print a task's summary: lm-eval's metrics, then the paper's protocol where it ran"""
    r = s.get('standard')
    if r:
        line = f"{s['task']} ({s['note']}): acc {accuracy_text(r)} (n {r['n']})"
        if 'acc_norm' in r:
            line += f", acc_norm {pct(r['acc_norm'])}"
        line += f", chance {pct(r['chance'])}"
        if 'most_common_gold' in r:
            line += f", {always_text(r)}"
        print(line)
    r = s.get('paper')
    if r:
        print(f"{s['task']}, paper protocol (0-shot, {r['gen_tokens']} generated token(s), greedy): accuracy "
              f"{accuracy_text(r)}, parse rate {pct(r['parse_rate'])}, chance {pct(r['chance'])}, "
              f"{always_text(r)}")
    print(f"{s['n_questions']} questions in {s['wall_s']:.1f} s" + skipped_text(s))

def report(res):
    """print a results.json's summary: each protocol beside its baselines, then MMLU's table per subject"""
    s = res['summary']
    if 'task' in s:
        return report_task(s)
    r = s.get('standard')
    if r:
        print(f"standard protocol ({r['shots']}-shot log-likelihood of ' A'..' D', {r['path']} path"
              f"{', --bos' if s['bos'] else ''}): accuracy {accuracy_text(r)} (n {r['n']}), "
              f"macro {pct(r['macro'])}, chance {pct(r['chance'])}, {always_text(r)}")
        print(f"  {category_text(r)}   [categories: {r['category_map']}]")
        print(f"  predicted letters {r['pred_histogram']}; {r['prompts_with_dropped_shots']} prompts dropped "
              f"{r['dropped_shots']} shots to fit, {r['truncated']} truncated at 0 shots")
    r = s.get('paper')
    if r:
        print(f"paper protocol (0-shot, {r['gen_tokens']} generated token(s), greedy): accuracy "
              f"{accuracy_text(r)}, parse rate {pct(r['parse_rate'])}, first token whitespace "
              f"{pct(r['whitespace_first_share'])}, mean P(whitespace after 'Answer:') "
              f"{pct(r['mean_p_whitespace'])}, {always_text(r)}")
        print(f"  {category_text(r)}")
        sm = r['samples']
        if sm:
            line = f"  sampled ({sm['n']} runs, seed {sm['seed']}): mean {pct(sm['mean'])}"
            if sm['ci95'] is not None: # one run has no spread
                line += f" +- {100 * sm['ci95']:.1f} (95%, normal approximation over runs)"
            print(line)
    print(f"{'subject':<40} {'n':>5} {'standard':>9} {'paper':>7}")
    for x, v in (s.get('standard') or s['paper'])['subjects'].items():
        print(f"{x:<40} {v['n']:>5} {subject_cell(s, 'standard', x):>9} {subject_cell(s, 'paper', x):>7}")
    print(f"{s['n_questions']} questions in {s['wall_s']:.1f} s: {s['questions_per_s']:.1f} questions/s, "
          f"{s['prompt_tokens_per_s']:,.0f} prompt tokens/s" + skipped_text(s))
