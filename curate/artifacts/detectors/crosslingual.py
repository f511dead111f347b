"""Misalignment without a translation model: is this output a translation of *this* source?

The detector reads tokens that survive translation more or less unchanged ("copyable" tokens):
numbers, names and other capitalised words inside a sentence, and word beginnings (the first four
characters of longer words, which catch names, cognates and loanwords). Per pair, vectorised
with polars and scipy.sparse:

* ``src_anchor_miss`` / ``tgt_anchor_miss``: share of one side's numbers and inner capitalised
  words whose beginning does not occur on the other side (missing when a side has none);
* ``prefix_miss``: 1 - shared word beginnings / the smaller side's word beginnings;
* ``number_miss``: 1 - Jaccard overlap of the digit strings;
* ``own_sim`` and ``sim_margin``: TF-IDF cosine of the two sides' word beginnings, and that
  minus the best rival pairing in the batch (Artetxe & Schwenk's margin criterion;
  :mod:`curate.artifacts.detectors.similarity`);
* ``length_z`` (from :mod:`curate.artifacts.detectors.length`), question/exclamation mark
  mismatches and the source length.

Per language pair, a logistic regression on quantile-binned features (a bin for missing values
too; :mod:`curate.artifacts.detectors.binned_logistic`) learns from the batch itself to tell its
pairs from the same sources paired with other targets of the batch (the random re-pairing
negatives bicleaner trains on), refitted once without the observed pairs
that already look re-paired. The score is the log-odds that a pair is such a random pairing.
The fitted model is JSON (``stats["misalignment"]``) and can be reused for later batches; the
similarity margin works best on batches of a few hundred pairs or more per language pair.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from curate.artifacts.detectors.binned_logistic import binned_logit, fit_binned_logistic
from curate.artifacts.detectors.length import LengthParams, expected_ratio, length_z
from curate.artifacts.detectors.lexical import (
    LexicalFeatures,
    LexicalParams,
    blocks,
    lexical_features,
    lexical_models,
)
from curate.artifacts.detectors.similarity import Similarity, tfidf_rows
from curate.artifacts.frame import pair_keys
from curate.artifacts.registry import Context, Scores, register

# Capitalised word or number that follows another word (not sentence-initial), Rust regex.
_ANCHOR = r"[^\s.!?:;\"“„«'‘¿¡(\[]\s+(?:\p{Lu}[\p{L}\p{N}'’-]*|\p{N}[\p{N}.,]*)"
_PREFIX = r"[\p{L}\p{N}]{4,}|\p{N}+"

FEATURES = (
    "src_anchor_miss",
    "src_has_anchor",
    "tgt_anchor_miss",
    "tgt_has_anchor",
    "prefix_miss",
    "number_miss",
    "has_number",
    "length_z",
    "question_mismatch",
    "exclamation_mismatch",
    "log_len",
    "own_sim",
    "sim_margin",
    "lex_coverage",
    "lex_gap",
    "lex_src_logprob",
    "lex_tgt_logprob",
)
LEXICAL = ("coverage", "gap", "src_logprob", "tgt_logprob")


def _prefixes(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.to_lowercase()
        .str.extract_all(_PREFIX)
        .list.eval(pl.element().str.slice(0, 4))
        .list.unique()
    )


def _anchors(column: str) -> pl.Expr:
    return (
        pl.col(column)
        .str.extract_all(_ANCHOR)
        .list.eval(pl.element().str.extract(r"(\S+)$").str.to_lowercase().str.slice(0, 4))
        .list.unique()
    )


def _numbers(column: str) -> pl.Expr:
    return pl.col(column).str.extract_all(r"\p{N}+").list.unique()


def token_sets(pairs: pl.DataFrame) -> pl.DataFrame:
    """Per row: word beginnings, anchors and numbers of both sides, and simple punctuation."""
    return pairs.select(
        _prefixes("source_text").alias("src_prefix"),
        _prefixes("text").alias("tgt_prefix"),
        _anchors("source_text").alias("src_anchor"),
        _anchors("text").alias("tgt_anchor"),
        _numbers("source_text").alias("src_number"),
        _numbers("text").alias("tgt_number"),
        pl.col("source_text").str.contains(r"[?？؟]").alias("src_q"),
        pl.col("text").str.contains(r"[?？؟]").alias("tgt_q"),
        pl.col("source_text").str.contains(r"[!！]").alias("src_x"),
        pl.col("text").str.contains(r"[!！]").alias("tgt_x"),
        pl.col("source_text").str.len_chars().alias("src_len"),
    )


def _miss(found: pl.Expr, total: pl.Expr) -> pl.Expr:
    """Share not found; null (its own bin later) when there is nothing to find."""
    return pl.when(total > 0).then(1.0 - found / total).otherwise(None)


def features(
    sets: pl.DataFrame,
    z: np.ndarray,
    own: np.ndarray,
    margin: np.ndarray,
    lexical: LexicalFeatures,
) -> np.ndarray:
    """The feature matrix (rows x :data:`FEATURES`) of source/target token sets."""
    s_anchor_hit = pl.col("src_anchor").list.set_intersection("tgt_prefix").list.len()
    t_anchor_hit = pl.col("tgt_anchor").list.set_intersection("src_prefix").list.len()
    shared = pl.col("src_prefix").list.set_intersection("tgt_prefix").list.len()
    smaller = pl.min_horizontal(pl.col("src_prefix").list.len(), pl.col("tgt_prefix").list.len())
    num_common = pl.col("src_number").list.set_intersection("tgt_number").list.len()
    num_all = pl.col("src_number").list.set_union("tgt_number").list.len()
    frame = sets.select(
        _miss(s_anchor_hit, pl.col("src_anchor").list.len()).alias("src_anchor_miss"),
        (pl.col("src_anchor").list.len() > 0).cast(pl.Float64).alias("src_has_anchor"),
        _miss(t_anchor_hit, pl.col("tgt_anchor").list.len()).alias("tgt_anchor_miss"),
        (pl.col("tgt_anchor").list.len() > 0).cast(pl.Float64).alias("tgt_has_anchor"),
        _miss(shared, smaller).alias("prefix_miss"),
        _miss(num_common, num_all).alias("number_miss"),
        (num_all > 0).cast(pl.Float64).alias("has_number"),
        (pl.col("src_q") != pl.col("tgt_q")).cast(pl.Float64).alias("question_mismatch"),
        (pl.col("src_x") != pl.col("tgt_x")).cast(pl.Float64).alias("exclamation_mismatch"),
        pl.col("src_len").cast(pl.Float64).log1p().alias("log_len"),
    )
    frame = frame.with_columns(
        pl.Series("length_z", np.clip(z, -8.0, 8.0)),
        pl.Series("own_sim", own),
        pl.Series("sim_margin", margin),
        *(pl.Series(f"lex_{name}", getattr(lexical, name)) for name in LEXICAL),
    )
    return frame.select(FEATURES).to_numpy().astype(np.float64)  # nulls become NaN


@dataclass(frozen=True)
class MisalignmentParams:
    #: Rows a language pair needs before its model is learned; pairs with fewer are not judged.
    min_fit: int = 100
    #: Rows per pair used for fitting (a random sample above that).
    max_fit: int = 20000
    #: L2 penalty on the classifier's bin weights (scikit-learn's ``C`` is its inverse).
    ridge: float = 1.0
    #: Quantile bins per feature.
    bins: int = 10
    #: Rival candidates per pair for the similarity margin (a random sample above that).
    candidates: int = 2000
    seed: int = 0
    #: The word translation model learned from the batch (shared with ``omission``).
    lexical: LexicalParams = field(default_factory=LexicalParams)

    def __post_init__(self) -> None:
        if isinstance(self.lexical, dict):
            object.__setattr__(self, "lexical", LexicalParams(**self.lexical))


def _cached(
    pairs: pl.DataFrame, ctx: Context, params: MisalignmentParams, models: dict[str, Any]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of the batch's pairs (NaN rows for language pairs that have no model and too
    few rows to learn one) and of a random re-pairing of the pairs that still need a model,
    and that re-pairing: the target row each source row was re-paired with (-1: none)."""
    cache_key = ("xl_features", params, frozenset(models))
    if cache_key in ctx.cache:
        return ctx.cache[cache_key]
    rng = np.random.default_rng(params.seed)
    z = length_z(pairs, LengthParams(), ctx)
    keys = pair_keys(pairs).to_numpy()
    x = np.full((pairs.height, len(FEATURES)), np.nan)
    x_neg = np.full((pairs.height, len(FEATURES)), np.nan)
    repaired = np.full(pairs.height, -1, dtype=np.int64)
    length_models = ctx.stats.get("length_ratio", {})
    groups: list[tuple[np.ndarray, bool]] = []
    for key in np.unique(keys).tolist():
        rows = np.flatnonzero(keys == key)
        fit = key not in models and len(rows) >= params.min_fit and key in length_models
        if key in models or fit:
            groups.append((rows, fit))
    if not groups:
        ctx.cache[cache_key] = (x, x_neg, repaired)
        return ctx.cache[cache_key]
    used = np.concatenate([rows for rows, _ in groups])
    sets = token_sets(pairs[used])
    position = np.empty(pairs.height, dtype=np.int64)
    position[used] = np.arange(len(used))
    own = np.zeros(len(used))
    margin = np.zeros(len(used))
    neg_rows, neg_other, neg_own, neg_margin = [], [], [], []
    lexical = lexical_models(pairs, params.lexical, ctx)
    neg_lexical = LexicalFeatures.empty(pairs.height)
    for rows, fit in groups:
        local = position[rows]
        chosen = sets[local]
        src, tgt = tfidf_rows(chosen["src_prefix"].to_list(), chosen["tgt_prefix"].to_list())
        sim = Similarity(src, tgt, params.candidates, rng)
        own[local], margin[local] = sim.margins(np.arange(len(rows)))
        if fit:
            # Negatives: the same sources with other targets of the batch (a random re-pairing).
            other = np.roll(np.arange(len(rows)), int(rng.integers(1, len(rows))))
            key = str(keys[rows[0]])
            for block in blocks(len(rows), params.lexical) if key in lexical else []:
                # re-pair within each word model's block, so that model can score the pairing
                other[block] = np.roll(block, int(rng.integers(1, len(block))))
            o, m = sim.margins(other)
            neg_rows.append(rows)
            neg_other.append(rows[other])
            neg_own.append(o)
            neg_margin.append(m)
            for block, (lex_rows, model) in zip(
                blocks(len(rows), params.lexical), lexical.get(key, []), strict=False
            ):
                assert np.array_equal(lex_rows, rows[block])
                neg_lexical.put(lex_rows, model.features(other[block] - block[0]))
    own_lexical = lexical_features(pairs, params.lexical, ctx)
    x[used] = features(sets, z[used], own, margin, _take(own_lexical, used))
    if neg_rows:
        rows, other = np.concatenate(neg_rows), np.concatenate(neg_other)
        repaired[rows] = other
        mixed = pl.concat(
            [
                sets.select(pl.col("^src_.*$"))[position[rows]],
                sets.select(pl.col("^tgt_.*$"))[position[other]],
            ],
            how="horizontal",
        )
        x_neg[rows] = features(
            mixed,
            _length_z_of(pairs, rows, other, keys, length_models),
            *map(np.concatenate, (neg_own, neg_margin)),
            _take(neg_lexical, rows),
        )
    ctx.cache[cache_key] = (x, x_neg, repaired)
    return ctx.cache[cache_key]


def _take(lexical: LexicalFeatures, rows: np.ndarray) -> LexicalFeatures:
    return LexicalFeatures(*(getattr(lexical, name)[rows] for name in LEXICAL))


def _length_z_of(
    pairs: pl.DataFrame,
    rows: np.ndarray,
    other: np.ndarray,
    keys: np.ndarray,
    models: dict[str, Any],
) -> np.ndarray:
    """Length z of sources ``rows`` paired with the targets of rows ``other``."""
    lengths = pairs.select(
        pl.col("source_text").str.strip_chars().str.len_chars().cast(pl.Float64).log1p().alias("s"),
        pl.col("text").str.strip_chars().str.len_chars().cast(pl.Float64).log1p().alias("t"),
    )
    xs = lengths["s"].to_numpy()[rows]
    ys = lengths["t"].to_numpy()[other] - xs
    z = np.full(len(rows), np.nan)
    for key in np.unique(keys[rows]).tolist():
        model = models[key]
        sel = keys[rows] == key
        med, scale = expected_ratio(model, xs[sel])
        z[sel] = (ys[sel] - med) / scale
    return z


def fit_misalignment(
    keys: np.ndarray, x: np.ndarray, x_neg: np.ndarray, params: MisalignmentParams
) -> dict[str, dict[str, Any]]:
    """Learn one re-pairing classifier per language pair with enough rows."""
    rng = np.random.default_rng(params.seed)
    models: dict[str, dict[str, Any]] = {}
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        if len(rows) < params.min_fit:
            continue
        if len(rows) > params.max_fit:
            rows = rng.choice(rows, params.max_fit, replace=False)
        y = np.r_[np.ones(len(rows)), np.zeros(len(rows))]
        fitted = fit_binned_logistic(np.r_[x[rows], x_neg[rows]], y, params.bins, params.ridge)
        # The observed pairs hold some misaligned ones, labelled "aligned" above; that caps
        # the scores near 1 / (1 + their share). Refit without the observed pairs that already
        # look re-paired (PU-learning's usual cleaning step).
        keep = binned_logit(fitted, x[rows]) >= 0.0
        if 0 < (~keep).sum() < len(rows) // 2:
            pos = rows[keep]
            fitted = fit_binned_logistic(
                np.r_[x[pos], x_neg[rows]],
                np.r_[np.ones(len(pos)), np.zeros(len(rows))],
                params.bins,
                params.ridge,
            )
        fitted["n"] = len(rows)
        models[str(key)] = fitted
    return models


def fit_and_score(
    keys: np.ndarray,
    x: np.ndarray,
    x_neg: np.ndarray,
    learn: np.ndarray,
    models: dict[str, Any],
    params: MisalignmentParams,
) -> np.ndarray:
    """Refit the per-language-pair classifiers on the rows in ``learn`` (kept in ``models``),
    then score every row: the log-odds that it is a random re-pairing (NaN without a model)."""
    if learn.any():
        models.update(fit_misalignment(keys[learn], x[learn], x_neg[learn], params))
    score = np.full(len(keys), np.nan)
    for key, model in models.items():
        rows = keys == key
        if rows.any():
            score[rows] = -binned_logit(model, x[rows])
    return score


@register(
    "misalignment",
    version="3",
    threshold=5.0,
    params=MisalignmentParams,
    learns=True,
)
def misalignment(pairs: pl.DataFrame, params: MisalignmentParams, ctx: Context) -> Scores:
    """The output looks like the translation of another source (shuffled pairing).

    Score: log-odds, under a per-language-pair logistic regression learned from the batch
    itself (observed pairs against random re-pairings), that the pair is a random pairing;
    flagged at 5 (150 to 1) or more. Features: copyable tokens (numbers, inner capitalised
    words, word beginnings) found on the other side, their TF-IDF similarity and its margin
    over rival pairings, length-ratio z, ?/! mismatches. NaN for pairs without a model (fewer
    than ``min_fit`` rows and none given).
    """
    models = ctx.stats.setdefault("misalignment", {})
    x, x_neg, _ = _cached(pairs, ctx, params, models)
    keys = pair_keys(pairs).to_numpy()
    learn = ~np.isnan(x_neg[:, FEATURES.index("log_len")])
    score = fit_and_score(keys, x, x_neg, learn, models, params)

    def explain(i: int) -> str:
        parts = [f"{name}={x[i, j]:.2f}" for j, name in enumerate(FEATURES) if "miss" in name]
        z = x[i, FEATURES.index("length_z")]
        return f"looks re-paired ({', '.join(parts)}, length z={z:+.1f})"

    return Scores(score, explain=explain)
