"""Exporting a large stage in bounded memory: rows stream from the store in batches into
shards of at most ``max_shard_rows`` rows, and the export holds the same rows, in the same
order, as the stage read whole."""

from __future__ import annotations

from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from curate.cli.build import export
from curate.export.card import CardInfo, read_card_header
from curate.export.hub import export_folder
from curate.export.stages import export_reader
from curate.records import load_schema
from curate.store import Store
from tests.test_export_hub import samples


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets-cache"))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    """Training samples of one build run written as several files (several store shards)."""
    rows = [{**row, "run_id": "build-1"} for row in samples()]
    store = Store(tmp_path / "store")
    with store.open_run("build-parallel", "build-1") as run:
        for start in range(0, len(rows), 11):
            run.write(
                "training_samples", load_schema("training_samples").table(rows[start : start + 11])
            )
    assert len(store.stage_files("training_samples")) > 3
    return store


def test_a_streamed_export_holds_the_stage_in_shards_sized_by_rows(store, tmp_path):
    whole = store.sql("SELECT * FROM training_samples WHERE run_id = 'build-1'")
    reader = export_reader(store, "training_samples", batch_rows=4)
    result = export_folder(reader, tmp_path / "out", CardInfo("streamed"), max_shard_rows=5)
    header = read_card_header(tmp_path / "out")
    total = 0
    for config, splits in result.configs.items():
        assert any(c["config_name"] == config for c in header["configs"])
        for split, info in splits.items():
            sizes = [pq.read_metadata(tmp_path / "out" / f).num_rows for f in info["files"]]
            # every shard full but the last
            assert sizes[:-1] == [5] * (len(sizes) - 1) and 1 <= sizes[-1] <= 5
            assert sum(sizes) == info["rows"]
            loaded = datasets.load_dataset(str(tmp_path / "out"), name=config, split=split)
            expected = whole.filter(
                (whole.column("config").to_numpy(zero_copy_only=False) == config)
                & (whole.column("split").to_numpy(zero_copy_only=False) == split)
            )
            # the same rows in the same order as the stage read whole
            assert loaded["id"] == expected.column("id").to_pylist()
            assert loaded["text"] == expected.column("text").to_pylist()
            total += info["rows"]
    assert total == whole.num_rows


def test_the_cli_export_writes_shards_of_max_shard_rows(store, tmp_path):
    export(
        to=tmp_path / "cli",
        store=store.root,
        push=None,
        name="unit",
        license="cc-by-4.0",
        max_shard_mb=256,
        max_shard_rows=7,
        private=False,
        stage="training_samples",
        status="complete",
        fmt="hub",
        run_id=None,
    )
    files = sorted((tmp_path / "cli" / "data").rglob("*.parquet"))
    sizes = [pq.read_metadata(f).num_rows for f in files]
    assert (
        max(sizes) == 7
        and sum(sizes) == store.sql("SELECT count(*) FROM training_samples").column(0)[0].as_py()
    )
