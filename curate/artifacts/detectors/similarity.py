"""Similarity of a batch's sources to its outputs, and how much better each pairing is than its
rivals.

:func:`tfidf_rows` turns both sides' token lists into TF-IDF rows over one shared vocabulary
(scikit-learn's ``TfidfVectorizer``); :class:`Similarity` takes any L2-normalised rows (those, or
sentence vectors) and gives each pairing its cosine and its margin over the best rival pairing.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer


def tfidf_rows(src: list[list[str]], tgt: list[list[str]]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """L2-normalised TF-IDF rows of both sides' token lists (each list holds distinct tokens),
    over one vocabulary whose document frequencies count both sides' rows as documents.

    The idf is ln((1 + documents) / (1 + document frequency)): scikit-learn's smoothed idf less
    the 1 it adds, so a token found on every row weighs nothing, as in the margin criterion's
    use of TF-IDF for bitext (a token every row shares tells no pairing from another).
    """
    documents = src + tgt
    if not any(documents):  # no tokens on either side: an empty vocabulary
        rows = sp.csr_matrix((len(documents), 1))
    else:
        vectorizer = TfidfVectorizer(analyzer=_as_is, binary=True, lowercase=False)
        vectorizer.fit(documents)
        vectorizer.idf_ = vectorizer.idf_ - 1.0
        rows = vectorizer.transform(documents).tocsr()
    return rows[: len(src)], rows[len(src) :]


def _as_is(tokens: list[str]) -> list[str]:
    return tokens


Rows = sp.csr_matrix | np.ndarray


def _rowwise(a: Rows, b: Rows) -> np.ndarray:
    if isinstance(a, np.ndarray):
        return np.einsum("ij,ij->i", a, b).astype(np.float64)
    return np.asarray(a.multiply(b).sum(axis=1)).ravel()


def _dense(m: Rows) -> np.ndarray:
    return m if isinstance(m, np.ndarray) else m.toarray()


def _top2(m: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: position of the largest value, the largest value, the second largest."""
    rows = np.arange(m.shape[0])
    arg = m.argmax(axis=1)
    best = m[rows, arg].copy()
    if m.shape[1] < 2:
        return arg, best, np.zeros_like(best)
    m[rows, arg] = -np.inf
    second = m.max(axis=1)
    m[rows, arg] = best
    return arg, best, second


class Similarity:
    """Cosine similarities between a batch's sources and targets, and pairings' margins.

    A pairing gives each source ``i`` a ``partner`` target. Its margin is its similarity minus
    the best rival: any candidate target (other than the partner) for the source, or any
    candidate source (other than ``i``) for the partner target, so it is negative when the
    pairing is not the best match it could be (the margin criterion of Artetxe & Schwenk 2019).
    Rivals are every row for batches up to ``candidates`` rows (one dense n x n product serves
    every pairing), otherwise a random sample of that many rows plus the two rows on either
    side of ``i`` (misaligned corpora are often shifted by a line). The rows are L2-normalised
    vectors, sparse (TF-IDF) or dense (sentence vectors).
    """

    def __init__(self, src: Rows, tgt: Rows, candidates: int, rng: np.random.Generator) -> None:
        self.src, self.tgt = src, tgt
        n = src.shape[0]
        self.full = n <= candidates
        if self.full:
            self.m = _dense(src @ tgt.T).astype(np.float32)
            # best and second-best rival per row (targets) and per column (sources)
            self.row_arg, self.row_best, self.row_second = _top2(self.m)
            self.col_arg, self.col_best, self.col_second = _top2(
                _dense(tgt @ src.T).astype(np.float32)
            )
        else:
            self.candidates = rng.choice(n, candidates, replace=False)

    def margins(self, partner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Similarity of each source to its partner target, and that minus the best rival."""
        n = len(partner)
        local = np.arange(n)
        if self.full:
            own = self.m[local, partner]
            rival_t = np.where(self.row_arg == partner, self.row_second, self.row_best)
            rival_s = np.where(
                self.col_arg[partner] == local, self.col_second[partner], self.col_best[partner]
            )
            best = np.maximum(np.maximum(rival_t, rival_s), 0.0)
            return own, own - best
        src, tgt, candidates = self.src, self.tgt, self.candidates
        own = _rowwise(src, tgt[partner])
        best = np.zeros(n)
        for shift in (-2, -1, 1, 2):
            other = np.roll(local, shift)
            best = np.maximum(best, np.where(other != partner, _rowwise(src, tgt[other]), 0.0))
            best = np.maximum(
                best, np.where(other != local, _rowwise(src[other], tgt[partner]), 0.0)
            )
        tgt_c, src_c = tgt[candidates], src[candidates]
        for lo in range(0, n, 2048):
            rows = np.arange(lo, min(lo + 2048, n))
            s_vs_c = _dense(src[rows] @ tgt_c.T)
            c_vs_t = _dense(src_c @ tgt[partner[rows]].T).T
            s_vs_c[candidates[None, :] == partner[rows, None]] = 0.0
            c_vs_t[candidates[None, :] == rows[:, None]] = 0.0
            best[rows] = np.maximum(best[rows], np.maximum(s_vs_c.max(axis=1), c_vs_t.max(axis=1)))
        return own, own - best
