"""analyze.py: its loop equals GPT.hidden, homoglyphs are one state at the input of a glyph model only, the
probe reads a script that is there and not one that is not, the neighbour share meets its chance level on
random vectors; the controls' construction (probe_controls.py): a context's language, spoofed words that
tokenize as a twin of the other script, windows whose spoof a glyph model cannot see; the tables made from
a summary alone; and the command line on tiny checkpoints (and on a missing one)."""
import json
import os
import random

import numpy as np
import pytest
import torch

from experiments import analyze, probe_controls
import glyphs
import tokenizer
from conftest import run, skip_without_font, unifont
from model import GPT, GPTConfig

FONT = unifont()
needs_font = skip_without_font(FONT)

# Latin a, o, c and their Cyrillic twins as words of their own, beside words of two kinds in two languages
EN, RU = 'a o c cat dog cow one two three'.split(), 'а о с кот пёс один два'.split()
WORDS = EN + RU
GROUPS = {'en animals': 'cat dog cow', 'en numbers': 'one two three', 'ru animals': 'кот пёс',
          'ru numbers': 'один два'}

@pytest.fixture(scope='module')
def tok():
    rng = random.Random(0)
    text = ' '.join(rng.choice(WORDS) for _ in range(2000))
    return tokenizer.load_tokenizer(tokenizer.train([text], 512, 'compact', verbose=False))

def tiny(tok, embedding, seed=0, n_layer=2):
    torch.manual_seed(seed)
    cfg = GPTConfig(block_size=32, vocab_size=tok.vocab_size, n_layer=n_layer, n_head=2, n_embd=32,
                    embedding=embedding)
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
    assert analyze.script_of('aа') is None and analyze.script_of(',') is None
    assert analyze.script_of('猫') is None

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

def test_a_tie_counts_half():
    logits = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]]) # right, no preference, wrong
    assert analyze.read_as(logits, np.array([0, 0, 0])) == 0.5

# -----------------------------------------------------------------------------
# the controls' construction

def test_the_spoof_words_are_of_their_language():
    assert analyze.SCRIPTS[:2] == probe_controls.LANGUAGES # one index for a script and a context's language
    for lang, line in probe_controls.SPOOF_WORDS.items():
        assert [w for w in line.split() if analyze.script_of(w) != lang] == []
    assert 20 <= sum(len(line.split()) for line in probe_controls.SPOOF_WORDS.values()) <= 40

def test_a_context_is_of_the_language_of_its_letters(tok):
    en = tok.encode(' '.join(['cat dog cow one'] * 8) + ' ')
    ru = tok.encode(' '.join(['кот пёс один два'] * 8) + ' ')
    counts = probe_controls.letter_counts(tok)
    assert counts[tok.encode('cat')].tolist() == [[3, 0, 0]] # one token of three Latin letters
    assert counts[tok.encode('кот')].tolist() == [[0, 3, 0]]
    space = tok.encode(' ')[0]
    assert counts[space].sum() == 0 and space in probe_controls.neutral_ids(tok)
    context = 9
    lang = probe_controls.context_languages([np.array(en + ru)], counts, context)[0]
    assert (lang[:context - 1] == -1).all() # too few tokens before
    assert (lang[context - 1:len(en) + 1] == 0).all() # the 8 tokens before are English
    assert lang[len(en) + 2] == -1 # 'кот', ' ' after six English tokens: mixed
    assert (lang[len(en) + context - 1:] == 1).all()

@needs_font
def test_a_spoofed_word_tokenizes_as_a_twin_of_the_other_script(tok):
    sets = analyze.homoglyph_sets(tok, glyphs.glyph_embeddings(tok, 32))
    twin_of = probe_controls.twins(sets)
    spoofs, skipped = probe_controls.spoof_words(tok, twin_of, {'LATIN': 'coo cat', 'CYRILLIC': 'сок кот'})
    assert skipped == ['cat', 'кот'] # one token each here, with no twin
    assert [tok.token_text(i) for i in tok.encode('coo')] == ['c', 'o', 'o'] # so one spoof per letter:
    assert [s['text'] for s in spoofs] == ['сoo', 'cоo', 'coо', 'cок', 'сoк'] # Cyrillic с, о, о; Latin c, o
    space = tok.encode(' ')
    builtin, _ = probe_controls.spoof_words(tok, twin_of)
    assert builtin # the built-in list, through this tokenizer's byte tokens where it lacks a letter
    for s in spoofs + builtin:
        ids = list(s['ids'])
        token, ids[s['at']] = ids[s['at']], s['twin']
        assert tok.encode(' ' + s['text']) == space + ids # one token swapped, the twin a token of its own
        lang, other = probe_controls.LANGUAGES[s['language']], probe_controls.LANGUAGES[1 - s['language']]
        assert analyze.script_of(s['word']) == lang and analyze.script_of(tok.token_text(token)) == lang
        assert analyze.script_of(tok.token_text(s['twin'])) == other
        assert sorted([(lang, token), (other, s['twin'])], key=analyze.script_rank) in sets # one glyph row

@needs_font
def test_a_spoof_is_read_at_its_twin_after_natural_text(tok):
    sets = analyze.homoglyph_sets(tok, glyphs.glyph_embeddings(tok, 32))
    words = {'LATIN': 'coo', 'CYRILLIC': 'сок'}
    spoofs, _ = probe_controls.spoof_words(tok, probe_controls.twins(sets), words)
    lines = ('cat dog cow one', 'кот пёс один два')
    texts = [np.array(tok.encode(' '.join([line] * 8) + ' ')) for line in lines]
    places = [[(k, len(t) - 1)] for k, t in enumerate(texts)] # each text's last token, a space
    spoofed, natural, script, language = probe_controls.swap_windows(texts, places, spoofs, 16)
    assert spoofed.shape == natural.shape == (len(spoofs), 16) == (5, 16)
    for k, s in enumerate(spoofs):
        head, text = s['ids'][:s['at'] + 1], texts[s['language']]
        assert natural[k].tolist() == text[len(text) - 16 + len(head):].tolist() + head
        assert spoofed[k, -1] == s['twin'] and (spoofed[k, :-1] == natural[k, :-1]).all()
        assert script[k] == 1 - language[k] == 1 - s['language']
    # a twin's row is its counterpart's: the glyph model cannot see the spoof at any depth; a trainable can
    g = [analyze.states_of(tiny(tok, 'glyph'), w) for w in (spoofed, natural)]
    assert np.array_equal(g[0], g[1])
    t = [analyze.states_of(tiny(tok, 'trainable'), w) for w in (spoofed, natural)]
    assert not np.allclose(t[0][0], t[1][0], atol=1e-4)

# -----------------------------------------------------------------------------
# the tables, from a summary alone

def synthetic_summary():
    """the least tables() reads: two arms, two depths, one pair; the first row's numbers are the page's"""
    def arm(*pairs):
        return [list(p) for p in pairs]
    glyph = dict(homoglyph_cosine=arm((1.0, 0.0), (-0.061, 0.692)),
                 probe_accuracy=arm((0.5, 0.0), (0.962, 0.016)),
                 share_language=arm((0.194, 0.0), (0.207, 0.023)),
                 share_all=arm((0.125, 0.0), (0.179, 0.039)),
                 probe_accuracy_clear=arm((0.5, 0.0), (0.97, 0.01)),
                 neutral_accuracy=arm((0.5, 0.0), (0.99, None)),
                 swapped_token_share=arm((0.5, 0.0), (0.02, 0.01)))
    trainable = dict(homoglyph_cosine=arm((-0.014, 0.009), (0.138, 0.191)),
                     probe_accuracy=arm((1.0, 0.0), (0.947, 0.028)),
                     share_language=arm((0.217, 0.058), (0.25, 0.07)),
                     share_all=arm((0.121, 0.042), (0.205, 0.183)),
                     probe_accuracy_clear=arm((1.0, 0.0), (0.99, 0.0)),
                     neutral_accuracy=arm((0.5, 0.0), (0.999, 0.001)),
                     swapped_token_share=arm((0.96, 0.02), (0.4, 0.1)))
    read = dict(homoglyph_context=dict(own=0.837, other=0.009, neither=0.154), neutral_tokens=8,
                neutral_occurrences=405, spoofs='сat oсean', spoofed_words=1, skipped=['word'], swapped=800)
    return dict(arms=dict(glyph=glyph, trainable=trainable),
                paired=dict(probe_accuracy=[dict(mean=-0.5, ci95=0.0), dict(mean=0.02, ci95=0.034)],
                            swapped_token_share=[dict(mean=-0.46, ci95=0.02), dict(mean=-0.38, ci95=0.1)]),
                pairs=dict(glyph=[dict(pair='a/а', n=58, cosine=[1.0, 0.12], accuracy=[0.5, 0.98])],
                           trainable=[dict(pair='a/а', n=58, cosine=[-0.01, 0.2], accuracy=[1.0, 0.97])]),
                runs=[dict(layers=[{}, {}])], read=read, chance=dict(probe_chance=0.5, chance_language=0.198,
                                                                     chance_all=0.1),
                settings=dict(min_homoglyph=5, swap_contexts=16))

def test_the_tables_are_the_pages_and_follow_the_summary():
    import copy
    summary = synthetic_summary()
    tabs = analyze.tables(summary)
    assert set(tabs) == {'homoglyphs', 'groups', 'pairs', 'controls', 'construction', 'reading'}
    hg = tabs['homoglyphs'].split('\n')
    # docs/analysis.md's columns and formats
    assert hg[0] == ('| depth | homoglyph cosine, glyph | trainable | probe accuracy (chance 0.500), glyph | '
                     'trainable | probe, glyph - trainable |')
    assert hg[2] == ('| input | 1.000 +- 0.000 | -0.014 +- 0.009 | 0.500 +- 0.000 | 1.000 +- 0.000 | '
                     '-0.500 +- 0.000 |')
    assert hg[3].endswith('| - (at most 0.054) |') and len(hg) == 4
    groups = tabs['groups'].split('\n')
    assert groups[0] == ('| depth | same-kind share within a language (chance 0.198), glyph | trainable | '
                         'among all words (chance 0.100), glyph | trainable |')
    assert groups[2] == '| input | 0.194 +- 0.000 | 0.217 +- 0.058 | 0.125 +- 0.000 | 0.121 +- 0.042 |'
    controls = tabs['controls'].split('\n')
    assert controls[3] == ('| block 1 | 0.970 +- 0.010 | 0.990 +- 0.000 | 0.990 | 0.999 +- 0.001 | '
                           '0.020 +- 0.010 | 0.400 +- 0.100 | -0.380 +- 0.100 |')
    assert '`a/а` | 58 | 1.00 0.12 | 0.50 0.98 | -0.01 0.20 | 1.00 0.97 |' in tabs['pairs']
    assert '83.7%, 0.9%, 15.4%' in tabs['construction']
    assert '1 words, 2 spoofs; 1 left out' in tabs['construction']
    assert 'After block 1' in tabs['reading'] and '2.0% of the time' in tabs['reading']
    changed = copy.deepcopy(summary)
    changed['arms']['glyph']['neutral_accuracy'][1][0] = 0.7
    again = analyze.tables(changed)
    assert again['controls'] != tabs['controls'] and '| 0.700 |' in again['controls']
    assert again['reading'] != tabs['reading'] and again['homoglyphs'] == tabs['homoglyphs']
    del changed['arms']['trainable'] # one arm: no paired column cells, no sentence
    alone = analyze.tables(changed)
    assert 'reading' not in alone and alone['homoglyphs'].split('\n')[0].count('|') == 5

def save(model, tok, path, seed):
    torch.save({'model': model.state_dict(), 'model_args': dict(model.config.__dict__), 'iter_num': 0,
                'config': {'dtype': 'float32', 'dataset': 'hg', 'seed': seed}, 'tokenizer': tok.spec,
                'tokenizer_hash': tok.hash, 'provenance': {}}, path)
    return str(path)

@needs_font
def test_the_command_line(tmp_path, monkeypatch):
    rng = random.Random(1)
    # each document of one language, as in a real corpus: the controls need contexts of either
    docs = [' '.join(rng.choice(EN if d % 2 else RU) for _ in range(40)) for d in range(400)]
    (tmp_path / 'hg.txt').write_text('\n\n'.join(docs))
    run(['--name=hg', f'--input={tmp_path / "hg.txt"}', '--tokenizer=train', '--vocab_size=512',
         '--separator=\n\n', '--val_permille=200'], tmp_path, script='prepare.py')
    from prepare import dataset_tokenizer
    tok = dataset_tokenizer(str(tmp_path / 'data' / 'hg'))
    ckpts = [save(tiny(tok, e, seed), tok, tmp_path / f'{e}{seed}.pt', seed)
             for e in ('glyph', 'trainable') for seed in (1, 2)]
    (tmp_path / 'groups.json').write_text(json.dumps(GROUPS, ensure_ascii=False))
    r = run([*ckpts, '--groups=groups.json', '--out=res'], tmp_path, script='experiments.analyze')
    assert r.stdout.count(' s\n') >= 4 and 'glyph (2)' in r.stdout and 'trainable (2)' in r.stdout
    res = json.load(open(tmp_path / 'res' / 'analysis.json', encoding='utf-8'))
    for e in res['runs']:
        assert len(e['layers']) == 3 and len(e['words']) == 10
        assert ['LATIN', 'a'] in sum((p['tokens'] for p in e['pairs']), [])
        c = e['controls']
        assert c['homoglyph_context']['own'] > 0.8 and c['neutral_tokens'] and c['swapped'] > 0
        for row in e['layers']:
            for key in ('probe_accuracy_clear', 'neutral_accuracy', 'swapped_token_share',
                        'swapped_natural_share'):
                assert 0 <= row[key] <= 1, (key, row[key])
            if e['embedding'] == 'glyph': # the spoof is not in its input: both windows are read alike
                assert row['swapped_token_share'] + row['swapped_natural_share'] == pytest.approx(1)
        assert e['layers'][0]['neutral_accuracy'] == 0.5 # one row per token, as often in either language
        if e['embedding'] == 'glyph': # one prediction per pair, its twins weighing alike
            assert e['layers'][0]['probe_accuracy_clear'] == pytest.approx(0.5)
    glyph = res['summary']['glyph']
    assert glyph['swapped_token_share'][0][0] == 0.5 # one row for both twins: the probe has no preference
    assert res['summary']['trainable']['swapped_token_share'][0][0] > 0.9 # it reads the row
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
        analyze.main([ckpts[0], f'--groups={tmp_path / "absent.json"}',
                      f'--data_dir={tmp_path / "data" / "hg"}'])
    from PIL import Image
    assert Image.open(tmp_path / 'res' / 'layers.png').size == (2000, 3 * 620) # six panels
    assert Image.open(tmp_path / 'res' / 'map.png').width == 2 * 640
    # --docs: the small summary, and the page's marked tables made from it (one seed of each arm)
    from test_results import stale_tables
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(analyze, 'SUMMARY', str(tmp_path / 'probe.json'))
    monkeypatch.setattr(analyze, 'PAGE', str(tmp_path / 'page.md'))
    monkeypatch.setattr(analyze, 'FIGURE', str(tmp_path / 'layers_docs.png'))
    marked = ['<!-- table analyze:controls -->', 'old', '<!-- /table -->', '',
              '<!-- table analyze:homoglyphs -->', '<!-- /table -->']
    (tmp_path / 'page.md').write_text('\n'.join(['# page', '', *marked, '']))
    analyze.main([ckpts[0], ckpts[2], '--groups=groups.json', '--out=docs_res', '--docs'])
    assert os.path.getsize(tmp_path / 'probe.json') < 30_000
    summary = json.load(open(tmp_path / 'probe.json'))
    assert summary['command'].endswith('--docs') and summary['checkpoints'] == [ckpts[0], ckpts[2]]
    text = (tmp_path / 'page.md').read_text()
    assert 'old' not in text and stale_tables(text, {'analyze': str(tmp_path / 'probe.json')}) == []
    assert analyze.tables(summary)['controls'] in text
    # the chart from the summary alone: --figures redraws it, no checkpoint, the same bytes
    drawn = (tmp_path / 'layers_docs.png').read_bytes()
    assert drawn == (tmp_path / 'docs_res' / 'layers.png').read_bytes()
    os.remove(tmp_path / 'layers_docs.png')
    analyze.main(['--figures'])
    assert (tmp_path / 'layers_docs.png').read_bytes() == drawn

def test_bad_input_gets_one_sentence(tmp_path, tok, capsys):
    with pytest.raises(SystemExit):
        analyze.main([])
    assert 'name the checkpoints to analyse (ckpt.pt files of train.py), or --figures' in capsys.readouterr().err
    r = run([str(tmp_path / 'missing.pt')], tmp_path, check=False, script='experiments.analyze')
    assert r.returncode != 0 and 'missing.pt does not exist' in r.stderr and 'Traceback' not in r.stderr
    model = tiny(tok, 'random')
    path = save(model, tok, tmp_path / 'r.pt', 1)
    with pytest.raises(SystemExit, match='nowhere holds no prepared dataset'):
        analyze.main([path, f'--data_dir={tmp_path / "nowhere"}'])
