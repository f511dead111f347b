"""Hostile Hugging Face datasets never crash the ``hf`` reader and never lose a record.

Property-based: hypothesis builds datasets with typed columns of hostile values (None, wrong
types, nested lists and dicts, binary, timestamps, NUL, right-to-left and zero-width characters,
huge strings, missing id/text columns, spans out of range, overlapping or malformed), saves them
with ``save_to_disk`` (sometimes as a ``DatasetDict`` with splits) or writes them as local files
that ``load_dataset(folder)`` reads (JSON Lines, CSV), and reads them through ingest. Every row
must end as a record or a quarantine entry: ``in == out + quarantined + filtered``. A folder
that ``datasets`` cannot load at all (a lone surrogate escape in JSON, a broken line) must be a
clear :class:`UserError`, not a traceback. The datasets cache is a fresh temporary directory
for the session (tests/conftest.py).
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
from pathlib import Path

import datasets
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_reliability_fuzz import run_reader

from curate.errors import UserError
from curate.io import FieldMap

FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
datasets.disable_progress_bars()

#: characters that break naive text handling; no lone surrogates (Arrow strings are UTF-8)
HOSTILE_CHARS = list("ab .\n\t\r\x00\u200b\u200c\u200d\u200f\u202e\u2066\ufeff\u00a0\u0301")
HOSTILE_CHARS += ["\u05d0", "\u0627", "日", "\U0001f600", "e\u0301", "\u1100\u1161"]
HOSTILE_TEXT = st.lists(st.sampled_from(HOSTILE_CHARS), max_size=30).map("".join)
HUGE = "word " * 200_000  # 1 MB
NESTED = st.recursive(
    st.none() | st.integers(-5, 5) | st.text(max_size=5) | st.booleans(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
SPAN = st.fixed_dictionaries(
    {
        "start": st.integers(-3, 40),
        "end": st.integers(-3, 40),
        "label": st.sampled_from(["PER", "LOC", ""]) | st.none(),
    }
)


def _column(kind: str, n: int, draw) -> pa.Array:
    """One typed column of ``n`` values of a hostile kind."""
    values = {
        "string": lambda: draw(st.lists(st.none() | HOSTILE_TEXT, min_size=n, max_size=n)),
        "huge": lambda: (
            [HUGE, *draw(st.lists(HOSTILE_TEXT, min_size=n - 1, max_size=n - 1))] if n else []
        ),
        "int": lambda: draw(
            st.lists(st.none() | st.integers(-(2**40), 2**40), min_size=n, max_size=n)
        ),
        "float": lambda: draw(st.lists(st.none() | st.floats(), min_size=n, max_size=n)),
        "list": lambda: draw(
            st.lists(st.none() | st.lists(st.none() | st.text(max_size=4)), min_size=n, max_size=n)
        ),
        "struct": lambda: draw(
            st.lists(
                st.none() | st.fixed_dictionaries({"x": st.none() | st.integers(0, 3)}),
                min_size=n,
                max_size=n,
            )
        ),
        "binary": lambda: draw(st.lists(st.none() | st.binary(max_size=8), min_size=n, max_size=n)),
        "timestamp": lambda: draw(
            st.lists(st.none() | st.datetimes(timezones=st.none()), min_size=n, max_size=n)
        ),
        "spans": lambda: draw(
            st.lists(st.none() | st.lists(SPAN, max_size=4), min_size=n, max_size=n)
        ),
        "span_lists": lambda: draw(
            st.lists(
                st.lists(st.tuples(st.integers(-2, 30), st.integers(-2, 30)), max_size=3),
                min_size=n,
                max_size=n,
            )
        ),
        "json_text": lambda: draw(
            st.lists(st.none() | NESTED.map(json.dumps), min_size=n, max_size=n)
        ),
    }[kind]()
    if kind == "span_lists":
        return pa.array([[list(p) for p in row] for row in values], pa.list_(pa.list_(pa.int64())))
    if kind == "huge":
        return pa.array(values, pa.string())
    if kind == "timestamp":
        return pa.array(values, pa.timestamp("us"))
    return pa.array(values)


@st.composite
def hostile_tables(draw) -> pa.Table:
    n = draw(st.integers(0, 8))
    columns: dict[str, pa.Array] = {}
    text_kind = draw(
        st.sampled_from(["string", "string", "string", "huge", "int", "list", "struct", "missing"])
    )
    if text_kind != "missing":
        columns["text"] = _column(text_kind, n, draw)
    for name, kinds in {
        "id": ["string", "int", "float", "list"],
        "lang": ["string", "struct"],
        "spans": ["spans", "span_lists", "json_text", "string", "int"],
        "extra": ["binary", "timestamp", "struct", "list", "json_text"],
    }.items():
        if draw(st.booleans()):
            columns[name] = _column(draw(st.sampled_from(kinds)), n, draw)
    if not columns:
        columns["other"] = pa.array([None] * n, pa.string())
    return pa.table(columns)


def read_all(folder: Path, fields: FieldMap, **options) -> dict[str, int]:
    """Read with the HF reader through ingest; conservation and span checks as for every reader."""
    return run_reader("hf", folder, fields, **options)


def fields_for(table: pa.Table) -> FieldMap:
    return FieldMap(spans="spans" if "spans" in table.column_names else None)


@FUZZ
@given(table=hostile_tables(), as_dict=st.booleans())
def test_saved_datasets_end_as_records_or_quarantine(tmp_path, table, as_dict):
    folder = tmp_path / f"saved-{os.urandom(4).hex()}"
    dataset = datasets.Dataset(table)
    if as_dict:  # the reader takes "train" when no split is asked for
        half = table.num_rows // 2
        datasets.DatasetDict(
            {
                "validation": dataset.select(range(half)),
                "train": dataset.select(range(half, table.num_rows)),
            }
        ).save_to_disk(str(folder))
        expected = table.num_rows - half
    else:
        dataset.save_to_disk(str(folder))
        expected = table.num_rows
    totals = read_all(folder, fields_for(table))
    assert totals["in"] == expected


def _jsonable(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


@FUZZ
@given(table=hostile_tables(), fmt=st.sampled_from(["jsonl", "csv"]))
def test_local_files_load_or_fail_clearly(tmp_path, table, fmt):
    folder = tmp_path / f"files-{os.urandom(4).hex()}"
    folder.mkdir()
    rows = [{k: _jsonable(v) for k, v in row.items()} for row in table.to_pylist()]
    if fmt == "jsonl":
        lines = [json.dumps(row) + "\n" for row in rows]
        (folder / "data.jsonl").write_text("".join(lines), encoding="utf-8")
    else:
        lines = []
        for row in rows:
            sink = io.StringIO()
            csv.writer(sink).writerow(
                v if isinstance(v, (str, type(None))) else json.dumps(v) for v in row.values()
            )
            lines.append(sink.getvalue())
        header = ",".join(table.column_names) + "\r\n"
        (folder / "data.csv").write_text(header + "".join(lines), encoding="utf-8", newline="")
    # a CSV row whose only value is empty is a blank line, which CSV readers skip
    expected = sum(1 for line in lines if line.strip("\r\n"))
    try:
        totals = read_all(folder, fields_for(table))
    except UserError as exc:  # datasets could not load the folder: one clear error
        assert str(folder) in str(exc)
        return
    if rows:
        assert totals["in"] == expected


@pytest.mark.parametrize(
    "name, content",
    [
        ("surrogate.jsonl", '{"text": "a\\ud800b"}\n'),
        ("broken.jsonl", '{"text": "a"}\n{broken\n'),
        ("mixed.jsonl", '{"text": "a", "n": 1}\n{"text": "b", "n": {"x": [1]}}\n'),
    ],
)
def test_a_folder_datasets_cannot_load_is_a_clear_error(tmp_path, name, content):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / name).write_text(content, encoding="utf-8")
    try:
        totals = read_all(folder, FieldMap())
    except UserError as exc:
        assert str(folder) in str(exc) and exc.hint
    else:
        assert totals["in"] == content.count("\n")


def test_an_empty_saved_dataset_is_zero_records(tmp_path):
    datasets.Dataset(pa.table({"text": pa.array([], pa.string())})).save_to_disk(
        str(tmp_path / "empty")
    )
    assert read_all(tmp_path / "empty", FieldMap())["in"] == 0
