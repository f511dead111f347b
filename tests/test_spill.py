"""Rows between fused steps travel as spill files of the run's staging area, never as data.

A value spilled and restored is the value; a grouping through spill files gives the groups of
a plain ``GroupByKey``; a committed run leaves no spill file in the store, and a failed run
exposes none (nothing committed, staging removed, ``curate doctor`` finds the store healthy).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pytest

from beam_jobs.common import Execution, run_job
from beam_jobs.spill import INLINE_BYTES, SPILL_DIR, Spilled, SpilledGroupByKey, restore, spill
from curate.errors import UserError
from curate.store import StageCounts, Store
from curate.store import fs as layer
from curate.store.doctor import diagnose

ROWS = 5000  # rows per table: far above the inline size


def _table(start: int, n: int = ROWS) -> pa.Table:
    return pa.table(
        {
            "id": pa.array(range(start, start + n), pa.int64()),
            "text": [f"sentence number {i} of the corpus" for i in range(start, start + n)],
        }
    )


def _spill_files(store: Store) -> list[str]:
    return [p for p in layer.list_files(store.fs, store.path()) if f"/{SPILL_DIR}/" in p]


def test_a_spilled_value_is_restored_as_it_was_and_small_parts_stay_inline(tmp_path):
    staging = str(tmp_path / "staging")
    big, small = _table(0), _table(0, 3)
    samples = [{"id": str(i), "text": f"sample {i} of the mix"} for i in range(5000)]
    value = ("rows", big, small, samples, None)
    spilled = spill(value, staging)
    assert spilled[0] == "rows" and spilled[2] is small and spilled[4] is None
    assert isinstance(spilled[1], Spilled) and isinstance(spilled[3], Spilled)
    assert restore(spilled) == value
    # a slice is written as the slice, not with its parent's buffers
    part = big.slice(100, 2000)
    ref = spill(part, staging)
    assert restore(ref).equals(part)
    assert (tmp_path / "staging" / SPILL_DIR / ref.name).stat().st_size < big.nbytes / 2
    assert spill(_table(0, 10), staging).nbytes < INLINE_BYTES  # stays a table


def _grouped(pipeline: beam.Pipeline, staging: str | None) -> beam.PCollection:
    left = pipeline | "Left" >> beam.Create([(k % 3, ("left", _table(k * ROWS))) for k in range(6)])
    right = pipeline | "Right" >> beam.Create(
        [(k, ("right", _table(-ROWS - k, 2))) for k in range(3)]
    )
    group = SpilledGroupByKey(staging) if staging else beam.Flatten() | beam.GroupByKey()
    return (left, right) | "Group" >> group


def _summary(item: tuple[int, Any]) -> tuple[int, list]:
    key, values = item
    return key, sorted((side, table.column("id").to_pylist()) for side, table in values)


def test_grouping_through_spill_files_gives_the_groups_of_group_by_key(tmp_path):
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    expected = [
        (
            k,
            sorted(
                [("right", [-ROWS - k, -ROWS - k + 1])]
                + [("left", list(range(j * ROWS, (j + 1) * ROWS))) for j in (k, k + 3)]
            ),
        )
        for k in range(3)
    ]
    for staging in (None, str(tmp_path / "staging")):
        with beam.Pipeline(runner=FnApiRunner()) as p:
            assert_that(_grouped(p, staging) | "Summary" >> beam.Map(_summary), equal_to(expected))
    spilled = layer.list_files(layer.resolve(str(tmp_path)).fs, str(tmp_path / "staging"))
    assert len(spilled) == 2  # one file per side's bundle, shared by its tables, small ones too


def test_many_small_pieces_of_a_bundle_share_a_spill_file_per_schema(tmp_path):
    """A shuffle's pieces shrink as the data grows: they go to shared files, not inline."""
    from apache_beam.runners.portability.fn_api_runner import FnApiRunner
    from apache_beam.testing.util import assert_that, equal_to

    staging = str(tmp_path / "staging")
    pieces = [(k % 50, _table(k * 3, 3)) for k in range(300)]
    pieces += [(k, _table(0, 2).select(["text"])) for k in range(50)]  # another schema
    pieces += [(0, _table(0, 0))]  # an empty table stays inline
    expected = [
        (k, [*sorted(j * 3 + i for j in range(k, 300, 50) for i in range(3)), None, None])
        for k in range(50)
    ]
    expected[0][1].append(0)

    def summary(item: tuple[int, list[pa.Table]]) -> tuple[int, list]:
        key, tables = item
        ids = [i for t in tables if "id" in t.column_names for i in t.column("id").to_pylist()]
        texts = [None for t in tables if "id" not in t.column_names for _ in range(t.num_rows)]
        return key, sorted(ids) + texts + ([0] if any(t.num_rows == 0 for t in tables) else [])

    with beam.Pipeline(runner=FnApiRunner()) as p:
        grouped = p | beam.Create(pieces) | SpilledGroupByKey(staging)
        assert_that(grouped | beam.Map(summary), equal_to(expected))
    files = layer.list_files(layer.resolve(str(tmp_path)).fs, staging)
    assert 2 <= len(files) <= 4  # a file per bundle and schema, not one per piece


def _counts(item: tuple[int, list]) -> dict[str, Any]:
    _, values = item
    rows = sum(table.num_rows for _, table in values)
    return {"files": [], "counts": {"spilled": StageCounts(rows, rows).to_json()}}


def _run(store: Store, run_id: str, check: Any) -> dict[str, Any]:
    def build(p: beam.Pipeline, staging: str) -> beam.PCollection:
        return _grouped(p, staging) | "Counts" >> beam.Map(_counts)

    return run_job(store, "spilltest", run_id, {}, run_id, build, Execution(), check=check)


def test_a_committed_run_leaves_no_spill_files_and_a_failed_one_exposes_none(tmp_path):
    store = Store(tmp_path / "store")
    seen: list[int] = []

    def look(run: Any) -> None:  # before the commit: the rows went through spill files
        seen.append(len(_spill_files(store)))

    manifest = _run(store, "kept", look)
    assert seen and seen[0] >= 1
    assert manifest["counts"]["spilled"]["in"] == 6 * ROWS + 3 * 2
    assert _spill_files(store) == []
    assert not any(SPILL_DIR in rel for rels in manifest["files"].values() for rel in rels)

    def fail(run: Any) -> None:
        seen.append(len(_spill_files(store)))
        raise UserError("refused")

    with pytest.raises(UserError, match="refused"):
        _run(store, "failed", fail)
    assert seen[-1] >= 1
    assert store.manifest("failed") is None
    assert _spill_files(store) == []
    assert layer.list_files(store.fs, store.path("_staging")) == []
    assert diagnose(store).healthy
    assert Counter(m["run_id"] for m in store.manifests()) == {"kept": 1}


def test_spill_files_of_a_killed_run_are_a_stale_staging_area_that_doctor_removes(tmp_path):
    from curate.store.doctor import repair

    store = Store(tmp_path / "store")
    _run(store, "kept", None)
    staging = store.location.child("_staging", "killed").uri  # as a killed run left it
    ref = spill(_table(0), staging)
    assert isinstance(ref, Spilled) and len(_spill_files(store)) == 1
    report = diagnose(store)
    assert [(p.kind, p.path) for p in report.problems] == [("stale_staging", "_staging/killed")]
    repair(store, report)
    assert _spill_files(store) == [] and diagnose(store).healthy
