"""Detectors that also read cross-lingual sentence vectors (what the sentence means).

The model-free ``misalignment`` detector judges a pairing by tokens that survive translation
(names, numbers, word beginnings) and a word model learned from the batch; a translation that
shares none of them with its source (common in news: no names, no numbers) stays undecided.
Sentence vectors (:mod:`curate.text.sentence_vectors`, USE multilingual v3) see the meaning
instead: ``semantic_misalignment`` adds the vectors' cosine of each pair and its margin over the
best rival pairing in the batch (Artetxe & Schwenk 2019) to the same self-supervised classifier
(observed pairs against random re-pairings of the batch). The classifier is learned per language
pair, so a language the encoder knows poorly (en-ro: median cosine 0.21 against 0.8 for en-de on
news) simply gives these features less weight: no similarity bound is global. A pairing shifted
by one row shares its document's names and topic, so the classifier often passes it; the output's
gain in cosine with the previous or next row's source over its own (a robust z per language pair)
flags it. That reads the batch's row order: keep a document's segments in order.

``semantic_omission`` adds a leave-one-clause-out test to ``omission``: the source is cut at
clause separators (, ; : dashes, and their CJK and Arabic forms), and each clause in turn is
removed. A translation that left clause k out is closer to the source without k than to the
whole source, while removing a clause from the source of a complete translation lowers the
cosine (by about 0.06 on news). The gain, max over k of cos(source without k, output) -
cos(source, output), is judged as a robust z against the language pair's usual gain, beside the
length and word-model evidence of ``omission``; each usual value is fitted on the rows that are
not far out on the damaged side, so a batch of clean pairs is judged like a mixed one.

Each replaces its model-free counterpart while it runs (skip it to get that one back).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from curate.artifacts.detectors._robust import robust_fit
from curate.artifacts.detectors.crosslingual import (
    FEATURES,
    MisalignmentParams,
    _cached,
    fit_and_score,
)
from curate.artifacts.detectors.omission import OmissionParams, omission_evidence, robust_z
from curate.artifacts.detectors.similarity import Similarity
from curate.artifacts.frame import pair_keys
from curate.artifacts.registry import Context, Scores, register
from curate.text.sentence_vectors import DIMENSION, model_name, sentence_vectors


def vectors(texts: list[str], ctx: Context, threads: int = 1) -> np.ndarray:
    """Sentence vectors of ``texts``; each distinct text is encoded once per batch (the
    vectors are kept in ``ctx.cache`` for the other detectors of the batch)."""
    store: dict[str, np.ndarray] = ctx.cache.setdefault("sentence_vectors", {})
    missing = list(dict.fromkeys(t for t in texts if t not in store))
    if missing:
        store.update(zip(missing, sentence_vectors(missing, threads), strict=True))
    if not texts:
        return np.zeros((0, DIMENSION), np.float32)
    return np.stack([store[t] for t in texts])


@dataclass(frozen=True)
class SemanticMisalignmentParams(MisalignmentParams):
    #: Score per scale by which an output comes closer to a neighbouring row's source than to
    #: its own, beyond the language pair's usual (5/3: a neighbour z of 3 reaches 5).
    neighbour_weight: float = 5 / 3
    #: Lower bound of the neighbour gain's scale (cosine units).
    neighbour_min_scale: float = 0.01
    #: The usual neighbour gain is fitted after setting aside rows above this many scales.
    neighbour_trim: float = 3.0
    #: A neighbour's source must be closer to the output than its own by this much (cosine)
    #: to count at all (near-duplicate neighbours are not shifts).
    neighbour_min_gain: float = 0.05
    #: BLAS threads of the sentence encoder.
    threads: int = 1


def _sentence_features(
    pairs: pl.DataFrame,
    ctx: Context,
    params: SemanticMisalignmentParams,
    judged: np.ndarray,
    repaired: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cosine, margin) columns for the observed pairs and for the re-paired negatives, and each
    observed pair's neighbour gain (NaN where a pair has no neighbouring row)."""
    n = pairs.height
    own = np.full((n, 2), np.nan)
    neg = np.full((n, 2), np.nan)
    near = np.full(n, np.nan)
    keys = pair_keys(pairs).to_numpy()
    rng = np.random.default_rng(params.seed)
    sources, targets = pairs["source_text"].to_list(), pairs["text"].to_list()
    for key in np.unique(keys[judged]).tolist():
        rows = np.flatnonzero((keys == key) & judged)
        src = vectors([sources[i] for i in rows], ctx, params.threads)
        tgt = vectors([targets[i] for i in rows], ctx, params.threads)
        sim = Similarity(src, tgt, params.candidates, rng)
        own[rows] = np.c_[sim.margins(np.arange(len(rows)))]
        near[rows] = neighbour_gain(src, tgt)
        local = np.full(n, -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        partner = local[np.where(repaired[rows] >= 0, repaired[rows], 0)]
        if (repaired[rows] >= 0).all() and (partner >= 0).all():
            neg[rows] = np.c_[sim.margins(partner)]
    return own, neg, near


def neighbour_gain(src: np.ndarray, tgt: np.ndarray) -> np.ndarray:
    """Per row i: max(cos(source i-1, output i), cos(source i+1, output i)) - cos(source i,
    output i), for unit rows in batch order; NaN for a single row."""
    own = np.einsum("ij,ij->i", src, tgt)
    best = np.full(len(own), -np.inf)
    best[1:] = np.einsum("ij,ij->i", src[:-1], tgt[1:])  # the previous row's source
    best[:-1] = np.maximum(best[:-1], np.einsum("ij,ij->i", src[1:], tgt[:-1]))  # the next's
    return np.where(np.isfinite(best), best - own, np.nan)


def neighbour_z(
    keys: np.ndarray, near: np.ndarray, models: dict[str, Any], params: SemanticMisalignmentParams
) -> np.ndarray:
    """The neighbour gain as a robust z against its language pair's usual value (kept in each
    pair's classifier as ``neighbour``; fitted here where missing). 0 where unknown."""
    out = np.zeros(len(near))
    for key in np.unique(keys).tolist():
        rows = keys == key
        model = models.get(key)
        if model is None:
            continue
        if "neighbour" not in model:
            values = near[rows & ~np.isnan(near)]
            if len(values) < params.min_fit:
                continue
            med, scale = robust_fit(values, params.neighbour_min_scale, params.neighbour_trim)
            model["neighbour"] = {"median": med, "scale": scale}
        fit = model["neighbour"]
        out[rows] = (near[rows] - fit["median"]) / fit["scale"]
    return np.nan_to_num(out, nan=0.0)


@register(
    "semantic_misalignment",
    version="3",
    threshold=5.0,
    params=SemanticMisalignmentParams,
    model=model_name(),
    learns=True,
    replaces=("misalignment",),
)
def semantic_misalignment(
    pairs: pl.DataFrame, params: SemanticMisalignmentParams, ctx: Context
) -> Scores:
    """The output means something other than its source (shuffled or shifted pairing).

    Score: the larger of two. (1) The log-odds that the pair is a random re-pairing, under the
    per-language-pair classifier of ``misalignment`` with two more features: the pair's
    sentence-vector cosine and its margin over the best rival pairing in the batch. (2) For
    pairings shifted by a row, which the classifier (learned against random re-pairings) often
    takes for aligned, as they share the document's names and topic: ``neighbour_weight`` times
    the robust z, against the language pair's usual value, of how much closer the output comes
    to the source of the previous or next row of the batch than to its own (counted only where
    that is at least ``neighbour_min_gain`` in cosine, so near-duplicate rows pass). Flagged at
    5 or more (a neighbour z of 3: chosen on de, es, fr, ro, fa, ja, uk of
    ``benchmarks/artifacts_ntrex.py``, seeds 7, 13, 21, as the lowest that kept every such
    language under 0.5% of its clean pairs flagged, also in a batch of clean pairs only). NaN
    for pairs without a model (fewer than ``min_fit`` rows and none given). Replaces
    ``misalignment``.
    """
    models = ctx.stats.setdefault("semantic_misalignment", {})
    x, x_neg, repaired = _cached(pairs, ctx, params, models)
    judged = ~np.isnan(x[:, FEATURES.index("log_len")])
    own, neg, near = _sentence_features(pairs, ctx, params, judged, repaired)
    x, x_neg = np.c_[x, own], np.c_[x_neg, neg]
    keys = pair_keys(pairs).to_numpy()
    learn = ~np.isnan(x_neg[:, FEATURES.index("log_len")]) & ~np.isnan(neg[:, 0])
    log_odds = fit_and_score(keys, x, x_neg, learn, models, params)
    near_z = neighbour_z(keys, near, models, params)
    near_z[~(near >= params.neighbour_min_gain)] = 0.0
    score = np.where(
        np.isnan(log_odds), np.nan, np.maximum(log_odds, params.neighbour_weight * near_z)
    )

    def explain(i: int) -> str:
        sim, margin = own[i]
        return (
            f"looks re-paired (sentence cosine {sim:.2f}, margin over rivals {margin:+.2f}, "
            f"closer to a neighbouring row's source: z={near_z[i]:+.1f})"
        )

    return Scores(score, explain=explain)


#: Clause separators: , ; : followed by a space, their CJK and Arabic forms, spaced dashes.
_CLAUSE_CUT = re.compile(r"(?<=[,;:])\s+|(?<=[，、；：،؛])\s*|\s+[–—-]\s+")


def without_each_clause(text: str, max_clauses: int) -> list[str]:
    """``text`` with each of its clauses left out in turn ([] for one clause or too many)."""
    clauses = [c for c in _CLAUSE_CUT.split(text.strip()) if c]
    if not 2 <= len(clauses) <= max_clauses:
        return []
    return [" ".join(clauses[:k] + clauses[k + 1 :]) for k in range(len(clauses))]


def clause_gain(pairs: pl.DataFrame, ctx: Context, threads: int, max_clauses: int) -> np.ndarray:
    """Per pair: max over the source's clauses k of cos(source without k, output) minus
    cos(source, output); NaN for sources with one clause (or more than ``max_clauses``)."""
    sources, targets = pairs["source_text"].to_list(), pairs["text"].to_list()
    variants = [without_each_clause(s, max_clauses) for s in sources]
    rows = [i for i, v in enumerate(variants) if v]
    gain = np.full(pairs.height, np.nan)
    if not rows:
        return gain
    src = vectors([sources[i] for i in rows], ctx, threads)
    tgt = vectors([targets[i] for i in rows], ctx, threads)
    flat = [v for i in rows for v in variants[i]]
    owner = np.repeat(np.arange(len(rows)), [len(variants[i]) for i in rows])
    cut = vectors(flat, ctx, threads)
    own = np.einsum("ij,ij->i", src, tgt)
    best = np.full(len(rows), -np.inf)
    np.maximum.at(best, owner, np.einsum("ij,ij->i", cut, tgt[owner]))
    gain[rows] = best - own
    return gain


@dataclass(frozen=True)
class SemanticOmissionParams(OmissionParams):
    #: Weight of the gap z (overrides ``omission``'s).
    gap_weight: float = 0.5
    #: Weight of the clause gain z.
    gain_weight: float = 1.0
    #: Lower bound of the gain's scale (cosine units).
    gain_min_scale: float = 0.01
    #: Lower bound of the scale of the (already standardised) length z.
    shortfall_min_scale: float = 0.1
    #: Each piece of evidence is fitted after setting aside the rows more than this many scales
    #: on its damaged side (one trimming step).
    trim: float | None = 3.0
    #: The output must be at least this many scales shorter than usual to be judged at all.
    min_shortfall: float = 1.5
    #: No piece of evidence counts for more than this (so none flags a pair on its own).
    cap: float = 4.0
    #: Sources with more clauses than this are not cut (each clause costs one encoding).
    max_clauses: int = 8
    #: BLAS threads of the sentence encoder.
    threads: int = 1


@register(
    "semantic_omission",
    version="3",
    threshold=5.0,
    params=SemanticOmissionParams,
    model=model_name(),
    learns=True,
    replaces=("omission",),
)
def semantic_omission(pairs: pl.DataFrame, params: SemanticOmissionParams, ctx: Context) -> Scores:
    """Part of the source is missing from the output, with a leave-one-clause-out test.

    Three pieces of evidence, each a robust z against the language pair's usual value: the
    output is shorter than usual (the ``length_ratio`` z, negated), source words lack a
    counterpart (the word model's gap, as in ``omission``), and the output's sentence vector
    comes closer to the source's when one source clause is left out (the clause gain). Each
    pair's usual value and spread are fitted after setting aside the rows more than ``trim``
    scales on the damaged side, so they are about the same in a batch of clean pairs and in
    one with many damaged outputs (a plain fit widens with the damage, and a clean batch then
    had its own tail flagged: up to 2.2% of it at version 1).

    Score: 0 unless the output is at least ``min_shortfall`` scales shorter than usual;
    otherwise shortfall + ``gap_weight`` * gap z + ``gain_weight`` * gain z (positive parts,
    each capped at ``cap``, so no piece flags alone). Flagged at 5 or more: chosen with
    ``benchmarks/artifacts_ntrex.py`` (seeds 7, 13, 21) on de, es, fr, ro, fa, ja, uk as the
    best macro F1 at which no such language has more than 0.5% of its clean NTREX pairs flagged,
    both in a batch with 30% corrupted pairs and in a batch of clean pairs only. NaN for pairs
    without a length model. Replaces ``omission``.
    """
    models: dict[str, Any] = ctx.stats.setdefault("semantic_omission", {})
    z, gap_z = omission_evidence(pairs, params, ctx, models.setdefault("gap", {}))
    keys = pair_keys(pairs).to_numpy()
    judged = np.isin(keys, [k for k in np.unique(keys).tolist() if k in ctx.stats["length_ratio"]])
    gain = np.full(pairs.height, np.nan)
    if judged.any():
        gain[judged] = clause_gain(pairs.filter(judged), ctx, params.threads, params.max_clauses)
    gain_params = dataclasses.replace(params, min_scale=params.gain_min_scale)
    gain_z = robust_z(keys, gain, models.setdefault("gain", {}), gain_params)
    short_params = dataclasses.replace(params, min_scale=params.shortfall_min_scale)
    short_z = robust_z(keys, -z, models.setdefault("shortfall", {}), short_params)
    pieces = [np.clip(v, 0.0, params.cap) for v in (short_z, gap_z, gain_z)]
    score = pieces[0] + params.gap_weight * pieces[1] + params.gain_weight * pieces[2]
    score = np.where(pieces[0] >= params.min_shortfall, score, 0.0)
    score[np.isnan(z)] = np.nan

    def explain(i: int) -> str:
        return (
            f"output shorter than usual (shortfall z={short_z[i]:+.1f}), source words uncovered "
            f"(gap z={gap_z[i]:+.1f}), closer to the source without one clause "
            f"(gain z={gain_z[i]:+.1f})"
        )

    return Scores(score, explain=explain)
