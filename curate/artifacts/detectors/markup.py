"""Markup detectors: unbalanced brackets and quotes, leaked span markers."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.artifacts.registry import Context, Scores, register

#: Bracket pairs across scripts (ASCII, CJK full width, lenticular and angle brackets).
BRACKETS = (
    ("(", ")"), ("[", "]"), ("{", "}"), ("（", "）"), ("【", "】"), ("《", "》"), ("〈", "〉"),
    ("［", "］"),
)  # fmt: skip
#: CJK corner brackets are quotation marks: like double quotes, a quotation they open may close
#: in a neighbouring segment, so they follow the quote rule below, not the bracket rule.
CORNER_QUOTES = (("「", "」"), ("『", "』"))
#: Double quotation marks whose role (opening or closing) depends on the language: „…“ and
#: »…« in German, “…” in English, «…» in French, "…" everywhere. Only their total count must
#: be even.
DOUBLE_QUOTES = '"“”„‟″＂«»״'
_EDGES = DOUBLE_QUOTES + "".join(o + c for o, c in CORNER_QUOTES) + "'‘’‚‹› \u00a0\u202f.,;:!?…。"
#: A double quote between two letters is an abbreviation mark (Hebrew gershayim: צה"ל, נאט“ו).
_QUOTE = rf"(?:[{DOUBLE_QUOTES}])"
_GERSHAYIM = rf"\p{{L}}[{DOUBLE_QUOTES}]\p{{L}}"


#: Single quotation marks that are not apostrophes (not between two letters), Rust regex.
_SINGLE_QUOTE = r"(?:^|[^\p{L}])['‘’‚‹›]|['‘’‚‹›](?:$|[^\p{L}])"


def _brackets(column: str) -> pl.Expr:
    col = pl.col(column)
    total = pl.lit(0, dtype=pl.Int64)
    for open_, close in BRACKETS:
        diff = col.str.count_matches(open_, literal=True).cast(pl.Int64) - col.str.count_matches(
            close, literal=True
        ).cast(pl.Int64)
        total = total + diff.abs()
    return total


def _quote_imbalance(col: pl.Expr) -> pl.Expr:
    """1 when the double quotes are odd in number, plus per corner-quote type |open - close|
    (abbreviation marks between two letters are not quotes)."""
    col = col.str.replace_all(_GERSHAYIM, "aa")
    total = (col.str.count_matches(_QUOTE) % 2).cast(pl.Int64)
    for open_, close in CORNER_QUOTES:
        diff = col.str.count_matches(open_, literal=True).cast(pl.Int64) - col.str.count_matches(
            close, literal=True
        ).cast(pl.Int64)
        total = total + diff.abs()
    return total


def _odd_inner_quotes(column: str) -> pl.Expr:
    """Quote imbalance that remains without the quotes at the text's edges (0 if either is 0)."""
    col = pl.col(column)
    return pl.min_horizontal(_quote_imbalance(col), _quote_imbalance(col.str.strip_chars(_EDGES)))


@register("unbalanced_brackets", version="2", threshold=1.0)
def unbalanced_brackets(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """Brackets or double quotes left open (or closed twice) by the translation.

    Score: the output's imbalance (per bracket type |opening - closing|, plus 1 for an odd
    number of double quotes) minus the source's, at least 0; flagged at 1. Quotations often span
    segments and translators swap single and double quotes or mend the source's quoting, so an
    odd number of double quotes only counts when the source has no quotation marks at all, and
    quotes at the very start or end of the output (a quotation opened or closed in a
    neighbouring segment) are left out. CJK corner quotes (「」『』) count as quotes, and a
    double quote between two letters (Hebrew gershayim) as part of a word.
    """
    corners = "".join(o + c for o, c in CORNER_QUOTES)
    source_quotes = pl.col("source_text").str.count_matches(f"[{DOUBLE_QUOTES}{corners}]") + pl.col(
        "source_text"
    ).str.count_matches(_SINGLE_QUOTE)
    quotes = pl.when(source_quotes == 0).then(_odd_inner_quotes("text")).otherwise(0)
    # Only rows whose output has a bracket or quote can score above 0: count on those alone.
    marks = "".join(o + c for o, c in BRACKETS) + DOUBLE_QUOTES + corners
    rows = pairs.select(pl.col("text").str.contains(f"[{re.escape(marks)}]").alias("m"))["m"]
    candidates = np.flatnonzero(rows.to_numpy())
    score = np.zeros(pairs.height)
    if len(candidates):
        diff = pairs[candidates].select(
            (_brackets("text") - _brackets("source_text") + quotes).alias("d")
        )["d"]
        score[candidates] = np.maximum(diff.cast(pl.Float64).to_numpy(), 0.0)
    return Scores(score, explain=lambda i: f"{score[i]:g} more unbalanced brackets/quotes")


@dataclass(frozen=True)
class MarkerParams:
    #: Regular expressions (Rust regex syntax) of span markers that must not reach the output.
    patterns: tuple[str, ...] = (
        r"</?(?:e|m|s|span|ent|entity|mark|tag)\d*>",  # <e1>…</e1>, <span>, <mark>
        r"\[/?(?:e|m|s|E|M|S|ENT|SPAN)\d*\]",  # [e1] … [/e1]
        r"\[\[|\]\]",  # [[ … ]]
        r"__[A-Za-z]+\d*__",  # __ENT0__
        r"@@\w*@@",
        r"[⟦⟧｟｠]",
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "patterns", tuple(self.patterns))


@register("leaked_markers", version="1", threshold=1.0, params=MarkerParams)
def leaked_markers(pairs: pl.DataFrame, params: MarkerParams, ctx: Context) -> Scores:
    """Span markers (from marker-based label projection) left in the output.

    Score: markers in the output minus markers in the source (so a source that was itself
    marked up does not count); flagged at 1. Patterns are configurable (``patterns``).
    """
    pattern = "|".join(f"(?:{p})" for p in params.patterns)
    counts = pairs.select(
        (
            pl.col("text").str.count_matches(pattern)
            - pl.col("source_text").str.count_matches(pattern)
        )
        .cast(pl.Float64)
        .alias("d")
    )["d"]
    score = counts.to_numpy()
    texts = pairs["text"]
    compiled = re.compile(pattern)

    def explain(i: int) -> str:
        found = compiled.findall(texts[i])
        return f"markers in output: {' '.join(found[:5])}"

    return Scores(score, explain=explain)
