"""analyze.py: its loop equals GPT.hidden, homoglyphs are one state at the input of a glyph model only, the
probe reads a script that is there and not one that is not, the neighbour share meets its chance level on
random vectors, and the command line on tiny checkpoints (and on a missing one)."""
import json
import random

import numpy as np
import pytest
import torch

from experiments import analyze
import glyphs
import tokenizer
from conftest import run, skip_without_font, unifont
from model import GPT, GPTConfig

FONT = unifont()
needs_font = skip_without_font(FONT)

# Latin a, o, c and their Cyrillic twins as words of their own, beside words of two kinds in two languages
WORDS = 'a а o о c с cat dog cow one two three кот пёс один два'.split()
GROUPS = {'en animals': 'cat dog cow', 'en numbers': 'one two three', 'ru animals': 'кот пёс', 'ru numbers': 'один два'}

@pytest.fixture(scope='module')
def tok():
    rng = random.Random(0)
    text = ' '.join(rng.choice(WORDS) for _ in range(2000))
    return tokenizer.load_tokenizer(tokenizer.train([text], 512, 'compact', verbose=False))

def tiny(tok, embedding, seed=0, n_layer=2):
    torch.manual_seed(seed)
    cfg = GPTConfig(block_size=32, vocab_size=tok.vocab_size, n_layer=n_layer, n_head=2, n_embd=32, embedding=embedding)
    return GPT(cfg, wte=glyphs.glyph_embeddings(tok, 32) if embedding == 'glyph' else None).eval()

def test_the_loop_is_gpt_hidden(tok):
    model = tiny(tok, 'random', n_layer=3)
    idx = torch.randint(0, tok.vocab_size, (2, 20), generator=torch.Generator().manual_seed(0))
    states = analyze.layer_states(model, idx)
    assert states.shape == (4, 2, 20, 32)
    with torch.no_grad():
        assert torch.allclose(model.transformer.ln_f(states[-1]), model.hidden(idx), atol=1e-6)
        assert torch.equal(states[0], model.transformer.wte(idx))

def test_scripts():
    assert analyze.script_of('а') == 'CYRILLIC' and analyze.script_of('е,') == 'CYRILLIC'
    assert analyze.script_of('He') == 'LATIN' and analyze.script_of('α') == 'GREEK'
    assert analyze.script_of('aа') is None and analyze.script_of(',') is None and analyze.script_of('猫') is None

def test_a_word_counts_where_it_stands_whole(tok):
    ids = np.array(tok.encode('dog cat cats cat, dog,cat cat dog'))
    cat = tok.encode('cat')
    places = analyze.find([ids], cat, 1, analyze.token_classes(tok))
    assert len(places) == 3 and all(ids[t] == cat[-1] for _, t in places) # not in 'cats', not after ','
    assert len(analyze.find([ids], cat, 1)) == 5 # every occurrence of the token
    assert len(analyze.find([ids], cat, 5)) == 4 # the first has too little context before it

@needs_font
def test_homoglyphs_are_one_state_at_the_input_of_a_glyph_model_only(tok):
    emb = glyphs.glyph_embeddings(tok, 32)
    sets = analyze.homoglyph_sets(tok, emb)
    ids = {s: tok.encode(s)[0] for s in 'aаoоcс'}
    for lat, cyr in ('aа', 'oо', 'cс'):
        assert [('LATIN', ids[lat]), ('CYRILLIC', ids[cyr])] in sets
    assert all(len({tok.token_text(i) for _, i in s}) == len(s) for s in sets)
    # a Latin and a Cyrillic word before the twins: the same position, different contexts
    before = torch.tensor([tok.encode('cat dog '), tok.encode('кот пёс ')]) # as many tokens each
    idx = torch.cat([before, torch.tensor([[ids['a']], [ids['а']]])], 1) # (2, 5)
    same = torch.cat([before[:1], torch.tensor([[ids['а']]])], 1) # Cyrillic а after the Latin context
    g = analyze.layer_states(tiny(tok, 'glyph'), torch.cat([idx, same]))[:, :, -1] # (3, 3, C)
    assert torch.equal(g[0, 0], g[0, 1]) # depth 0: one row for both
    assert not torch.allclose(g[1, 0], g[1, 1], atol=1e-4) # after a block the contexts tell them apart
    assert torch.equal(g[2, 0], g[2, 2]) # the same context: the glyph model cannot tell a from а at any depth
    t = analyze.layer_states(tiny(tok, 'trainable'), idx)[:, :, -1]
    assert not torch.allclose(t[0, 0], t[0, 1], atol=1e-4) # a trainable model's rows differ from the start

def test_the_probe_reads_a_script_that_is_in_the_state_and_not_one_that_is_not():
    rng = np.random.default_rng(0)
    n, C = 400, 32
    y = np.arange(n) % 2
    fold = (np.arange(n) // 2) % analyze.FOLDS
    noise = rng.standard_normal((n, C))
    there = noise + 4 * np.outer(2 * y - 1, np.eye(C)[0]) # the script along one direction, 4 noise sd apart
    assert (analyze.probe(there, y, fold) == y).mean() > 0.97
    assert abs((analyze.probe(noise, y, fold) == y).mean() - 0.5) < 0.08
    # homoglyph pairs at a glyph model's input: one state per pair, as many of each script in every fold
    pair = np.arange(n) // 20
    same = rng.standard_normal((n // 20, C))[pair] # (n, C), equal rows within a pair
    assert (analyze.probe(same, y, fold) == y).mean() == 0.5

def test_the_neighbour_share_meets_its_chance_level_on_random_vectors():
    rng = np.random.default_rng(0)
    group = np.repeat(np.arange(4), [3, 5, 8, 14]) # N = 30
    shares, chance = [], None
    for _ in range(400):
        share, chance = analyze.neighbour_share(rng.standard_normal((30, 16)), group)
        shares.append(share.mean())
    want = np.mean([(g - 1) / 29 for g in [3] * 3 + [5] * 5 + [8] * 8 + [14] * 14])
    assert np.isclose(chance.mean(), want)
    assert abs(np.mean(shares) - want) < 0.01, (np.mean(shares), want)
    centres = 10 * rng.standard_normal((4, 16)) # words gathered by group: their neighbours are their group's
    share, _ = analyze.neighbour_share(centres[group] + rng.standard_normal((30, 16)), group, k=2)
    assert share.mean() == 1.0

def save(model, tok, path, seed):
    torch.save({'model': model.state_dict(), 'model_args': dict(model.config.__dict__), 'iter_num': 0,
                'config': {'dtype': 'float32', 'dataset': 'hg', 'seed': seed}, 'tokenizer': tok.spec,
                'tokenizer_hash': tok.hash, 'provenance': {}}, path)
    return str(path)

@needs_font
def test_the_command_line(tmp_path):
    rng = random.Random(1)
    (tmp_path / 'hg.txt').write_text('\n\n'.join(' '.join(rng.choice(WORDS) for _ in range(40)) for _ in range(400)))
    run(['--name=hg', f'--input={tmp_path / "hg.txt"}', '--tokenizer=train', '--vocab_size=512', '--separator=\n\n',
         '--val_permille=200'], tmp_path, script='prepare.py')
    from prepare import dataset_tokenizer
    tok = dataset_tokenizer(str(tmp_path / 'data' / 'hg'))
    ckpts = [save(tiny(tok, e, seed), tok, tmp_path / f'{e}{seed}.pt', seed) for e in ('glyph', 'trainable') for seed in (1, 2)]
    (tmp_path / 'groups.json').write_text(json.dumps(GROUPS, ensure_ascii=False))
    # one thread: a tiny model's matmuls gain nothing from two, and lose much where other jobs hold the cores
    r = run([*ckpts, '--groups=groups.json', '--out=res'], tmp_path, script='experiments.analyze', env={'OMP_NUM_THREADS': '1'})
    assert r.stdout.count(' s\n') >= 4 and 'glyph (2)' in r.stdout and 'trainable (2)' in r.stdout
    res = json.load(open(tmp_path / 'res' / 'analysis.json', encoding='utf-8'))
    for e in res['runs']:
        assert len(e['layers']) == 3 and len(e['words']) == 10 and ['LATIN', 'a'] in sum((p['tokens'] for p in e['pairs']), [])
    glyph = res['summary']['glyph']
    assert glyph['homoglyph_cosine'][0][0] == pytest.approx(1.0) and glyph['probe_accuracy'][0] == [0.5, 0.0]
    assert res['summary']['trainable']['probe_accuracy'][0][0] > 0.9 # distinct random rows
    assert res['runs'][0]['layers'][0]['chance_all'] == pytest.approx(np.mean([2 / 9] * 6 + [1 / 9] * 4))
    # glyph - trainable, seed by seed: the paired difference of each depth's measure
    probe = {(r['embedding'], r['seed']): r['layers'][0]['probe_accuracy'] for r in res['runs']}
    d = res['paired']['probe_accuracy'][0]
    assert d['seeds'] == [1, 2]
    assert d['mean'] == pytest.approx(np.mean([probe['glyph', s] - probe['trainable', s] for s in (1, 2)]))
    assert 'glyph - trainable, paired' in r.stdout
    (tmp_path / 'absent.json').write_text(json.dumps({'en colours': 'red blue', 'en trees': 'oak elm'}))
    with pytest.raises(SystemExit, match='give --groups'): # none of these words here
        analyze.main([ckpts[0], f'--groups={tmp_path / "absent.json"}', f'--data_dir={tmp_path / "data" / "hg"}'])
    from PIL import Image
    assert Image.open(tmp_path / 'res' / 'layers.png').size == (2000, 1240)
    assert Image.open(tmp_path / 'res' / 'map.png').width == 2 * 640

def test_bad_input_gets_one_sentence(tmp_path, tok):
    r = run([str(tmp_path / 'missing.pt')], tmp_path, check=False, script='experiments.analyze')
    assert r.returncode != 0 and 'missing.pt does not exist' in r.stderr and 'Traceback' not in r.stderr
    model = tiny(tok, 'random')
    path = save(model, tok, tmp_path / 'r.pt', 1)
    with pytest.raises(SystemExit, match='nowhere holds no prepared dataset'):
        analyze.main([path, f'--data_dir={tmp_path / "nowhere"}'])
