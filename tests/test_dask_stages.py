"""Every stage on a real Dask cluster (``dask scheduler`` and two ``dask worker``
processes on 127.0.0.1, each in its own working directory) with the store on a real S3 server
(SeaweedFS):

- the demo recipe, run with ``curate run --runner dask --dask-address``, commits in every stage
  the rows of an in-process run on a local store, and both workers run bundles. Rows are
  compared whole, except what eflomal's sampler decides (word links, what is projected
  through them, and the parallel pairs of sources flagged ``projection_trouble``, which the
  build drops): eflomal seeds itself from ``/dev/urandom``, so two in-process runs differ
  there too;
- the stage commands (``translate``, ``align``, ``project``, ``detect``, ``build``,
  ``export``) take an ``s3://`` ``--store`` and ``--dask-address``, write nothing beside the
  command, and the export loads with ``datasets.load_dataset``.

The commands run alone on an S3 store holding copies of the runs the in-process recipe made
before their step.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import datasets
import pyarrow.fs as pafs
import pytest
import yaml

from curate.store import Store
from testkit.cli import run_cli
from tests.dask_cluster import DaskCluster

ROOT = Path(__file__).resolve().parent.parent
#: every stage a recipe run commits rows to
STAGES = (
    "documents",
    "segments",
    "examples",
    "quarantine",
    "translations",
    "alignments",
    "projections",
    "artifact_tags",
    "training_samples",
)
#: the stages made after translation (by the commands tested one by one)
LATER = ("alignments", "projections", "artifact_tags", "training_samples")

#: the first test also makes the in-process reference: on a loaded machine over 600 s
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def cluster(seaweed, tmp_path_factory):
    """Started after the S3 server, so that the workers' environment names it."""
    with DaskCluster(tmp_path_factory.mktemp("dask-cluster"), workers=2) as started:
        yield started


def demo_recipe(folder: Path, store: str) -> Path:
    """The shipped demo recipe with its store at ``store`` and its export in ``folder``."""
    recipe = yaml.safe_load((ROOT / "datasets" / "recipes" / "demo.yaml").read_text())
    recipe["store"] = store
    recipe["allow_absolute_paths"] = True
    recipe["export"]["to"] = str(folder / "hub")
    for item in recipe["inputs"]:
        item["path"] = str((ROOT / "datasets" / "recipes" / item["path"]).resolve())
    recipe["translate"]["model"] = str(ROOT / "datasets" / "models" / "en-qsy")
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
    return path


def curate(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd, timeout=900)


#: what eflomal's Gibbs sampler decides, per stage: it seeds itself from /dev/urandom, so two
#: runs of the same alignment on the same machine differ there (and only there)
SAMPLED = {
    "alignments": ("links",),
    "projections": ("spans", "tags", "status", "reasons", "n_projected"),
}
SAMPLED_DETECTORS = {
    "projection_trouble": ("score", "flag", "detail"),  # reads projections
    "low_confidence": ("score",),  # the translation's score (see scores_of); its flag is kept
}


def comparable(stage: str, row: dict) -> str:
    """A row as a JSON line, the fields eflomal's random sampling decides left out."""
    drop = SAMPLED.get(stage, ())
    if stage == "artifact_tags":
        drop = SAMPLED_DETECTORS.get(row["detector"], ())
    if stage == "translations":
        drop = ("score",)  # compared apart, within a tolerance: see scores_of
    return json.dumps({k: v for k, v in row.items() if k not in drop}, sort_keys=True, default=str)


def troubled_sources(store: Store) -> set[str]:
    """Sources flagged by ``projection_trouble``: the parallel build drops their pairs, and the
    flag follows the projections, so eflomal's sampling decides which pairs are built."""
    query = "SELECT DISTINCT source_id FROM artifact_tags WHERE detector = 'projection_trouble'"
    return set(store.sql(query + " AND flag").column(0).to_pylist())


def without(sources: set[str], rows: list[str]) -> list[str]:
    """``rows`` less the parallel training samples built from ``sources``."""
    return [
        r
        for r in rows
        if not ('"config": "parallel"' in r and json.loads(r)["source_id"] in sources)
    ]


def rows_of(store: Store, stage: str, query: str | None = None) -> list[str]:
    """The committed rows of ``stage`` (or of ``query`` over it), sorted (a content hash)."""
    rows = store.sql(query or f'SELECT * FROM "{stage}"').to_pylist()
    return sorted(comparable(stage, r) for r in rows)


def content(store: Store, stages: tuple[str, ...] = STAGES) -> dict[str, list[str]]:
    """Every committed row of ``stages``, sorted (see :func:`comparable`)."""
    return {stage: rows_of(store, stage) for stage in stages}


def scores_of(store: Store) -> dict[str, float]:
    """Translation scores by id. CTranslate2's int8 scores move by about 0.002 with the batch a
    sentence is decoded in (padding), and the runners batch differently; the texts do not."""
    rows = store.sql("SELECT id, score FROM translations").to_pylist()
    return {r["id"]: r["score"] for r in rows}


def copy_runs(source: Store, target: Store, steps: tuple[str, ...]) -> None:
    """Copy the committed runs of the recipe's ``steps`` (manifests and the files they list)."""
    for manifest in source.manifests():
        if not manifest["run_id"].startswith(tuple(f"demo-{s}" for s in steps)):
            continue
        run = manifest["run_id"]
        files = [f for paths in dict(manifest["files"]).values() for f in paths]
        for rel in [*files, *(p.rsplit("/", 1)[-1] for p in _versions(source, run))]:
            rel = rel if "/" in rel else f"_runs/{run}/{rel}"
            pafs.copy_files(
                source.path(rel),
                target.path(rel),
                source_filesystem=source.fs,
                destination_filesystem=target.fs,
            )


def _versions(store: Store, run: str) -> list[str]:
    selector = pafs.FileSelector(store.path("_runs", run))
    return [i.path for i in store.fs.get_file_info(selector) if i.is_file]


def bundle_workers(cluster: DaskCluster, since: float) -> set[str]:
    """Names of the workers that ran bundles of a Beam stage since ``since``."""
    names = cluster.worker_names()
    tasks = cluster.client.get_task_stream(start=since)
    return {names.get(t["worker"], t["worker"]) for t in tasks if "dofn" in str(t["key"])}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Store:
    """The demo recipe in-process, on a local store."""
    folder = tmp_path_factory.mktemp("reference")
    done = curate("run", str(demo_recipe(folder, str(folder / "store"))), "--quiet")
    assert done.returncode == 0, done.stderr[-3000:]
    return Store(folder / "store")


def test_the_demo_recipe_on_dask_with_the_store_on_s3_commits_what_a_local_run_does(
    cluster, reference, seaweed, tmp_path
):
    uri = f"s3://{seaweed.bucket}/demo-{time.time_ns()}"
    cluster.client.get_task_stream()  # the scheduler records tasks from the first request on
    started = time.time()
    recipe = demo_recipe(tmp_path, uri)
    done = curate("run", str(recipe), "--runner", "dask", "--dask-address", cluster.address)
    assert done.returncode == 0, done.stderr[-3000:]
    remote = Store(uri)
    steps = {m["run_id"] for m in remote.manifests()}
    assert steps == {m["run_id"] for m in reference.manifests()}
    assert "demo-ingest-news" in steps and "demo-build-interleaved" in steps
    expected = content(reference)
    assert all(expected[stage] for stage in STAGES if stage != "quarantine")
    got = content(remote)
    troubled = troubled_sources(reference) | troubled_sources(remote)
    for stage in STAGES:
        assert without(troubled, got[stage]) == without(troubled, expected[stage]), stage
    local, remote_scores = scores_of(reference), scores_of(remote)
    assert local.keys() == remote_scores.keys()
    assert all(abs(remote_scores[k] - v) < 0.01 for k, v in local.items() if v is not None)
    assert bundle_workers(cluster, started) == {"worker-0", "worker-1"}
    # the workers wrote to the object store: no staging is left, nothing in their folders
    assert not [p for p in remote.fs.get_file_info(_staging(remote)) if p.is_file]
    loaded = datasets.load_dataset(str(tmp_path / "hub"), name="parallel")
    assert sum(split.num_rows for split in loaded.values()) == sum(
        1 for r in got["training_samples"] if '"config": "parallel"' in r
    )


def _staging(store: Store) -> pafs.FileSelector:
    return pafs.FileSelector(store.path("_staging"), recursive=True, allow_not_found=True)


#: the recipe's steps in order, with the command that runs each and the stage it writes
COMMANDS = {
    "align": (["align"], "alignments"),
    "project": (["project"], "projections"),
    "detect": (["detect"], "artifact_tags"),
    "build-parallel": (["build", "parallel"], "training_samples"),
}
BEFORE = ("ingest", "translate")


@pytest.mark.parametrize("step", list(COMMANDS))
def test_a_stage_command_runs_on_dask_with_an_s3_store(cluster, reference, seaweed, tmp_path, step):
    """Each command on an S3 store holding the runs the recipe made before its step, with
    ``--dask-address``, commits the rows the in-process recipe run committed for its stage."""
    command, stage = COMMANDS[step]
    translated = f"s3://{seaweed.bucket}/{step}-{time.time_ns()}"
    copy_runs(
        reference, Store(translated), (*BEFORE, *list(COMMANDS)[: list(COMMANDS).index(step)])
    )
    run_id = f"demo-{step}"
    args = [*command, "--store", translated, "--dask-address", cluster.address, "--quiet"]
    args += ["--run-id", run_id]
    if step == "build-parallel":
        recipe = yaml.safe_load((ROOT / "datasets" / "recipes" / "demo.yaml").read_text())
        config = tmp_path / "parallel.yaml"
        config.write_text(yaml.safe_dump(recipe["build"]["parallel"]), encoding="utf-8")
        args += ["--config", str(config)]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    started = time.time()
    done = curate(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(cwd.iterdir()) == []  # nothing written beside the command
    query = f"SELECT * FROM \"{stage}\" WHERE run_id = '{run_id}'"
    expected = rows_of(reference, stage, query)
    assert expected and rows_of(Store(translated), stage, query) == expected
    assert len(bundle_workers(cluster, started)) >= 1


def test_export_from_an_s3_store_writes_a_local_folder_that_loads(reference, seaweed, tmp_path):
    uri = f"s3://{seaweed.bucket}/export-{time.time_ns()}"
    copy_runs(reference, Store(uri), ("ingest", "translate", "build"))
    out = tmp_path / "hub"
    done = curate("export", "--store", uri, "--to", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hub"]
    rows = reference.sql("SELECT config, count(*) AS n FROM training_samples GROUP BY 1")
    for row in rows.to_pylist():
        loaded = datasets.load_dataset(str(out), name=row["config"])
        assert sum(split.num_rows for split in loaded.values()) == row["n"]


def test_a_missing_s3_store_is_one_clear_error(seaweed, tmp_path):
    uri = f"s3://{seaweed.bucket}/none-{time.time_ns()}"
    for args in (("align", "--store", uri), ("export", "--store", uri, "--to", "out")):
        done = curate("--quiet", *args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert done.stderr.startswith("error: "), done.stderr
        assert list(tmp_path.iterdir()) == []


def test_translate_command_runs_on_dask_with_an_s3_store(cluster, seaweed, tmp_path):
    """``curate translate --store s3://... --dask-address --dask-partitions`` on the demo's
    news sample and the shipped model commits the translations of an in-process run."""
    local = tmp_path / "store"
    news = str(ROOT / "datasets" / "samples" / "news_en.jsonl")
    done = curate("ingest", news, "--store", str(local), "--run-id", "demo-ingest-news", "-q")
    assert done.returncode == 0, done.stderr[-3000:]
    uri = f"s3://{seaweed.bucket}/translate-{time.time_ns()}"
    copy_runs(Store(local), Store(uri), ("ingest",))
    model = str(ROOT / "datasets" / "models" / "en-qsy")
    args = ["translate", "--to", "qsy", "--model", model, "--beam-size", "2", "--quiet"]
    args += ["--run-id", "demo-translate-segments"]
    done = curate(*args, "--store", str(local), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    cluster.client.get_task_stream()  # the scheduler records tasks from the first request on
    started = time.time()
    dask = ["--dask-address", cluster.address, "--dask-partitions", "2"]
    done = curate(*args, "--store", uri, *dask, cwd=cwd)
    assert done.returncode == 0, done.stderr[-3000:]
    assert list(cwd.iterdir()) == []  # nothing written beside the command
    remote, reference = Store(uri), Store(local)
    expected = rows_of(reference, "translations")
    assert len(expected) > 10
    assert rows_of(remote, "translations") == expected
    local_scores, remote_scores = scores_of(reference), scores_of(remote)
    assert local_scores.keys() == remote_scores.keys()
    assert all(abs(remote_scores[k] - v) < 0.01 for k, v in local_scores.items() if v is not None)
    assert len(bundle_workers(cluster, started)) >= 1
