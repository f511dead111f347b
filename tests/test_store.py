"""The store: atomic runs, re-runs that replace, locks, and read-only SQL."""

from __future__ import annotations

import pytest

from curate.errors import UserError
from curate.records import load_schema
from curate.store import StageCounts, Store


def docs(run_id: str, texts: list[str], lang: str = "en"):
    rows = [
        {
            "id": f"{run_id}-{i}",
            "lang": lang,
            "text": t,
            "dataset": "d",
            "source_id": str(i),
            "run_id": run_id,
            "stage": "ingest",
        }
        for i, t in enumerate(texts)
    ]
    return load_schema("documents").table(rows)


def write(store: Store, run_id: str, texts: list[str], lang: str = "en") -> None:
    with store.open_run("test", run_id) as run:
        run.write("documents", docs(run_id, texts, lang))
        run.count("documents", StageCounts(len(texts), len(texts)))


def count(store: Store, sql: str = "SELECT count(*) AS n FROM documents") -> int:
    return store.sql(sql).column(0)[0].as_py()


def test_rerun_replaces_its_own_output_and_keeps_other_runs(tmp_path):
    store = Store(tmp_path)
    write(store, "a", ["one", "two", "three"])
    write(store, "b", ["other"], lang="de")
    write(store, "a", ["one again"])
    assert count(store) == 2
    assert count(store, "SELECT count(*) FROM documents WHERE run_id = 'a'") == 1
    committed = store.stage_files("documents")
    assert sorted(p.name.split("--")[0] for p in committed) == ["a", "b"]
    # the superseded version stays on disk for readers until the next commit of the run
    write(store, "a", ["one more time"])
    on_disk = sorted(p.name.split("--")[0] for p in tmp_path.glob("documents/*/*.parquet"))
    assert on_disk == ["a", "a", "b"] and count(store) == 2
    assert {p.parent.name for p in tmp_path.glob("documents/*/*.parquet")} == {"lang=en", "lang=de"}


def test_failed_run_leaves_the_previous_version_visible(tmp_path):
    store = Store(tmp_path)
    write(store, "a", ["kept"])
    with pytest.raises(RuntimeError), store.open_run("test", "a") as run:
        run.write("documents", docs("a", ["never", "committed"]))
        raise RuntimeError("killed")
    assert store.sql("SELECT text FROM documents").column(0).to_pylist() == ["kept"]
    assert not (tmp_path / "_staging" / "a").exists()


def test_second_writer_of_the_same_run_is_refused(tmp_path):
    store = Store(tmp_path)
    with (
        store.open_run("test", "a"),
        pytest.raises(UserError, match="being written"),
        store.open_run("test", "a"),
    ):
        pass
    with store.open_run("test", "a"), store.open_run("test", "b"):
        pass  # different run ids coexist


def test_manifest_records_counts_versions_and_files(tmp_path):
    store = Store(tmp_path)
    write(store, "a", ["x", "y"])
    manifest = store.manifest("a")
    assert manifest["counts"]["documents"] == {"in": 2, "out": 2, "quarantined": {}, "filtered": {}}
    assert manifest["rows"] == {"documents": 2}
    assert "pyarrow" in manifest["versions"]
    runs = store.sql("SELECT run_id, records_in, status FROM runs").to_pylist()
    assert runs == [{"run_id": "a", "records_in": 2, "status": "succeeded"}]


def test_empty_stages_are_queryable(tmp_path):
    store = Store(tmp_path)
    write(store, "a", ["x"])
    assert count(store, "SELECT count(*) FROM translations") == 0
    assert "src_lang" in store.sql("SELECT * FROM translations").column_names


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TABLE t AS SELECT 1",
        "INSERT INTO documents SELECT * FROM documents",
        "COPY (SELECT 1) TO '/tmp/curate-escape.csv'",
        "ATTACH '/tmp/curate-escape.db' AS x",
        "INSTALL httpfs",
        "LOAD httpfs",
        "PRAGMA enable_profiling",
        "SET enable_external_access = true",
        "SELECT 1; DROP VIEW documents",
        "DROP VIEW documents",
    ],
)
def test_sql_refuses_anything_but_one_select(tmp_path, statement):
    store = Store(tmp_path)
    write(store, "a", ["x"])
    with pytest.raises(UserError):
        store.sql(statement)
    assert count(store) == 1


def test_sql_cannot_read_outside_the_store(tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text("secret\n1\n")
    store = Store(tmp_path / "store")
    write(store, "a", ["x"])
    with pytest.raises(UserError):
        store.sql(f"SELECT * FROM read_csv('{outside}')")


def test_invalid_run_id_is_refused(tmp_path):
    with (
        pytest.raises(UserError, match="invalid run id"),
        Store(tmp_path).open_run("t", "../escape"),
    ):
        pass


def test_a_store_of_the_earlier_layout_reads_and_takes_new_versions(tmp_path):
    store = Store(tmp_path)
    write(store, "a", ["old"])
    (tmp_path / "_runs" / "a" / "00000001.json").rename(tmp_path / "_runs" / "a.json")
    (tmp_path / "_runs" / "a").rmdir()  # as a store written before manifests had versions
    assert [m["run_id"] for m in store.manifests()] == ["a"] and count(store) == 1
    write(store, "a", ["new", "newer"])
    write(store, "a", ["newest", "again", "and again"])
    assert count(store) == 3 and not (tmp_path / "_runs" / "a.json").exists()
    assert sorted(p.name for p in (tmp_path / "_runs" / "a").iterdir()) == [
        "00000001.json",
        "00000002.json",
    ]
