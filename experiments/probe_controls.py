"""
What the controls of analyze.py's homoglyph probe read. That probe's label, the token's script, is in this
corpus nearly always the language of the tokens before it, so "a probe reads the script after one block" is
true of any model that reads the context's language. Two controls say how much of it is context:

- Script-neutral tokens (spaces, punctuation, digits: text with no letters), labelled by the language of
  their context: what the context alone gives away. As many occurrences of each such token in Latin as in
  Cyrillic contexts, so that at the input (one row per token) a probe is at chance exactly, as it is for a
  glyph model's twins.
- Swapped twins: mixed-script words, an English word with one token spelled by its Cyrillic twin (`сat`,
  Cyrillic `с`) in English text, a Russian word with one Latin twin in Russian text. A probe trained on
  natural text (where the token's script is the context's language) reads the twin: by its own script,
  or by its context's? The share read by its own script is what a model tells apart that its context does
  not. A glyph model's twins have one input row, so all it can go on is the context; a trainable model
  can also read the token from its row.

This file builds what they read: the word list, the language of a context, the spoofed words and the
windows they stand in. analyze.py reads the states and measures.
"""
import unicodedata

import numpy as np

from tokenizer import KIND_TEXT

# words of each language, each to be spoofed by swapping one of its tokens for that token's homoglyph twin
# of the other script; the twins come from the glyph matrix (analyze.homoglyph_sets), not from a table.
# Common words that the default tokenizer splits so that a twin (`c`, `o`, `pe`, `со`, ...) is one of
# their tokens; with another tokenizer the words without one are skipped and counted
SPOOF_WORDS = {
    'LATIN': 'cape cold copper police coffee price escape paper apple ocean cross piece pepper care cattle '
             'pace race cop',
    'CYRILLIC': 'сосна орех сера пароход сорок осень сапог сахар окно море мясо пёс опера сосед сок опять '
                'река',
}
LANGUAGES = ('LATIN', 'CYRILLIC') # a context's language is an index into these (analyze.SCRIPTS starts so)
LANGUAGE_SHARE = 0.95 # a context is of a language when at least this share of its letters are of its script
SWAP_CONTEXTS = 16    # natural places per language that each spoofed word is put in

def letter_counts(tok):
    """(vocab_size, 3): the Latin, Cyrillic and other letters in each text token. A byte token counts none:
    a byte alone is no letter"""
    counts = np.zeros((tok.vocab_size, 3))
    for i in range(tok.vocab_size):
        if tok.kinds[i] != KIND_TEXT:
            continue
        for ch in tok.token_text(i):
            if ch.isalpha():
                script = unicodedata.name(ch, '?').split(' ')[0]
                counts[i, LANGUAGES.index(script) if script in LANGUAGES else 2] += 1
    return counts

def context_languages(arrays, counts, context, share=LANGUAGE_SHARE):
    """per array, int8 per position t: the language (0 Latin, 1 Cyrillic) of the context - 1 tokens before t,
    the tokens an occurrence at t is read after, where at least `share` of their letters are of its script;
    -1 where none is (mixed, another script, no letters) or t has fewer tokens before it"""
    out = []
    for a in arrays:
        c = np.concatenate([np.zeros((1, 3)), np.cumsum(counts[a], 0)]) # c[t]: the letters of a[:t]
        lang = np.full(len(a), -1, np.int8)
        t = np.arange(context - 1, len(a))
        w = c[t] - c[t - context + 1] # (N, 3), the letters of a[t - context + 1:t]
        total = np.maximum(w.sum(1), 1)
        for x in (0, 1):
            lang[t[(w[:, x] >= share * total) & (w[:, x] > 0)]] = x
        out.append(lang)
    return out

def neutral_ids(tok):
    """the text tokens whose text has no letters: spaces, punctuation, digits"""
    return [i for i in range(tok.vocab_size)
            if tok.kinds[i] == KIND_TEXT and not any(ch.isalpha() for ch in tok.token_text(i))]

def twins(sets):
    """homoglyph sets [[(script, id), ...]] -> {(id, another script): that script's id of the set}"""
    return {(i, other): j for s in sets for script, i in s for other, j in s if other != script}

def spoof_words(tok, twin_of, words=SPOOF_WORDS):
    """each word with one of its tokens swapped for that token's twin of the other language, one spoof per
    token that has one -> (spoofs, skipped). A spoof is kept where its text, after a space, tokenizes to
    the word's own tokens with just that one swapped (the twin a token of its own, the space one too, as
    the windows are built): dict(word, text, language (the word's and its context's), ids (the word's
    tokens), at (the swapped token's place), twin (its id)). skipped: the words that give no such spoof"""
    space = tok.encode(' ')
    spoofs, skipped = [], []
    for x, lang in enumerate(LANGUAGES):
        other = LANGUAGES[1 - x]
        for w in words[lang].split():
            ids = tok.encode(w)
            mine = []
            if tok.encode(' ' + w) == space + ids:
                for j, i in enumerate(ids):
                    t = twin_of.get((i, other))
                    swapped = ids[:j] + [t] + ids[j + 1:]
                    text = tok.decode(swapped) if t is not None else None
                    if text is not None and tok.encode(' ' + text) == space + swapped:
                        mine.append(dict(word=w, text=text, language=x, ids=ids, at=j, twin=t))
            spoofs += mine
            if not mine:
                skipped.append(w)
    return spoofs, skipped

def swap_windows(arrays, places, spoofs, context):
    """each spoof put after each natural place of its language, places[x] [(array, position of a space)],
    and read at its swapped token -> (spoofed, natural) int64 (N, context): the context tokens ending with
    the twin, and the same with the word unspoofed; the twin's script (N,) and its context's language (N,).
    The tokens of the word after the twin do not matter: the model is causal"""
    spoofed, natural, script, language = [], [], [], []
    for s in spoofs:
        head = s['ids'][:s['at'] + 1] # the word up to the swapped token, unspoofed
        for k, t in places[s['language']]:
            before = arrays[k][t - context + len(head) + 1:t + 1] # natural text up to the space
            natural.append(np.concatenate([before, head]))
            spoofed.append(np.concatenate([before, head[:-1], [s['twin']]]))
            script.append(1 - s['language'])
            language.append(s['language'])
    spoofed = np.array(spoofed, np.int64).reshape(-1, context) # (N, context), also where N is 0
    natural = np.array(natural, np.int64).reshape(-1, context)
    return spoofed, natural, np.array(script, np.int64), np.array(language, np.int64)
