"""SimAlign (Jalili Sabet et al. 2020) with the encoder run in padded batches.

``simalign.SentenceAligner`` embeds one sentence pair per model call, which leaves most of a
CPU's or GPU's throughput unused. This module embeds every distinct sentence of a batch of pairs
in length-sorted, padded batches (on CUDA when torch sees a GPU), then applies simalign's own
similarity and matching code per pair, so for inputs within the encoder's length limit the
links equal ``SentenceAligner.get_word_aligns`` for the same model, layer and options.

Matching methods (simalign's letters in brackets): ``argmax`` [a] (links that are the argmax
of both their row and column), ``itermax`` [i], ``match`` [m] (maximum-weight bipartite
matching; solved with scipy's ``linear_sum_assignment``, which finds the same optimum as
simalign's networkx call, and much faster), ``fwd`` [f] and ``rev`` [r].

Layers past the one simalign reads are not computed (BERT-family encoders only, where the
state after layer k does not depend on later layers): with mBERT's usual layer 8 of 12 that
saves a third of the work and changes no output.

Inputs longer than the encoder's limit are cut into consecutive windows at word boundaries,
each embedded with its own special tokens, and the vectors joined; simalign itself silently
truncates, leaving the tail unaligned. Sentences are tokenised once, whole; only those over the
limit are re-encoded window by window.

Batches are length-sorted and cut to minimise padding plus a fixed cost per batch (filling
each batch to ``batch_tokens`` instead padded 17% of the tokens of 300 news sentences).

During a call numpy's BLAS (the similarity matrices) runs on torch's thread count
(threadpoolctl), so ``torch.set_num_threads`` governs both; left at its default, OpenBLAS ran
two threads on tiny matrices beside torch's one and, on a shared machine, took 1.6 s of the
150-pair benchmark instead of 0.05 s.

On a CPU the work is almost all float32 matrix products in the encoder's linear layers (about
80% of the time with MiniLM). Running them through numpy's OpenBLAS instead of torch's MKL was
tried on an AMD EPYC (AVX2) and gave nothing: at equal thread counts both ran a
(2048 x 384) @ (384 x 1536) product at 50-70 GFLOP/s (an earlier figure of 91-107 GFLOP/s for
numpy came from OpenBLAS running two threads against torch's one). That rate bounds the CPU
path: MiniLM's 4 kept layers cost 14 MFLOP per token, 300 news sentences are 13,300 padded
tokens, so about 3 s of products at one thread however the rest is arranged.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from curate.align.registry import Link, TokenPair, register_aligner

VERSION = "v1"
MATCHING_METHODS = ("argmax", "itermax", "match", "fwd", "rev")


@dataclass(frozen=True)
class SimAlignConfig:
    """Options of the batched simalign aligner."""

    model: str = "bert-base-multilingual-cased"  # local directory (or Hub id when reachable)
    layer: int = 8
    matching: str = "itermax"
    token_type: str = "bpe"  # "bpe": align subwords, then map to words; "word": average first
    distortion: float = 0.0
    device: str = "auto"  # "auto" picks CUDA when available
    #: padded subword tokens per encoder call; default 2048 on CPU (cache-friendly, measured
    #: fastest here), 16384 on CUDA
    batch_tokens: int | None = None
    max_length: int | None = None  # encoder limit; default from the tokenizer/model

    def __post_init__(self) -> None:
        if self.matching not in MATCHING_METHODS:
            raise ValueError(f"matching must be one of {MATCHING_METHODS}, not {self.matching!r}")
        if self.token_type not in ("bpe", "word"):
            raise ValueError("token_type must be 'bpe' or 'word'")
        if self.layer < 0:
            raise ValueError("layer must be >= 0")


def similarity(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """simalign's ``get_similarity``, ``(cosine + 1) / 2``, with the same arithmetic.

    simalign calls scikit-learn's ``cosine_similarity``, whose per-call input validation cost
    more than the alignment itself on short sentences; these are the operations it performs
    (row L2 norms by einsum, near-zero norms set to 1, in-place division, one matrix product),
    so the values are the same bit for bit (a test compares them).
    """
    x_unit = _unit_rows(x)
    y_unit = x_unit if y is x else _unit_rows(y)
    return (x_unit @ y_unit.T + 1.0) / 2.0


def _unit_rows(x: np.ndarray) -> np.ndarray:
    x = np.array(x, dtype=x.dtype if x.dtype in (np.float32, np.float64) else np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", x, x))
    norms[norms < 10 * np.finfo(norms.dtype).eps] = 1.0
    x /= norms[:, None]
    return x


def match_links(sim: np.ndarray, method: str) -> np.ndarray:
    """A 0/1 link matrix from a similarity matrix, with simalign's matching code."""
    from simalign import SentenceAligner

    if method == "argmax":
        fwd, rev = SentenceAligner.get_alignment_matrix(sim)
        return fwd * rev
    if method == "fwd":
        return SentenceAligner.get_alignment_matrix(sim)[0]
    if method == "rev":
        return SentenceAligner.get_alignment_matrix(sim)[1]
    if method == "itermax":
        return SentenceAligner.iter_max(sim)
    if method == "match":
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(sim, maximize=True)
        out = np.zeros_like(sim)
        out[rows, cols] = 1
        return out
    raise ValueError(f"unknown matching method {method!r}")


class _Piece(NamedTuple):
    """Encoder input for one sentence or a window of it: ids with special tokens, the positions
    of the ids that belong to words, and the index in the sentence of each of those words."""

    sentence: int
    ids: list[int]
    keep: list[int]
    words: list[int]

    @classmethod
    def of(cls, sentence: int, ids: list[int], word_ids: list[int | None], first: int) -> _Piece:
        keep = [t for t, w in enumerate(word_ids) if w is not None]
        return cls(sentence, ids, keep, [word_ids[t] + first for t in keep])  # type: ignore[operator]


@register_aligner("simalign", VERSION, SimAlignConfig)
class BatchedSimAligner:
    """simalign's alignment with batched embedding; the encoder loads once per instance."""

    name = "simalign"
    version = VERSION

    def __init__(self, config: SimAlignConfig = SimAlignConfig()) -> None:
        import torch
        from transformers import AutoConfig, AutoModel, AutoTokenizer

        self.config = config
        if config.device == "auto":
            self.device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        else:
            self.device = torch.device(config.device)
        model_config = AutoConfig.from_pretrained(config.model, output_hidden_states=True)
        n_layers = getattr(model_config, "num_hidden_layers", None)
        if n_layers is not None and config.layer > n_layers:
            raise ValueError(f"layer {config.layer} asked, but the model has {n_layers} layers")
        self.tokenizer = AutoTokenizer.from_pretrained(config.model)
        self.model = AutoModel.from_pretrained(config.model, config=model_config)
        self.computed_layers = _drop_unused_layers(self.model, model_config, config.layer)
        self.batch_tokens = config.batch_tokens or (16384 if self.device.type == "cuda" else 2048)
        self.model.eval().to(self.device)
        from threadpoolctl import ThreadpoolController

        self._blas = ThreadpoolController().select(user_api="blas")
        # RoBERTa-style models offset positions by the padding index: two fewer usable.
        model_type = model_config.model_type
        offset = 2 if "roberta" in model_type or model_type == "camembert" else 0
        pos_limit = (getattr(model_config, "max_position_embeddings", 514) or 514) - offset
        tok_limit = self.tokenizer.model_max_length
        self.max_length = int(
            config.max_length or min(pos_limit, tok_limit if tok_limit < 10**6 else pos_limit)
        )
        n_special = len(self.tokenizer("x", add_special_tokens=True)["input_ids"]) - len(
            self.tokenizer("x", add_special_tokens=False)["input_ids"]
        )
        self.window = self.max_length - n_special
        self.last_stats: dict[str, int] = {}

    @property
    def method(self) -> str:
        return f"{self.name}-{self.version}/{self.config.matching}/{self.config.token_type}"

    # ---------------------------------------------------------------- embedding

    def _encode(
        self, word_lists: list[list[str]], truncate: bool = False
    ) -> list[tuple[list[int], list[int | None]]]:
        """Ids (with special tokens) and the word index of each id, per list of words."""
        if not word_lists:
            return []
        enc = self.tokenizer(
            word_lists,
            is_split_into_words=True,
            add_special_tokens=True,
            truncation=truncate,
            max_length=self.max_length if truncate else None,
            verbose=False,
        )
        return [(list(ids), enc.word_ids(k)) for k, ids in enumerate(enc["input_ids"])]

    def _windows(
        self, sentence: int, n_words: int, word_ids: list[int | None]
    ) -> list[tuple[int, int, int]]:
        """``(sentence, first word, end word)`` chunks of at most ``self.window`` subwords."""
        lengths = [0] * n_words
        for w in word_ids:
            if w is not None:
                lengths[w] += 1
        chunks: list[tuple[int, int, int]] = []
        start, used = 0, 0
        for w, n in enumerate(lengths):
            if used + n > self.window and w > start:
                chunks.append((sentence, start, w))
                start, used = w, 0
            used += n
        chunks.append((sentence, start, n_words))
        return chunks

    def _pieces(self, sentences: Sequence[Sequence[str]]) -> list[_Piece]:
        """Every sentence tokenised once, whole; those over the encoder's limit are cut into
        windows, each encoded again with its own special tokens."""
        pieces = []
        chunks: list[tuple[int, int, int]] = []
        for k, (ids, word_ids) in enumerate(self._encode([list(s) for s in sentences])):
            if len(ids) <= self.max_length:
                pieces.append(_Piece.of(k, ids, word_ids, 0))
            else:
                chunks.extend(self._windows(k, len(sentences[k]), word_ids))
        windows = self._encode([list(sentences[k][a:b]) for k, a, b in chunks], truncate=True)
        for (k, a, _), (ids, word_ids) in zip(chunks, windows, strict=True):
            pieces.append(_Piece.of(k, ids, word_ids, a))  # a sentence's windows stay in order
        self.last_stats["long_inputs"] = len({k for k, _, _ in chunks})
        self.last_stats["windows"] = len(pieces)
        return pieces

    def _blas_threads(self) -> AbstractContextManager[Any]:
        """numpy's BLAS (the similarity matrices) limited to torch's thread count for the
        duration of a call, so one setting governs both."""
        import torch

        return self._blas.limit(limits=torch.get_num_threads())

    def embed(self, sentences: Sequence[Sequence[str]]) -> list[tuple[np.ndarray, list[int]]]:
        """Per sentence: subword vectors of the configured layer (``n x hidden``) and the word
        index of each subword."""
        import torch

        pieces = self._pieces(sentences)
        order = sorted(range(len(pieces)), key=lambda p: len(pieces[p].ids), reverse=True)
        cuts = _length_batches(
            [len(pieces[p].ids) for p in order], self.batch_tokens, self.batch_tokens // 16
        )
        pad_id = self.tokenizer.pad_token_id or 0
        use_token_types = "token_type_ids" in self.tokenizer.model_input_names
        vectors: list[np.ndarray | None] = [None] * len(pieces)
        self.last_stats["tokens"] = sum(len(piece.ids) for piece in pieces)
        self.last_stats["padded_tokens"] = sum(
            len(pieces[order[first]].ids) * (end - first)
            for first, end in itertools.pairwise([0, *cuts])
        )
        with torch.inference_mode(), self._blas_threads():
            for first, end in itertools.pairwise([0, *cuts]):
                batch = order[first:end]
                longest = len(pieces[batch[0]].ids)
                ids = np.full((len(batch), longest), pad_id, dtype=np.int64)
                mask = np.zeros((len(batch), longest), dtype=np.int64)
                for row, p in enumerate(batch):
                    ids[row, : len(pieces[p].ids)] = pieces[p].ids
                    mask[row, : len(pieces[p].ids)] = 1
                inputs: dict[str, Any] = {
                    "input_ids": torch.from_numpy(ids),
                    "attention_mask": torch.from_numpy(mask),
                }
                if use_token_types:
                    inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
                inputs = {k: v.to(self.device) for k, v in inputs.items()}
                hidden = self.model(**inputs).hidden_states
                if self.config.layer >= len(hidden):
                    raise ValueError(
                        f"layer {self.config.layer} asked, but the model has {len(hidden)} states"
                    )
                layer = hidden[self.config.layer].float().cpu().numpy()
                for row, p in enumerate(batch):
                    vectors[p] = layer[row, pieces[p].keep]
        per_sentence: list[list[int]] = [[] for _ in sentences]
        for p, piece in enumerate(pieces):
            per_sentence[piece.sentence].append(p)
        width = self.model.config.hidden_size
        out = []
        for ps in per_sentence:
            if len(ps) == 1:
                out.append((vectors[ps[0]], pieces[ps[0]].words))
            elif ps:
                out.append(
                    (
                        np.concatenate([vectors[p] for p in ps], axis=0),
                        [w for p in ps for w in pieces[p].words],
                    )
                )
            else:
                out.append((np.zeros((0, width), np.float32), []))
        return out  # type: ignore[return-value]

    # ---------------------------------------------------------------- alignment

    def align_pair_vectors(
        self,
        src_vec: np.ndarray,
        tgt_vec: np.ndarray,
        src_word_of: list[int],
        tgt_word_of: list[int],
        n_src_words: int,
        n_tgt_words: int,
    ) -> list[Link]:
        from simalign import SentenceAligner

        if len(src_vec) == 0 or len(tgt_vec) == 0:
            return []
        if self.config.token_type == "word":
            src_vec, src_map = _average_words(src_vec, src_word_of, n_src_words)
            tgt_vec, tgt_map = _average_words(tgt_vec, tgt_word_of, n_tgt_words)
        else:
            src_map, tgt_map = src_word_of, tgt_word_of
        sim = similarity(src_vec, tgt_vec)
        sim = SentenceAligner.apply_distortion(sim, self.config.distortion)
        links = match_links(sim, self.config.matching)
        rows, cols = np.nonzero(links > 0)
        return sorted({(src_map[i], tgt_map[j]) for i, j in zip(rows, cols, strict=True)})

    def align(self, pairs: Sequence[TokenPair]) -> list[list[Link]]:
        """Word links per pair; sentences repeated across pairs are embedded once."""
        index: dict[tuple[str, ...], int] = {}
        for src, tgt in pairs:
            index.setdefault(tuple(src), len(index))
            index.setdefault(tuple(tgt), len(index))
        out = []
        with self._blas_threads():
            embedded = self.embed(list(index))
            for src, tgt in pairs:
                (sv, sw), (tv, tw) = embedded[index[tuple(src)]], embedded[index[tuple(tgt)]]
                out.append(self.align_pair_vectors(sv, tv, sw, tw, len(src), len(tgt)))
        self.last_stats["pairs"] = len(pairs)
        return out


#: model families whose hidden state after layer k does not depend on later layers (no final
#: norm over the last layer's output), so layers past the one simalign reads can be skipped
_POST_NORM_ENCODERS = ("bert", "roberta", "xlm-roberta", "camembert", "electra")


def _drop_unused_layers(model: Any, model_config: Any, layer: int) -> int | None:
    """Keep only the first ``layer`` encoder layers (simalign reads ``hidden_states[layer]``).

    The states up to ``layer`` are computed exactly as before; returns how many layers are
    run, or None where the model's structure is not known and nothing was changed.
    """
    encoder = getattr(model, "encoder", None)
    layers = getattr(encoder, "layer", None)
    if model_config.model_type not in _POST_NORM_ENCODERS or layers is None:
        return None
    if 0 < layer < len(layers):
        encoder.layer = layers[:layer]
        model.config.num_hidden_layers = layer
    return min(layer, len(layers))


def _length_batches(lengths: Sequence[int], budget: int, batch_cost: int) -> list[int]:
    """Where to cut inputs sorted longest first into padded batches: the end of each batch.

    A batch holds at most ``budget`` padded tokens (one input at least); the cuts minimise the
    padded tokens plus ``batch_cost`` per batch (dynamic programming over the sorted lengths).
    Filling every batch to the budget instead padded 17% of the tokens of 300 news sentences;
    with ``batch_cost`` 128 (the default on a CPU) this pads 10%, in 10 batches instead of 8.
    """
    n = len(lengths)
    total = np.zeros(n + 1)  # total[i]: the least cost of inputs i.. (the rest)
    end = np.zeros(n, dtype=np.int64)
    for i in range(n - 1, -1, -1):
        size = np.arange(1, max(1, min(n - i, budget // max(lengths[i], 1))) + 1)
        cost = size * lengths[i] + total[i + 1 : i + 1 + len(size)]
        best = len(size) - 1 - int(np.argmin(cost[::-1]))  # the largest batch among equals
        total[i] = cost[best] + batch_cost
        end[i] = i + 1 + best
    cuts, i = [], 0
    while i < n:
        i = int(end[i])
        cuts.append(i)
    return cuts


def _average_words(
    vectors: np.ndarray, word_of: list[int], n_words: int
) -> tuple[np.ndarray, list[int]]:
    """Mean subword vector per word (words without subwords are left out, as unalignable)."""
    groups: dict[int, list[int]] = {}
    for k, w in enumerate(word_of):
        groups.setdefault(w, []).append(k)
    words = [w for w in range(n_words) if w in groups]
    return np.array([vectors[groups[w]].mean(0) for w in words]), words
