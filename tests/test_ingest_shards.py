"""Reading one JSON Lines file in independent byte ranges, as ingest does with several workers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import beam_jobs.ingest as ingest_job
import curate.io.shards as shards_module
from beam_jobs.ingest import InputSpec, run_ingest
from curate.ingest import IngestConfig
from curate.io import READERS, SHARD_READERS, FieldMap, line_shards
from curate.store import Store


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(st.binary(max_size=12).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    final_newline=st.booleans(),
    shard_bytes=st.integers(1, 80),
    block=st.integers(1, 40),
)
def test_shards_tile_the_file_on_line_boundaries(
    tmp_path_factory, lines, final_newline, shard_bytes, block
):
    data = b"\n".join(lines) + (b"\n" if final_newline and lines else b"")
    path = tmp_path_factory.mktemp("shards") / "f.jsonl"
    path.write_bytes(data)
    original = shards_module._BLOCK
    shards_module._BLOCK = block  # cuts that fall across read blocks
    try:
        shards = line_shards(str(path), shard_bytes)
    finally:
        shards_module._BLOCK = original
    position = 0
    for shard in shards:
        assert shard.start == position
        assert shard.first_line == data[: shard.start].count(b"\n") + 1
        end = len(data) if shard.end is None else shard.end
        if shard.end is not None:
            assert data[end - 1 : end] == b"\n"  # ends after a line end
            assert end - shard.start >= shard_bytes
        position = end
    assert position == len(data)


def messy_jsonl(path: Path, n: int = 300) -> Path:
    with path.open("wb") as fh:
        for i in range(n):
            if i % 37 == 5:
                fh.write(b'{"id": "broken\n')
            elif i % 41 == 7:
                fh.write(b"\n")
            elif i % 43 == 9:
                fh.write(b'{"text": "bad \xff utf8"}\r\n')
            else:
                fh.write(json.dumps({"id": f"r{i}", "text": f"Line {i}. Second."}).encode() + b"\n")
        fh.write(b'{"text": "last line without an end"}')
    return path


def test_reading_every_shard_equals_reading_the_whole_file(tmp_path):
    path = messy_jsonl(tmp_path / "in.jsonl")

    def seen(batches):
        records, quarantined, skipped = [], [], 0
        for batch in batches:
            records += [(r.source_line, r.id, r.text, r.payload) for r in batch.records]
            quarantined += [(q.source_line, q.reason, q.payload) for q in batch.quarantined]
            skipped += batch.skipped
        return sorted(records), sorted(quarantined), skipped

    whole = seen(READERS["jsonl"](str(path), FieldMap(), {}))
    for shard_bytes in (1, 100, 999, 10**6):
        shards = line_shards(str(path), shard_bytes)
        parts = seen(b for s in shards for b in SHARD_READERS["jsonl"](s, FieldMap()))
        assert parts == whole
    assert len(whole[0]) > 250 and len(whole[1]) >= 10 and whole[2] >= 7


def store_rows(store: Store, table: str, columns: str) -> list[tuple]:
    rows = store.sql(f"SELECT {columns} FROM {table} ORDER BY ALL").to_pylist()
    return [tuple(r.values()) for r in rows]


@pytest.mark.slow
def test_two_workers_reading_shards_store_what_one_worker_stores(tmp_path, monkeypatch):
    path = messy_jsonl(tmp_path / "in.jsonl", 3000)
    monkeypatch.setattr(ingest_job, "MIN_SHARD_BYTES", 4096)  # a small file, several shards
    assert len(ingest_job.input_parts([InputSpec(str(path), "jsonl")], 2)) >= 8
    stores = []
    for workers in (1, 2):
        store = Store(tmp_path / f"store{workers}")
        manifest = run_ingest(
            store,
            # its only non-ASCII lines are bad UTF-8: read as UTF-8 only when asked explicitly
            [InputSpec(str(path), "jsonl", options={"encoding": "utf-8"})],
            IngestConfig("d", "ingest-d", lang="en", identify_language=False),
            workers=workers,
        )
        counts = manifest["counts"]["ingest"]
        assert counts["in"] == 3001
        stores.append(store)
    one, two = stores
    for table, columns in (
        ("documents", "id, text, source_line"),
        ("segments", "id, text, char_start"),
        ("quarantine", "reason, source_line, payload"),
    ):
        assert store_rows(two, table, columns) == store_rows(one, table, columns)
    assert one.manifest("ingest-d")["counts"] == two.manifest("ingest-d")["counts"]
