"""A word translation model learned from the batch itself, and what it says about each pair.

Per language pair, IBM Model 1 (Brown et al. 1993) is trained by EM in both directions on the
batch's own pairs: ``p(source word | target word)`` and ``p(target word | source word)``, each
with a NULL word. Words are lower-cased and cut to their first ``prefix`` characters (a cheap
stemmer for small data); characters of unspaced scripts (CJK, Thai, ...) are words. Everything
is vectorised with numpy over the (source token, target token) products of all pairs: no
per-pair Python. A source token counts as *covered* by a target side when the same word
beginning occurs there, or when the best target token explains it under either direction; its
coverage is that best probability.

Per pair (:class:`LexicalFeatures`):

* ``coverage``: mean coverage of the source tokens, each relative to what is usual for its word
  (a word whose translation is always found weighs more than a function word that is often left
  out);
* ``gap``: the largest sum, over a contiguous stretch of source tokens, of the usually-covered
  weight that is missing here, less a small penalty per token (a maximum-subarray sum). A clause
  that the translation left out is such a stretch; scattered misses are not;
* ``src_logprob`` / ``tgt_logprob``: mean log-probability of each side's tokens given the other
  side (IBM-1 likelihood, per token).

The model is relearned on every batch (it needs a few hundred pairs per language pair to say
much) and can score any pairing of the batch's sources and targets, so the misalignment
detector can compare a pair with random re-pairings. Pairs with more than ``max_tokens`` tokens
on a side are not scored (NaN): the product of the sides grows quadratically.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.artifacts.frame import pair_keys
from curate.artifacts.registry import Context

_UNSPACED = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_TOKEN = rf"[{_UNSPACED}]|[\p{{L}}\p{{N}}\p{{M}}]+"
_ROW_OFFSET = 1e9


@dataclass(frozen=True)
class LexicalParams:
    #: Rows a language pair needs in the batch before its word model is learned (with fewer,
    #: IBM-1 on half of them says little and only adds noise).
    min_fit: int = 500
    #: Words are cut to this many characters (0 keeps whole words).
    prefix: int = 4
    #: EM iterations per direction.
    iterations: int = 8
    #: Words found in more than this share of a side's texts are left out (function words).
    max_share: float = 0.3
    #: Pairs with more tokens than this on either side are not scored.
    max_tokens: int = 150
    #: Per-token penalty of the ``gap`` stretch (in units of a word's usual coverage).
    gap_penalty: float = 0.15
    #: Rows per model: a language pair with more rows gets one model per block of rows.
    max_rows: int = 5000
    #: Cross-fitting: each of this many random parts is judged by tables learned on the rest.
    folds: int = 2
    seed: int = 0


@dataclass
class LexicalFeatures:
    """Per-pair lexical evidence; NaN for pairs the model did not score."""

    coverage: np.ndarray
    gap: np.ndarray
    src_logprob: np.ndarray
    tgt_logprob: np.ndarray

    @classmethod
    def empty(cls, n: int) -> LexicalFeatures:
        return cls(*(np.full(n, np.nan) for _ in range(4)))

    def put(self, rows: np.ndarray, other: LexicalFeatures) -> None:
        """Set ``rows`` to ``other``'s values (``other`` has one value per row in ``rows``)."""
        for name in ("coverage", "gap", "src_logprob", "tgt_logprob"):
            getattr(self, name)[rows] = getattr(other, name)

    def put_mask(self, mask: np.ndarray, other: LexicalFeatures) -> None:
        """Set the masked rows to ``other``'s values at the same rows."""
        for name in ("coverage", "gap", "src_logprob", "tgt_logprob"):
            getattr(self, name)[mask] = getattr(other, name)[mask]


@dataclass
class _Side:
    """Tokens of one side of a group of pairs: type ids, row of each token, token counts."""

    ids: np.ndarray
    row: np.ndarray
    start: np.ndarray
    count: np.ndarray
    vocab: int


def _sides(texts: pl.DataFrame, prefix: int, max_share: float) -> tuple[_Side, _Side]:
    """Tokenise both sides (one polars pass) and give each word beginning an integer id.

    Words found in more than ``max_share`` of a side's texts (articles, prepositions...) are
    left out: they say little about coverage and dominate the size of the products.
    """
    word = pl.element().str.slice(0, prefix) if prefix > 0 else pl.element()
    tokens = texts.select(
        pl.col(c).str.to_lowercase().str.extract_all(_TOKEN).list.eval(word).alias(c)
        for c in ("source_text", "text")
    ).with_row_index("r")
    n = texts.height
    long = [
        tokens.select("r", pl.col(c).alias("w"))
        .explode("w")
        .drop_nulls("w")
        .filter(pl.col("r").n_unique().over("w") <= max(max_share * n, 1))
        for c in ("source_text", "text")
    ]
    # one vocabulary for both sides, so identical word beginnings share an id
    vocab, inverse = np.unique(
        np.concatenate([long[0]["w"].to_numpy(), long[1]["w"].to_numpy()]), return_inverse=True
    )
    split = long[0].height
    out = []
    for side, ids in zip(long, (inverse[:split], inverse[split:]), strict=True):
        row = side["r"].to_numpy().astype(np.int64)
        count = np.bincount(row, minlength=n)
        start = np.r_[0, np.cumsum(count)[:-1]]
        out.append(_Side(ids.astype(np.int64), row, start, count, len(vocab)))
    return out[0], out[1]


def _products(src: _Side, tgt: _Side, partner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (source token, target token) of each source row and its partner target row."""
    per_token = tgt.count[partner[src.row]]
    si = np.repeat(np.arange(len(src.ids)), per_token)
    offset = np.arange(len(si)) - np.repeat(np.cumsum(per_token) - per_token, per_token)
    tj = tgt.start[partner[src.row[si]]] + offset
    return si, tj


class _Tables:
    """IBM-1 tables learned from some pairs: both directions share one set of cells, the
    (source type, target type) combinations that occur in a training pair; NULL is dense."""

    def __init__(self, si: np.ndarray, tj: np.ndarray, src: _Side, tgt: _Side, params) -> None:
        self.width = src.vocab
        self.cells, cell = np.unique(src.ids[si] * self.width + tgt.ids[tj], return_inverse=True)
        cell_s, cell_t = self.cells // self.width, self.cells % self.width
        s_tok, t_tok = np.unique(si), np.unique(tj)
        self.s_given_t, self.s_null = _em(
            si, cell, cell_t, src.ids, s_tok, src.vocab, params.iterations
        )
        self.t_given_s, self.t_null = _em(
            tj, cell, cell_s, tgt.ids, t_tok, src.vocab, params.iterations
        )

    def cells_of(self, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        """Cell of each (source type, target type); -1 where they never met in training."""
        needles, inverse = np.unique(s * self.width + t, return_inverse=True)
        if len(self.cells) == 0:
            return np.full(len(s), -1)
        pos = np.minimum(np.searchsorted(self.cells, needles), len(self.cells) - 1)
        return np.where(self.cells[pos] == needles, pos, -1)[inverse]


class LexicalModel:
    """Word translation models of one language pair, cross-fitted (see the module docstring).

    The rows are split into ``folds`` random parts; each part is judged by IBM-1 tables learned
    from the other parts, so that a pair is never judged by a model that memorised it (IBM-1
    explains any pair it was trained on, shuffled or not, through its rare words).
    """

    def __init__(self, texts: pl.DataFrame, params: LexicalParams) -> None:
        self.params = params
        self.src, self.tgt = _sides(texts, params.prefix, params.max_share)
        n = texts.height
        self.judged = (self.src.count <= params.max_tokens) & (self.tgt.count <= params.max_tokens)
        rng = np.random.default_rng(params.seed)
        self.fold = rng.permutation(n) % params.folds
        identity = np.arange(n)
        self.tables: list[_Tables] = []
        self.usual: list[np.ndarray] = []
        self._own: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for f in range(params.folds):
            si, tj = self._candidates(identity, self.fold != f)
            tables = _Tables(si, tj, self.src, self.tgt, params)
            self.tables.append(tables)
            # how well each source word is usually covered, on the rows these tables judge
            si, tj = self._candidates(identity, self.fold == f)
            cell = tables.cells_of(self.src.ids[si], self.tgt.ids[tj])
            self._own.append((si, tj, cell))
            cover = self._token_coverage(tables, si, tj, cell)
            held = np.flatnonzero((self.fold == f)[self.src.row] & self.judged[self.src.row])
            ids = self.src.ids[held]
            total = np.bincount(ids, cover[held], minlength=self.src.vocab)
            self.usual.append(total / np.maximum(np.bincount(ids, minlength=self.src.vocab), 1))

    def _candidates(self, partner: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(source token, target token) products of the selected source rows and partners."""
        si, tj = _products(self.src, self.tgt, partner)
        row = self.src.row[si]
        keep = rows[row] & self.judged[row] & self.judged[partner[row]]
        return si[keep], tj[keep]

    def _token_coverage(
        self, tables: _Tables, si: np.ndarray, tj: np.ndarray, cell: np.ndarray
    ) -> np.ndarray:
        s, t = self.src.ids[si], self.tgt.ids[tj]
        known = cell >= 0
        safe = np.where(known, cell, 0)
        best = np.where(known, np.maximum(tables.s_given_t[safe], tables.t_given_s[safe]), 0.0)
        best = np.where(s == t, 1.0, best)  # the same word beginning on both sides
        cover = np.zeros(len(self.src.ids))
        np.maximum.at(cover, si, best)
        return cover

    def features(self, partner: np.ndarray | None = None) -> LexicalFeatures:
        """Features of each source row paired with target row ``partner[row]`` (default: own).

        ``partner`` must be a permutation of the rows.
        """
        n = len(self.src.count)
        own = partner is None
        partner = np.arange(n) if partner is None else partner
        out = LexicalFeatures.empty(n)
        for f, tables in enumerate(self.tables):
            if own:
                si, tj, cell = self._own[f]
            else:
                si, tj = self._candidates(partner, self.fold == f)
                cell = tables.cells_of(self.src.ids[si], self.tgt.ids[tj])
            features = self._features(tables, self.usual[f], partner, f, si, tj, cell)
            out.put_mask(self.fold == f, features)
        return out

    def _features(
        self,
        tables: _Tables,
        usual: np.ndarray,
        partner: np.ndarray,
        fold: int,
        si: np.ndarray,
        tj: np.ndarray,
        cell: np.ndarray,
    ) -> LexicalFeatures:
        n = len(self.src.count)
        src, tgt = self.src, self.tgt
        judged = (self.fold == fold) & self.judged & self.judged[partner]
        cover = self._token_coverage(tables, si, tj, cell)
        tok_ok = judged[src.row]
        weight = np.where(tok_ok, usual[src.ids], 0.0)
        found = np.minimum(cover / np.maximum(weight, 1e-3), 1.0) * weight
        coverage = np.bincount(src.row, found, minlength=n) / np.maximum(
            np.bincount(src.row, weight, minlength=n), 1e-9
        )
        # maximum-subarray sum of (missing usual weight - penalty) over each row's tokens
        value = np.where(tok_ok, weight - found - self.params.gap_penalty, 0.0)
        after = np.cumsum(value)
        before = after - value
        shifted = src.row * _ROW_OFFSET
        lowest = np.minimum.accumulate(before - shifted) + shifted
        gap = np.zeros(n)
        np.maximum.at(gap, src.row, after - lowest)
        # IBM-1 likelihood per token, both directions (NULL included)
        known = cell >= 0
        safe = np.where(known, cell, 0)
        p_s = np.bincount(si, np.where(known, tables.s_given_t[safe], 0.0), minlength=len(src.ids))
        p_s = (p_s + tables.s_null[src.ids]) / (tgt.count[partner[src.row]] + 1)
        t_rows = np.empty(n, dtype=np.int64)  # the source row each target row is paired with
        t_rows[partner] = np.arange(n)
        p_t = np.bincount(tj, np.where(known, tables.t_given_s[safe], 0.0), minlength=len(tgt.ids))
        p_t = (p_t + tables.t_null[tgt.ids]) / (src.count[t_rows[tgt.row]] + 1)
        src_lp = _row_mean(np.log(np.maximum(p_s, 1e-12)), src.row, n, tok_ok)
        tgt_ok = judged[t_rows[tgt.row]]
        tgt_lp = _row_mean(np.log(np.maximum(p_t, 1e-12)), t_rows[tgt.row], n, tgt_ok)
        out = LexicalFeatures(coverage, gap, src_lp, tgt_lp)
        has_both = judged & (src.count > 0) & (tgt.count[partner] > 0)
        for name in ("coverage", "gap", "src_logprob", "tgt_logprob"):
            getattr(out, name)[~has_both] = np.nan
        return out


def _em(
    tok: np.ndarray,
    cell: np.ndarray,
    cell_given: np.ndarray,
    ids: np.ndarray,
    null_tok: np.ndarray,
    vocab: int,
    iterations: int,
) -> tuple[np.ndarray, np.ndarray]:
    """IBM-1 EM for p(word | other-side word) over shared cells, with a NULL word.

    ``tok``: the generated token of each candidate; ``cell``: its cell; ``cell_given``: the
    conditioning type of each cell; ``ids``: type of every generated-side token; ``null_tok``:
    the tokens that may come from NULL (those of judged rows). Returns (cell values, NULL row).
    """
    value = np.ones(len(cell_given))
    null = np.full(vocab, 1.0 / max(vocab, 1))
    n_tok = len(ids)
    null_ids = ids[null_tok]
    for _ in range(iterations):
        q = value[cell]
        norm = np.bincount(tok, q, minlength=n_tok).astype(np.float64)
        norm[null_tok] += null[null_ids]
        norm = np.maximum(norm, 1e-300)
        counts = np.bincount(cell, q / norm[tok], minlength=len(value))
        value = (
            counts
            / np.maximum(np.bincount(cell_given, counts, minlength=vocab), 1e-300)[cell_given]
        )
        null_counts = np.bincount(null_ids, null[null_ids] / norm[null_tok], minlength=vocab)
        null = null_counts / max(null_counts.sum(), 1e-300)
    return value, null


def _row_mean(values: np.ndarray, row: np.ndarray, n: int, keep: np.ndarray) -> np.ndarray:
    total = np.bincount(row[keep], values[keep], minlength=n)
    return total / np.maximum(np.bincount(row[keep], minlength=n), 1)


def blocks(n: int, params: LexicalParams) -> list[np.ndarray]:
    """Positions of each model's rows among a language pair's ``n`` rows (consecutive, even)."""
    if n < params.min_fit:
        return []
    return np.array_split(np.arange(n), -(-n // params.max_rows))


def lexical_models(
    pairs: pl.DataFrame, params: LexicalParams, ctx: Context
) -> dict[str, list[tuple[np.ndarray, LexicalModel]]]:
    """Models per language pair with at least ``min_fit`` rows: ``{pair: [(rows, model)]}``.

    A pair with more than ``max_rows`` rows gets one model per block of its rows (see
    :func:`blocks`), so memory stays bounded and a score means the same in any batch size.
    """
    cache_key = ("lexical_models", params)
    if cache_key in ctx.cache:
        return ctx.cache[cache_key]
    keys = pair_keys(pairs).to_numpy()
    texts = pairs.select("source_text", "text")
    models: dict[str, list[tuple[np.ndarray, LexicalModel]]] = {}
    for key in np.unique(keys).tolist():
        rows = np.flatnonzero(keys == key)
        for block in blocks(len(rows), params):
            models.setdefault(key, []).append(
                (rows[block], LexicalModel(texts[rows[block]], params))
            )
    ctx.cache[cache_key] = models
    return models


def lexical_features(pairs: pl.DataFrame, params: LexicalParams, ctx: Context) -> LexicalFeatures:
    """Features of the observed pairs (NaN for language pairs with too few rows)."""
    cache_key = ("lexical_features", params)
    if cache_key in ctx.cache:
        return ctx.cache[cache_key]
    out = LexicalFeatures.empty(pairs.height)
    for models in lexical_models(pairs, params, ctx).values():
        for rows, model in models:
            out.put(rows, model.features())
    ctx.cache[cache_key] = out
    return out
