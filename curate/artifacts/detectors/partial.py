"""Partial copies: part of the output (its tail, head or a clause) is the untranslated source.

Multilingual models on long inputs often translate the start of a segment and then copy the
rest of the source as it is. ``untranslated`` only sees whole copies; this detector finds the
copied stretches: runs of at least ``min_run`` words that appear in the same order in the
source and in the output (case-sensitive, so a copied stretch is an exact copy). Names, numbers
and titles are legitimately copied, and they are mostly capitalised words and digits, so only
the source's *common* words count: alphabetic words that do not start with a capital letter
(in scripts without case, every word; characters of unspaced scripts are words, as in
:func:`curate.artifacts.detectors._text.words`); in a headline in Title Case, every word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.artifacts.detectors._text import WORD_RE
from curate.artifacts.registry import Context, Scores, register


@dataclass(frozen=True)
class PartialCopyParams:
    #: Shortest run of words, copied in order, that counts as a copy.
    min_run: int = 3
    #: Sources with fewer common words than this are not judged.
    min_words: int = 4
    #: Copied common words needed before the share counts (fewer: score 0).
    min_copied: int = 3


def _common(word: str) -> bool:
    """An alphabetic word that does not start with a capital (names and numbers do not count)."""
    return word.isalpha() and not word[0].isupper()


def _alphabetic(word: str) -> bool:
    return word.isalpha()


def _common_test(words: list[str]) -> Callable[[str], bool]:
    """What counts as a common word of this source: in a headline in Title Case (most words
    capitalised) every alphabetic word, else :func:`_common`."""
    alpha = [w for w in words if w.isalpha()]
    capitalised = sum(1 for w in alpha if w[0].isupper())
    return _alphabetic if alpha and capitalised >= 0.6 * len(alpha) else _common


def copied_words(source: str, text: str, min_run: int) -> tuple[int, int, str]:
    """``(common words of the source, common words of the output inside copied runs, the
    longest copied run)``; a copied run is ``min_run`` or more words in source order."""
    src = WORD_RE.findall(source)
    out = WORD_RE.findall(text)
    common = _common_test(src)
    n_common = sum(map(common, src))
    if len(out) < min_run or len(src) < min_run:
        return n_common, 0, ""
    grams = {tuple(src[i : i + min_run]) for i in range(len(src) - min_run + 1)}
    covered = np.zeros(len(out), dtype=bool)
    for i in range(len(out) - min_run + 1):
        if tuple(out[i : i + min_run]) in grams:
            covered[i : i + min_run] = True
    if not covered.any():
        return n_common, 0, ""
    copied = sum(1 for w, c in zip(out, covered, strict=True) if c and common(w))
    # the longest run, for the explanation
    edges = np.flatnonzero(np.diff(np.r_[0, covered.astype(np.int8), 0]))
    starts, ends = edges[0::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    return n_common, copied, " ".join(out[starts[k] : ends[k]])


@register("partial_copy", version="1", threshold=0.25, params=PartialCopyParams)
def partial_copy(pairs: pl.DataFrame, params: PartialCopyParams, ctx: Context) -> Scores:
    """Part of the output is a verbatim copy of the source (an untranslated tail, head or clause).

    Score in [0, 1]: the share of the source's common words (alphabetic, not capitalised) that
    the output repeats inside runs of ``min_run`` or more words copied in order; 0 when fewer
    than ``min_copied`` common words are copied. A whole copy scores 1 (``untranslated`` names
    it too). NaN when source and target language are the same or the source has fewer than
    ``min_words`` common words.
    """
    sources = pairs["source_text"].to_list()
    texts = pairs["text"].to_list()
    same_lang = (pairs["src_lang"] == pairs["tgt_lang"]).to_numpy()
    score = np.full(pairs.height, np.nan)
    runs: dict[int, str] = {}
    for i, (source, text) in enumerate(zip(sources, texts, strict=True)):
        if same_lang[i]:
            continue
        n_common, copied, run = copied_words(source, text, params.min_run)
        if n_common < params.min_words:
            continue
        score[i] = min(copied / n_common, 1.0) if copied >= params.min_copied else 0.0
        runs[i] = run

    def explain(i: int) -> str:
        return f"{score[i]:.0%} of the source's common words copied, e.g. {runs[i][:80]!r}"

    return Scores(score, explain=explain)
