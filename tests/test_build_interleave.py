"""Interleaved (CrossIC-PT) builder: chunking, interleaving, packing, sliding windows, pairing."""

from __future__ import annotations

import itertools
import json
import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.errors import UserError
from curate.records import load_schema
from curate.trainsets.checks import check_interleaved
from curate.trainsets.interleave import InterleaveConfig, build_interleaved
from curate.trainsets.pairing import (
    DocPair,
    documents_from_segments,
    pair_by_key,
    pair_by_retrieval,
)
from curate.trainsets.tokens import FallbackCounter, SentencePieceCounter, train_sentencepiece

# With the fallback counter every word below (four letters or fewer) and every "." is one token,
# so a sentence of k words costs exactly k + 1 tokens.
SHORT_WORDS = ["sun", "tree", "road", "blue", "cat", "dog", "rain", "big", "red", "moon"]
COUNTER = FallbackCounter()
MIXED_WORDS = "river bridge Fluss Brücke morning Morgen assembly Versammlung"


def sentence(rng: random.Random, n_tokens: int) -> str:
    return " ".join(rng.choice(SHORT_WORDS) for _ in range(n_tokens - 1)).capitalize() + "."


def document(doc_id: str, lang: str, sizes: list[int], seed: int = 0) -> dict[str, Any]:
    rng = random.Random(f"{seed}:{doc_id}:{lang}")
    return {
        "id": doc_id,
        "lang": lang,
        "link": doc_id,
        "sentences": [sentence(rng, n) for n in sizes],
    }


def pair(doc_id: str, src_sizes: list[int], tgt_sizes: list[int], seed: int = 0) -> DocPair:
    return DocPair(
        document(doc_id, "en", src_sizes, seed), document(doc_id, "de", tgt_sizes, seed), "key:link"
    )


def chunks_of(sample: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    """(lang, chunk, sentence_start, sentence_end) of every chunk of a sample, in text order."""
    sources = sample["sources"]
    return [(sources[c[0]]["lang"], c[1], c[2], c[3]) for c in json.loads(sample["meta"])["chunks"]]


def assert_invariants(result, pairs, config, counter=COUNTER) -> None:
    report = check_interleaved(
        result.samples,
        pairs,
        config,
        counter,
        filtered_pair_ids=[f["id"] for f in result.filtered],
        recount=True,
    )
    assert report.ok, report.problems
    assert report.recount_over_budget == 0
    assert all(s["n_tokens"] <= config.context_tokens for s in result.samples)


def test_sentence_aligned_pair_is_chunked_jointly_and_interleaved_source_first() -> None:
    p = pair("d1", [5, 5, 5, 5, 5, 5], [6, 6, 6, 6, 6, 6])
    config = InterleaveConfig(context_tokens=200, chunk_tokens=12, separator="\n")
    result = build_interleaved([p], config, counter=COUNTER)
    assert_invariants(result, [p], config)
    (sample,) = result.samples
    # Two sentences per chunk on both sides (10 and 12 tokens), same boundaries, en before de.
    assert chunks_of(sample) == [
        ("en", 0, 0, 2), ("de", 0, 0, 2), ("en", 1, 2, 4), ("de", 1, 2, 4),
        ("en", 2, 4, 6), ("de", 2, 4, 6),
    ]  # fmt: skip
    src, tgt = p.src["sentences"], p.tgt["sentences"]
    assert sample["text"].split("\n")[:2] == [f"{src[0]} {src[1]}", f"{tgt[0]} {tgt[1]}"]
    assert sample["n_tokens"] == 6 * 5 + 6 * 6
    assert sample["langs"] == ["en", "de"] and sample["kind"] == "interleaved"
    load_schema("training_samples").validate(load_schema("training_samples").table(result.samples))


def test_orders_target_first_and_alternate() -> None:
    pairs = [pair(f"d{i}", [4, 4], [4, 4]) for i in range(4)]
    base = {"context_tokens": 100, "chunk_tokens": 4, "pack_pairs": False}
    target_first = build_interleaved(pairs, InterleaveConfig(order="target-first", **base))
    assert [chunks_of(s)[0][0] for s in target_first.samples] == ["de"] * 4
    alternate = build_interleaved(pairs, InterleaveConfig(order="alternate", **base))
    assert [chunks_of(s)[0][0] for s in alternate.samples] == ["en", "de", "en", "de"]
    orders = [json.loads(s["meta"])["pairs"][0]["order"] for s in alternate.samples]
    assert orders == ["source-first", "target-first"] * 2


def test_sliding_window_overlap_and_coverage() -> None:
    p = pair("long", [9] * 12, [9] * 12)
    config = InterleaveConfig(context_tokens=40, chunk_tokens=9, overlap_chunks=1)
    result = build_interleaved([p], config, counter=COUNTER)
    assert_invariants(result, [p], config)
    windows = [chunks_of(s) for s in result.samples]
    # 4 chunks of 9 tokens fit 40; each next window starts with the last chunk of the previous.
    assert [len(w) for w in windows[:-1]] == [4] * (len(windows) - 1)
    for previous, current in itertools.pairwise(windows):
        assert current[0] == previous[-1]
    metas = [json.loads(s["meta"])["pairs"][0] for s in result.samples]
    assert [m["window"] for m in metas] == list(range(len(windows)))
    assert [m["overlap_chunks"] for m in metas] == [0] + [1] * (len(windows) - 1)
    seen = {c for w in windows for c in w}
    assert len(seen) == 24  # every chunk of both documents


def test_a_sentence_is_split_only_when_it_alone_exceeds_the_chunk_budget() -> None:
    p = pair("x", [3, 30, 3], [3, 3, 3])
    config = InterleaveConfig(context_tokens=64, chunk_tokens=8, chunking="independent")
    result = build_interleaved([p], config, counter=COUNTER)
    assert_invariants(result, [p], config)
    parts = [c for s in result.samples for c in json.loads(s["meta"])["chunks"] if c[4] is not None]
    # The 30-token sentence (index 1) becomes 4 parts of at most 8 tokens; nothing else splits.
    assert sorted({(c[2], c[4], c[5]) for c in parts}) == [(1, k, 4) for k in range(4)]
    assert result.report.stats["split_sentences"] == 1


def test_short_pairs_are_packed_together_within_language_pair_and_split() -> None:
    pairs = [pair(f"d{i}", [5, 5], [5, 5]) for i in range(6)]
    pairs.append(DocPair(document("f", "en", [5, 5]), document("f", "fr", [5, 5]), "key:link"))
    config = InterleaveConfig(context_tokens=60, chunk_tokens=10, pair_separator="\n\n")
    result = build_interleaved(pairs, config, counter=COUNTER)
    assert_invariants(result, pairs, config)
    per_sample = [len(json.loads(s["meta"])["pairs"]) for s in result.samples]
    # Each en-de pair costs 20 tokens: three fit in 60; the en-fr pair is packed on its own.
    assert per_sample == [3, 3, 1]
    assert [s["langs"] for s in result.samples] == [["en", "de"], ["en", "de"], ["en", "fr"]]
    assert len(result.samples[0]["sources"]) == 6
    unpacked = build_interleaved(
        pairs, InterleaveConfig(**{**config.__dict__, "pack_pairs": False})
    )
    assert len(unpacked.samples) == 7


def test_splits_are_drawn_per_pair_and_never_mixed_in_a_window() -> None:
    pairs = [pair(f"d{i}", [5, 5], [5, 5]) for i in range(60)]
    config = InterleaveConfig(context_tokens=100, chunk_tokens=10, validation_fraction=0.3)
    result = build_interleaved(pairs, config, counter=COUNTER)
    assert_invariants(result, pairs, config)
    split_of_pair = {}
    for s in result.samples:
        for m in json.loads(s["meta"])["pairs"]:
            split_of_pair[m["pair_id"]] = s["split"]
    assert set(split_of_pair.values()) == {"train", "validation"}
    again = build_interleaved(pairs, config, counter=COUNTER)
    assert [s["id"] for s in again.samples] == [s["id"] for s in result.samples]


def test_empty_documents_are_counted_not_dropped_silently() -> None:
    pairs = [pair("ok", [5], [5]), DocPair(document("e", "en", []), document("e", "de", [4]), "k")]
    result = build_interleaved(pairs, InterleaveConfig(context_tokens=50, chunk_tokens=10))
    assert result.report.filtered == {"empty_document": 1}
    assert result.report.n_in == 2 and result.report.n_kept == 1


def test_prefixes_count_towards_the_budget() -> None:
    p = pair("p", [5] * 8, [5] * 8)
    config = InterleaveConfig(
        context_tokens=30, chunk_tokens=10, chunk_prefix="{lang_name}: ", overlap_chunks=0
    )
    result = build_interleaved([p], config, counter=COUNTER)
    assert_invariants(result, [p], config)
    assert result.samples[0]["text"].startswith("English: ")
    with pytest.raises(UserError, match="prefix"):
        build_interleaved(
            [p], InterleaveConfig(context_tokens=10, chunk_tokens=10, chunk_prefix="{lang_name}: ")
        )


def test_check_catches_a_split_sentence_and_a_missing_window() -> None:
    p = pair("c", [9] * 12, [9] * 12)
    config = InterleaveConfig(context_tokens=40, chunk_tokens=9, overlap_chunks=1)
    result = build_interleaved([p], config, counter=COUNTER)
    moved = dict(result.samples[0])
    words = moved["text"].split(" ")
    moved["text"] = " ".join(words[:3]) + "\n" + " ".join(words[3:])  # a sentence broken in two
    broken = check_interleaved([moved, *result.samples[1:]], [p], config, COUNTER)
    assert any("text is not its chunks" in problem for problem in broken.problems)
    missing = check_interleaved(result.samples[:1] + result.samples[2:], [p], config, COUNTER)
    assert not missing.ok


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    src=st.lists(st.integers(1, 40), min_size=1, max_size=25),
    tgt=st.lists(st.integers(1, 40), min_size=1, max_size=25),
    chunk=st.integers(4, 30),
    extra=st.integers(0, 120),
    overlap=st.integers(0, 3),
    order=st.sampled_from(["source-first", "target-first", "alternate"]),
    chunking=st.sampled_from(["auto", "independent"]),
    pack=st.booleans(),
)
def test_invariants_hold_for_any_document_sizes(
    src: list[int],
    tgt: list[int],
    chunk: int,
    extra: int,
    overlap: int,
    order: str,
    chunking: str,
    pack: bool,
) -> None:
    pairs = [pair("a", src, tgt), pair("b", tgt[:3], src[:3]), pair("c", src, src)]
    config = InterleaveConfig(
        context_tokens=chunk + extra,
        chunk_tokens=chunk,
        overlap_chunks=overlap,
        order=order,
        chunking=chunking,
        pack_pairs=pack,
    )
    result = build_interleaved(pairs, config, counter=COUNTER)
    assert_invariants(result, pairs, config)
    assert result.report.n_kept == 3


@pytest.fixture(scope="module")
def spm_counter() -> SentencePieceCounter:
    rng = random.Random(7)
    words = [*MIXED_WORDS.split(), "the", "der", "die", "und", "and"]
    texts = [
        " ".join(rng.choice(words) for _ in range(rng.randint(4, 20))) + "." for _ in range(300)
    ]
    return train_sentencepiece(texts, vocab_size=60)


def test_invariants_with_a_sentencepiece_tokenizer(spm_counter: SentencePieceCounter) -> None:
    rng = random.Random(3)
    words = MIXED_WORDS.split()

    def doc(doc_id: str, lang: str, n: int) -> dict[str, Any]:
        return {
            "id": doc_id,
            "lang": lang,
            "sentences": [
                " ".join(rng.choice(words) for _ in range(rng.randint(2, 60))) + "."
                for _ in range(n)
            ],
        }

    pairs = [DocPair(doc(f"d{i}", "en", 10 + i), doc(f"d{i}", "de", 12 + i), "k") for i in range(8)]
    for context in (64, 256):
        config = InterleaveConfig(context_tokens=context, chunk_tokens=48, overlap_chunks=2)
        result = build_interleaved(pairs, config, counter=spm_counter)
        assert_invariants(result, pairs, config, spm_counter)
        assert result.samples[0]["tokenizer"] == spm_counter.name


def test_pairing_by_key_and_by_origin() -> None:
    en = [document(f"e{i}", "en", [3], 0) for i in range(4)]
    de = [document(f"e{i}", "de", [3], 0) for i in (1, 2, 5)]
    result = pair_by_key(en, de)
    assert [(p.src["id"], p.tgt["id"]) for p in result.pairs] == [("e1", "e1"), ("e2", "e2")]
    assert result.report.filtered == {"unpaired": 3}
    translated = [{"id": "t9", "lang": "de", "source_id": "e3", "sentences": ["x"]}]
    origin = pair_by_key(en, translated, src_key="id", tgt_key="source_id", method="origin")
    assert [(p.src["id"], p.tgt["id"], p.method) for p in origin.pairs] == [("e3", "t9", "origin")]


def test_documents_from_segments_orders_sentences() -> None:
    rows = [
        {"doc_id": "d", "lang": "en", "seg_index": 1, "text": "Second."},
        {"doc_id": "d", "lang": "en", "seg_index": 0, "text": "First."},
        {"doc_id": "d", "lang": "de", "seg_index": 0, "text": "Erste."},
    ]
    docs = documents_from_segments(rows)
    assert [(d["id"], d["lang"], d["sentences"]) for d in docs] == [
        ("d", "en", ["First.", "Second."]),
        ("d", "de", ["Erste."]),
    ]


@pytest.mark.parametrize("method", ["tfidf", "minhash"])
def test_pairing_by_retrieval_over_pivot_translations(method: str) -> None:
    topics = [
        "the welsh assembly may change its name to parliament after a long debate",
        "heavy rain flooded the river valley and closed the old stone bridge",
        "the football club signed a young striker from a rival team this summer",
        "scientists found water ice under the surface of a distant moon",
    ]
    en = [{"id": f"en{i}", "lang": "en", "sentences": [t]} for i, t in enumerate(topics)]
    # Targets with an English pivot translation, shuffled, one off-topic.
    pivots = {
        "de2": topics[2] + " fans",
        "de0": topics[0],
        "de3": topics[3],
        "dex": "a recipe for cake",
    }
    de = [{"id": k, "lang": "de", "sentences": ["..."]} for k in pivots]
    threshold = 0.3 if method == "tfidf" else 0.2
    result = pair_by_retrieval(en, de, pivot_texts=pivots, method=method, threshold=threshold)
    assert {(p.src["id"], p.tgt["id"]) for p in result.pairs} == {
        ("en0", "de0"),
        ("en2", "de2"),
        ("en3", "de3"),
    }
    assert all(p.score is not None and p.score >= threshold for p in result.pairs)
    assert all(p.method == f"retrieval:{method}" for p in result.pairs)
    assert result.report.filtered == {"below_threshold": 1, "unpaired": 1}
    built = build_interleaved(result.pairs, InterleaveConfig(context_tokens=200, chunk_tokens=50))
    scores = [m["score"] for s in built.samples for m in json.loads(s["meta"])["pairs"]]
    assert len(scores) == 3 and all(score >= threshold for score in scores)


def test_retrieval_links_one_to_one_best_first() -> None:
    en = [{"id": "en0", "lang": "en", "sentences": ["storm floods the river valley tonight"]}]
    de = [
        {
            "id": "a",
            "lang": "de",
            "sentences": ["."],
            "pivot_text": "storm floods the river valley",
        },
        {
            "id": "b",
            "lang": "de",
            "sentences": ["."],
            "pivot_text": "storm floods the river valley tonight",
        },
    ]
    result = pair_by_retrieval(en, de, threshold=0.1)
    assert [p.tgt["id"] for p in result.pairs] == ["b"]
    assert result.report.filtered == {"lost_to_better_match": 1}


def test_sentence_counts_are_reused_only_from_the_same_counter() -> None:
    from curate.trainsets.interleave import count_sentences

    p = pair("s", [6, 6, 6], [6, 6, 6])
    stale = {**p.src, "sentence_tokens": [1, 1, 1], "sentence_tokenizer": "other"}
    (recounted,) = count_sentences([stale], COUNTER)
    assert recounted["sentence_tokens"] == [6, 6, 6]
    (again,) = count_sentences([recounted], COUNTER)
    assert again["sentence_tokens"] is recounted["sentence_tokens"]
