"""Paired-field overlap shift: translation changed how much two fields of an item share.

NLI premise and hypothesis are often translated separately; the lexical overlap between them,
a cue models learn to exploit, then drops (Artetxe, Labaka & Agirre 2020, "Translation artifacts
in cross-lingual transfer learning"). Per row: overlap(field, paired field) in the source
language minus the same in the translation, overlap being the share of the paired field's words
that occur in the field (lower-cased; CJK characters count as words).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.artifacts.detectors._text import words
from curate.artifacts.registry import Context, Scores, register


def overlap(text: str, paired: str) -> float:
    """Share of ``paired``'s words that also occur in ``text`` (NaN when ``paired`` has none)."""
    other = words(paired)
    if not other:
        return float("nan")
    vocab = set(words(text))
    return sum(w in vocab for w in other) / len(other)


@dataclass(frozen=True)
class PairedParams:
    #: Flag drops only; set True to also flag overlap that grew by the threshold.
    both_ways: bool = False


@register(
    "paired_overlap_shift",
    version="1",
    threshold=0.3,
    params=PairedParams,
    requires=("paired_source_text", "paired_text"),
)
def paired_overlap_shift(pairs: pl.DataFrame, params: PairedParams, ctx: Context) -> Scores:
    """Lexical overlap with the paired field fell after translation (Artetxe et al. 2020).

    Score: overlap before minus overlap after, in [-1, 1]; flagged when it fell by the
    threshold (default 0.3) or more. NaN for rows without a paired field.
    """
    rows = pairs.select(
        "source_text", "text", pl.col("paired_source_text"), pl.col("paired_text")
    ).rows()
    before = np.array(
        [overlap(s, ps) if ps is not None else np.nan for s, _, ps, _ in rows], dtype=float
    )
    after = np.array(
        [overlap(t, pt) if pt is not None else np.nan for _, t, _, pt in rows], dtype=float
    )
    score = before - after
    if params.both_ways:
        score = np.abs(score)

    def explain(i: int) -> str:
        return f"overlap with paired field {before[i]:.2f} -> {after[i]:.2f}"

    return Scores(score, explain=explain)
