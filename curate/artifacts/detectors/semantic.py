"""Detectors that also read cross-lingual sentence vectors (what the sentence means).

The model-free ``misalignment`` detector judges a pairing by tokens that survive translation
(names, numbers, word beginnings) and a word model learned from the batch; a translation that
shares none of them with its source (common in news: no names, no numbers) stays undecided.
Sentence vectors (:mod:`curate.text.sentence_vectors`, USE multilingual v3) see the meaning
instead: ``semantic_misalignment`` adds the vectors' cosine of each pair and its margin over the
best rival pairing in the batch (Artetxe & Schwenk 2019) to the same self-supervised classifier
(observed pairs against random re-pairings of the batch). The classifier is learned per language
pair, so a language the encoder knows poorly (en-ro: median cosine 0.21 against 0.8 for en-de on
news) simply gives these features less weight: no similarity bound is global.

``semantic_omission`` adds a leave-one-clause-out test to ``omission``: the source is cut at
clause separators (, ; : dashes, and their CJK and Arabic forms), and each clause in turn is
removed. A translation that left clause k out is closer to the source without k than to the
whole source, while removing a clause from the source of a complete translation lowers the
cosine (by about 0.06 on news). The gain, max over k of cos(source without k, output) -
cos(source, output), is judged as a robust z against the language pair's usual gain.

Each replaces its model-free counterpart while it runs (skip it to get that one back).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from curate.artifacts.detectors.crosslingual import (
    FEATURES,
    MisalignmentParams,
    Similarity,
    _cached,
    fit_and_score,
)
from curate.artifacts.detectors.omission import OmissionParams, omission_evidence, robust_z
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
    #: BLAS threads of the sentence encoder.
    threads: int = 1


def _sentence_features(
    pairs: pl.DataFrame,
    ctx: Context,
    params: SemanticMisalignmentParams,
    judged: np.ndarray,
    repaired: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(cosine, margin) columns for the observed pairs and for the re-paired negatives."""
    n = pairs.height
    own = np.full((n, 2), np.nan)
    neg = np.full((n, 2), np.nan)
    keys = pair_keys(pairs).to_numpy()
    rng = np.random.default_rng(params.seed)
    sources, targets = pairs["source_text"].to_list(), pairs["text"].to_list()
    for key in np.unique(keys[judged]).tolist():
        rows = np.flatnonzero((keys == key) & judged)
        src = vectors([sources[i] for i in rows], ctx, params.threads)
        tgt = vectors([targets[i] for i in rows], ctx, params.threads)
        sim = Similarity(src, tgt, params.candidates, rng)
        own[rows] = np.c_[sim.margins(np.arange(len(rows)))]
        local = np.full(n, -1, dtype=np.int64)
        local[rows] = np.arange(len(rows))
        partner = local[np.where(repaired[rows] >= 0, repaired[rows], 0)]
        if (repaired[rows] >= 0).all() and (partner >= 0).all():
            neg[rows] = np.c_[sim.margins(partner)]
    return own, neg


@register(
    "semantic_misalignment",
    version="1",
    threshold=5.0,
    params=SemanticMisalignmentParams,
    model=model_name(),
    learns=True,
    replaces=("misalignment",),
)
def semantic_misalignment(
    pairs: pl.DataFrame, params: SemanticMisalignmentParams, ctx: Context
) -> Scores:
    """The output means something other than its source (shuffled pairing), by sentence vectors.

    Score: log-odds that the pair is a random re-pairing, under the per-language-pair classifier
    of ``misalignment`` with two more features: the pair's sentence-vector cosine and its margin
    over the best rival pairing in the batch. Flagged at 5 or more. NaN for pairs without a
    model (fewer than ``min_fit`` rows and none given). Replaces ``misalignment``.
    """
    models = ctx.stats.setdefault("semantic_misalignment", {})
    x, x_neg, repaired = _cached(pairs, ctx, params, models)
    judged = ~np.isnan(x[:, FEATURES.index("log_len")])
    own, neg = _sentence_features(pairs, ctx, params, judged, repaired)
    x, x_neg = np.c_[x, own], np.c_[x_neg, neg]
    keys = pair_keys(pairs).to_numpy()
    learn = ~np.isnan(x_neg[:, FEATURES.index("log_len")]) & ~np.isnan(neg[:, 0])
    score = fit_and_score(keys, x, x_neg, learn, models, params)

    def explain(i: int) -> str:
        sim, margin = own[i]
        return f"looks re-paired (sentence cosine {sim:.2f}, margin over rivals {margin:+.2f})"

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
    #: Weight of the clause gain z (added to the ``omission`` score).
    gain_weight: float = 0.5
    #: Lower bound of the gain's scale (cosine units).
    gain_min_scale: float = 0.01
    #: Sources with more clauses than this are not cut (each clause costs one encoding).
    max_clauses: int = 8
    #: BLAS threads of the sentence encoder.
    threads: int = 1


@register(
    "semantic_omission",
    version="1",
    threshold=3.5,
    params=SemanticOmissionParams,
    model=model_name(),
    learns=True,
    replaces=("omission",),
)
def semantic_omission(pairs: pl.DataFrame, params: SemanticOmissionParams, ctx: Context) -> Scores:
    """Part of the source is missing from the output, with a leave-one-clause-out test.

    Score: the ``omission`` score (shorter than usual, source words without a counterpart) +
    ``gain_weight`` * max(0, gain z), where the gain is how much closer the output's sentence
    vector comes to the source's when one source clause is left out, as a robust z against the
    language pair's usual gain. Flagged at 3.5 or more: the lowest threshold at which no language
    of de, es, fr, ro, fa, ja, uk has more than 0.5% of its clean NTREX pairs flagged in a batch
    with 30% corrupted pairs (``benchmarks/artifacts_ntrex.py``). A batch of clean pairs only has
    a narrower usual spread, and 3.5 flags up to 2.2% of it (``--clean``; 5.5 would keep it under
    0.5% but misses most left-out clauses). Replaces ``omission``.
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
    score = (
        np.maximum(-z, 0.0)
        + params.gap_weight * np.maximum(gap_z, 0.0)
        + params.gain_weight * np.maximum(gain_z, 0.0)
    )

    def explain(i: int) -> str:
        return (
            f"output shorter than usual (length z={z[i]:+.1f}), source words uncovered "
            f"(gap z={gap_z[i]:+.1f}), closer to the source without one clause "
            f"(gain z={gain_z[i]:+.1f})"
        )

    return Scores(score, explain=explain)
