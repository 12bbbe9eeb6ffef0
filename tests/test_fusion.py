"""fusion.py: fused log-probabilities equal the combined experts' on the same input under both rules,
generation with one KV cache per expert equals generation without caches, the table-free affine embedding
fuses, refused inputs, the command lines. experiments/compare_fusion.py: its arguments, and its summary and
tables made from synthetic records."""
import json
import math

import pytest
import torch
from torch.nn import functional as F

import tokenizer
from conftest import refusal, run
from experiments import compare_fusion as cf, rarity
from experiments.results import save_summary, write_tables
from fusion import Fused, load_model
from model import GPT, GPTConfig

@pytest.fixture(scope='module')
def tok():
    text = 'the cat sat on a mat and saw one dog кот сидел на ковре 猫 坐 在 垫子 上 ' * 20
    return tokenizer.load_tokenizer(tokenizer.train([text], 512, 'compact', verbose=False))

def expert(tok, seed, vocab=None, **kw):
    torch.manual_seed(seed)
    cfg = dict(block_size=16, vocab_size=vocab or tok.vocab_size, n_layer=1, n_head=2, n_embd=16,
               embedding='random')
    return GPT(GPTConfig(**{**cfg, **kw})).eval()

def save(model, tok, path):
    torch.save({'model': model.state_dict(), 'model_args': dict(model.config.__dict__), 'iter_num': 0,
                'config': {'dtype': 'float32'}, 'tokenizer': tok.spec, 'tokenizer_hash': tok.hash,
                'provenance': {}}, path)
    return str(path)

def test_fused_log_probabilities_under_both_rules(tok):
    # other depths and embeddings are fine
    experts = [expert(tok, 1), expert(tok, 2, n_layer=2, embedding='trainable')]
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
            logp = [F.log_softmax(e.logits_at(torch.tensor(val[0][None, :16]),
                                              torch.zeros(16, dtype=torch.long), torch.arange(16)), -1)
                    for e in experts]
        if rule == 'probs':
            want = -torch.logsumexp(torch.stack(logp), 0) + math.log(2)
        else:
            want = -F.log_softmax((logp[0] + logp[1]) / 2, -1)
        want = want[torch.arange(16), torch.tensor(val[0][1:17])]
        assert torch.allclose(torch.tensor(nats[:16], dtype=torch.float32), want, atol=1e-5), rule

def test_the_experiment_refuses_bad_arguments(capsys, monkeypatch):
    for args, msg in [(['--languages', 'ru'], 'name two or more different languages'),
                      (['--languages', 'ru,fr'], 'name two'), (['--languages', 'ru,ru'], 'name two'),
                      (['--languages', 'en,ru'], "--shared en: one of en, ru, zh that --languages does not"),
                      (['--shared', 'fr'], "or 'none'"), (['--arms', 'glyph,nope'], 'arms from'),
                      (['--n_layer', '2'], 'train.py overrides are --key=value')]:
        code, err = refusal(args, 'experiments.compare_fusion', capsys, monkeypatch)
        assert code != 0 and msg in err, (args, err)

def test_generation_with_one_cache_per_expert_equals_no_cache(tok):
    experts = [expert(tok, 1), expert(tok, 3, block_size=24)] # contexts differ: the fused model uses 16
    fused = Fused(experts)
    assert fused.config.block_size == 16
    idx = torch.randint(0, tok.vocab_size, (2, 10), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got = fused.generate(idx, 12, temperature=0) # 10 + 12 > 16: the window slides
        ref = idx
        for _ in range(12):
            # no cache: the whole window each time
            logits = fused.combine([e(ref[:, -16:])[0] for e in experts])
            ref = torch.cat([ref, logits[:, -1].argmax(-1, keepdim=True)], 1)
    assert torch.equal(got, ref)

def test_refused_inputs_and_the_command_lines(tok, tmp_path):
    a = save(expert(tok, 1), tok, tmp_path / 'a.pt')
    b = save(expert(tok, 2, n_layer=2, block_size=24), tok, tmp_path / 'b.pt')
    other = tokenizer.load_tokenizer(tokenizer.train(['a different text entirely, ' * 50], 512, 'compact',
                                                     verbose=False))
    c = save(expert(other, 3), other, tmp_path / 'c.pt')
    d = save(expert(tok, 4, vocab=tok.vocab_size + 64), tok, tmp_path / 'd.pt') # a padded vocabulary
    with pytest.raises(ValueError, match='another tokenizer'):
        load_model([a, c])
    with pytest.raises(ValueError, match='fuse experts with one vocabulary'):
        load_model([a, d])
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_model([a, str(tmp_path / 'missing.pt')])
    model, _ = load_model([a, b], rule='probs')
    assert [e['n_layer'] for e in model.checkpoint['experts']] == [1, 2]
    assert model.checkpoint['fusion'] == 'probs'
    r = run([a, b, '--start=the cat', '--num_samples=1', '--max_new_tokens=8'], tmp_path, script='sample.py')
    assert 'using the smallest, 16' in r.stdout and 'the cat' in r.stdout
    piqa = tmp_path / 'piqa.jsonl'
    piqa.write_text(''.join(json.dumps({'goal': f'the {w}', 'sol1': 'cat sat', 'sol2': 'dog saw',
                                        'label': i % 2}) + '\n' for i, w in enumerate(['mat', 'dog', 'cat'])))
    r = run([a, b, '--task=piqa', f'--data={piqa}', f'--out={tmp_path / "f.json"}'], tmp_path,
            script='eval_mmlu.py')
    res = json.load(open(tmp_path / 'f.json'))
    assert [e['path'] for e in res['summary']['checkpoint']['experts']] == [a, b]
    assert len(res['questions']) == 3
    r = run([a, c, '--task=piqa', f'--data={piqa}'], tmp_path, check=False, script='eval_mmlu.py')
    assert r.returncode != 0 and 'another tokenizer' in r.stderr and 'Traceback' not in r.stderr

def test_an_affine_expert_fuses(tok, tmp_path):
    # the table-free embedding has no V x n_embd table; fusion averages what comes out of the heads and never
    # reads an input embedding, so it needs none
    aff = expert(tok, 5, embedding='affine', embedding_seed=7)
    a = save(aff, tok, tmp_path / 'affine.pt')
    b = save(expert(tok, 6), tok, tmp_path / 'random.pt')
    model, _ = load_model([a, b])
    assert [e['embedding'] for e in model.checkpoint['experts']] == ['affine', 'random']
    assert torch.equal(model.experts[0].transformer.wte.A, aff.transformer.wte.A) # the map, not a new draw
    idx = torch.randint(0, tok.vocab_size, (2, 12), generator=torch.Generator().manual_seed(3))
    rows, cols = torch.tensor([0, 1]), torch.tensor([4, 11])
    with torch.no_grad():
        each = [e.logits_at(idx, rows, cols) for e in model.experts]
        assert torch.allclose(model.logits_at(idx, rows, cols), (each[0] + each[1]) / 2, atol=1e-6)
        assert torch.allclose(each[0], aff.logits_at(idx, rows, cols), atol=1e-6)
    val = [torch.randint(0, tok.vocab_size, (40,), generator=torch.Generator().manual_seed(4)).numpy()]
    _, y, nats = rarity.val_nats(model, val, batch_size=2) # the experiment scores it as any fused model
    assert len(y) == 39 and (nats > 0).all()

# -----------------------------------------------------------------------------
# experiments/compare_fusion.py's summary and tables, from synthetic records

SEEDS = [1337, 1338, 1339]
VAL_BYTES = {'en': 1000.0, 'ru': 3000.0, 'zh': 2000.0}

def synthetic(s, offset=0.0):
    """{(arm, seed): record}: per model a base score per language, a seed wobble, and for the trainable arm
    `offset` more on every model"""
    base = {'en+ru': dict(en=2.0, ru=1.5, zh=6.0), 'en+zh': dict(en=1.9, ru=5.0, zh=2.5),
            'fused_logits': dict(en=1.8, ru=2.0, zh=3.0), 'fused_probs': dict(en=1.95, ru=1.7, zh=2.7),
            'joint': dict(en=1.85, ru=1.55, zh=2.45), 'ru': dict(ru=1.4), 'zh': dict(zh=2.4)}
    trained = [cf.name(e) for e in s['experts']] + ['fused_logits', 'fused_probs', 'joint']
    runs = {}
    for arm in s['arms']:
        for k, seed in enumerate(s['seeds']):
            wobble = [0.01, -0.02, 0.015][k]
            runs[arm, seed] = dict(
                bpb={m: {lang: base[m].get(lang, 7.0) + wobble * (1 + j)
                         + (offset if arm == 'trainable' else 0)
                         for lang in s['languages']} for j, m in enumerate(trained)},
                val_bytes={lang: VAL_BYTES[lang] for lang in s['languages']},
                tokens={m: 1_228_800 * (2 if m == 'joint' else 1)
                        for m in trained if not m.startswith('fused')},
                minutes=20.0)
    return runs

def test_the_summary_and_its_tables():
    s = cf.settings(['ru', 'zh'], 'en', ['glyph', 'trainable'], SEEDS, 300, ['--n_layer=2'])
    assert s['experts'] == [['en', 'ru'], ['en', 'zh']] and s['languages'] == ['en', 'ru', 'zh']
    assert cf.jobs(s) == [('en+ru', 'enru', 300), ('en+zh', 'enzh', 300), ('joint', 'default', 600)]
    runs = synthetic(s, offset=0.05)
    summary = json.loads(json.dumps(cf.summarise(s, runs))) # as the committed file holds it
    assert summary['oracle'] == {'en': ['en+ru', 'en+zh'], 'ru': ['en+ru'], 'zh': ['en+zh']}
    assert summary['columns'] == ['en', 'ru', 'zh', 'en+ru', 'en+zh', 'all']
    assert summary['arms_planned'] == ['glyph', 'trainable'] and summary['train_minutes'] == 120.0
    one = summary['arms']['glyph']['runs']['1337']['bpb']
    r = runs['glyph', 1337]['bpb']
    # pooled columns: every split's bits over all their bytes; the router: a fair coin on English
    assert one['en+ru']['all'] == pytest.approx((r['en+ru']['en'] * 1000 + r['en+ru']['ru'] * 3000
                                                 + r['en+ru']['zh'] * 2000) / 6000)
    assert one['fused_logits']['en+zh'] == pytest.approx((r['fused_logits']['en'] * 1000
                                                         + r['fused_logits']['zh'] * 2000) / 3000)
    assert one['oracle']['en'] == pytest.approx((r['en+ru']['en'] + r['en+zh']['en']) / 2)
    assert one['oracle']['ru'] == r['en+ru']['ru'] and one['oracle']['zh'] == r['en+zh']['zh']
    p = summary['arms']['glyph']['pairs']['fused_logits - en+ru']['all']
    want = [runs['glyph', x]['bpb'] for x in SEEDS]
    langs = s['languages']
    assert p['seeds'] == SEEDS and p['mean'] == pytest.approx(sum(
        cf.pooled(w['fused_logits'], langs, VAL_BYTES) - cf.pooled(w['en+ru'], langs, VAL_BYTES)
        for w in want) / 3)
    # every model of the trainable arm is 0.05 worse on every split, the same on every seed: resolved
    between = summary['between']['glyph - trainable']['joint']['ru']
    assert between['mean'] == pytest.approx(-0.05) and between['ci95'] == pytest.approx(0, abs=1e-9)

    tabs = cf.tables(summary)
    assert set(tabs) == {'bpb', 'differences', 'forgetting', 'embedding'}
    assert tabs == cf.tables(json.loads(json.dumps(summary))) # from the summary alone
    bpb = tabs['bpb'].split('\n')
    assert "paper: every expert also trains on en" in bpb[0] and 'all (en+ru+zh)' in bpb[0]
    assert any(line.startswith("| one model on en+ru+zh | 2,457,600 | glyph (3) |") for line in bpb)
    assert any(line.startswith("| fused: mean of logits (the paper's) | 2,457,600 (the experts') |")
               for line in bpb)
    forgetting = [line for line in tabs['forgetting'].split('\n')
                  if line.startswith('| fused (logits) - en+ru')]
    assert len(forgetting) == 1 and forgetting[0].split(' | ')[4] == '' # zh is not the en+ru expert's
    assert '**-0.050 +- 0.000**' in tabs['embedding'] # bold: the interval excludes zero
    rows = {line.split(' | ')[0]: line.split(' | ') for line in tabs['differences'].split('\n')}
    assert rows['| fused (logits) - fused (probs)'][2].startswith('**-0.152 +- ') # en: -0.15, seeds agree
    assert '**' not in rows['| fused (probs) - router'][2] # en: 0 apart from the seeds' wobble

    # a changed number changes the table
    runs['glyph', 1338]['bpb']['fused_probs']['zh'] += 0.4
    changed = cf.tables(json.loads(json.dumps(cf.summarise(s, runs))))
    assert changed['bpb'] != tabs['bpb'] and changed['differences'] != tabs['differences']
    assert changed['forgetting'] != tabs['forgetting']

def test_a_summary_keeps_its_runs_and_the_monolingual_setup():
    s = cf.settings(['ru', 'zh'], 'en', ['glyph'], SEEDS, 300, [])
    runs = synthetic(s)
    summary = json.loads(json.dumps(cf.summarise(s, runs)))
    # a committed summary with the same experts, steps and overrides: its seeds are not trained again
    back = cf.kept(summary, s)
    assert set(back) == set(runs) and cf.tables(cf.summarise(s, back)) == cf.tables(summary)
    assert cf.kept(summary, dict(s, max_iters=600)) == {} and cf.kept(summary, dict(s, extra=['--x=1'])) == {}
    mono = cf.settings(['ru', 'zh'], None, ['glyph'], SEEDS, 300, [])
    assert mono['experts'] == [['ru'], ['zh']] and cf.columns(mono) == ['ru', 'zh', 'all']
    assert cf.jobs(mono)[-1] == ('joint', 'ruzh', 600) and cf.kept(summary, mono) == {}
    tabs = cf.tables(json.loads(json.dumps(cf.summarise(mono, synthetic(mono)))))
    assert 'monolingual: one language each' in tabs['bpb'] and 'embedding' not in tabs # one arm
    assert '| expert on ru |' in tabs['bpb'] and 'one model on ru+zh' in tabs['bpb']

def test_the_tables_reach_a_page_as_docs_would_write_them(tmp_path):
    # --docs: save_summary, then write_tables into the marked places of the page (a temporary one here);
    # tests/test_results.py regenerates a marked table from the summary and compares
    s = cf.settings(['ru', 'zh'], 'en', ['glyph', 'trainable'], SEEDS, 300, [])
    summary, page = cf.summarise(s, synthetic(s)), tmp_path / 'fusion.md'
    save_summary(str(tmp_path / 'fusion_compare.json'), summary)
    page.write_text('# Fusion\n\n<!-- table compare_fusion:forgetting -->\nold\n<!-- /table -->\n')
    write_tables(str(page), 'compare_fusion', cf.tables(summary))
    again = cf.tables(json.load(open(tmp_path / 'fusion_compare.json')))['forgetting']
    mark = '<!-- table compare_fusion:forgetting -->'
    assert page.read_text() == f'# Fusion\n\n{mark}\n{again}\n<!-- /table -->\n'
