"""The store: committed runs in a directory or an object-store prefix, and DuckDB views over them.

``Store(path_or_uri).sql("SELECT ...")`` answers read-only SQL with one view per stage
(``documents``, ``segments``, ``examples``, ``translations``, ...), plus ``runs`` (one row per
run manifest), ``quarantine`` and ``memory`` (the translation memory). Views list only
committed files, so a query never sees a run that is still writing. Over a local directory
DuckDB reads the files itself (``read_parquet``, confined to the store's directory); over an
object store it reads registered ``pyarrow.dataset`` objects on the store's filesystem, with
every file access of its own turned off.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePath, PurePosixPath
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.fs as pafs

from curate.errors import UserError
from curate.records import load_schema, schema_names
from curate.store import fs as layer
from curate.store.fs import Location
from curate.store.run import (
    Run,
    StageCounts,
    check_run_id,
    manifest_versions,
    read_manifest,
    read_manifests,
)

#: Statement types `curate sql` accepts; everything else (COPY, ATTACH, INSTALL, SET, PRAGMA,
#: CREATE, INSERT, ...) is refused before it runs.
_READ_ONLY_STATEMENTS = {"SELECT", "EXPLAIN"}
#: Stages that are not written through run manifests and so have no schema of their own here.
_MANIFEST_STAGES_EXCLUDED = {"run_manifest", "translation_memory"}
#: attempts at reading the translation memory while a translate run compacts it (a query that
#: listed files a compaction then deleted lists them again after a short pause; 8 attempts
#: without a pause all collided once in a test that compacts every 25 ms)
_MEMORY_RETRIES = 20


class Store:
    """A store: a local directory or an object-store URI (``s3://bucket/prefix``, ``gs://``,
    ``az://``). Creating the object creates nothing; writing a run creates the layout.

    ``fs`` and the paths this class returns (``stage_files``, ``path``) are for
    ``pyarrow.fs``-aware readers: ``pq.ParquetFile(str(p), filesystem=store.fs)`` reads a
    committed file on every backend. ``uri`` names the store for users and for workers.
    """

    def __init__(self, path: str | Path) -> None:
        self.location: Location = layer.resolve(path)
        self.fs: pafs.FileSystem = self.location.fs
        self.uri: str = self.location.uri

    @property
    def local(self) -> bool:
        return self.location.local

    @property
    def root(self) -> Path:
        """The directory of a local store (object stores have none: use ``uri``/``path``)."""
        if not self.local:
            raise ValueError(f"{self.uri} is not a local directory")
        return Path(self.location.path)

    @property
    def name(self) -> str:
        """The last part of the store's location (e.g. for provenance lines)."""
        return PurePosixPath(self.location.path).name

    def path(self, *parts: str) -> str:
        """A path on ``fs`` inside the store."""
        return self.location.join(*parts)

    # -- runs --------------------------------------------------------------------------------
    @contextmanager
    def open_run(
        self,
        job: str,
        run_id: str,
        options: dict[str, Any] | None = None,
        fingerprint: str | None = None,
    ) -> Iterator[Run]:
        """Open a run (locked); its outputs are committed when the block exits without error."""
        if self.local:
            Path(self.location.path).mkdir(parents=True, exist_ok=True)
        with Run(self.location, job, check_run_id(run_id), options or {}, fingerprint) as run:
            yield run

    def check_reachable(self) -> None:
        """One request to an object store; a clear :class:`UserError` when it fails (no
        credentials, no network, a wrong endpoint) rather than an error deep in a job."""
        if self.local:
            return
        try:
            with layer.quiet_stderr():
                self.fs.get_file_info(self.path("_runs"))
        except (OSError, pa.ArrowException) as exc:
            raise layer.unreachable(self.uri, exc) from None

    def exists(self) -> bool:
        """Whether a run was ever committed here."""
        return bool(layer.list_files(self.fs, self.path("_runs")))

    def manifests(self) -> list[dict[str, Any]]:
        """The latest manifest of every committed run, in run id order."""
        return read_manifests(self.location)

    def manifest(self, run_id: str) -> dict[str, Any] | None:
        return read_manifest(self.location, check_run_id(run_id))

    def committed_ns(self, run_id: str) -> int:
        """When ``run_id``'s latest manifest was written (ns since the epoch; 0: no commit)."""
        versions = manifest_versions(self.location, check_run_id(run_id))
        if not versions:
            return 0
        return self.fs.get_file_info(versions[-1][1]).mtime_ns or 0

    def stage_files(self, stage: str, run_id: str | None = None) -> list[PurePath]:
        """Committed files of a stage (optionally of one run), in a stable order.

        Paths on ``fs``: ``Path`` objects for a local store, ``PurePosixPath`` (``bucket/...``)
        for an object store.
        """
        kind = Path if self.local else PurePosixPath
        files: list[PurePath] = []
        for manifest in self.manifests():
            if run_id is not None and manifest["run_id"] != run_id:
                continue
            files.extend(kind(self.path(rel)) for rel in manifest.get("files", {}).get(stage, []))
        return sorted(files)

    def read(self, stage: str, run_id: str | None = None) -> pa.Table:
        """A committed stage (or one run's part of it) as one Arrow table, partitions included."""
        return self.connect(run_id=run_id).sql(f'SELECT * FROM "{stage}"').to_arrow_table()

    def counts(self) -> dict[str, StageCounts]:
        total: dict[str, StageCounts] = {}
        for manifest in self.manifests():
            for stage, data in manifest.get("counts", {}).items():
                total.setdefault(stage, StageCounts()).add(StageCounts.from_json(data))
        return total

    # -- SQL ---------------------------------------------------------------------------------
    def stages(self) -> list[str]:
        return [n for n in schema_names() if n not in _MANIFEST_STAGES_EXCLUDED]

    def connect(self, run_id: str | None = None) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with one view per stage, locked against writes.

        The connection may read only the store directory; its configuration is locked, so a
        query cannot re-enable file access or load extensions.
        """
        if run_id is not None:
            check_run_id(run_id)
        con = duckdb.connect(":memory:")
        for stage in self.stages():
            files = self.stage_files(stage, run_id)
            if files:
                try:
                    self._stage_view(con, stage, [str(p) for p in files], stage)
                except (duckdb.Error, pa.ArrowException, OSError) as exc:
                    raise UserError(
                        f"cannot read stage {stage}: {str(exc).splitlines()[0]}",
                        hint="run `curate doctor` to find damaged files",
                    ) from None
            else:
                con.register(f"_{stage}_empty", load_schema(stage).arrow.empty_table())
                con.execute(f'CREATE VIEW "{stage}" AS SELECT * FROM "_{stage}_empty"')
        con.register("_runs_table", self._runs_table(run_id))
        con.execute('CREATE VIEW "runs" AS SELECT * FROM "_runs_table"')
        self._memory_view(con)
        if self.local:
            con.execute(f"SET allowed_directories = [{_quote(self.location.path + '/')}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET lock_configuration = true")
        return con

    def _stage_view(
        self,
        con: duckdb.DuckDBPyConnection,
        name: str,
        files: list[str],
        schema_name: str,
    ) -> None:
        """``CREATE OR REPLACE VIEW name`` over ``files`` (paths on ``fs``), hive-partitioned.

        Local: DuckDB's ``read_parquet``. Object stores: a ``pyarrow.dataset`` on ``fs``,
        registered with the connection (DuckDB itself opens no file), with the stage's schema
        so that files written before a column was added read it as null, as ``union_by_name``
        does. Either way the file columns come first, then the partition columns.
        """
        if self.local:
            paths = ", ".join(_quote(p) for p in files)
            con.execute(
                f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM read_parquet([{paths}], '
                "hive_partitioning = true, union_by_name = true)"
            )
            return
        record = load_schema(schema_name)
        keys = [record.arrow.field(k) for k in record.partition_by]
        dataset = ds.dataset(
            files,
            schema=pa.schema([*record.file_schema, *keys]),
            format="parquet",
            filesystem=self.fs,
            partitioning=ds.partitioning(pa.schema(keys), flavor="hive"),
            partition_base_dir=self.location.path,
        )
        con.register(f"_{name}_dataset", dataset)
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "_{name}_dataset"')

    def _memory_view(self, con: duckdb.DuckDBPyConnection) -> None:
        """The ``memory`` view over the translation memory's files, listed now.

        A translate run compacts the memory when it ends (one new file, then the old ones are
        deleted), so files listed a moment ago may be gone: list them again and retry.
        """
        memory = self.path("memory")
        for attempt in range(_MEMORY_RETRIES):
            files = [p for p in layer.list_files(self.fs, memory) if p.endswith(".parquet")]
            if not files:
                return
            try:
                self._stage_view(con, "memory", files, "translation_memory")
                return
            except (duckdb.IOException, FileNotFoundError):
                if attempt == _MEMORY_RETRIES - 1 or all(layer.exists(self.fs, p) for p in files):
                    raise
                _pause_for_compaction(attempt)

    def _runs_table(self, run_id: str | None) -> pa.Table:
        rows = []
        for m in self.manifests():
            if run_id is not None and m["run_id"] != run_id:
                continue
            counts = m.get("counts", {})
            rows.append(
                {
                    "run_id": m["run_id"],
                    "job": m["job"],
                    "status": m["status"],
                    "started_at": m["started_at"],
                    "finished_at": m.get("finished_at"),
                    "seconds": m.get("seconds"),
                    "fingerprint": m.get("fingerprint"),
                    "records_in": sum(c.get("in", 0) for c in counts.values()),
                    "records_out": sum(c.get("out", 0) for c in counts.values()),
                    "quarantined": sum(
                        sum(c.get("quarantined", {}).values()) for c in counts.values()
                    ),
                    "filtered": sum(sum(c.get("filtered", {}).values()) for c in counts.values()),
                    "options": json.dumps(m.get("options", {})),
                    "versions": json.dumps(m.get("versions", {})),
                    "counts": json.dumps(counts),
                }
            )
        schema = pa.schema(
            [
                ("run_id", pa.string()),
                ("job", pa.string()),
                ("status", pa.string()),
                ("started_at", pa.string()),
                ("finished_at", pa.string()),
                ("seconds", pa.float64()),
                ("fingerprint", pa.string()),
                ("records_in", pa.int64()),
                ("records_out", pa.int64()),
                ("quarantined", pa.int64()),
                ("filtered", pa.int64()),
                ("options", pa.string()),
                ("versions", pa.string()),
                ("counts", pa.string()),
            ]
        )
        return pa.Table.from_pylist(rows, schema=schema)

    def sql_batches(
        self, query: str, batch_rows: int = 10_000, run_id: str | None = None
    ) -> pa.RecordBatchReader:
        """Stream one read-only statement's result in record batches of at most ``batch_rows``
        rows: DuckDB produces them as they are read, so the caller never holds the result."""
        con = self.connect(run_id)
        check_read_only(con, query)
        with _sql_errors():
            reader = con.sql(query).fetch_arrow_reader(batch_rows)

        def batches() -> Iterator[pa.RecordBatch]:
            with _sql_errors():
                yield from reader
            con.close()

        return pa.RecordBatchReader.from_batches(reader.schema, batches())

    def sql(self, query: str, run_id: str | None = None) -> pa.Table:
        """Run one read-only statement; anything that could write or reconfigure is refused."""
        con = self.connect(run_id)
        check_read_only(con, query)
        try:
            for attempt in range(_MEMORY_RETRIES):
                try:
                    return con.sql(query).to_arrow_table()
                except duckdb.IOException as exc:
                    # a memory file deleted by a compaction since the view was made: list again
                    if attempt == _MEMORY_RETRIES - 1 or self.path("memory") not in str(exc):
                        raise
                    _pause_for_compaction(attempt)
                    con = self.connect(run_id)
            raise AssertionError("unreachable")
        except duckdb.PermissionException as exc:
            raise UserError(
                f"SQL error: {str(exc).splitlines()[0]}",
                hint="curate sql reads only the store, through its views "
                "(documents, segments, ..., runs, quarantine)",
            ) from None
        except duckdb.Error as exc:
            message = str(exc).splitlines()[0]
            hint = "run `curate doctor` to find damaged files" if ".parquet" in message else None
            raise UserError(f"SQL error: {message}", hint=hint) from None


@contextmanager
def _sql_errors() -> Iterator[None]:
    """DuckDB's errors while running or streaming a query, as one-line UserErrors."""
    try:
        yield
    except (duckdb.PermissionException, duckdb.Error) as exc:
        message = str(exc).splitlines()[0]
        hint = "run `curate doctor` to find damaged files" if ".parquet" in message else None
        raise UserError(f"SQL error: {message}", hint=hint) from None


def _pause_for_compaction(attempt: int) -> None:
    """Before listing the memory again: 10 ms more per attempt, at most 50 ms, so that a
    compaction in progress can finish deleting the files it replaced."""
    time.sleep(min(0.01 * (attempt + 1), 0.05))


def check_read_only(con: duckdb.DuckDBPyConnection, query: str) -> None:
    try:
        statements = con.extract_statements(query)
    except duckdb.Error as exc:
        raise UserError(f"SQL error: {str(exc).splitlines()[0]}") from None
    if len(statements) != 1:
        raise UserError(
            f"curate sql runs exactly one statement, got {len(statements)}",
            hint="send one SELECT at a time",
        )
    kind = statements[0].type.name
    if kind not in _READ_ONLY_STATEMENTS:
        raise UserError(
            f"curate sql is read-only: {kind} statements are refused",
            hint="use SELECT (or EXPLAIN) over the stage views",
        )


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
