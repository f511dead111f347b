"""Partial copies: part of the output (its tail, head or a clause) is the untranslated source.

Multilingual models on long inputs often translate the start of a segment and then copy the
rest of the source as it is. ``untranslated`` only sees whole copies; this detector finds the
copied stretches: runs of at least ``min_run`` words that appear in the same order in the
source and in the output (case-sensitive, so a copied stretch is an exact copy). Names, numbers
and titles are legitimately copied, and they are mostly capitalised words and digits, so only
the source's *common* words count: alphabetic words that do not start with a capital letter
(in scripts without case, every word; characters of unspaced scripts are words, as in
:func:`curate.artifacts.detectors._text.words`), and only next to another common word (a
lone "for" or "of" belongs to a name); in a headline in Title Case, every word.
"""

from __future__ import annotations

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


def _title_case(words: list[str]) -> bool:
    """A headline in Title Case: nearly every word capitalised."""
    alpha = [w for w in words if w.isalpha()]
    return bool(alpha) and sum(1 for w in alpha if w[0].isupper()) >= 0.8 * len(alpha)


def copied_words(source: str, text: str, min_run: int) -> tuple[int, int, str]:
    """``(common words of the source, common words of the output inside copied runs, the
    longest copied run)``; a copied run is ``min_run`` or more words in source order.

    Only common words next to another common word count: those between capitalised words
    belong to a name or a title (``Citizens for Responsibility and Ethics in Washington``). In a
    headline in Title Case every word is common, and runs need one word more.
    """
    src = WORD_RE.findall(source)
    out = WORD_RE.findall(text)
    title = _title_case(src) and source.rstrip()[-1:] not in ".!?"
    common = str.isalpha if title else _common
    min_run += title
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
    edges = np.flatnonzero(np.diff(np.r_[0, covered.astype(np.int8), 0]))
    copied, longest = 0, ""
    for start, end in zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True):
        run = out[start:end]
        if title:
            copied += sum(map(common, run))
        else:  # common words next to another one: "for" in "Citizens for Responsibility" is not
            flags = [common(w) for w in run]
            copied += sum(
                1
                for k, c in enumerate(flags)
                if c and ((k > 0 and flags[k - 1]) or (k + 1 < len(flags) and flags[k + 1]))
            )
        if len(run) > len(longest.split()):
            longest = " ".join(run)
    return n_common, copied, longest


@register("partial_copy", version="1", threshold=0.2, params=PartialCopyParams)
def partial_copy(pairs: pl.DataFrame, params: PartialCopyParams, ctx: Context) -> Scores:
    """Part of the output is a verbatim copy of the source (an untranslated tail, head or clause).

    Score in [0, 1]: the share of the source's common words (alphabetic, not capitalised) that
    the output repeats inside runs of ``min_run`` or more words copied in order; 0 when fewer
    than ``min_copied`` common words are copied. A whole copy scores 1 (``untranslated`` names
    it too). NaN when source and target language are the same or the source has fewer than
    ``min_words`` common words. Flagged at 0.2: on NTREX (de, es, fr, ro, fa, ja, uk; threshold
    and parameters chosen there) 0.2 and 0.25 flag the same 0.07-0.14% of clean pairs and 0.2
    finds .90 of outputs whose head or tail (40-60%) is the English source.
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
