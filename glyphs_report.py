"""
What glyphs.py's command line prints beside the matrix it builds: which ids share a row (collision_report,
print_collisions) and a text's tokens beside their nearest neighbours (preview). Everything comes in as
arguments (the token texts and kinds, the cells, the matrix, a font file), so this file never imports
glyphs.py: glyphs.py imports it.
"""
import math
import os
import unicodedata

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tokenizer import KIND_BYTE, KIND_PLACEHOLDER, KIND_SPECIAL

def is_invisible(text):
    """whether a token has whitespace, control or format characters, which draw as little or nothing"""
    return any(unicodedata.category(ch)[0] in 'CZ' for ch in text)

def collision_report(texts, kinds, X):
    """identical rows of X (cells or embeddings) of the tokens with these texts and kinds (glyphs.py's
    token_texts): who cannot be told apart"""
    packed = np.packbits(X.astype(bool), axis=1) if X.dtype == np.uint8 else X
    packed = np.ascontiguousarray(packed)
    rows = packed.view(np.dtype((np.void, packed.shape[1] * packed.itemsize))).ravel() # one value per row
    _, inv, counts = np.unique(rows, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    big = int(np.argmax(counts))
    mask = kinds != KIND_PLACEHOLDER
    c = np.bincount(inv[mask], minlength=len(counts))
    shared = mask & (c[inv] > 1)
    groups = {}
    for i in np.nonzero(shared)[0]:
        groups.setdefault(inv[i], []).append(int(i))
    special = [i for i in np.nonzero(shared)[0]
               if kinds[i] in (KIND_BYTE, KIND_SPECIAL) or is_invisible(texts[i])]
    return dict(ids=len(X), distinct=len(counts), largest=int(counts[big]),
                largest_example=texts[int(np.argmax(inv == big))], groups=len(groups),
                ids_in_groups=int(shared.sum()), invisible_special_shared=len(special),
                examples=sorted(groups.values(), key=len, reverse=True))

def show(t): # repr escapes the invisible characters
    return repr(t) + (f' U+{ord(t):04X}' if len(t) == 1 else '')

def print_collisions(r, texts, homoglyphs):
    """a collision_report, with its ten largest groups. homoglyphs: whether to say that identical glyphs
    are why (true of Unifont's own bitmaps, the default recipe)"""
    print(f"{r['ids']:,} ids, {r['distinct']:,} distinct rows; largest group of identical rows: "
          f"{r['largest']:,} (e.g. {r['largest_example']!r})")
    why = ''
    if homoglyphs:
        why = " (identical Unifont glyphs, homoglyphs: no glyph embedding can tell them apart)"
    print(f"not placeholders: {r['groups']:,} groups of identical rows holding {r['ids_in_groups']:,} ids"
          f"{why}; whitespace/control/format/byte/special ids among them: {r['invisible_special_shared']}")
    for g in r['examples'][:10]:
        more = f' (+{len(g) - 6})' if len(g) > 6 else ''
        print('  ' + ' = '.join(show(texts[i]) for i in g[:6]) + more)

def preview(tok, emb, X, text, png, font, k=5):
    """the cells X the model sees for the tokens of text, each with its k nearest neighbours by cosine in
    emb, drawn into png; font: the font file the labels are written in"""
    S = int(math.isqrt(X.shape[1]))
    ids = tok.encode(text)[:64]
    font = ImageFont.truetype(font, 16, layout_engine=ImageFont.Layout.BASIC)
    tw = max(S, 96) + 8
    img = Image.new('L', (tw * (k + 1), (S + 40) * len(ids)), 255)
    draw = ImageDraw.Draw(img)
    for r, i in enumerate(ids):
        sims = emb @ emb[i]
        nn = [j for j in np.argsort(-sims, kind='stable')[:k + 1] if j != i][:k]
        neighbours = ', '.join(f"{show(tok.token_text(j))} {sims[j]:.2f}" for j in nn)
        print(f"{i:6d} {show(tok.token_text(i)):24s} -> {neighbours}")
        for c, j in enumerate([i] + nn):
            x, y = c * tw, r * (S + 40)
            img.paste(Image.fromarray((1 - X[j].reshape(S, S)) * 255), (x, y))
            draw.text((x, y + S + 2), str(j) if c == 0 else f"{sims[j]:.2f}", fill=0, font=font)
            draw.text((x, y + S + 18), repr(tok.token_text(j))[1:-1][:12], fill=0, font=font)
    os.makedirs(os.path.dirname(os.path.abspath(png)), exist_ok=True)
    img.save(png)
    print(f"wrote {png}: one row per token, the token's cell then its {k} nearest neighbours")
