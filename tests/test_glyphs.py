"""glyphs.py and glyphs_paper.py: the frozen glyph embedding. Uses the real GNU Unifont (skipped, loudly,
without it)."""
import hashlib
import math
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

import glyphs
import glyphs_paper
import glyphs_report
from conftest import ROOT, skip_without_font, unifont
from tokenizer import KIND_BYTE, KIND_PLACEHOLDER, KIND_SPECIAL, KIND_TEXT, load_tokenizer

FONT = unifont()
pytestmark = skip_without_font(FONT)

class ListTok:
    """the tokenizer interface glyphs.py uses, over a list of strings"""
    def __init__(self, texts, kinds=None, name='list'):
        self.texts, self.vocab_size, self.name = list(texts), len(texts), name
        self.kinds = np.array(kinds if kinds is not None else [KIND_TEXT] * len(texts), np.uint8)
        self.hash = hashlib.sha256(repr((self.texts, self.kinds.tolist())).encode()).hexdigest()
        self.index = {t: i for i, t in enumerate(self.texts) if self.kinds[i] == KIND_TEXT}
    def token_text(self, i):
        return self.texts[i]
    def encode(self, s):
        return [self.index[c] for c in s]

WHITESPACE = [chr(c) for c in [0x9, 0xa, 0xb, 0xc, 0xd, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
              *range(0x2000, 0x200b), 0x2028, 0x2029, 0x202f, 0x205f, 0x3000]]
INVISIBLE = sorted(set(WHITESPACE) | {chr(c) for c in [*range(0x20), *range(0x7f, 0xa0), 0xad, 0x200b, 0x200c, 0x200d,
                   0x200e, 0x200f, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064, 0xfeff, 0x180e, 0x115f, 0x1160, 0x3164]})
MARKS = [chr(c) for c in [*range(0x300, 0x370), 0x656, 0x816, 0x817, 0x819, 0x85b, 0x93c, 0x5b4, 0x20d7]]

def mixed_tok():
    """a bit of everything: text, invisible characters, marks, multi-character tokens, bytes, specials,
    placeholders, homoglyphs (A, Cyrillic A, Greek Alpha)"""
    texts = [chr(c) for c in range(0x21, 0x7f)] + [chr(c) for c in range(0x400, 0x460)] + INVISIBLE + MARKS
    texts += ['\u0391', '中', '国', '\U0001F600', '\U00010400', '\u0378', 'the', 'ing,', 'tion', 'ae\u0301', 'ae',
              'rn', 'm', '中国', '人民', 'hello', 'world', ' the', '\n\n', '...', 'МИР', 'мир']
    kinds = [KIND_TEXT] * len(texts)
    texts += [f'<0x{b:02X}>' for b in range(256)] + ['<0xE4B8>', '<|endoftext|>', '<|pad|>']
    kinds += [KIND_BYTE] * 257 + [KIND_SPECIAL] * 2
    texts += [f'<|unused_{i}|>' for i in range(100)]
    kinds += [KIND_PLACEHOLDER] * 100
    return ListTok(texts, kinds)

@pytest.fixture(scope='module')
def mixed():
    tok = mixed_tok()
    return tok, glyphs.render(tok, 256)

# -----------------------------------------------------------------------------

def test_shapes_norms_rank(mixed):
    tok, X = mixed
    assert X.shape == (tok.vocab_size, 32 * 32) and set(np.unique(X)) <= {0, 1}
    for n in (64, 1024):
        emb, rank = glyphs.pca(X, n)
        assert emb.shape == (tok.vocab_size, n) and emb.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
        assert 0 < rank < tok.vocab_size
    assert rank < 1024 and not emb[:, rank:].any() # components past the rank are zeroed, not noise

def test_rank_of_single_characters():
    # one character = Unifont's 16x16 bitmap at exactly 2x: at most 256 directions however many pixels
    tok = ListTok([chr(c) for c in range(0x21, 0x800)])
    X = glyphs.render(tok, 1024)
    emb, rank = glyphs.pca(X, 1024)
    assert 200 < rank <= 256
    # 64x64 cells: the same pictures doubled, which is what lets build() fit PCA on the 32 px cells
    X64 = glyphs.render(tok, 4096)
    assert (X64.reshape(-1, 32, 2, 32, 2) == X.reshape(-1, 32, 1, 32, 1)).all()
    emb64, _, rank64 = glyphs.build(tok, 2048)
    assert rank64 == rank and (emb64[:, :1024] == emb).all() and not emb64[:, 1024:].any()

def test_undouble_is_plain_pca():
    # PCA of 2x2-doubled cells equals PCA of the cells themselves: same unit rows, same rank
    rng = np.random.RandomState(1)
    small = (rng.rand(3000, 8, 8) < rng.rand(1, 8, 8)).astype(np.uint8)
    small[:, 0, 0] = 0 # a pixel that never changes
    X = small.repeat(2, axis=1).repeat(2, axis=2).reshape(3000, 256)
    assert (glyphs.undouble(X) == small.reshape(3000, 64)).all()
    for n in (20, 100):
        (plain, r1), (fast, r2) = glyphs.pca(X, n), glyphs.pca(glyphs.undouble(X), n)
        assert r1 == r2 == 63
        np.testing.assert_allclose(fast, plain, atol=1e-5)

def test_pca_matches_plain_pca():
    rng = np.random.RandomState(0)
    base = (rng.rand(2000, 50) < 0.3).astype(np.uint8)
    X = np.concatenate([base.repeat(2, axis=1), np.zeros((2000, 7), np.uint8), base[:, :5]], axis=1)
    emb, rank = glyphs.pca(X, 40)
    C = np.cov(X.T.astype(np.float64), bias=True)
    w, U = np.linalg.eigh(C)
    y = (X - X.mean(0)) @ U[:, ::-1][:, :40]
    y /= np.linalg.norm(y, axis=1, keepdims=True)
    assert rank == 50
    np.testing.assert_allclose(np.abs(emb), np.abs(y), atol=1e-5) # same components up to sign
    U = U[:, ::-1][:, :40] # sign convention: largest-magnitude loading positive
    signs = np.sign(U[np.abs(U).argmax(0), np.arange(40)])
    np.testing.assert_allclose(emb, y * signs, atol=1e-5)

def test_same_bits_every_time(tmp_path, monkeypatch):
    tok = ListTok([chr(c) for c in range(0x20, 0x20 + 3000)] + ['the', 'ae\u0301', '<|x|>'], [KIND_TEXT] * 3002 + [KIND_SPECIAL])
    one = glyphs.glyph_embeddings(tok, 128, cache=False)
    assert glyphs.render(tok, 128, 'paper').tobytes() == glyphs.render(tok, 128, 'paper').tobytes()
    monkeypatch.setenv('GLYPHGPT_CACHE', str(tmp_path / 'cache'))
    built = glyphs.glyph_embeddings(tok, 128) # built again, and written to the cache: one file, no temporary left
    assert built.tobytes() == one.tobytes()
    assert os.listdir(tmp_path / 'cache') == [os.path.basename(glyphs.cache_path(glyphs.glyph_key(tok, 128)))]
    monkeypatch.setattr(glyphs, 'build', None) # from now on only the cache can answer
    cached = glyphs.glyph_embeddings(tok, 128)
    assert cached.dtype == np.float32 and cached.tobytes() == one.tobytes()

def test_cache_key_mismatch_rebuilds(tmp_path, monkeypatch):
    monkeypatch.setenv('GLYPHGPT_CACHE', str(tmp_path))
    tok = ListTok([chr(c) for c in range(0x21, 0x100)])
    key = glyphs.glyph_key(tok, 32)
    assert len({key, glyphs.glyph_key(tok, 64), glyphs.glyph_key(tok, 32, 'paper'),
                glyphs.glyph_key(ListTok(tok.texts[:-1]), 32)}) == 4
    path = glyphs.cache_path(key)
    np.savez(path, emb=np.zeros((tok.vocab_size, 32), np.float32), key='not-' + key) # a stale entry
    emb = glyphs.glyph_embeddings(tok, 32)
    assert np.abs(np.linalg.norm(emb, axis=1) - 1).max() < 1e-5 # rebuilt, not the zeros
    with np.load(path) as f:
        assert str(f['key']) == key

def test_invisible_bytes_specials_distinct(mixed):
    tok, X = mixed
    rows = {X[i].tobytes(): i for i in range(tok.vocab_size) if tok.kinds[i] != KIND_PLACEHOLDER}
    r = glyphs_report.collision_report(*glyphs.token_texts(tok), X)
    assert r['invisible_special_shared'] == 0
    for i, t in enumerate(tok.texts):
        if tok.kinds[i] in (KIND_BYTE, KIND_SPECIAL) or t in INVISIBLE:
            assert X[i].any(), f"{t!r} renders blank"
            assert rows[X[i].tobytes()] == i, f"{t!r} looks like {tok.texts[rows[X[i].tobytes()]]!r}"
    # the paper's recipe does have this flaw: space and newline look the same (both blank)
    P = glyphs.render(ListTok([' ', '\n', 'a']), 32, 'paper')
    assert P[0].tobytes() == P[1].tobytes()

def test_combining_marks_render(mixed):
    tok, X = mixed
    circle = glyphs.render(ListTok(['\u25cc']), 32)[0]
    for m in MARKS:
        cell = X[tok.texts.index(m)]
        assert (cell & ~circle).any(), f"U+{ord(m):04X} draws nothing but the dotted circle"
    i, j = tok.texts.index('ae\u0301'), tok.texts.index('ae')
    assert (X[i] & ~X[j]).any() and not (X[j] & ~X[i]).any() # the accent is added over the e, nothing moves
    assert X[tok.texts.index('.')].tobytes() != X[tok.texts.index('\u0323')].tobytes() # dot below is no full stop

def test_multichar_tokens_keep_their_shape(mixed):
    tok, X = mixed
    cell = X[tok.texts.index('the')].reshape(32, 32)
    one = {c: glyphs._glyph1x(glyphs.open_fonts((FONT,), 16), ord(c))[0][:, :8] for c in 'the'}
    # one row of three 8 px glyphs, centred: Unifont's own pixels, nothing squeezed away
    assert (cell[8:24, 4:28] == np.concatenate([one[c] for c in 'the'], axis=1)).all()
    assert not cell[:8].any() and not cell[24:].any()
    rng = random.Random(0)
    words = sorted({''.join(rng.choice('abcdefghijklmnopqrstuvwxyz') for _ in range(rng.randint(2, 5))) for _ in range(300)})
    W = glyphs.render(ListTok(words), 64)
    assert len({w.tobytes() for w in W}) == len(words)

def _reference_bits(text, big=False):
    """the reference notebook's code, transcribed (basic layout engine), for one token"""
    font = ImageFont.truetype(FONT, 32, layout_engine=ImageFont.Layout.BASIC)
    img = Image.new("L", (32 * len(text), 32), color=255)
    draw = ImageDraw.Draw(img)
    for i, char in enumerate(text):
        try:
            bbox = font.getbbox(char)
            w, h = bbox[2] - bbox[0], bbox[3] - bbox[1]
            draw.text((i * 32 + (32 - w) // 2, (32 - h) // 2 - bbox[1]), char, fill=0, font=font)
        except Exception:
            pass
    is_complex = not all(c < 0x250 or 0x370 <= c < 0x590 for c in map(ord, text))
    random.seed(42)
    np.random.seed(42)
    R, S, p = (7, 3, 0.03) if big else (4, 2, 0.01)
    max_rotation, max_shift = (0, 0) if is_complex else (R, S)
    noise_level = 0.001 if is_complex else p
    angle = random.uniform(-max_rotation, max_rotation)
    img = img.rotate(angle, expand=0, fillcolor=255)
    dx, dy = random.randint(-max_shift, max_shift), random.randint(-max_shift, max_shift)
    shifted = Image.new("L", img.size, color=255)
    shifted.paste(img, (dx, dy))
    np_img = np.array(shifted)
    np_img[np.random.rand(*np_img.shape) < noise_level] = 0
    img = Image.fromarray(np_img)
    if not is_complex:
        img = img.filter(ImageFilter.GaussianBlur(radius=0.5))
    img = img.point(lambda v: 0 if v < 128 else 255, mode='1')
    if img.size != (32, 32):
        img = img.resize((32, 32), Image.BILINEAR)
    px = img.load()
    coords = sorted((math.hypot(x - 16, y - 16), math.atan2(y - 16, x - 16), x, y) for y in range(32) for x in range(32))
    return np.array([0 if px[x, y] else 1 for _, _, x, y in coords], np.uint8)

@pytest.mark.parametrize('big', [False, True])
def test_paper_recipe_is_the_reference(big):
    texts = ['A', 'g', 'BC', 'xyz', '中', '中国', '\n', ' ', 'e\u0301', 'a\u0301b', '<0xE4>', '<|endoftext|>', 'Ωж']
    X = glyphs_paper.paper_cells(texts, (FONT, None), 32, big) # big: > 65,536 ids, the 131k parameters
    for i, t in enumerate(texts):
        assert (X[i] == _reference_bits(t, big)).all(), t

def test_paper_transform_is_fixed():
    # one rotation, shift and noise mask per canvas size: reseeding inside means every token gets the same
    a, b = glyphs_paper.paper_transform(1, True, False), glyphs_paper.paper_transform(1, True, False)
    assert all((x == y).all() for x, y in zip(a[:2], b[:2]))
    src, noise, blur = a
    assert blur and noise.sum() > 0 and not (src == np.arange(1, 1025).reshape(32, 32)).all() # it does move pixels
    src3, noise3, _ = glyphs_paper.paper_transform(3, True, False)
    assert noise3.shape == (32, 96)
    src, noise, blur = glyphs_paper.paper_transform(3, False, False) # other scripts: noise only, p = 0.001
    assert not blur and (src == np.arange(1, 3073).reshape(32, 96)).all() and 0 < noise.sum() < 20
    assert (noise <= noise3).all() # the same seeded draws, a lower threshold

def test_collision_report_homoglyphs(mixed):
    tok, X = mixed
    r = glyphs_report.collision_report(*glyphs.token_texts(tok), X)
    assert r['ids'] == tok.vocab_size and r['largest'] == 100 # the blank placeholders
    a = [tok.texts.index(c) for c in 'A\u0410\u0391'] # Latin A, Cyrillic A, Greek Alpha: one Unifont glyph
    assert sorted(a) in [sorted(g) for g in r['examples']]
    assert r['ids_in_groups'] == sum(len(g) for g in r['examples'])
    assert r['distinct'] == len({x.tobytes() for x in X})

@pytest.fixture(scope='module')
def unicode32():
    """the 65,536-id tokenizer, its cells and its n_embd 32 matrix, built here once"""
    tok = load_tokenizer('unicode')
    X = glyphs.render(tok, 32)
    return tok, X, *glyphs.pca(X, 32)

def test_unicode_tokenizer_end_to_end(unicode32):
    tok, X, emb, rank = unicode32
    r = glyphs_report.collision_report(*glyphs.token_texts(tok), X)
    assert r['invisible_special_shared'] == 0 and r['largest'] == int((tok.kinds == KIND_PLACEHOLDER).sum())
    assert r['ids_in_groups'] < 0.025 * tok.vocab_size # homoglyphs only
    assert emb.shape == (65536, 32) and rank == 256 # one character: a 16x16 bitmap at 2x

FIRST_SCRIPT = """import glyphs
from tokenizer import load_tokenizer
print(glyphs.glyph_embeddings(load_tokenizer('unicode'), 32).shape)
"""

def test_any_caller_no_main_guard(tmp_path, unicode32):
    """a reader's first experiment, saved as a file and piped to `python -`: no main guard, and
    nothing may need one (spawned workers re-import __main__). A subprocess is the point here."""
    (tmp_path / 'first.py').write_text(FIRST_SCRIPT)
    procs = {}
    for how, args in [('file', [str(tmp_path / 'first.py')]), ('stdin', ['-'])]:
        # each its own empty cache in tmp_path, so both build; PYTHONPATH as if the file sat in the repository
        env = dict(os.environ, GLYPHGPT_CACHE=str(tmp_path / how), PYTHONPATH=ROOT)
        procs[how] = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    tok, _, emb, _ = unicode32 # what this process computed
    name = os.path.basename(glyphs.cache_path(glyphs.glyph_key(tok, 32)))
    for how, proc in procs.items():
        out, err = proc.communicate(FIRST_SCRIPT if how == 'stdin' else None, timeout=120)
        assert proc.returncode == 0 and out == '(65536, 32)\n', (how, err[-2000:])
        with np.load(tmp_path / how / name) as f: # another process, the same bits
            assert f['emb'].tobytes() == emb.tobytes(), how

def test_command_line(tmp_path, monkeypatch, capsys):
    tok = ListTok(list('Helo, wrd\n') + ['\u0410', 'A'])
    monkeypatch.setattr(glyphs, 'load_tokenizer', lambda spec: tok)
    monkeypatch.setenv('GLYPHGPT_CACHE', str(tmp_path / 'cache'))
    glyphs.main(['--n_embd', '16', '--preview', 'Hello', '--png', str(tmp_path / 'p.png'),
                 '--out', str(tmp_path / 'wte.npy')])
    out = capsys.readouterr().out
    assert 'glyph embedding list x 16 (default): (12, 16)' in out and "'\u0410' U+0410 = 'A' U+0041" in out
    assert "'H' U+0048 " in out and Image.open(tmp_path / 'p.png').size[1] == 5 * (32 + 40)
    monkeypatch.setattr(glyphs, 'build', None) # the command wrote the cache, and --out the same matrix
    assert (np.load(tmp_path / 'wte.npy') == glyphs.glyph_embeddings(tok, 16)).all()
    monkeypatch.undo()
    monkeypatch.setattr(glyphs, 'load_tokenizer', lambda spec: tok)
    monkeypatch.setenv('GLYPHGPT_CACHE', str(tmp_path / 'none'))
    glyphs.main(['--n_embd', '16', '--recipe', 'paper', '--no_cache', '--workers', '2']) # an old script's flag
    out = capsys.readouterr().out
    assert '(paper)' in out and '--workers is no longer used' in out and not os.path.exists(tmp_path / 'none')
    with pytest.raises(SystemExit, match='error: font file /nonexistent.otf does not exist'):
        glyphs.main(['--n_embd', '16', '--font', '/nonexistent.otf'])

def test_preview_writes_png(tmp_path, capsys):
    tok = ListTok(list('Hello, wrd\n') + ['\u0410'])
    emb = glyphs.glyph_embeddings(tok, 16, cache=False)
    glyphs_report.preview(tok, emb, glyphs.render(tok, 16), 'Hello\n', str(tmp_path / 'p.png'), FONT, k=3)
    assert Image.open(tmp_path / 'p.png').size[1] == 6 * (32 + 40)
    assert "'H' U+0048" in capsys.readouterr().out

# -----------------------------------------------------------------------------
# bad input: one clear sentence

def test_font_not_found(monkeypatch):
    monkeypatch.setenv('GLYPHGPT_FONT', '/nonexistent/unifont.otf')
    with pytest.raises(FileNotFoundError, match='apt-get install fonts-unifont'):
        glyphs.glyph_embeddings(ListTok(['a', 'b']), 8, cache=False)
    monkeypatch.delenv('GLYPHGPT_FONT')
    monkeypatch.setattr(glyphs, 'FONT_DIRS', [])
    with pytest.raises(FileNotFoundError, match='--font'):
        glyphs.find_font()

@pytest.mark.parametrize('n', [0, -5, 4097, 1.5, '64'])
def test_bad_n_embd(n):
    with pytest.raises(ValueError, match='cannot be produced'):
        glyphs.glyph_embeddings(ListTok(['a', 'b']), n, cache=False)

def test_bad_tokenizer():
    class Broken(ListTok):
        def token_text(self, i):
            if i == 3:
                raise UnicodeDecodeError('utf-8', b'\xe4', 0, 1, 'unexpected end of data')
            return super().token_text(i)
    with pytest.raises(ValueError, match=r'token_text\(3\) failed'):
        glyphs.glyph_embeddings(Broken(list('abcdef')), 8, cache=False)
    with pytest.raises(ValueError, match='non-empty str'):
        glyphs.glyph_embeddings(ListTok(['a', '']), 8, cache=False)
    with pytest.raises(ValueError, match="unknown recipe"):
        glyphs.glyph_embeddings(ListTok(['a', 'b']), 8, 'fancy', cache=False)
