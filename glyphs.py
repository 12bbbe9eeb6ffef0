"""
The frozen glyph embedding: every token id becomes the picture of its text in GNU Unifont, and the
pictures, through PCA, become the rows of the model's input embedding. The paper's recipe (Bochkov
2025, arXiv 2507.04886; docs/glyphs.md) is --recipe paper; the default fixes its measured flaws.

    python glyphs.py --tokenizer unicode --n_embd 1024                  # build, print time, rank, collisions
    python glyphs.py --tokenizer unicode --n_embd 1024 --recipe paper --out wte.npy
    python glyphs.py --tokenizer unicode --n_embd 256 --preview "Hello, мир" --png preview.png

From Python: glyph_embeddings(tok, n_embd) -> float32 [vocab_size, n_embd], unit rows, and
glyph_key(tok, n_embd) -> hex hash of everything the matrix depends on (checkpoints record it).
The font is Debian's fonts-unifont (unifont.otf for the BMP, unifont_upper.otf for plane 1): --font,
$GLYPHGPT_FONT, or the usual Linux/macOS locations. Built matrices are cached in ~/.cache/glyphgpt
($GLYPHGPT_CACHE). `python -m experiments.bench glyphs` times a 131,072 x 1024 build.

This file holds the default recipe, the PCA, the cache and the command line; the paper's recipe is
transcribed in glyphs_paper.py, which render() calls for --recipe paper.
"""
import argparse
import glob
import hashlib
import importlib.metadata
import math
import os
import re
import sys
import time

import numpy as np
import PIL
import torch
from PIL import Image, ImageFont, features

import glyphs_report
from glyphs_paper import paper_cells
from tokenizer import KIND_BYTE, KIND_PLACEHOLDER, KIND_TEXT, load_tokenizer
from util import atomic_write

RECIPE_VERSION = 2   # bump when a change alters the cached matrices: old cache entries then rebuild
EIG_RTOL = 1e-9      # eigenvalues below this fraction of the largest are rounding noise: zeroed
CHUNK = 16384        # rows per matmul chunk; float32 sums of 0/1 products stay exact below 2**24
# searched in order, recursively: Debian/Ubuntu's place first, then wherever Fedora, Arch, Homebrew
# (font-unifont cask: ~/Library/Fonts/unifont-15.x.otf) or a manual install put it
FONT_DIRS = ['/usr/share/fonts/opentype/unifont', '/usr/share/fonts', '/usr/local/share/fonts',
             '~/.local/share/fonts', '~/.fonts', '~/Library/Fonts', '/Library/Fonts',
             '/opt/homebrew/share/fonts']
INSTALL = ("install GNU Unifont with `sudo apt-get install fonts-unifont` (Fedora: `sudo dnf "
           "install unifont-fonts`, Arch: `sudo pacman -S unifont`, macOS: `brew install --cask "
           "font-unifont`) or pass --font /path/to/unifont.otf (or set GLYPHGPT_FONT)")
# hex digits, 3x5 pixels: the markers for characters that have no visible glyph spell their code
# point in these, the way Unifont's own boxes for unassigned code points do
HEXFONT = ["### .#. ### ### #.# ### ### ### ### ### ### ##. ### ##. ### ###",
           "#.# ##. ..# ..# #.# #.. #.. ..# #.# #.# #.# #.# #.. #.# #.. #..",
           "#.# .#. ### ### ### ### ### ..# ### ### ### ##. #.. #.# ### ###",
           "#.# .#. #.. ..# ..# ..# #.# ..# #.# ..# #.# #.# #.. #.# #.. #..",
           "### ### ### ### ..# ### ### ..# ### ### #.# ##. ### ##. ### #.."]
DIGITS = np.array([[[c == '#' for c in row.split()[d]] for row in HEXFONT] for d in range(16)], np.uint8)

# -----------------------------------------------------------------------------
# inputs: the font files and the token texts

def is_bmp_file(path):
    """not the plane-1 file (unifont_upper), nor the CSUR, Japanese or sample variants"""
    return not any(s in os.path.basename(path).lower() for s in ('upper', 'csur', '_jp', 'sample'))

def find_font(font=None):
    """-> (unifont.otf path, unifont_upper.otf path or None); --font, $GLYPHGPT_FONT, then known places"""
    font = font or os.environ.get('GLYPHGPT_FONT')
    if font:
        if not os.path.isfile(font):
            raise FileNotFoundError(f"font file {font} does not exist: fix the path, or " + INSTALL)
        cands = [font]
    else:
        cands = []
        for d in FONT_DIRS:
            for ext in ('otf', 'ttf'):
                pattern = os.path.join(os.path.expanduser(d), '**', f'[uU]nifont*.{ext}')
                cands += [p for p in sorted(glob.glob(pattern, recursive=True)) if is_bmp_file(p)]
        if not cands:
            raise FileNotFoundError("GNU Unifont not found: " + INSTALL)
    base = cands[0]
    upper = [p for p in sorted(glob.glob(os.path.join(os.path.dirname(base), '*'))) if 'upper' in p.lower()]
    return base, (upper[0] if upper else None)

def file_sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()

def token_texts(tok):
    """-> ([the text of every id], their kinds), or a ValueError naming the id a tokenizer cannot show"""
    kinds = np.asarray(getattr(tok, 'kinds', np.zeros(tok.vocab_size, np.uint8)))
    name = getattr(tok, 'name', '?')
    texts = []
    for i in range(tok.vocab_size):
        try:
            t = tok.token_text(i)
        except Exception as e:
            raise ValueError(f"tokenizer {name}: token_text({i}) failed ({type(e).__name__}: {e}); "
                             "glyphs need a string for every id, so fix the tokenizer or its file") from None
        if not isinstance(t, str) or not t:
            raise ValueError(f"tokenizer {name}: token_text({i}) returned {t!r}, not a "
                             "non-empty str; glyphs need a string for every id, so fix the tokenizer")
        texts.append(t)
    return texts, kinds

# -----------------------------------------------------------------------------
# the default recipe, one character: Unifont's own 16x16 bitmap, or a marker when it draws nothing

def open_fonts(paths, size):
    """[(font, its .notdef glyph)], BMP file first; basic layout: raqm raises on some control characters"""
    fonts = [ImageFont.truetype(p, size, layout_engine=ImageFont.Layout.BASIC) for p in paths if p]
    return [(f, _raw(f, '\U0010FFFD')) for f in fonts] # U+10FFFD: no Unifont has it -> .notdef

def _raw(f, ch):
    im, off = f.getmask2(ch, mode='L')
    return im.size, off, round(f.getlength(ch)), bytes(im)

def _glyph1x(fonts, cp):
    """Unifont's 16x16 bitmap of chr(cp) in a [16, 16] box, its box width (8 or 16) and advance;
    None when no font has a visible glyph for it"""
    for f, notdef in (fonts if cp <= 0xFFFF else fonts[::-1]):
        try:
            raw = _raw(f, chr(cp))
        except Exception: # a lone surrogate cannot be encoded for FreeType: no glyph
            continue
        if raw == notdef: # not in this file: try the next (BMP file, then the plane-1 file)
            continue
        (w, h), (ox, oy), adv, data = raw
        a = np.frombuffer(data, np.uint8).reshape(h, w) >= 128
        if not a.any():
            return None
        # combining marks have no advance and most have ink left of the pen (negative bbox offset):
        # drawn at x = 0 they vanish. They get the narrow or wide box they are designed to sit over,
        # b pixels from the pen
        bw = 8 if adv == 8 or (adv == 0 and ox % 8 + w <= 8) else 16
        b = (ox // bw) * bw if adv == 0 else 0
        box = np.zeros((48, 48), np.uint8)
        box[16 + oy:16 + oy + h, 16 + ox - b:16 + ox - b + w] = a
        return box[16:32, 16:32], bw, adv, b
    return None

def _hexbox(hexstr, cols, bw, invert=False):
    """a framed box spelling hexstr in rows of `cols` digits"""
    box = np.zeros((16, 16), np.uint8)
    box[[0, 15], :bw] = 1
    box[:, [0, bw - 1]] = 1
    x0, y0 = (bw - 4 * cols + 1) // 2, (16 - 6 * (len(hexstr) // cols) + 1) // 2
    for k, d in enumerate(hexstr):
        r, c = divmod(k, cols)
        box[y0 + 6 * r:y0 + 6 * r + 5, x0 + 4 * c:x0 + 4 * c + 3] = DIGITS[int(d, 16)]
    if invert:
        box[:, :bw] ^= 1
    return box

def _codebox(cp):
    """the marker for a character with no visible glyph (space, blank and unassigned characters): its
    code point in a box, narrow for U+0000-00FF, so that ' ', '\\u3000' and U+E0001 all differ"""
    if cp < 0x100:
        return _hexbox('%02X' % cp, 1, 8), 8, 8, 0
    h = '%04X' % cp if cp <= 0xFFFF else '%06X' % cp
    return _hexbox(h, len(h) // 2, 16), 16, 16, 0

def _specialbox(text):
    """a special token: dashed frame around 36 bits of sha256(text) in 2x2 blocks: distinct, fixed"""
    box = np.zeros((16, 16), np.uint8)
    box[0, ::2] = box[15, 1::2] = box[::2, 0] = box[1::2, 15] = 1
    bits = np.unpackbits(np.frombuffer(hashlib.sha256(text.encode()).digest()[:5], np.uint8))[:36]
    box[2:14, 2:14] = np.kron(bits.reshape(6, 6), np.ones((2, 2), np.uint8))
    return box, 16, 16, 0

# -----------------------------------------------------------------------------
# the default recipe, one token: its characters laid out from the 1x bitmaps, at 2x for one glyph

def _compose(glyphs):
    """list of (box, box width, advance, mark offset) -> [32, 32]. One glyph: 2x, centred (the paper's scale).
    More: Unifont's own 1x pixels, one or two rows of 32 px, so no stroke is lost; longer tokens (more
    than 64 px) are area-averaged, then thresholded, never nearest-neighbour squeezed."""
    if len(glyphs) == 1:
        box, bw = glyphs[0][:2]
        return np.kron(np.roll(box, (16 - bw) // 2, axis=1), np.ones((2, 2), np.uint8))
    xs, starts, pen = [], [], 0
    for k, (box, bw, adv, b) in enumerate(glyphs):
        if adv == 0 and pen > 0:
            xs.append(pen + b) # a combining mark sits over the glyph before it
        else:
            starts.append(k)
            xs.append(pen)
            pen += bw
    def row(a, b): # glyphs a..b-1 drawn left to right, 16 rows, as wide as their advances
        x0, x1 = xs[a], (xs[b] if b < len(xs) else pen)
        line = np.zeros((16, x1 - x0 + 32), np.uint8)
        for k in range(a, b):
            line[:, 16 + xs[k] - x0:32 + xs[k] - x0] |= glyphs[k][0]
        return line[:, 16:16 + x1 - x0]
    if pen <= 32:
        rows = [row(0, len(glyphs))]
    else: # two rows, broken before the glyph that makes the rows most even
        cut = min(starts[1:], key=lambda k: abs(2 * xs[k] - pen))
        rows = [row(0, cut), row(cut, len(glyphs))]
    W = max(r.shape[1] for r in rows)
    canvas = np.zeros((32, max(W, 32)), np.uint8)
    for i, r in enumerate(rows):
        y = 8 if len(rows) == 1 else 16 * i
        x = (canvas.shape[1] - r.shape[1]) // 2
        canvas[y:y + 16, x:x + r.shape[1]] = r
    if W > 32:
        canvas = np.asarray(Image.fromarray(canvas * 255).resize((32, 32), Image.BOX)) >= 128
    return canvas

def default_cells(texts, kinds, paths, S):
    """-> uint8 [V, S*S], 1 = ink. Each distinct character is looked up once; single characters, most
    of a vocabulary, are placed in bulk, the other tokens composed one by one"""
    V = len(texts)
    cps = sorted({ord(c) for t, k in zip(texts, kinds) if k == KIND_TEXT for c in t} | {0x25CC})
    fonts = open_fonts(paths, 16) # size 16 = Unifont's native 16 px grid: exact bitmaps, no anti-aliasing
    boxes, meta = np.zeros((len(cps), 16, 16), np.uint8), np.zeros((len(cps), 3), np.int16)
    for k, cp in enumerate(cps):
        boxes[k], *meta[k] = _glyph1x(fonts, cp) or _codebox(cp) # meta: box width, advance, mark offset
    cps = np.array(cps, np.int64)
    cells = np.zeros((V, 32, 32), np.uint8) # placeholders stay blank: no text, never seen in input
    single = np.array([k == KIND_TEXT and len(t) == 1 for t, k in zip(texts, kinds)], bool)
    ids = np.nonzero(single)[0]
    g = np.searchsorted(cps, [ord(texts[i]) for i in ids])
    b = boxes[g].copy()
    narrow = meta[g, 0] == 8
    b[narrow] = np.roll(b[narrow], 4, axis=2)
    # a lone combining mark is drawn over U+25CC DOTTED CIRCLE, as Unicode charts show it: alone, a
    # dot below would be a full stop
    mark = meta[g, 1] == 0
    o = np.searchsorted(cps, 0x25CC)
    b[mark] |= np.roll(boxes[o], (16 - meta[o, 0]) // 2, axis=1)
    cells[ids] = b.repeat(2, axis=1).repeat(2, axis=2)
    for i in np.nonzero(~single & (kinds != KIND_PLACEHOLDER))[0]:
        t, k = texts[i], kinds[i]
        if k == KIND_TEXT:
            gl = [(boxes[j], *meta[j]) for j in np.searchsorted(cps, [ord(c) for c in t])]
        elif k == KIND_BYTE and re.fullmatch(r'<0x(?:[0-9A-Fa-f]{2})+>', t):
            # a byte: narrow inverted box with its two hex digits, unlike any character's glyph
            gl = [(_hexbox('%02X' % v, 1, 8, invert=True), 8, 8, 0) for v in bytes.fromhex(t[3:-1])]
        else:
            gl = [_specialbox(t)]
        cells[i] = _compose(gl)
    cells = cells.repeat(S // 32, axis=1).repeat(S // 32, axis=2) # 64 px cells: Unifont has no more detail
    return cells.reshape(V, S * S)

# -----------------------------------------------------------------------------
# PCA: the cells' principal components, rows scaled to unit length

def pca(X, n_embd):
    """X uint8 [V, P] (1 = ink) -> (float32 [V, n_embd] unit rows, rank): eigh of the covariance,
    largest eigenvalue first. In torch on one thread: the summation order is fixed, so the same inputs
    give the same bits, and a BLAS spread over all cores (numpy's) crawls when they are busy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        V, P = X.shape
        X = torch.from_numpy(np.ascontiguousarray(X))
        # 0/1 data: each chunk's float32 Gram matrix is exact (sums below 2**24), and so is the float64 total
        G = sum((x.T.float() @ x.float()).double() for x in X.split(CHUNK)) # (P, P)
        mu = X.sum(0, dtype=torch.float64) / V # (P,) how often each pixel is ink
        w, U = torch.linalg.eigh(G / V - torch.outer(mu, mu)) # (P,), (P, P) ascending
        w, U = w.flip(0), U.flip(1)
        # each component's largest loading positive: the signs are fixed
        U = U * U.gather(0, U.abs().argmax(0, keepdim=True)).sign()
        rank = int((w > max(w[0].item(), 0) * EIG_RTOL).sum()) # Unifont is a 16x16 bitmap font: rank << P
        k = min(n_embd, rank)
        # the projection, the largest matmul, in float32: ~1e-7 per entry
        Uk, mu = U[:, :k].float(), mu.float()
        out = torch.zeros(V, n_embd) # components past the rank are zero, not rounding noise
        for x, y in zip(X.split(CHUNK), out.split(CHUNK)):
            p = (x.float() - mu) @ Uk # (chunk, k)
            y[:, :k] = p / p.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return out.numpy(), rank
    finally:
        torch.set_num_threads(threads)

def undouble(X):
    """[V, S*S] cells that are 2x2 copies of [V, S/2 * S/2] ones -> those. PCA of the small cells gives
    the same unit rows (eigenvalues 4x, loadings spread over 4 copies) with 64x less eigh work"""
    S = math.isqrt(X.shape[1])
    return np.ascontiguousarray(X.reshape(len(X), S // 2, 2, S // 2, 2)[:, :, 0, :, 0]).reshape(len(X), -1)

# -----------------------------------------------------------------------------
# the public functions

def cell_size(n_embd):
    if not isinstance(n_embd, (int, np.integer)) or not 1 <= n_embd <= 64 * 64:
        raise ValueError(f"n_embd {n_embd!r} cannot be produced: glyph embeddings have 1..4096 dimensions "
                         "(PCA of 32x32 cells up to 1024, of 64x64 cells up to 4096)")
    return 32 if n_embd <= 1024 else 64

def glyph_key(tok, n_embd, recipe='default', font=None):
    """hex sha256 of everything the matrix depends on; checkpoints and distributed ranks compare it"""
    base, upper = find_font(font)
    parts = [file_sha256(base), file_sha256(upper) if upper else '-', tok.hash, recipe, RECIPE_VERSION,
             n_embd, PIL.__version__, features.version('freetype2'), np.__version__,
             importlib.metadata.version('torch')]
    return hashlib.sha256(repr(parts).encode()).hexdigest()

def provenance(tok, n_embd, recipe='default', font=None):
    """what a checkpoint records of its glyph matrix: its key, Pillow's version, the font files' sha256"""
    fonts = [f for f in find_font(font) if f]
    return dict(glyph_key=glyph_key(tok, n_embd, recipe, font), pillow=PIL.__version__,
                fonts={os.path.basename(f): file_sha256(f) for f in fonts})

def render(tok, n_embd, recipe='default', font=None):
    """-> uint8 [vocab_size, S*S] cells (1 = ink), the pixels PCA sees. In this process, not in spawned
    workers: those re-import __main__, which fails for a script without a main guard or for stdin"""
    if recipe not in ('default', 'paper'):
        raise ValueError(f"unknown recipe {recipe!r}: use 'default' or 'paper'")
    S, paths = cell_size(n_embd), find_font(font)
    texts, kinds = token_texts(tok)
    if recipe == 'paper': # the reference drew with one font file, missing characters as .notdef
        return paper_cells(texts, paths, S, tok.vocab_size > 65536)
    return default_cells(texts, kinds, paths, S)

def build(tok, n_embd, recipe='default', font=None, verbose=False):
    """-> (embedding, cells, rank), no cache"""
    t0 = time.time()
    X = render(tok, n_embd, recipe, font)
    t1 = time.time()
    # the default recipe's 64 px cells are its 32 px cells doubled: PCA those (test_undouble_is_plain_pca)
    emb, rank = pca(undouble(X) if recipe == 'default' and X.shape[1] > 1024 else X, n_embd)
    if verbose:
        zero = f" (n_embd {n_embd}: {n_embd - rank} columns are zero)" if rank < n_embd else ''
        print(f"rendered {len(X):,} ids in {t1 - t0:.1f} s, PCA in {time.time() - t1:.1f} s; "
              f"rank {rank} of {X.shape[1]} pixels{zero}")
    return emb, X, rank

def cache_path(key):
    folder = os.path.expanduser(os.environ.get('GLYPHGPT_CACHE', '~/.cache/glyphgpt'))
    return os.path.join(folder, f'glyphs-{key[:24]}.npz')

def save_cache(key, emb):
    # np.savez given a file object writes to it as is (no '.npz' added)
    atomic_write(cache_path(key), lambda f: np.savez(f, emb=emb, key=key))

def glyph_embeddings(tok, n_embd, recipe='default', font=None, cache=True, verbose=False):
    """-> float32 [vocab_size, n_embd], L2-normalized rows; the same bits for the same inputs"""
    cell_size(n_embd)
    key = glyph_key(tok, n_embd, recipe, font)
    path = cache_path(key)
    if cache and os.path.exists(path):
        with np.load(path) as f:
            if str(f['key']) == key: # the key is stored with the matrix: a mismatch rebuilds
                return f['emb']
    emb = build(tok, n_embd, recipe, font, verbose)[0]
    if cache:
        save_cache(key, emb)
    return emb

# -----------------------------------------------------------------------------
# the command line: build, then report identical rows, preview, save

def main(argv=None):
    ap = argparse.ArgumentParser(prog='glyphs.py', description=__doc__.strip().split('\n\n')[0])
    ap.add_argument('--tokenizer', default='unicode', help="'unicode', a tokenizer .json, or a tiktoken name")
    ap.add_argument('--n_embd', type=int, required=True)
    ap.add_argument('--recipe', default='default', choices=['default', 'paper'])
    ap.add_argument('--font', default=None,
                    help='path to unifont.otf (unifont_upper.otf is looked for beside it)')
    ap.add_argument('--out', default=None, help='save the matrix here (.npy)')
    ap.add_argument('--no_cache', action='store_true')
    ap.add_argument('--preview', default=None, help='text whose tokens to show, with nearest neighbours')
    ap.add_argument('--png', default='preview.png')
    ap.add_argument('--workers', type=int, default=None, help=argparse.SUPPRESS) # accepted for old scripts
    args = ap.parse_args(argv)
    if args.workers is not None:
        print("note: --workers is no longer used: rendering runs in this process (docs/glyphs.md)")
    try:
        tok = load_tokenizer(args.tokenizer)
        t0 = time.time()
        key = glyph_key(tok, args.n_embd, args.recipe, args.font)
        emb, X, rank = build(tok, args.n_embd, args.recipe, args.font, verbose=True)
        print(f"glyph embedding {tok.name} x {args.n_embd} ({args.recipe}): {emb.shape} "
              f"in {time.time() - t0:.1f} s cold, key {key[:16]}")
        if not args.no_cache:
            save_cache(key, emb)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    texts, kinds = token_texts(tok)
    report = glyphs_report.collision_report(texts, kinds, X)
    glyphs_report.print_collisions(report, texts, homoglyphs=args.recipe == 'default')
    if args.preview is not None:
        label_font = find_font(args.font)[0]
        glyphs_report.preview(tok, emb, X, args.preview, args.png, label_font)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        np.save(args.out, emb)
        print(f"saved {args.out}")

if __name__ == '__main__':
    main()
