"""
The command line of glyphs.py (`python glyphs.py --help`): build a glyph embedding, then report which
ids share a row (collision_report) and show a text's tokens beside their nearest neighbours (preview).
"""
import argparse
import math
import os
import sys
import time
import unicodedata

import numpy as np
from PIL import Image, ImageDraw, ImageFont

import glyphs
from tokenizer import KIND_BYTE, KIND_PLACEHOLDER, KIND_SPECIAL, load_tokenizer

def collision_report(tok, X):
    """identical rows of X (cells or embeddings): who cannot be told apart"""
    texts, kinds = glyphs.token_texts(tok)
    packed = np.packbits(X.astype(bool), axis=1) if X.dtype == np.uint8 else X
    _, inv, counts = np.unique(np.ascontiguousarray(packed).view(np.dtype((np.void, packed.shape[1] * packed.itemsize))).ravel(),
                               return_inverse=True, return_counts=True)
    inv = inv.ravel()
    big = int(np.argmax(counts))
    mask = kinds != KIND_PLACEHOLDER
    c = np.bincount(inv[mask], minlength=len(counts))
    shared = mask & (c[inv] > 1)
    groups = {}
    for i in np.nonzero(shared)[0]:
        groups.setdefault(inv[i], []).append(int(i))
    invisible = lambda t: any(unicodedata.category(ch)[0] in 'CZ' for ch in t)
    special = [i for i in np.nonzero(shared)[0] if kinds[i] in (KIND_BYTE, KIND_SPECIAL) or invisible(texts[i])]
    return dict(ids=len(X), distinct=len(counts), largest=int(counts[big]),
                largest_example=texts[int(np.argmax(inv == big))], groups=len(groups), ids_in_groups=int(shared.sum()),
                invisible_special_shared=len(special), examples=sorted(groups.values(), key=len, reverse=True))

def show(t): # repr escapes the invisible characters
    return repr(t) + (f' U+{ord(t):04X}' if len(t) == 1 else '')

def preview(tok, emb, X, text, png, k=5, font=None):
    """the cells the model sees for the tokens of text, each with its k nearest neighbours by cosine"""
    S = int(math.isqrt(X.shape[1]))
    ids = tok.encode(text)[:64]
    font = ImageFont.truetype(glyphs.find_font(font)[0], 16, layout_engine=ImageFont.Layout.BASIC)
    tw = max(S, 96) + 8
    img = Image.new('L', (tw * (k + 1), (S + 40) * len(ids)), 255)
    draw = ImageDraw.Draw(img)
    for r, i in enumerate(ids):
        sims = emb @ emb[i]
        nn = [j for j in np.argsort(-sims, kind='stable')[:k + 1] if j != i][:k]
        print(f"{i:6d} {show(tok.token_text(i)):24s} -> " + ', '.join(f"{show(tok.token_text(j))} {sims[j]:.2f}" for j in nn))
        for c, j in enumerate([i] + nn):
            x, y = c * tw, r * (S + 40)
            img.paste(Image.fromarray((1 - X[j].reshape(S, S)) * 255), (x, y))
            draw.text((x, y + S + 2), str(j) if c == 0 else f"{sims[j]:.2f}", fill=0, font=font)
            draw.text((x, y + S + 18), repr(tok.token_text(j))[1:-1][:12], fill=0, font=font)
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    img.save(png)
    print(f"wrote {png}: one row per token, the token's cell then its {k} nearest neighbours")

def main(argv=None):
    ap = argparse.ArgumentParser(prog='glyphs.py', description=glyphs.__doc__.strip().split('\n\n')[0])
    ap.add_argument('--tokenizer', default='unicode', help="'unicode', a tokenizer .json, or a tiktoken name")
    ap.add_argument('--n_embd', type=int, required=True)
    ap.add_argument('--recipe', default='default', choices=['default', 'paper'])
    ap.add_argument('--font', default=None, help='path to unifont.otf (unifont_upper.otf is looked for beside it)')
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
        key = glyphs.glyph_key(tok, args.n_embd, args.recipe, args.font)
        emb, X, rank = glyphs.build(tok, args.n_embd, args.recipe, args.font, verbose=True)
        print(f"glyph embedding {tok.name} x {args.n_embd} ({args.recipe}): {emb.shape} in {time.time() - t0:.1f} s "
              f"cold, key {key[:16]}")
        if not args.no_cache:
            glyphs.save_cache(key, emb)
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"error: {e}")
    r = collision_report(tok, X)
    print(f"{r['ids']:,} ids, {r['distinct']:,} distinct rows; largest group of identical rows: {r['largest']:,} "
          f"(e.g. {r['largest_example']!r})\nnot placeholders: {r['groups']:,} groups of identical rows holding "
          f"{r['ids_in_groups']:,} ids" + (" (identical Unifont glyphs, homoglyphs: no glyph embedding can tell them "
          "apart)" if args.recipe == 'default' else '') + "; "
          f"whitespace/control/format/byte/special ids among them: {r['invisible_special_shared']}")
    for g in r['examples'][:10]:
        print('  ' + ' = '.join(show(tok.token_text(i)) for i in g[:6]) + (f' (+{len(g) - 6})' if len(g) > 6 else ''))
    if args.preview is not None:
        preview(tok, emb, X, args.preview, args.png, font=args.font)
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        np.save(args.out, emb)
        print(f"saved {args.out}")
