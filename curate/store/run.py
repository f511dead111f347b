"""A run: the unit of writing to a store, committed atomically by its manifest.

Layout of a store directory::

    <store>/<stage>/<k>=<v>/.../<run_id>--<uuid>.parquet   committed data files
    <store>/_runs/<run_id>.json                             one manifest per run (the commit)
    <store>/_staging/<run_id>/                              files of a run in progress
    <store>/_locks/<run_id>.lock                            held while a run writes

A run writes complete files into its staging directory, moves them into the stage directories and
then replaces its manifest in one ``os.replace``: that is the commit. Readers (the DuckDB catalog)
only see files listed in manifests, so a killed run leaves the previous version visible and
nothing half-written. Re-running a run id replaces its own files and never duplicates them.
"""

from __future__ import annotations

import fcntl
import json
import os
import platform
import re
import shutil
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate import __version__
from curate.errors import UserError
from curate.records import load_schema
from curate.store.files import PartitionedWriter, WrittenFile

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise UserError(
            f"invalid run id {run_id!r}",
            hint="use letters, digits, '.', '_' or '-' (at most 128 characters)",
        )
    return run_id


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class StageCounts:
    """Conservation bookkeeping of one stage: ``in == out + quarantined + filtered``."""

    records_in: int = 0
    records_out: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    filtered: Counter[str] = field(default_factory=Counter)

    def add(self, other: StageCounts) -> None:
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.quarantined.update(other.quarantined)
        self.filtered.update(other.filtered)

    def to_json(self) -> dict[str, Any]:
        return {
            "in": self.records_in,
            "out": self.records_out,
            "quarantined": dict(sorted(self.quarantined.items())),
            "filtered": dict(sorted(self.filtered.items())),
        }

    @staticmethod
    def from_json(data: dict[str, Any]) -> StageCounts:
        return StageCounts(
            int(data.get("in", 0)),
            int(data.get("out", 0)),
            Counter(data.get("quarantined", {})),
            Counter(data.get("filtered", {})),
        )


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"curate": __version__, "python": platform.python_version()}
    for name in ("apache-beam", "pyarrow", "duckdb", "ctranslate2", "langid", "sentencex"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


class Run:
    """An open run; use :meth:`Store.open_run` as a context manager to get one."""

    def __init__(
        self,
        root: Path,
        job: str,
        run_id: str,
        options: dict[str, Any],
        fingerprint: str | None,
    ) -> None:
        self.root = root
        self.job = job
        self.run_id = check_run_id(run_id)
        self.options = options
        self.fingerprint = fingerprint
        self.staging_dir = root / "_staging" / run_id
        self.files: list[WrittenFile] = []
        self.counts: dict[str, StageCounts] = {}
        self.extra: dict[str, Any] = {}
        self.models: dict[str, str] = {}
        self.started = time.time()
        self._lock_fh: Any = None

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Run:
        lock_path = self.root / "_locks" / f"{self.run_id}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        self._lock_fh = open(lock_path, "a+")
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.close()
            raise UserError(
                f"run {self.run_id!r} is being written by another process",
                hint="wait for it to finish, or use a different --run-id",
            ) from None
        if self.staging_dir.exists():
            shutil.rmtree(self.staging_dir)  # leftovers of a killed attempt of this run
        self.staging_dir.mkdir(parents=True)
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.commit()
        finally:
            shutil.rmtree(self.staging_dir, ignore_errors=True)
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()

    # -- writing -----------------------------------------------------------------------------
    def writer(self, stage: str) -> PartitionedWriter:
        """An in-process writer into this run's staging directory; pass its files to add_files."""
        return PartitionedWriter(self.staging_dir, load_schema(stage), prefix=self.run_id)

    def write(self, stage: str, table: pa.Table) -> None:
        """Write one whole table (convenience for small, in-process stages)."""
        writer = self.writer(stage)
        writer.write(table)
        self.add_files(writer.close())

    def add_files(self, files: list[WrittenFile]) -> None:
        self.files.extend(files)

    def count(self, stage: str, counts: StageCounts) -> None:
        self.counts.setdefault(stage, StageCounts()).add(counts)

    # -- commit ------------------------------------------------------------------------------
    def commit(self) -> dict[str, Any]:
        """Move staged files into the store and atomically replace this run's manifest."""
        for f in self.files:
            src = self.staging_dir / f.relpath
            dst = self.root / f.relpath
            dst.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dst)
        by_stage: dict[str, list[str]] = {}
        for f in sorted(self.files, key=lambda f: f.relpath):
            by_stage.setdefault(f.stage, []).append(f.relpath)
        manifest = {
            "run_id": self.run_id,
            "job": self.job,
            "status": "succeeded",
            "started_at": datetime.fromtimestamp(self.started, UTC).isoformat(timespec="seconds"),
            "finished_at": now_iso(),
            "seconds": round(time.time() - self.started, 3),
            "fingerprint": self.fingerprint,
            "options": self.options,
            "versions": {**package_versions(), **self.models},
            "counts": {stage: c.to_json() for stage, c in sorted(self.counts.items())},
            "files": by_stage,
            "rows": {
                stage: sum(f.rows for f in self.files if f.stage == stage) for stage in by_stage
            },
            **self.extra,
        }
        runs_dir = self.root / "_runs"
        runs_dir.mkdir(exist_ok=True)
        path = runs_dir / f"{self.run_id}.json"
        # the previous version's files stay on disk until the next commit of this run id, so a
        # reader that listed them just before this commit can still read them
        keep = {f.relpath for f in self.files}
        previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        manifest["superseded"] = sorted(
            {rel for rels in previous.get("files", {}).values() for rel in rels} - keep
        )
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=1, default=str), encoding="utf-8")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # the commit point
        self._remove_superseded(keep | set(manifest["superseded"]))
        return manifest

    def _remove_superseded(self, keep: set[str]) -> None:
        """Delete this run id's data files that the new manifest neither lists nor supersedes.

        That covers versions older than the previous one and orphans of an attempt killed
        before its commit. File names are ``<run_id>--<12 hex>.parquet``, so the match is exact.
        """
        own = re.compile(rf"^{re.escape(self.run_id)}--[0-9a-f]{{12}}\.parquet$")
        for path in self.root.glob("*/**/*.parquet"):
            rel = path.relative_to(self.root).as_posix()
            if rel.startswith("_") or rel in keep or not own.match(path.name):
                continue
            path.unlink(missing_ok=True)
