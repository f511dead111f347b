"""The align and project stages turn records into schema-valid records, one out per one in."""

from __future__ import annotations

import pytest

from curate.align.eflomal import EflomalAligner, EflomalConfig
from curate.project.stage import (
    align_rows,
    project_marker_rows,
    project_translate_test_rows,
    project_translate_train_rows,
)
from curate.records import content_id, load_schema, spans_from_column, spans_to_column
from curate.synth import generate

LINEAGE = {"dataset": "synth", "run_id": "r1", "stage": "project"}


@pytest.fixture(scope="module")
def rows():
    pairs = generate(150, seed=9)
    examples, translations = [], []
    for k, p in enumerate(pairs):
        ex_id = content_id("ex", str(k))
        examples.append(
            {"id": ex_id, "lang": "en", "text": p.src, "spans": spans_to_column(list(p.src_spans))}
        )
        translations.append(
            {
                "id": content_id("tr", str(k)),
                "src_lang": "en",
                "tgt_lang": "qsy",
                "source_text": p.src,
                "text": p.tgt,
                "source_id": ex_id,
            }
        )
    return pairs, examples, translations


@pytest.fixture(scope="module")
def aligner():
    return EflomalAligner(EflomalConfig(rel_iterations=0.3, n_samplers=1, prefix_lengths=(4,)))


def _valid(kind: str, out: list[dict]) -> None:
    schema = load_schema(kind)
    schema.validate(schema.table(out))


def test_align_rows(rows, aligner) -> None:
    _, _, translations = rows
    out = align_rows(translations, aligner, {**LINEAGE, "stage": "align"})
    assert len(out) == len(translations)
    _valid("alignments", out)
    first = out[0]
    assert first["translation_id"] == translations[0]["id"]
    for t, (s, e) in zip(
        first["src_tokens"],
        [(o["start"], o["end"]) for o in first["src_token_offsets"]],
        strict=True,
    ):
        assert translations[0]["source_text"][s:e] == t


def test_translate_train_and_test_rows(rows, aligner) -> None:
    pairs, examples, translations = rows
    train = project_translate_train_rows(
        list(zip(examples, translations, strict=True)), aligner, lineage=LINEAGE
    )
    assert len(train) == len(examples)
    _valid("projections", train)
    assert {r["direction"] for r in train} == {"translate-train"}
    assert all(r["text"] == p.tgt for r, p in zip(train, pairs, strict=True))
    assert all(r["status"] in ("complete", "partial", "dropped") for r in train)

    predicted = [(tr, list(p.tgt_spans)) for tr, p in zip(translations, pairs, strict=True)]
    test = project_translate_test_rows(predicted, aligner, lineage=LINEAGE)
    _valid("projections", test)
    assert all(r["text"] == p.src for r, p in zip(test, pairs, strict=True))
    assert test[0]["src_lang"] == "qsy" and test[0]["tgt_lang"] == "en"
    assert len({r["id"] for r in train + test}) == len(train) + len(test)
    hit = sum(
        set(spans_from_column(r["spans"])) == set(p.src_spans)
        for r, p in zip(test, pairs, strict=True)
    )
    assert hit / len(pairs) > 0.7


def test_marker_rows(rows) -> None:
    _, examples, _ = rows
    out = project_marker_rows(examples[:10], lambda texts: texts, "en", lineage=LINEAGE)
    _valid("projections", out)
    assert [r["status"] for r in out] == ["complete"] * 10
    for r, ex in zip(out, examples[:10], strict=True):
        assert r["text"] == ex["text"]
        assert spans_from_column(r["spans"]) == spans_from_column(ex["spans"])
