"""fusion.py: fused log-probabilities equal the combined experts' on the same input under both rules, generation
with one KV cache per expert equals generation without caches, refused inputs, the command lines."""
import json
import math

import pytest
import torch
from torch.nn import functional as F

import tokenizer
from conftest import run
from experiments import rarity
from fusion import Fused, load_model
from model import GPT, GPTConfig

@pytest.fixture(scope='module')
def tok():
    text = 'the cat sat on a mat and saw one dog кот сидел на ковре 猫 坐 在 垫子 上 ' * 20
    return tokenizer.load_tokenizer(tokenizer.train([text], 512, 'compact', verbose=False))

def expert(tok, seed, vocab=None, **kw):
    torch.manual_seed(seed)
    cfg = dict(block_size=16, vocab_size=vocab or tok.vocab_size, n_layer=1, n_head=2, n_embd=16, embedding='random')
    return GPT(GPTConfig(**{**cfg, **kw})).eval()

def save(model, tok, path):
    torch.save({'model': model.state_dict(), 'model_args': dict(model.config.__dict__), 'iter_num': 0,
                'config': {'dtype': 'float32'}, 'tokenizer': tok.spec, 'tokenizer_hash': tok.hash, 'provenance': {}}, path)
    return str(path)

def test_fused_log_probabilities_under_both_rules(tok):
    experts = [expert(tok, 1), expert(tok, 2, n_layer=2, embedding='trainable')] # other depths and embeddings are fine
    idx = torch.randint(0, tok.vocab_size, (2, 12), generator=torch.Generator().manual_seed(0))
    rows, cols = torch.tensor([0, 0, 1]), torch.tensor([3, 11, 5])
    with torch.no_grad():
        each = [e.logits_at(idx, rows, cols) for e in experts]
        got = F.log_softmax(Fused(experts, 'logits').logits_at(idx, rows, cols), -1)
        assert torch.allclose(got, F.log_softmax((each[0] + each[1]) / 2, -1), atol=1e-6)
        mix = Fused(experts, 'probs').logits_at(idx, rows, cols)
        assert torch.allclose(mix.exp(), (F.softmax(each[0], -1) + F.softmax(each[1], -1)) / 2, atol=1e-6)
        assert torch.allclose(mix.exp().sum(-1), torch.ones(3)) # the mixture is normalised already
    with pytest.raises(ValueError, match="use 'logits'"):
        Fused(experts, 'max')

def test_the_val_split_scores_a_fused_model_position_by_position(tok):
    # rarity.val_nats (and so experiments/compare_fusion.py) scores a Fused through forward(idx, targets,
    # reduction='none')
    experts = [expert(tok, 1), expert(tok, 2, embedding='trainable')]
    val = [torch.randint(0, tok.vocab_size, (40,), generator=torch.Generator().manual_seed(2)).numpy()]
    for rule in ('logits', 'probs'):
        fused = Fused(experts, rule)
        x, y, nats = rarity.val_nats(fused, val, batch_size=2)
        assert len(y) == 39 and list(y) == list(val[0][1:]) # every val token once
        with torch.no_grad():
            logp = [F.log_softmax(e.logits_at(torch.tensor(val[0][None, :16]), torch.zeros(16, dtype=torch.long),
                                              torch.arange(16)), -1) for e in experts]
        want = -torch.logsumexp(torch.stack(logp), 0) + math.log(2) if rule == 'probs' else -F.log_softmax((logp[0] + logp[1]) / 2, -1)
        want = want[torch.arange(16), torch.tensor(val[0][1:17])]
        assert torch.allclose(torch.tensor(nats[:16], dtype=torch.float32), want, atol=1e-5), rule

def test_the_experiment_refuses_bad_arguments(tmp_path):
    for args, msg in [(['--languages', 'ru'], 'name two different languages'), (['--languages', 'ru,fr'], 'name two'),
                      (['--arms', 'glyph,nope'], 'arms from'), (['--n_layer', '2'], 'train.py overrides are --key=value')]:
        r = run(args, tmp_path, check=False, script='experiments.compare_fusion')
        assert r.returncode != 0 and msg in r.stderr, (args, r.stderr)

def test_generation_with_one_cache_per_expert_equals_no_cache(tok):
    experts = [expert(tok, 1), expert(tok, 3, block_size=24)] # contexts differ: the fused model uses 16
    fused = Fused(experts)
    assert fused.config.block_size == 16
    idx = torch.randint(0, tok.vocab_size, (2, 10), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = fused.generate(idx, 12, temperature=0) # 10 + 12 > 16: the window slides
        ref = idx
        for _ in range(12):
            logits = fused.combine([e(ref[:, -16:])[0] for e in experts]) # no cache: the whole window each time
            ref = torch.cat([ref, logits[:, -1].argmax(-1, keepdim=True)], 1)
    assert torch.equal(got, ref)

def test_refused_inputs_and_the_command_lines(tok, tmp_path):
    a = save(expert(tok, 1), tok, tmp_path / 'a.pt')
    b = save(expert(tok, 2, n_layer=2, block_size=24), tok, tmp_path / 'b.pt')
    other = tokenizer.load_tokenizer(tokenizer.train(['a different text entirely, ' * 50], 512, 'compact', verbose=False))
    c = save(expert(other, 3), other, tmp_path / 'c.pt')
    d = save(expert(tok, 4, vocab=tok.vocab_size + 64), tok, tmp_path / 'd.pt') # a padded vocabulary
    with pytest.raises(ValueError, match='another tokenizer'):
        load_model([a, c])
    with pytest.raises(ValueError, match='fuse experts with one vocabulary'):
        load_model([a, d])
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_model([a, str(tmp_path / 'missing.pt')])
    model, _ = load_model([a, b], rule='probs')
    assert [e['n_layer'] for e in model.checkpoint['experts']] == [1, 2] and model.checkpoint['fusion'] == 'probs'
    r = run([a, b, '--start=the cat', '--num_samples=1', '--max_new_tokens=8'], tmp_path, script='sample.py')
    assert 'using the smallest, 16' in r.stdout and 'the cat' in r.stdout
    piqa = tmp_path / 'piqa.jsonl'
    piqa.write_text(''.join(json.dumps({'goal': f'the {w}', 'sol1': 'cat sat', 'sol2': 'dog saw', 'label': i % 2}) + '\n'
                            for i, w in enumerate(['mat', 'dog', 'cat'])))
    r = run([a, b, '--task=piqa', f'--data={piqa}', f'--out={tmp_path / "f.json"}'], tmp_path, script='eval_mmlu.py')
    res = json.load(open(tmp_path / 'f.json'))
    assert [e['path'] for e in res['summary']['checkpoint']['experts']] == [a, b] and len(res['questions']) == 3
    r = run([a, c, '--task=piqa', f'--data={piqa}'], tmp_path, check=False, script='eval_mmlu.py')
    assert r.returncode != 0 and 'another tokenizer' in r.stderr and 'Traceback' not in r.stderr
