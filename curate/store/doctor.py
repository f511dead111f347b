"""Store health: unreadable committed files, orphans of killed runs, stale staging areas.

``diagnose(store)`` only reads. ``repair(store, report)`` moves damaged files out of the data tree
into ``_damaged/`` (never deletes them), takes them out of their run manifests (recording
that in the manifest under ``damaged_files``), and removes orphans and stale staging folders.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from curate.store import fs as layer
from curate.store.lock import is_locked
from curate.store.run import write_manifest
from curate.store.store import Store


@dataclass
class Problem:
    kind: str  # damaged | orphan | stale_staging
    path: str  # relative to the store root
    detail: str
    run_id: str | None = None


@dataclass
class DoctorReport:
    checked_files: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems


def check_file(path: str, fs: pafs.FileSystem | None = None) -> str | None:
    """None if the Parquet file (a path on ``fs``, local by default) reads completely, else
    why it does not."""
    try:
        parquet = pq.ParquetFile(str(path), filesystem=fs)
        for i in range(parquet.num_row_groups):
            parquet.read_row_group(i)
    except Exception as exc:  # any failure to read is damage, whatever pyarrow raises
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return None


def diagnose(store: Store) -> DoctorReport:
    report = DoctorReport()
    committed: set[str] = set()
    for manifest in store.manifests():
        committed.update(manifest.get("superseded", []))  # kept one commit for readers
        for rels in manifest.get("files", {}).values():
            for rel in rels:
                committed.add(rel)
                report.checked_files += 1
                path = store.path(rel)
                exists = layer.is_file(store.fs, path)
                problem = "missing" if not exists else check_file(path, store.fs)
                if problem:
                    report.problems.append(Problem("damaged", rel, problem, manifest["run_id"]))
    for top in layer.list_dirs(store.fs, store.path()):
        if top in ("_staging", "_damaged", "memory"):
            continue
        for path in layer.list_files(store.fs, store.path(top)):
            rel = layer.relative(store.path(), path)
            if not path.endswith(".parquet") or "/" not in rel or rel in committed:
                continue
            run_id = posixpath.basename(path).rsplit("--", 1)[0]
            if is_locked(store.location, run_id):
                continue  # written by a run in progress (object stores: uploaded in place)
            report.problems.append(Problem("orphan", rel, "not listed in any run manifest"))
    for run_id in layer.list_dirs(store.fs, store.path("_staging")):
        if not is_locked(store.location, run_id):
            report.problems.append(
                Problem("stale_staging", f"_staging/{run_id}", "left by a run that stopped", run_id)
            )
    return report


def repair(store: Store, report: DoctorReport) -> list[str]:
    """Fix what ``diagnose`` found; returns one line per action."""
    actions: list[str] = []
    damaged_by_run: dict[str, list[str]] = {}
    fs = store.fs
    for problem in report.problems:
        path = store.path(problem.path)
        if problem.kind == "damaged":
            if layer.is_file(fs, path):
                target = store.path("_damaged", problem.path)
                layer.ensure_parent(fs, target)
                fs.move(path, target)  # a copy and a delete on an object store
                actions.append(f"moved damaged {problem.path} to _damaged/")
            damaged_by_run.setdefault(problem.run_id or "", []).append(problem.path)
        elif problem.kind == "orphan":
            layer.delete_file(fs, path)
            actions.append(f"removed orphan {problem.path}")
        elif problem.kind == "stale_staging":
            layer.delete_dir(fs, path)
            actions.append(f"removed stale staging {problem.path}")
    for run_id, rels in damaged_by_run.items():
        manifest = store.manifest(run_id)
        assert manifest is not None
        for stage, files in manifest.get("files", {}).items():
            manifest["files"][stage] = [f for f in files if f not in rels]
        manifest.setdefault("damaged_files", []).extend(rels)
        write_manifest(store.location, run_id, manifest)
        actions.append(
            f"run {run_id}: {len(rels)} damaged file(s) taken out of its manifest; "
            "re-run it to restore"
        )
    return actions
