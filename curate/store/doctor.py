"""Store health: unreadable committed files, orphans of killed runs, stale staging areas.

``diagnose(store)`` only reads. ``repair(store, report)`` moves damaged files out of the data tree
into ``_damaged/`` (never deletes them), takes them out of their run manifests (recording
that in the manifest under ``damaged_files``), and removes orphans and stale staging folders.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

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


def check_file(path: Path) -> str | None:
    """None if the Parquet file reads completely, else why it does not."""
    try:
        parquet = pq.ParquetFile(path)
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
                path = store.root / rel
                problem = "missing" if not path.exists() else check_file(path)
                if problem:
                    report.problems.append(Problem("damaged", rel, problem, manifest["run_id"]))
    for path in sorted(store.root.glob("*/**/*.parquet")):
        rel = path.relative_to(store.root).as_posix()
        if rel.split("/", 1)[0] in ("_staging", "_damaged", "memory"):
            continue
        if rel not in committed:
            report.problems.append(Problem("orphan", rel, "not listed in any run manifest"))
    staging = store.root / "_staging"
    if staging.is_dir():
        for run_dir in sorted(staging.iterdir()):
            if not _locked(store, run_dir.name):
                report.problems.append(
                    Problem(
                        "stale_staging",
                        run_dir.relative_to(store.root).as_posix(),
                        "left by a run that stopped",
                        run_dir.name,
                    )
                )
    return report


def repair(store: Store, report: DoctorReport) -> list[str]:
    """Fix what ``diagnose`` found; returns one line per action."""
    actions: list[str] = []
    damaged_by_run: dict[str, list[str]] = {}
    for problem in report.problems:
        path = store.root / problem.path
        if problem.kind == "damaged":
            if path.exists():
                target = store.root / "_damaged" / problem.path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                actions.append(f"moved damaged {problem.path} to _damaged/")
            damaged_by_run.setdefault(problem.run_id or "", []).append(problem.path)
        elif problem.kind == "orphan":
            path.unlink(missing_ok=True)
            actions.append(f"removed orphan {problem.path}")
        elif problem.kind == "stale_staging":
            shutil.rmtree(path, ignore_errors=True)
            actions.append(f"removed stale staging {problem.path}")
    for run_id, rels in damaged_by_run.items():
        manifest_path = store.root / "_runs" / f"{run_id}.json"
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        for stage, files in manifest.get("files", {}).items():
            manifest["files"][stage] = [f for f in files if f not in rels]
        manifest.setdefault("damaged_files", []).extend(rels)
        tmp = manifest_path.with_name(manifest_path.name + ".tmp")
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(tmp, manifest_path)
        actions.append(
            f"run {run_id}: {len(rels)} damaged file(s) taken out of its manifest; "
            "re-run it to restore"
        )
    return actions


def _locked(store: Store, run_id: str) -> bool:
    import fcntl

    lock_path = store.root / "_locks" / f"{run_id}.lock"
    if not lock_path.exists():
        return False
    with open(lock_path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False
