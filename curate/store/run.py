"""A run: the unit of writing to a store, committed atomically by its manifest.

Layout of a store (a local directory or an object-store prefix)::

    <store>/<stage>/<k>=<v>/.../<run_id>--<uuid>.parquet   data files, each under a unique name
    <store>/_runs/<run_id>/<version>.json                   a run's manifests (the commits)
    <store>/_staging/<run_id>/                              a run in progress (results, progress;
                                                            on a local disk, its data files too;
                                                            _spill/: rows between pipeline steps)
    <store>/_locks/<run_id>.lock | .lease                   held while a run writes

A run writes complete files under unique names, then writes its manifest as a new numbered
version, an object that is never changed afterwards (``os.replace`` of a flushed file locally,
one PUT on an object store): that is the commit. Readers take each run's highest version.
Readers only see files listed in manifests, so a killed run leaves the previous version visible
and nothing half-written. Re-running a run id replaces its own files and never duplicates them.
The protocol, and why it holds on object stores without rename, is in ``docs/store.md``.
"""

from __future__ import annotations

import json
import platform
import posixpath
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from curate import __version__
from curate.errors import UserError
from curate.records import load_schema
from curate.store import fs as layer
from curate.store.files import PartitionedWriter, WrittenFile
from curate.store.fs import Location
from curate.store.lock import RunLock

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")


def check_run_id(run_id: str) -> str:
    if not _RUN_ID.match(run_id):
        raise UserError(
            f"invalid run id {run_id!r}",
            hint="use letters, digits, '.', '_' or '-' (at most 128 characters)",
        )
    return run_id


#: attempts at reading a run's latest manifest (a version listed a moment ago may be gone when
#: two commits of that run id came in between)
_MANIFEST_RETRIES = 10


def _version_of(path: str) -> int | None:
    name = posixpath.basename(path)
    stem = name.removesuffix(".json")
    return int(stem) if name.endswith(".json") and stem.isdigit() else None


def manifest_versions(root: Location, run_id: str) -> list[tuple[int, str]]:
    """``(version, path)`` of a run's manifests, oldest first.

    A manifest of the earlier layout, ``_runs/<run_id>.json`` (replaced in place), counts as
    version 0: stores written before versions existed read as they did.
    """
    found = []
    legacy = root.join("_runs", f"{run_id}.json")
    if layer.is_file(root.fs, legacy):
        found.append((0, legacy))
    for path in layer.list_files(root.fs, root.join("_runs", run_id), recursive=False):
        version = _version_of(path)
        if version is not None:
            found.append((version, path))
    return sorted(found)


def read_manifest(root: Location, run_id: str) -> dict[str, Any] | None:
    """The latest committed manifest of ``run_id``, or None."""
    for _ in range(_MANIFEST_RETRIES):
        versions = manifest_versions(root, run_id)
        if not versions:
            return None
        data = layer.read_bytes(root.fs, versions[-1][1])
        if data is not None:
            return dict(json.loads(data))
    raise UserError(f"run {run_id!r} is being committed too often to read; try again")


def read_manifests(root: Location) -> list[dict[str, Any]]:
    """The latest committed manifest of every run, by run id."""
    latest: dict[str, tuple[int, str]] = {}
    runs = root.join("_runs")
    for path in layer.list_files(root.fs, runs):
        if posixpath.dirname(path) == runs:  # the earlier layout: _runs/<run_id>.json
            run_id, version = posixpath.basename(path).removesuffix(".json"), 0
            if not path.endswith(".json"):
                continue
        else:
            run_id = posixpath.basename(posixpath.dirname(path))
            version = _version_of(path)
        if version is not None and version >= latest.get(run_id, (-1, ""))[0]:
            latest[run_id] = (version, path)
    found = []
    for run_id in sorted(latest):
        data = layer.read_bytes(root.fs, latest[run_id][1])
        manifest = json.loads(data) if data is not None else read_manifest(root, run_id)
        if manifest is not None:
            found.append(manifest)
    return found


def write_manifest(root: Location, run_id: str, manifest: dict[str, Any]) -> None:
    """Commit ``manifest`` as the next version of ``run_id``'s manifest; keep the one before.

    Versions are never rewritten: a reader reads a whole object or finds it gone. Only the
    writer holding the run's lock (or lease) writes versions of it.
    """
    versions = manifest_versions(root, run_id)
    number = versions[-1][0] + 1 if versions else 1
    path = root.join("_runs", run_id, f"{number:08d}.json")
    layer.write_bytes(root.fs, path, json.dumps(manifest, indent=1, default=str).encode())
    for _, old in versions[:-1]:  # older than the previous version: no reader needs them
        layer.delete_file(root.fs, old)


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class StageCounts:
    """Conservation bookkeeping of one stage: ``in == out + quarantined + filtered``.

    ``notes`` tallies how the records out were made (e.g. projections aligned sentence by
    sentence or whole); it is not part of the conservation sum, and only written when set."""

    records_in: int = 0
    records_out: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    filtered: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)

    def add(self, other: StageCounts) -> None:
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.quarantined.update(other.quarantined)
        self.filtered.update(other.filtered)
        self.notes.update(other.notes)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "in": self.records_in,
            "out": self.records_out,
            "quarantined": dict(sorted(self.quarantined.items())),
            "filtered": dict(sorted(self.filtered.items())),
        }
        if self.notes:
            out["notes"] = dict(sorted(self.notes.items()))
        return out

    @staticmethod
    def from_json(data: dict[str, Any]) -> StageCounts:
        return StageCounts(
            int(data.get("in", 0)),
            int(data.get("out", 0)),
            Counter(data.get("quarantined", {})),
            Counter(data.get("filtered", {})),
            Counter(data.get("notes", {})),
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
        root: Location,
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
        self.staging = root.child("_staging", run_id)
        #: the staging location as a string (a local path or a URI) that workers resolve
        self.staging_dir = self.staging.uri
        self.files: list[WrittenFile] = []
        self.counts: dict[str, StageCounts] = {}
        self.extra: dict[str, Any] = {}
        self.models: dict[str, str] = {}
        self.started = time.time()
        self._lock = RunLock(root, self.run_id)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> Run:
        self._lock.acquire()
        try:
            # leftovers of a killed attempt of this run
            layer.delete_dir(self.root.fs, self.staging.path)
            if self.root.local:
                self.root.fs.create_dir(self.staging.path, recursive=True)
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.commit()
            elif not self.root.local:
                self._delete_uploaded()
        finally:
            try:
                layer.delete_dir(self.root.fs, self.staging.path)
            finally:
                self._lock.release()

    # -- writing -----------------------------------------------------------------------------
    def writer(self, stage: str) -> PartitionedWriter:
        """An in-process writer into this run's staging directory; pass its files to add_files."""
        return PartitionedWriter(self.staging, load_schema(stage), prefix=self.run_id)

    def write(self, stage: str, table: pa.Table) -> None:
        """Write one whole table (convenience for small, in-process stages)."""
        writer = self.writer(stage)
        writer.write(table)
        self.add_files(writer.close())

    def add_files(self, files: list[WrittenFile]) -> None:
        self.files.extend(files)

    def count(self, stage: str, counts: StageCounts) -> None:
        self.counts.setdefault(stage, StageCounts()).add(counts)

    def read_staged(self, prefix: str) -> list[bytes]:
        """The contents of this run's staging files whose names start with ``prefix``."""
        found = []
        for path in layer.list_files(self.root.fs, self.staging.path, recursive=False):
            if posixpath.basename(path).startswith(prefix):
                data = layer.read_bytes(self.root.fs, path)
                if data is not None:
                    found.append(data)
        return found

    # -- commit ------------------------------------------------------------------------------
    def commit(self) -> dict[str, Any]:
        """Put staged files in place and write this run's manifest in one atomic step."""
        fs = self.root.fs
        if self.root.local:  # object stores: the files were uploaded to their final keys
            for f in self.files:
                dst = self.root.join(f.relpath)
                layer.ensure_parent(fs, dst)
                fs.move(self.staging.join(f.relpath), dst)
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
        # the previous version's files stay in the store until the next commit of this run id,
        # so a reader that listed them just before this commit can still read them
        keep = {f.relpath for f in self.files}
        previous = read_manifest(self.root, self.run_id) or {}
        manifest["superseded"] = sorted(
            {rel for rels in previous.get("files", {}).values() for rel in rels} - keep
        )
        if not self._lock.still_held():
            raise UserError(
                f"run {self.run_id!r} lost its lease before the commit; nothing was committed",
                hint="run the same command again",
            )
        write_manifest(self.root, self.run_id, manifest)  # the commit point
        self._remove_superseded(keep | set(manifest["superseded"]))
        return manifest

    def _own_files(self) -> list[str]:
        """Data files of this run id in the store (committed, superseded or orphaned)."""
        own = re.compile(rf"^{re.escape(self.run_id)}--[0-9a-f]{{12}}\.parquet$")
        found = []
        for stage in layer.list_dirs(self.root.fs, self.root.path):
            if stage.startswith("_") or stage == "memory":
                continue
            for path in layer.list_files(self.root.fs, self.root.join(stage)):
                if own.match(posixpath.basename(path)):
                    found.append(path)
        return found

    def _remove_superseded(self, keep: set[str]) -> None:
        """Delete this run id's data files that the new manifest neither lists nor supersedes.

        That covers versions older than the previous one and orphans of an attempt killed
        before its commit. File names are ``<run_id>--<12 hex>.parquet``, so the match is exact.
        """
        for path in self._own_files():
            if layer.relative(self.root.path, path) not in keep:
                layer.delete_file(self.root.fs, path)

    def _delete_uploaded(self) -> None:
        """After a failure on an object store: delete the files this attempt uploaded."""
        for f in self.files:
            layer.delete_file(self.root.fs, self.root.join(f.relpath))
