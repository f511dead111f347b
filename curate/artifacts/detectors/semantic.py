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

It replaces ``misalignment`` while it runs (skip it to get the model-free detector back).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.artifacts.detectors.crosslingual import (
    FEATURES,
    MisalignmentParams,
    Similarity,
    _cached,
    _logit,
    fit_misalignment,
)
from curate.artifacts.frame import pair_keys
from curate.artifacts.registry import Context, Scores, register
from curate.text.sentence_vectors import DIMENSION, model_name, sentence_vectors

SEMANTIC_FEATURES = (*FEATURES, "sent_sim", "sent_margin")


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
    if learn.any():
        models.update(fit_misalignment(keys[learn], x[learn], x_neg[learn], params))
    score = np.full(pairs.height, np.nan)
    for key, model in models.items():
        rows = keys == key
        if rows.any():
            score[rows] = -_logit(model, x[rows])

    def explain(i: int) -> str:
        sim, margin = own[i]
        return f"looks re-paired (sentence cosine {sim:.2f}, margin over rivals {margin:+.2f})"

    return Scores(score, explain=explain)
