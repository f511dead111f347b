"""Repetition loops: the output repeats a word sequence back to back more than the source does.

Decoders that lose track of the source loop ("in the rubble in the rubble in the rubble") or
stutter a phrase. For every period k from 1 to :data:`MAX_PERIOD` words, a run where each word
equals the word k positions earlier is a phrase of k words said again; the words in such runs
are the extra copies. Single words said twice ("very very", "bye bye") are ignored. In scripts
written without spaces every character is a unit: half a word in CJK (so ABAB verb
reduplication in Chinese does not flag), a quarter in Thai, Lao, Khmer and Myanmar, whose
characters are letters (a letter with its combining marks is one unit; in texts with such
letters, periods up to 4 x MAX_PERIOD units are looked for). Punctuation and case are ignored
("„Bei einer „Bei einer" is a loop).

The whole batch is handled at once with numpy over the concatenated token hashes. Hallucinated
run-ons without a loop show up as ``length_ratio`` outliers instead.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.artifacts.detectors._text import words
from curate.artifacts.registry import Context, Scores, register

#: Longest repeated phrase looked for, in words (characters in unspaced scripts).
MAX_PERIOD = 8
#: Unspaced scripts whose characters are syllables or ideographs (half a word each) ...
_SYLLABIC = r"\p{Han}\p{Hiragana}\p{Katakana}"
#: ... and those whose characters are letters (a letter with its marks is a quarter word).
_ALPHABETIC = r"\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_TOKEN = rf"[{_SYLLABIC}]|[{_ALPHABETIC}]\p{{M}}*|[\p{{L}}\p{{N}}\p{{M}}]+"


def repeated_units(texts: pl.Series) -> np.ndarray:
    """Words in back-to-back extra copies, per text (see the module docstring)."""
    n = len(texts)
    tokens = (
        pl.DataFrame({"t": texts})
        .with_row_index("row")
        .select("row", pl.col("t").str.to_lowercase().str.extract_all(_TOKEN).alias("tok"))
        .explode("tok")
        .drop_nulls("tok")
    )
    if tokens.height == 0:
        return np.zeros(n)
    row = tokens["row"].to_numpy().astype(np.int64)
    h = tokens["tok"].hash(seed=7).to_numpy()
    tok = tokens["tok"]
    weight = np.where(
        tok.str.contains(rf"^[{_SYLLABIC}]$").to_numpy(),
        0.5,
        np.where(tok.str.contains(rf"^[{_ALPHABETIC}]").to_numpy(), 0.25, 1.0),
    )
    best = _loops(row, h, weight, range(1, MAX_PERIOD + 1), n)
    # letters of alphabetic unspaced scripts: phrases of up to MAX_PERIOD words are 4x longer
    letters = weight == 0.25
    if letters.any():
        sub = np.isin(row, np.unique(row[letters]))
        longer = _loops(row[sub], h[sub], weight[sub], range(MAX_PERIOD + 1, 4 * MAX_PERIOD + 1), n)
        best = np.maximum(best, longer)
    return best


def _loops(
    row: np.ndarray, h: np.ndarray, weight: np.ndarray, periods: range, n: int
) -> np.ndarray:
    """Per text, the largest weight of extra copies found at any of the ``periods``."""
    cum = np.concatenate([[0.0], np.cumsum(weight)])
    best = np.zeros(n)
    for k in periods:
        if len(h) <= k:
            break
        eq = (h[:-k] == h[k:]) & (row[:-k] == row[k:])
        if not eq.any():
            continue
        padded = np.concatenate([[False], eq, [False]])
        change = np.flatnonzero(padded[1:] != padded[:-1])
        starts, ends = change[0::2], change[1::2] - 1  # inclusive runs of eq
        length = ends - starts + 1
        keep = length >= max(k, 2)
        if not keep.any():
            continue
        starts, ends = starts[keep], ends[keep]
        extra = cum[ends + k + 1] - cum[starts + k]  # weights of the copied tokens
        best = np.maximum(best, np.bincount(row[starts], weights=extra, minlength=n))
    return best


def _example(text: str) -> str:
    toks = words(text)
    for k in range(1, 4 * MAX_PERIOD + 1):
        copies = 3 if k == 1 else 2
        for i in range(len(toks) - copies * k + 1):
            if toks[i : i + k] * copies == toks[i : i + copies * k]:
                return " ".join(toks[i : i + k])
    return ""


@register("repetition", version="2", threshold=2.0)
def repetition(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """Back-to-back repeated words in the output beyond those in the source.

    Score: words in extra back-to-back copies in the output minus the same in the source (see
    the module docstring); flagged at 2 or more (a two-word phrase said twice).
    """
    out = repeated_units(pairs["text"])
    rows = np.flatnonzero(out > 0)
    score = np.zeros(pairs.height)
    if len(rows):
        src = repeated_units(pairs["source_text"].gather(rows))
        score[rows] = out[rows] - src
    texts = pairs["text"]

    def explain(i: int) -> str:
        return f"{score[i]:g} repeated words, e.g. {_example(texts[i])!r}"

    return Scores(score, explain=explain)
