"""Every reader, every quarantine reason, and conservation: in == out + quarantined + filtered."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.errors import UserError
from curate.ingest import IngestConfig, ingest_batch
from curate.io import READERS, FieldMap, ReadBatch, resolve_format


def ingest_file(path: Path, fmt: str | None = None, fields: FieldMap | None = None, **options):
    fmt = resolve_format(str(path), fmt)
    config = IngestConfig(
        dataset="t", run_id="r", lang=options.pop("lang", None), kind=options.pop("kind", "auto")
    )
    tables: dict[str, list[dict]] = {}
    totals = {"in": 0, "out": 0, "quarantined": {}, "filtered": {}}
    for batch in READERS[fmt](str(path), fields or FieldMap(), options):
        result = ingest_batch(batch, config)
        for stage, table in result.tables.items():
            tables.setdefault(stage, []).extend(table.to_pylist())
        c = result.counts.to_json()
        totals["in"] += c["in"]
        totals["out"] += c["out"]
        for k in ("quarantined", "filtered"):
            for reason, n in c[k].items():
                totals[k][reason] = totals[k].get(reason, 0) + n
    assert totals["in"] == totals["out"] + sum(totals["quarantined"].values()) + sum(
        totals["filtered"].values()
    )
    return tables, totals


def reasons(tables):
    return sorted(q["reason"] for q in tables.get("quarantine", []))


def test_jsonl_quarantines_each_bad_line_with_its_reason(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"text": "A fine sentence about the weather today.", "id": "x1", "extra": 3}\n'
        b"{not json\n"
        b'{"title": "no text"}\n'
        b'{"text": "   "}\n'
        b'"just a string"\n'
        b'{"text": "caf\xe9 latin-1"}\n'
        b"\n"
        b'{"text": 42}\n'
    )
    tables, totals = ingest_file(path)
    assert totals["in"] == 8 and totals["out"] == 1
    assert reasons(tables) == [
        "bad_field_type",
        "empty_text",
        "invalid_utf8",
        "malformed_json",
        "missing_field",
        "not_an_object",
    ]
    assert totals["filtered"] == {"blank_line": 1}
    doc = tables["documents"][0]
    assert doc["source_id"] == "x1" and json.loads(doc["meta"]) == {"extra": 3}
    bad = next(q for q in tables["quarantine"] if q["reason"] == "invalid_utf8")
    assert bad["source_line"] == 6 and bad["payload"] == b'{"text": "caf\xe9 latin-1"}'


def test_documents_are_segmented_with_offsets_that_restore_the_text(tmp_path):
    text = "Dr. Smith arrived on Monday. He stayed a week.\n\nThen he left for Rome."
    path = tmp_path / "docs.jsonl"
    path.write_text(json.dumps({"text": text, "lang": "en"}) + "\n")
    tables, _ = ingest_file(path, fields=FieldMap(lang="lang"))
    segments = sorted(tables["segments"], key=lambda s: s["seg_index"])
    assert [s["text"] for s in segments] == [
        "Dr. Smith arrived on Monday.",
        "He stayed a week.",
        "Then he left for Rome.",
    ]
    assert [s["paragraph_index"] for s in segments] == [0, 0, 1]
    assert "".join(s["text"] + s["ws_after"] for s in segments) == text
    assert all(text[s["char_start"] : s["char_end"]] == s["text"] for s in segments)
    doc = tables["documents"][0]
    assert doc["lang"] == "en" and doc["lang_declared"] == "en" and doc["lang_detected"] == "en"


def test_declared_language_kept_beside_detected(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({"text": "Der Hund schläft den ganzen Tag im Garten."}) + "\n")
    tables, _ = ingest_file(path, lang="fr")
    doc = tables["documents"][0]
    assert (doc["lang"], doc["lang_declared"], doc["lang_detected"]) == ("fr", "fr", "de")
    assert 0.5 < doc["lang_confidence"] <= 1.0


def test_spans_field_makes_examples_and_spans_follow_normalisation(tmp_path):
    text = "Anna\u00a0 Lind  visited Rome."
    spans = [[0, 11, "PER"], [20, 24, "LOC"]]
    rows = [
        {"text": text, "ents": spans},
        {"text": "Short text.", "ents": [[5, 50, "LOC"]]},
        {"text": "Another one.", "ents": "not json"},
    ]
    path = tmp_path / "ex.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tables, _ = ingest_file(path, fields=FieldMap(spans="ents"))
    example = tables["examples"][0]
    assert example["text"] == "Anna Lind visited Rome."
    assert example["text_original"] == text
    assert [example["text"][s["start"] : s["end"]] for s in example["spans"]] == [
        "Anna Lind",
        "Rome",
    ]
    assert reasons(tables) == ["bad_span", "bad_span"]


def test_csv_and_tsv(tmp_path):
    csv_path = tmp_path / "a.csv"
    csv_path.write_text('id,body\n1,"Hello, world. Quoted text here."\n2,too,many\n3,\n')
    tables, _totals = ingest_file(csv_path, fields=FieldMap(text="body", id="id"))
    assert [d["text"] for d in tables["documents"]] == ["Hello, world. Quoted text here."]
    assert reasons(tables) == ["empty_text", "wrong_column_count"]
    tsv_path = tmp_path / "a.tsv"
    tsv_path.write_text("text\tlang\nGuten Morgen, wie geht es dir heute?\tde\n")
    tables, _ = ingest_file(tsv_path, fields=FieldMap(lang="lang"))
    assert tables["documents"][0]["lang"] == "de"


def test_parquet(tmp_path):
    path = tmp_path / "a.parquet"
    pq.write_table(pa.table({"content": ["First document here.", None], "n": [1, 2]}), path)
    tables, _totals = ingest_file(path, fields=FieldMap(text="content"))
    assert len(tables["documents"]) == 1 and reasons(tables) == ["missing_field"]
    assert tables["quarantine"][0]["source_line"] == 2


CONLL_2003 = """-DOCSTART- -X- -X- O

EU NNP B-NP I-ORG
rejects VBZ B-VP O
German JJ B-NP I-MISC
call NN I-NP O
. . O O

Peter NNP B-NP I-PER
Blackburn NNP I-NP I-PER

BRUSSELS NNP B-NP I-LOC
1996-08-22 CD I-NP O
"""


def test_conll_2003_iob1_round_trips(tmp_path):
    path = tmp_path / "a.conll03"
    path.write_text(CONLL_2003)
    tables, _totals = ingest_file(path)
    examples = tables["examples"]
    assert len(examples) == 3
    first = examples[0]
    assert first["text"] == "EU rejects German call ."
    assert [(first["text"][s["start"] : s["end"]], s["label"]) for s in first["spans"]] == [
        ("EU", "ORG"),
        ("German", "MISC"),
    ]
    assert first["tag_scheme"] == "iob1"
    from curate.records import spans_from_column
    from curate.text.tags import char_spans_to_tags

    for ex in examples:
        offs = [(o["start"], o["end"]) for o in ex["token_offsets"]]
        assert (
            char_spans_to_tags(spans_from_column(ex["spans"]), offs, ex["tag_scheme"]) == ex["tags"]
        )


def test_conll_scheme_is_the_files_and_docstart_lines_are_counted_as_such(tmp_path):
    """In an IOB1 file a sentence without entities (or with ``B-`` only between two entities)
    is IOB1 too; ``-DOCSTART-`` lines are filtered as ``docstart``, not as blank lines."""
    path = tmp_path / "a.conll03"
    path.write_text(CONLL_2003 + "\n-DOCSTART- -X- -X- O\n\nIt PRP B-NP O\nrained VBD B-VP O\n")
    tables, totals = ingest_file(path)
    assert [e["tag_scheme"] for e in tables["examples"]] == ["iob1"] * 4
    assert totals["filtered"] == {"docstart": 2, "blank_line": 2}
    iob2 = tmp_path / "b.conll"
    iob2.write_text("Anna B-PER\nLind I-PER\n\nIt O\nrained O\n")
    tables, _ = ingest_file(iob2)
    assert [e["tag_scheme"] for e in tables["examples"]] == ["iob2", "iob2"]


def test_a_bioes_file_ingests_and_evaluates_as_its_iob2_twin(tmp_path):
    """One tag rule (curate.text.tags) for ingest and evaluation: a BIOES file is not
    quarantined, keeps its tags and scheme, and gives the spans its IOB2 twin gives."""
    from curate.evaluate.spans import evaluate_projection_files

    bioes, iob2 = tmp_path / "bioes.conll", tmp_path / "iob2.conll"
    bioes.write_text("Anna B-PER\nLind E-PER\nvisited O\nRome S-LOC\n. O\n\nIt O\nrained O\n")
    iob2.write_text("Anna B-PER\nLind I-PER\nvisited O\nRome B-LOC\n. O\n\nIt O\nrained O\n")
    (got, totals), (want, _) = ingest_file(bioes), ingest_file(iob2)
    assert totals["quarantined"] == {} and len(got["examples"]) == 2
    assert [e["tag_scheme"] for e in got["examples"]] == ["bioes", "bioes"]
    assert got["examples"][0]["tags"] == ["B-PER", "E-PER", "O", "S-LOC", "O"]
    assert [e["spans"] for e in got["examples"]] == [e["spans"] for e in want["examples"]]
    text = got["examples"][0]["text"]
    assert [(text[s["start"] : s["end"]], s["label"]) for s in got["examples"][0]["spans"]] == [
        ("Anna Lind", "PER"),
        ("Rome", "LOC"),
    ]
    # evaluation reads the file by the same rule: BIOES gold against IOB2 predictions
    scores = evaluate_projection_files(iob2, bioes)
    assert scores.micro.n_gold == 2 and scores.micro.f1 == 1.0


def test_conll_bad_lines_quarantine_the_sentence(tmp_path):
    path = tmp_path / "b.conll"
    path.write_bytes(
        b"Anna\tB-PER\nLind\tI-PER\n\n"
        b"Rome\tB-LOC\textra\n\n"
        b"Paris\tX-LOC\n\n"
        b"Caf\xe9\tO\n\n"
        b"Oslo\tB-LOC\n"
    )
    tables, _totals = ingest_file(path)
    assert [e["text"] for e in tables["examples"]] == ["Anna Lind", "Oslo"]
    assert reasons(tables) == ["bad_tag", "invalid_utf8", "wrong_column_count"]
    wrong = next(q for q in tables["quarantine"] if q["reason"] == "wrong_column_count")
    assert wrong["source_line"] == 4 and "line 4 has 3 columns" in wrong["detail"]


def test_bitext_two_files_of_different_lengths_pair_nothing(tmp_path):
    """One missing line would shift every later pair: unequal files are an error, or with
    on_misaligned=quarantine every line of both files is quarantined and none is paired."""
    src, tgt = tmp_path / "a.en", tmp_path / "a.de"
    src.write_text("Good morning.\nThank you very much.\nSee you tomorrow.\n")
    tgt.write_text("Guten Morgen.\nVielen Dank.\n")
    with pytest.raises(UserError, match=r"a\.en has 3 lines, .*a\.de has 2"):
        ingest_file(src, "bitext", target_file=str(tgt), lang="en")
    tables, totals = ingest_file(
        src, "bitext", target_file=str(tgt), lang="en", on_misaligned="quarantine"
    )
    assert "translations" not in tables and totals["in"] == 5
    assert reasons(tables) == ["bitext_length_mismatch"] * 5
    assert {q["payload"] for q in tables["quarantine"]} >= {b"See you tomorrow.", b"Vielen Dank."}


def test_bitext_of_equal_lengths_pairs_line_by_line(tmp_path):
    src, tgt = tmp_path / "a.en", tmp_path / "a.de"
    src.write_text("Good morning.\nThank you very much.\n")
    tgt.write_text("Guten Morgen.\nVielen Dank.")  # no line end after the last line
    tables, _ = ingest_file(src, "bitext", target_file=str(tgt), lang="en")
    assert [(p["source_text"], p["text"], p["origin"]) for p in tables["translations"]] == [
        ("Good morning.", "Guten Morgen.", "reference"),
        ("Thank you very much.", "Vielen Dank.", "reference"),
    ]


def test_bitext_one_file_with_separator(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("ajunge ! ||| that 's enough !\nno separator here\n")
    tables, _ = ingest_file(path, "bitext")
    assert tables["translations"][0]["text"] == "that 's enough !"
    assert reasons(tables) == ["missing_separator"]


def test_hf_dataset_saved_to_disk(tmp_path):
    import datasets

    ds = datasets.Dataset.from_dict(
        {"sentence": ["One small example.", "Two small examples."], "label": [0, 1]}
    )
    ds.save_to_disk(str(tmp_path / "hf"))
    tables, _totals = ingest_file(tmp_path / "hf", fields=FieldMap(text="sentence"))
    assert [d["text"] for d in tables["documents"]] == ["One small example.", "Two small examples."]
    assert json.loads(tables["documents"][1]["meta"]) == {"label": 1}


def test_unknown_format_and_missing_file_are_user_errors(tmp_path):
    (tmp_path / "x.docx").write_text("?")
    with pytest.raises(UserError, match="cannot tell the format"):
        resolve_format(str(tmp_path / "x.docx"))
    with pytest.raises(UserError, match="input not found"):
        resolve_format(str(tmp_path / "missing.jsonl"))


def test_ids_are_stable_content_hashes(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"text": "Same text."}) + "\n")
    first, _ = ingest_file(path)
    second, _ = ingest_file(path)
    assert first["documents"][0]["id"] == second["documents"][0]["id"]
    assert len(first["documents"][0]["id"]) == 16


def test_empty_batch_is_fine():
    result = ingest_batch(ReadBatch(), IngestConfig(dataset="t", run_id="r"))
    assert result.tables == {} and result.counts.records_in == 0


def test_unmapped_fields_are_kept_as_the_json_python_would_write(tmp_path):
    extra = {"n": 7, "nested": {"a": [1, 2.5, None, True]}, "word": "ünï\u2028", "big": 10**30}
    path = tmp_path / "meta.jsonl"
    path.write_text(json.dumps({"text": "Hello there.", **extra}) + "\n", encoding="utf-8")
    tables, _ = ingest_file(path)
    (document,) = tables["documents"]
    assert document["meta"] == json.dumps(extra, default=str)
    assert json.loads(document["meta"]) == extra
