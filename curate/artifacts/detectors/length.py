"""Length-based detectors: length-ratio outliers and truncated outputs.

The expected length ratio is learned per language pair from the data itself, with robust
statistics: the log of (target characters + 1) / (source characters + 1) is binned by source
length (equal-count bins), and each bin keeps its median and scaled MAD. Short texts vary far more
than long ones (MAD of the log ratio about 0.2 under 40 characters, 0.1 over 200 in NTREX en-de),
so one global band would either miss long outliers or flag every short headline. A pair's score
is the robust z of its log ratio, interpolated between the bins of its source length, divided by
the pair's tail factor: how much heavier than the threshold the batch's own extreme z are
(:func:`tail_factor`), so a language whose ratios are heavier-tailed (no spaces between words,
freer translations) is not flagged more often than others at the same threshold.

Fitted models live in ``stats["length_ratio"][pair]`` (JSON-serialisable); a batch fits the pairs
it has enough rows for when no model was given, so a two-pass job can fit once
(:func:`fit_length_model`) and pass the result to every batch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from curate.artifacts.detectors._robust import robust_fit
from curate.artifacts.detectors._text import CLOSERS, FINAL_PUNCT
from curate.artifacts.frame import pair_keys
from curate.artifacts.registry import Context, Scores, register


@dataclass(frozen=True)
class LengthParams:
    #: Rows a language pair needs before its ratio is learned; pairs with fewer are not judged.
    min_fit: int = 30
    #: Rows per source-length bin (more rows make more bins, up to ``max_bins``).
    rows_per_bin: int = 150
    max_bins: int = 6
    #: Lower bound of the scale (log units), so near-constant ratios do not flag tiny changes.
    min_scale: float = 0.05
    #: Tail calibration: the share of a pair's fitted rows allowed beyond ``tail_z`` (the
    #: default threshold); where more lie beyond it, the pair's z is divided by the factor that
    #: brings that share back, at most ``max_tail`` (so a batch full of real damage is not hidden:
    #: there the factor stops at ``max_tail``). 0.1% and 1.15 were chosen on the NTREX batches of
    #: de, es, fr, ro, fa, ja, uk: 1.3 cost more than 0.002 macro F1 in the corrupted batches.
    tail_share: float = 0.001
    tail_z: float = 3.5
    max_tail: float = 1.15


def _lengths(pairs: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    lens = pairs.select(
        pl.col("source_text").str.strip_chars().str.len_chars().cast(pl.Float64).alias("s"),
        pl.col("text").str.strip_chars().str.len_chars().cast(pl.Float64).alias("t"),
    )
    x = np.log1p(lens["s"].to_numpy())
    y = np.log1p(lens["t"].to_numpy()) - x
    return x, y


def _fit_one(x: np.ndarray, y: np.ndarray, params: LengthParams) -> dict[str, Any]:
    order = np.argsort(x, kind="stable")
    k = int(np.clip(len(x) // params.rows_per_bin, 1, params.max_bins))
    centres, medians, scales = [], [], []
    for chunk in np.array_split(order, k):
        med, scale = robust_fit(y[chunk], params.min_scale)
        centres.append(float(np.median(x[chunk])))
        medians.append(med)
        scales.append(scale)
    model = {"n": len(x), "centres": centres, "medians": medians, "scales": scales}
    med, scale = expected_ratio(model, x)
    model["tail"] = tail_factor((y - med) / scale, params)
    return model


def tail_factor(z: np.ndarray, params: LengthParams) -> float:
    """How much heavier than usual a pair's tails are: the ``1 - tail_share`` quantile of its
    rows' |z| over ``tail_z``, between 1 and ``max_tail``.

    The median and MAD describe the middle of the ratios; how often a clean batch strays beyond
    3.5 scales depends on the language (segmentation, how freely it is translated). Dividing the
    pair's z by this factor keeps at most ``tail_share`` of a clean batch's rows beyond ``tail_z``
    unless the factor reaches ``max_tail``, which it does in any batch where more than that share
    is damaged (in the NTREX benchmark's corrupted batches, 5-9% of a pair's rows lie beyond 3.5).
    """
    if not len(z):
        return 1.0
    q = float(np.quantile(np.abs(z), 1.0 - params.tail_share))
    return round(float(np.clip(q / params.tail_z, 1.0, params.max_tail)), 4)


def fit_length_model(
    pairs: pl.DataFrame, params: LengthParams | None = None
) -> dict[str, dict[str, Any]]:
    """Learn the expected log length ratio (and its spread by source length) per language pair."""
    params = params or LengthParams()
    x, y = _lengths(pairs)
    keys = pair_keys(pairs).to_numpy()
    usable = (pairs["text"].str.strip_chars().str.len_chars() > 0).to_numpy()
    models: dict[str, dict[str, Any]] = {}
    for key in np.unique(keys):
        rows = (keys == key) & usable
        if rows.sum() >= params.min_fit:
            models[str(key)] = _fit_one(x[rows], y[rows], params)
    return models


def length_z(pairs: pl.DataFrame, params: LengthParams, ctx: Context) -> np.ndarray:
    """Robust z of every row's log length ratio (NaN for pairs without a model), before the tail
    factor (:func:`length_tail`): the evidence other detectors read."""
    if "length_z" in ctx.cache:
        return ctx.cache["length_z"]
    models = ctx.stats.setdefault("length_ratio", {})
    keys = pair_keys(pairs).to_numpy()
    missing = [k for k in np.unique(keys) if k not in models]
    if missing:
        models.update(fit_length_model(pairs.filter(pl.Series(np.isin(keys, missing))), params))
    x, y = _lengths(pairs)
    z = np.full(len(x), np.nan)
    for key, model in models.items():
        rows = keys == key
        if rows.any():
            med, scale = expected_ratio(model, x[rows])
            z[rows] = (y[rows] - med) / scale
    ctx.cache["length_z"] = z
    return z


def length_tail(pairs: pl.DataFrame, ctx: Context) -> np.ndarray:
    """Every row's tail factor (its pair's; 1 for pairs without one, such as models stored
    before the factor existed). Call after :func:`length_z`."""
    models = ctx.stats.get("length_ratio", {})
    keys = pair_keys(pairs).to_numpy()
    tail = np.ones(len(keys))
    for key, model in models.items():
        tail[keys == key] = model.get("tail", 1.0)
    return tail


def expected_ratio(model: dict[str, Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Median and scale of the log length ratio at log source lengths ``x`` (``log1p`` of the
    characters), interpolated between the model's bins.

    Below the centre of the shortest bin the scale keeps growing as one over the square root of
    the source length, the way the spread of a ratio of counts grows (NTREX: about 0.2 under 40
    characters, 0.1 over 200), instead of staying at that bin's: a 12-character source is not
    held to the spread of 45-character ones. Above the longest bin's centre it stays flat.
    """
    centres = model["centres"]
    med = np.interp(x, centres, model["medians"])
    scale = np.interp(x, centres, model["scales"])
    shortest = np.expm1(centres[0])
    growth = np.sqrt(shortest / np.maximum(np.expm1(x), 1.0))
    return med, np.where(x < centres[0], scale * growth, scale)


@register(
    "length_ratio",
    version="3",
    threshold=3.5,
    direction="both",
    params=LengthParams,
    learns=True,
)
def length_ratio(pairs: pl.DataFrame, params: LengthParams, ctx: Context) -> Scores:
    """Output much shorter (omission) or much longer (run-on) than the pair's usual ratio.

    Score: signed robust z of the log character-length ratio against the median and MAD learned
    for the language pair at this source length (below the shortest bin, a spread that grows as
    one over the square root of the length: :func:`expected_ratio`), divided by the pair's tail
    factor (:func:`tail_factor`: at most 0.1% of a clean batch's rows beyond 3.5, widening by at
    most 1.15); flagged when |score| >= threshold (3.5: the lowest at which no language of de,
    es, fr, ro, fa, ja, uk had more than 0.5% of a batch of clean NTREX pairs flagged before the
    tail factor; 3.0 flagged up to 1.4%). NaN for pairs with fewer than ``min_fit`` rows and no
    fitted model.
    """
    z = length_z(pairs, params, ctx) / length_tail(pairs, ctx)

    def explain(i: int) -> str:
        side = "shorter" if z[i] < 0 else "longer"
        return f"{side} than usual for this pair (z={z[i]:+.1f})"

    return Scores(z, explain=explain)


_ENDS_SENTENCE = "[" + FINAL_PUNCT + "][" + CLOSERS.replace("]", "\\]") + "]*$"
_WORD = r"[\p{L}\p{N}\p{M}]+"
_LAST_WORD = r"([\p{L}\p{N}\p{M}]+)[^\p{L}\p{N}\p{M}]*$"


@dataclass(frozen=True)
class TruncationParams:
    #: Rows a language pair needs before the words that rarely end its outputs are learned.
    min_fit: int = 200
    #: Evidence (nats) an output's last word must exceed before it counts: minus the log of the
    #: (smoothed) share of that word's occurrences in the pair's outputs that end the output.
    end_floor: float = 2.0
    #: Score added per nat of last-word evidence above ``end_floor``.
    end_weight: float = 0.3
    #: Words seen fewer times than this in the fitted outputs give no evidence.
    min_count: int = 3


def fit_end_words(words: pl.Series, params: TruncationParams) -> dict[str, Any]:
    """Words that rarely end an output, with their evidence ``-log p(last | word)``.

    ``words``: the lower-cased words of each output (a list column). ``p`` is smoothed towards
    the share of all word occurrences that are last (2 pseudo-counts), so a word seen once or
    twice says little; only words seen ``min_count`` times or more and above ``end_floor`` are
    kept (about 2,000 words from 2,000 news outputs).
    """
    every = words.explode().drop_nulls().value_counts(name="total")
    last = words.list.last().drop_nulls().value_counts(name="last")
    prior = last["last"].sum() / max(every["total"].sum(), 1)
    name = words.name
    table = (
        every.join(last, on=name, how="left")
        .with_columns(pl.col("last").fill_null(0))
        .with_columns(
            (-((pl.col("last") + 2 * prior) / (pl.col("total") + 2)).log()).alias("evidence")
        )
        .filter((pl.col("evidence") > params.end_floor) & (pl.col("total") >= params.min_count))
    )
    evidence = dict(zip(table[name].to_list(), table["evidence"].round(3).to_list(), strict=True))
    return {"n": words.len(), "words": evidence}


def end_word_evidence(
    pairs: pl.DataFrame, params: TruncationParams, ctx: Context, judge: np.ndarray
) -> np.ndarray:
    """Evidence that each output stops mid-sentence, from its last word (0 where unknown).

    Only the rows in the boolean mask ``judge`` are read (the others get 0); pairs still to
    learn are learned from all their rows.
    """
    models = ctx.stats.setdefault("truncation", {})
    key_series = pair_keys(pairs)
    keys = key_series.to_numpy()
    sizes = key_series.value_counts()
    counts = dict(zip(sizes["pair"].to_list(), sizes["count"].to_list(), strict=True))
    fit = [k for k, n in counts.items() if k not in models and n >= params.min_fit]
    if fit:  # every word of the outputs of the pairs to learn
        rows = pl.Series(np.isin(keys, fit))
        texts = pairs.select(pl.col("text").filter(rows).str.to_lowercase().str.extract_all(_WORD))
        for key in fit:
            models[key] = fit_end_words(texts["text"].filter(keys[rows] == key), params)
    judged = np.flatnonzero(judge)
    last = pairs["text"].gather(judged).str.extract(_LAST_WORD, 1).str.to_lowercase()
    evidence = np.zeros(pairs.height)
    empty: dict[str, float] = {}
    for i, key, word in zip(judged.tolist(), keys[judged].tolist(), last.to_list(), strict=True):
        if word is not None:
            evidence[i] = models.get(key, {}).get("words", empty).get(word, 0.0)
    return evidence


def _closing_share(
    pairs: pl.DataFrame,
    params: TruncationParams,
    ctx: Context,
    src_closed: np.ndarray,
    tgt_closed: np.ndarray,
) -> np.ndarray:
    """Per row, the share of its language pair's outputs that end a sentence with punctuation
    where the source does (learned with the end words; 1 for pairs too small to learn).

    Thai, Lao or Khmer end most sentences without punctuation, so there an open ending says
    little; in Latin-script news nearly every output whose source closes closes too.
    """
    models = ctx.stats.setdefault("truncation", {})
    keys = pair_keys(pairs).to_numpy()
    share = np.ones(pairs.height)
    for key in np.unique(keys).tolist():
        rows = keys == key
        model = models.get(key)
        if model is not None and "closes" not in model:
            both = rows & src_closed
            if both.sum() >= params.min_fit:
                model["closes"] = round(float(tgt_closed[both].mean()), 4)
        if model is not None and "closes" in model:
            share[rows] = model["closes"]
    return share


@register(
    "truncation",
    version="4",
    threshold=0.65,
    params=TruncationParams,
    learns=True,
)
def truncation(pairs: pl.DataFrame, params: TruncationParams, ctx: Context) -> Scores:
    """The output stops early: the engine hit its length limit, or the ending was lost.

    Score in [0, 1]: 1 when the engine reported truncation (``truncated`` column). Otherwise,
    for an output that does not end a sentence (final punctuation, possibly before closing
    quotes or brackets), the sum of: 0.5 when the source does end one (times the share of the
    pair's outputs that end one where their source does: Thai seldom ends with a full stop);
    up to 0.5 the shorter the output is than the pair's usual length ratio (robust z from 0 to
    -4, as learned by ``length_ratio``); ``end_weight`` per nat by which the output's last word
    exceeds ``end_floor`` as evidence of a cut (a word that rarely ends the pair's outputs, such
    as an article or a preposition, learned from the batch when a pair has ``min_fit`` rows). 0
    when the output ends a sentence. The default threshold 0.65 asks for more than a lost ending:
    human translators often end a segment with a comma when the sentence goes on in the next.
    """
    closed = _ENDS_SENTENCE
    ends = pairs.select(
        pl.col("source_text").str.strip_chars().str.contains(closed).alias("src_closed"),
        pl.col("text").str.strip_chars().str.contains(closed).alias("tgt_closed"),
        (pl.col("text").str.strip_chars().str.len_chars() > 0).alias("has_text"),
    )
    open_end = (~ends["tgt_closed"] & ends["has_text"]).to_numpy()
    src_closed = ends["src_closed"].to_numpy()
    z = length_z(pairs, LengthParams(), ctx)
    shortfall = np.clip(-np.nan_to_num(z, nan=0.0) / 4.0, 0.0, 1.0)
    evidence = end_word_evidence(pairs, params, ctx, open_end)  # learns the pair's end words
    closes = _closing_share(pairs, params, ctx, src_closed, ends["tgt_closed"].to_numpy())
    lost = np.where(open_end & src_closed, closes, 0.0)
    cut_word = params.end_weight * np.maximum(evidence - params.end_floor, 0.0)
    score = np.where(open_end, np.minimum(0.5 * lost + 0.5 * shortfall + cut_word, 1.0), 0.0)
    engine = np.zeros(len(score), dtype=bool)
    if "truncated" in pairs.columns:
        engine = pairs["truncated"].fill_null(False).to_numpy()
        score = np.where(engine, 1.0, score)

    def explain(i: int) -> str:
        if engine[i]:
            return "engine hit its length limit"
        text = pairs["text"][i].strip()
        source = "source ends a sentence, " if lost[i] else ""
        return (
            f"{source}output ends with {text[-12:]!r} (length z={z[i]:+.1f}, "
            f"last-word evidence {evidence[i]:.1f})"
        )

    return Scores(score, explain=explain)
