"""Batched simalign gives the same links as simalign's own per-pair aligner for one model."""

from __future__ import annotations

import random

import numpy as np
import pytest
import simalign
import torch
from conftest import MAX_POSITIONS, WORDS
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.align.registry import get_aligner
from curate.align.simalign_batched import (
    BatchedSimAligner,
    SimAlignConfig,
    similarity,
)


def _pairs(n: int, seed: int = 0) -> list[tuple[list[str], list[str]]]:
    rng = random.Random(seed)
    vocab = [*WORDS, "xyzzy", "runner", "houses"]  # the last three split into subwords
    return [
        (
            [rng.choice(vocab) for _ in range(rng.randint(1, 12))],
            [rng.choice(vocab) for _ in range(rng.randint(1, 12))],
        )
        for _ in range(n)
    ]


@pytest.mark.parametrize("token_type", ["bpe", "word"])
def test_batched_links_equal_simalign_per_pair(tiny_model: str, token_type: str) -> None:
    pairs = _pairs(40)
    reference = simalign.SentenceAligner(
        model=tiny_model, token_type=token_type, matching_methods="mai", device="cpu", layer=2
    )
    expected = [reference.get_word_aligns(src, tgt) for src, tgt in pairs]
    for method, key in [("argmax", "inter"), ("itermax", "itermax"), ("match", "mwmf")]:
        config = SimAlignConfig(
            model=tiny_model, layer=2, matching=method, token_type=token_type, batch_tokens=256
        )
        got = BatchedSimAligner(config).align(pairs)
        assert got == [[tuple(link) for link in e[key]] for e in expected], method


def test_numpy_blas_uses_torchs_thread_count_during_a_call(tiny_model: str) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    aligner = BatchedSimAligner(SimAlignConfig(model=tiny_model, layer=2))
    seen: list[int] = []

    def record(*_: object) -> None:
        seen.extend(lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas")

    aligner.model.encoder.register_forward_pre_hook(record)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=3, user_api="blas"):
            aligner.align(_pairs(5))
            after = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
    finally:
        torch.set_num_threads(before)
    assert seen and set(seen) == {1}
    assert after and set(after) == {3}  # restored once the call is over


def test_inputs_longer_than_the_encoder_limit_are_aligned_whole(tiny_model: str) -> None:
    aligner = get_aligner("simalign", model=tiny_model, layer=2, matching="argmax")
    long_src = ["cat", "dog", "house"] * 30  # 90 words > 40 positions
    long_tgt = ["gato", "perro", "casa"] * 30
    (links,) = aligner.align([(long_src, long_tgt)])
    assert aligner.last_stats["long_inputs"] == 2
    assert aligner.last_stats["windows"] >= 6
    assert aligner.last_stats["padded_tokens"] >= aligner.last_stats["tokens"] > 90
    # Words past the limit are aligned too, and every link stays in range.
    assert max(i for i, _ in links) >= MAX_POSITIONS
    assert all(0 <= i < len(long_src) and 0 <= j < len(long_tgt) for i, j in links)


def test_layer_deeper_than_the_model_is_an_error(tiny_model: str) -> None:
    with pytest.raises(ValueError, match="layer"):
        BatchedSimAligner(SimAlignConfig(model=tiny_model, layer=8))


def test_layers_past_the_one_read_are_skipped_without_changing_links(tiny_model: str) -> None:
    pairs = _pairs(20, seed=3)
    reference = simalign.SentenceAligner(
        model=tiny_model, token_type="bpe", matching_methods="i", device="cpu", layer=1
    )
    aligner = BatchedSimAligner(SimAlignConfig(model=tiny_model, layer=1, matching="itermax"))
    assert aligner.computed_layers == 1 and len(aligner.model.encoder.layer) == 1
    expected = [[tuple(x) for x in reference.get_word_aligns(s, t)["itermax"]] for s, t in pairs]
    assert aligner.align(pairs) == expected


@settings(max_examples=50, deadline=None)
@given(
    shapes=st.tuples(st.integers(1, 12), st.integers(1, 12), st.integers(1, 40)),
    seed=st.integers(0, 2**32 - 1),
    dtype=st.sampled_from([np.float32, np.float64]),
    zero_row=st.booleans(),
)
def test_similarity_is_simaligns_bit_for_bit(shapes, seed, dtype, zero_row) -> None:
    from simalign import SentenceAligner

    n, m, d = shapes
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(dtype)
    y = rng.normal(size=(m, d)).astype(dtype) * 3
    if zero_row:
        x[0] = 0
    assert np.array_equal(similarity(x, y), SentenceAligner.get_similarity(x, y))


@settings(max_examples=100, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 300), max_size=60),
    budget=st.integers(1, 2048),
    batch_cost=st.integers(0, 256),
)
def test_length_batches_cover_every_input_within_the_budget(lengths, budget, batch_cost) -> None:
    from curate.align.simalign_batched import _length_batches

    lengths = sorted(lengths, reverse=True)
    cuts = _length_batches(lengths, budget, batch_cost)
    starts = [0, *cuts][:-1]
    assert (cuts[-1] if cuts else 0) == len(lengths)
    for first, end in zip(starts, cuts, strict=True):
        assert end > first
        assert end - first == 1 or (end - first) * lengths[first] <= budget
    # when batches cost nothing, the cuts leave no padding at all
    if batch_cost == 0:
        padded = sum((e - f) * lengths[f] for f, e in zip(starts, cuts, strict=True))
        assert padded == sum(lengths)
