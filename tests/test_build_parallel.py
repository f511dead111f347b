"""Parallel builder: templates, both directions, de-duplication, artifact filters, counts."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from curate.errors import UserError
from curate.records import load_schema
from curate.trainsets.parallel import ParallelConfig, build_parallel


def translation(i: int, src: str, tgt: str, **extra: Any) -> dict[str, Any]:
    row = {
        "id": f"t{i}",
        "src_lang": "en",
        "tgt_lang": "de",
        "source_kind": "segments",
        "source_text": src,
        "text": tgt,
        "origin": "mt",
        "score": -0.5,
        "truncated": False,
        "dataset": "unit",
        "source_id": f"s{i}",
        "model_id": "tiny-mt",
        "model_version": "abc",
    }
    row.update(extra)
    return row


SENTENCES = [
    ("The river runs under the old bridge.", "Der Fluss fließt unter der alten Brücke."),
    ("Markets open early in the morning.", "Die Märkte öffnen früh am Morgen."),
    ("The assembly voted on a new name.", "Die Versammlung stimmte über einen neuen Namen ab."),
    ("Green houses line the quiet street.", "Grüne Häuser säumen die ruhige Straße."),
]


def test_both_directions_rendered_with_language_names() -> None:
    rows = [translation(0, *SENTENCES[0])]
    result = build_parallel(rows, ParallelConfig(name="en-de"))
    forward, backward = result.samples
    assert forward["text"] == (
        "English: The river runs under the old bridge.\n"
        "German: Der Fluss fließt unter der alten Brücke."
    )
    assert (
        backward["text"].startswith("German: Der Fluss")
        and "\nEnglish: The river" in backward["text"]
    )
    assert forward["langs"] == ["en", "de"] and backward["langs"] == ["de", "en"]
    assert json.loads(forward["meta"])["direction"] == "forward"
    assert forward["split"] == backward["split"]
    assert forward["model_id"] == "tiny-mt" and forward["source_id"] == "t0"
    assert forward["n_tokens"] > 0 and forward["tokenizer"].startswith("fallback:")
    # The rows fit the training_samples schema.
    load_schema("training_samples").validate(load_schema("training_samples").table(result.samples))


def test_the_synthetic_language_is_named_in_prompts() -> None:
    rows = [translation(0, "hello world", "hallo welt", tgt_lang="qsy")]
    result = build_parallel(rows, ParallelConfig(directions="forward"))
    assert result.samples[0]["text"] == "English: hello world\nSynthetic: hallo welt"


def test_instruction_chat_and_custom_templates() -> None:
    rows = [translation(0, *SENTENCES[1])]
    instruction = build_parallel(rows, ParallelConfig(template="instruction", directions="forward"))
    assert (
        "Translate the following text from English into German." in instruction.samples[0]["text"]
    )
    chat = build_parallel(rows, ParallelConfig(template="chat", directions="forward"))
    messages = json.loads(chat.samples[0]["meta"])["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[1]["content"] == SENTENCES[1][1]
    assert chat.samples[0]["text"].startswith("<|im_start|>user\n")
    custom = build_parallel(rows, ParallelConfig(template="<{src_lang}> {src} <{tgt_lang}> {tgt}"))
    assert custom.samples[0]["text"] == f"<en> {SENTENCES[1][0]} <de> {SENTENCES[1][1]}"
    with pytest.raises(UserError, match="unknown field"):
        ParallelConfig(template="{source}: {tgt}")


def test_duplicates_removed_exactly_and_near_with_counts() -> None:
    src = "The assembly voted on a new name for the parliament after a long debate in Cardiff."
    tgt = "Die Versammlung stimmte nach langer Debatte in Cardiff über einen neuen Namen ab."
    rows = [
        translation(0, src, tgt),
        translation(1, src.upper(), tgt),  # same after case folding
        # The same pair stored the other way round is an exact duplicate too.
        translation(2, tgt, src, src_lang="de", tgt_lang="en"),
        translation(3, src.replace("Cardiff.", "Cardiff!"), tgt),  # near duplicate
        translation(4, *SENTENCES[3]),
    ]
    result = build_parallel(rows)
    assert result.report.filtered == Counter({"duplicate_exact": 2, "duplicate_near": 1})
    assert {s["source_id"] for s in result.samples} == {"t0", "t4"}
    assert {f["id"]: f["reason"] for f in result.filtered} == {
        "t1": "duplicate_exact",
        "t2": "duplicate_exact",
        "t3": "duplicate_near",
    }
    kept_near = build_parallel(rows, ParallelConfig(dedup_near=False))
    assert kept_near.report.filtered == Counter({"duplicate_exact": 2})


def test_artifact_flags_and_thresholds_filter_with_reasons() -> None:
    rows = [translation(i, *SENTENCES[i]) for i in range(4)]
    rows.append(translation(4, "Empty target here.", "  "))
    rows.append(translation(5, "Cut off.", "Abgeschn", truncated=True))
    tags = [
        {"translation_id": "t0", "detector": "untranslated", "flag": True, "score": 0.9},
        {"translation_id": "t1", "detector": "length_ratio", "flag": False, "score": 3.5},
        {"translation_id": "t2", "detector": "length_ratio", "flag": False, "score": 1.0},
        {"translation_id": "t3", "detector": "untranslated", "flag": False, "score": 0.1},
    ]
    config = ParallelConfig(drop_flags=("untranslated",), max_scores={"length_ratio": 2.0})
    result = build_parallel(rows, config, tags=tags)
    assert result.report.filtered == Counter(
        {"flag:untranslated": 1, "score_above:length_ratio": 1, "empty": 1, "truncated": 1}
    )
    assert {s["source_id"] for s in result.samples} == {"t2", "t3"}
    # Every input is a kept pair or a counted decision; both directions per kept pair.
    report = result.report
    assert report.n_in == report.n_kept + sum(report.filtered.values()) == 6
    assert report.n_out == 2 * report.n_kept
    counts = report.to_counts()
    assert counts["in"] == 6 and counts["out"] == 4 and sum(counts["filtered"].values()) == 4


def test_mt_score_and_max_tokens_filters() -> None:
    rows = [translation(0, *SENTENCES[0], score=-3.0), translation(1, *SENTENCES[1])]
    rows.append(translation(2, "word " * 200, "Wort " * 200))
    result = build_parallel(rows, ParallelConfig(min_mt_score=-1.0, max_tokens=100))
    assert result.report.filtered == Counter({"mt_score": 1, "too_long": 1})
    assert all(s["n_tokens"] <= 100 for s in result.samples)


def test_splits_are_per_pair_and_stable() -> None:
    rows = [
        translation(i, f"Sentence number {i} about rivers.", f"Satz {i} über Flüsse.")
        for i in range(200)
    ]
    config = ParallelConfig(validation_fraction=0.2, test_fraction=0.1, dedup_near=False)
    first = build_parallel(rows, config)
    second = build_parallel(rows, config)
    assert [s["split"] for s in first.samples] == [s["split"] for s in second.samples]
    by_pair: dict[str, set[str]] = {}
    for s in first.samples:
        by_pair.setdefault(s["source_id"], set()).add(s["split"])
    assert all(len(splits) == 1 for splits in by_pair.values())
    share = Counter(next(iter(v)) for v in by_pair.values())
    assert 20 <= share["validation"] <= 60 and 5 <= share["test"] <= 35


def test_unknown_options_are_errors() -> None:
    with pytest.raises(UserError, match="unknown option"):
        ParallelConfig.from_dict({"template": "plain", "dedupe": True})
    assert ParallelConfig.from_dict({"drop_flags": ["a", "b"]}).drop_flags == ("a", "b")
