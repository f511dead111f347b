"""Bad input never crashes a reader and is never lost: in == out + quarantined + filtered.

Property-based over every reader, plus the hostile cases by name (giant lines, deep nesting,
NUL bytes, zero-width and right-to-left text, stray CoNLL columns, bad spans).
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.errors import UserError
from curate.ingest import IngestConfig, ingest_batch
from curate.io import READERS, FieldMap

CONFIG = IngestConfig(dataset="fuzz", run_id="fuzz", identify_language=False)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

HOSTILE_TEXT = st.text(
    alphabet=st.sampled_from(
        list("ab \n\t\r.\x00\u200b\u200f\u202e\u05d0\u0627\ufeff\u00a0e\u0301日本")
    ),
    max_size=40,
)


def run_reader(fmt: str, path: Path, fields: FieldMap | None = None, **options) -> dict:
    totals = {"in": 0, "out": 0, "quarantined": 0, "filtered": 0, "rows": 0}
    for batch in READERS[fmt](str(path), fields or FieldMap(), options):
        result = ingest_batch(batch, CONFIG)
        c = result.counts
        totals["in"] += c.records_in
        totals["out"] += c.records_out
        totals["quarantined"] += sum(c.quarantined.values())
        totals["filtered"] += sum(c.filtered.values())
        for stage in ("documents", "examples", "translations"):
            if stage in result.tables:
                table = result.tables[stage]
                totals["rows"] += table.num_rows
                check_spans(table)
        assert result.tables.get("quarantine", pa.table({"x": []})).num_rows == sum(
            c.quarantined.values()
        )
    assert totals["in"] == totals["out"] + totals["quarantined"] + totals["filtered"]
    assert totals["rows"] == totals["out"]
    return totals


def check_spans(table: pa.Table) -> None:
    if "spans" not in table.column_names:
        return
    for row in table.select(["text", "spans"]).to_pylist():
        for span in row["spans"] or []:
            assert 0 <= span["start"] <= span["end"] <= len(row["text"])


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_in_every_line_format(tmp_path, data):
    for fmt, name in [
        ("jsonl", "x.jsonl"),
        ("csv", "x.csv"),
        ("tsv", "x.tsv"),
        ("conll", "x.conll"),
        ("bitext", "x.txt"),
    ]:
        path = tmp_path / name
        path.write_bytes(data)
        totals = run_reader(fmt, path)
        assert totals["in"] == totals["out"] + totals["quarantined"] + totals["filtered"]


@FUZZ
@given(
    rows=st.lists(
        st.fixed_dictionaries(
            {
                "text": HOSTILE_TEXT,
                "spans": st.lists(
                    st.tuples(
                        st.integers(-5, 50), st.integers(-5, 50), st.sampled_from(["PER", "LOC"])
                    ),
                    max_size=3,
                ),
            }
        ),
        max_size=12,
    )
)
def test_hostile_json_records_and_spans(tmp_path, rows):
    path = tmp_path / "x.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    totals = run_reader("jsonl", path, FieldMap(spans="spans"))
    assert totals["in"] == len(rows)


@FUZZ
@given(src=st.lists(HOSTILE_TEXT, max_size=8), tgt=st.lists(HOSTILE_TEXT, max_size=8))
def test_two_file_bitext_of_any_lengths(tmp_path, src, tgt):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("".join(s.replace("\n", " ").replace("\r", " ") + "\n" for s in src))
    b.write_text("".join(s.replace("\n", " ").replace("\r", " ") + "\n" for s in tgt))
    if len(src) != len(tgt):  # never paired: an error, or both files quarantined whole
        with pytest.raises(UserError, match="differ in length"):
            run_reader("bitext", a, target_file=str(b))
        totals = run_reader("bitext", a, target_file=str(b), on_misaligned="quarantine")
        assert totals["in"] == totals["quarantined"] == len(src) + len(tgt)
        return
    totals = run_reader("bitext", a, target_file=str(b))
    assert totals["in"] == len(src)


@FUZZ
@given(texts=st.lists(st.one_of(st.none(), HOSTILE_TEXT, st.integers()), max_size=10))
def test_parquet_with_nulls_and_wrong_types(tmp_path, texts):
    path = tmp_path / "x.parquet"
    pq.write_table(
        pa.table({"text": pa.array([None if t is None else str(t) for t in texts], pa.string())}),
        path,
    )
    totals = run_reader("parquet", path)
    assert totals["in"] == len(texts)


def test_named_hostile_inputs(tmp_path):
    cases = {
        "giant.jsonl": (json.dumps({"text": "word " * 2_000_000}) + "\n").encode(),  # 10 MB line
        "deep.jsonl": ("[" * 100_000 + "]" * 100_000 + "\n").encode(),
        "nul.jsonl": b'{"text": "a\\u0000b"}\n\x00\x00\x00\n',
        "rtl.jsonl": json.dumps(
            {"text": "\u202eabc\u200f \u05e9\u05dc\u05d5\u05dd \u200b"}
        ).encode()
        + b"\n",
        "stray.conll": b"A\tB-PER\tx\nB\tI-PER\n\nC\tO\n",
        "badheader.csv": b"text,n\x88\nhello world,1\n",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        fmt = {"conll": "conll", "csv": "csv"}.get(name.rsplit(".", 1)[1], "jsonl")
        totals = run_reader(fmt, path)
        assert totals["in"] >= 1, name
