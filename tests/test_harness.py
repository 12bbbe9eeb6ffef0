"""eval_harness.py: the real lm-evaluation-harness (skipped where it is not installed) on a tiny model.
Its per-question log-likelihoods and predictions equal eval_mmlu.py's on MMLU (5-shot, prompts cut to a
small window as lm-eval cuts them) and ARC-Easy, read from the installed data; the LM's rolling
log-likelihood, long continuations and generation, on one model and a fused one; the bad inputs."""
import os
import sys

import pytest
import torch
from torch.nn import functional as F

import eval_harness
import tokenizer
from conftest import ROOT
from fusion import Fused
from model import GPT, GPTConfig

lm_eval = pytest.importorskip('lm_eval', reason="lm-evaluation-harness not installed: "
                                                "pip install lm-eval==0.4.13 (or bash setup.sh --extras)")
DATA = [os.path.join(ROOT, 'data', 'mmlu', f) for f in ('test.jsonl', 'dev.jsonl')] + \
       [os.path.join(ROOT, 'data', 'eval', 'arc_easy.jsonl')]
needs_data = pytest.mark.skipif(not all(map(os.path.isfile, DATA)),
                                reason="the evaluation data is not installed: run `python eval_data.py`")

@pytest.fixture(scope='module')
def tok():
    text = "The following are multiple choice questions (with answers) about science. Question: Which is " \
           "it?\nA. one\nB. two\nC. three\nD. four\nAnswer: B\n\n" * 20
    return tokenizer.load_tokenizer(tokenizer.train([text], 512, 'compact', verbose=False))

def tiny_model(tok, block_size=128, seed=0):
    torch.manual_seed(seed)
    return GPT(GPTConfig(block_size=block_size, vocab_size=tok.vocab_size, n_layer=2, n_head=2, n_embd=32,
                         embedding='random')).eval()

@needs_data
def test_harness_predictions_equal_eval_mmlu(tok, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT) # eval_data.task_path: data/ under the checkout
    model = tiny_model(tok) # a 128-token window: every 5-shot MMLU prompt is cut
    cache = str(tmp_path / 'hf') # the datasets cache, never the user's
    subjects = ['anatomy', 'marketing', 'philosophy'] # three of the four categories
    out = eval_harness.evaluate(model, tok, ['mmlu', 'arc_easy'], limit=12, cache_dir=cache, verbose=False,
                                subjects=subjects)
    results = out['results']['results']
    assert {'mmlu', 'mmlu_stem', 'mmlu_anatomy', 'arc_easy'} <= set(results)
    assert out['results']['n-shot']['mmlu_anatomy'] == 5 and results['mmlu']['sample_len'] == 36
    first = out['questions']['arc_easy'][0]
    assert set(first) == {'doc', 'gold', 'loglikelihoods', 'pred', 'pred_norm'}
    assert len(first['loglikelihoods']) == 4
    for task, n in (('mmlu', 36), ('arc_easy', 12)):
        ours = eval_harness.our_scores(model, tok, task, 12, subjects=subjects)
        a = eval_harness.agreement(out['questions'], ours, task)
        assert a['n'] == n
        assert a['agree'] + a['near_ties'] == a['n'] and a['max_abs_diff_nats'] < 1e-4, a
    assert a['agree_norm'] == 12
    # eval_mmlu.py's default drops shots instead: other prompts, other scores
    drop = eval_harness.eval_mmlu.evaluate(model, tok, 'data/mmlu', subjects, 5, 12, 'standard',
                                           verbose=False)
    moved = [q for q in drop['questions'] if q['shots'] < 5 and not q['truncated']] # fits with fewer shots
    assert moved
    harness = out['questions'][f"mmlu_{moved[0]['subject']}"][moved[0]['index']]
    assert harness['loglikelihoods'] != pytest.approx(moved[0]['scores'], abs=1e-4)

@needs_data
def test_unknown_subject(monkeypatch):
    monkeypatch.chdir(ROOT)
    harness = eval_harness.require_lm_eval()
    root = os.path.join(os.path.dirname(harness.__file__), 'tasks', 'mmlu', 'default')
    manager = harness.tasks.TaskManager(include_defaults=False, include_path=[root])
    with pytest.raises(ValueError, match=r"unknown MMLU subject 'anatomyy'"):
        eval_harness.harness_tasks(manager, ['mmlu'], subjects=['anatomy', 'anatomyy'])

class Request: # what the harness hands an LM: .args
    def __init__(self, *args):
        self.args = args

def window_nats(model, prefix, ids, block_size):
    """the log-prob of ids after prefix by the plain forward, in blocks of block_size tokens, each after as
    much of what precedes it as fits the window: lm-eval's rolling windows when prefix is end-of-text"""
    total = 0.0
    for a in range(0, len(ids), block_size):
        piece = ids[a:a + block_size]
        seq = (prefix + ids[:a] + piece)[-(block_size + 1):]
        x = torch.tensor([seq[:-1]])
        logits, _ = model(x, torch.zeros_like(x)) # targets only to get every position's logits
        logp = F.log_softmax(logits[0, -len(piece):].float(), -1)
        total += logp.gather(1, torch.tensor(piece)[:, None]).sum().item()
    return total

def test_rolling_loglikelihood_and_generation(tok):
    model = tiny_model(tok, block_size=16)
    fused = Fused([model, tiny_model(tok, block_size=16, seed=1)]).eval()
    lm = eval_harness.make_lm_class(lm_eval)(model, tok, verbose=False)
    texts = ["Answer: B", "Which is it? one two three four. " * 8] # one window; several, the last shorter
    n = [len(tok.encode(t)) for t in texts]
    assert n[0] < 16 and n[1] > 40 and n[1] % 16
    got = lm.loglikelihood_rolling([Request(t) for t in texts])
    assert got == pytest.approx([window_nats(model, [tok.eot], tok.encode(t), 16) for t in texts], abs=1e-4)
    # a continuation longer than the window: every token scored once, in pieces
    (long, _), = lm.loglikelihood([Request("Question:", " " + texts[1])])
    ctx, cont = tok.encode("Question:"), tok.encode("Question: " + texts[1])[len(tok.encode("Question:")):]
    assert long == pytest.approx(window_nats(model, ctx, cont, 16), abs=1e-4)
    # loglikelihood: the summed log-prob of the continuation, greedy flag included, on a fused model too
    for m in (model, fused):
        lm = eval_harness.make_lm_class(lm_eval)(m, tok, verbose=False)
        (score, greedy), = lm.loglikelihood([Request("Question: Which", " is it?")])
        whole = tok.encode("Question: Which is it?")
        ctx = tok.encode("Question: Which")
        x = torch.tensor([whole[:-1]])
        logits = m.logits_at(x, torch.zeros(len(whole) - len(ctx), dtype=torch.long),
                             torch.arange(len(ctx) - 1, len(whole) - 1))
        logp = F.log_softmax(logits.float(), -1)
        ref = logp.gather(1, torch.tensor(whole[len(ctx):])[:, None]).sum().item()
        assert score == pytest.approx(ref, abs=1e-4) and isinstance(greedy, bool)
    # generate_until: greedy text cut at the stop string
    lm = eval_harness.make_lm_class(lm_eval)(model, tok, verbose=False)
    text, = lm.generate_until([Request("Answer:", {'until': ['\n'], 'max_gen_toks': 12})])
    prompt = tok.encode("Answer:")
    y = model.generate(torch.tensor([prompt]), 12, temperature=0)[0, len(prompt):].tolist()
    assert text == tok.decode(y[:y.index(tok.eot)] if tok.eot in y else y).split('\n')[0]

def test_bad_inputs(tok, tmp_path, monkeypatch):
    with pytest.raises(ValueError, match=r"unknown task 'mmlu_pro': use any of mmlu, arc_easy"):
        eval_harness.check_tasks(['arc_easy', 'mmlu_pro'])
    monkeypatch.chdir(tmp_path) # no data/ here
    with pytest.raises(ValueError, match=r"no piqa data at data/eval/piqa.jsonl: "
                                         r"run `python eval_data.py piqa`"):
        eval_harness.local_data('piqa')
    monkeypatch.setitem(sys.modules, 'lm_eval', None) # as if not installed: import raises ImportError
    with pytest.raises(ValueError, match=r"pip install lm-eval==0.4.13 \(or bash setup.sh --extras\)"):
        eval_harness.require_lm_eval()
