"""The jobs on a real Dask cluster (a scheduler and two worker processes on 127.0.0.1) with the
store on a real S3 server (SeaweedFS): `curate run RECIPE --runner dask` commits the same rows
as an in-process run, and both workers do part of the work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from functools import partial
from pathlib import Path

import pytest

from curate.store import Store
from testkit.cli import run_cli

ROOT = Path(__file__).resolve().parent.parent
#: ``curate <args>`` in a child process (a Dask run starts a local cluster: more time)
curate = partial(run_cli, timeout=600)
SAMPLES = ROOT / "datasets" / "samples"
PARTS = 2  # the recipe's runner.workers: each input is read in this many byte ranges


@pytest.fixture(scope="module")
def cluster(seaweed, tmp_path_factory):
    """A scheduler and two worker processes, each with its own folder; started after the S3
    server so that the workers' environment names it."""
    from distributed import Client, LocalCluster

    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            local_directory=str(tmp_path_factory.mktemp("dask")),
        ) as started,
        Client(started) as client,
    ):
        yield client


def write_inputs(folder: Path) -> list[Path]:
    """Two JSONL inputs made from the news sample, one with a line that must be quarantined."""
    records = [json.loads(line) for line in (SAMPLES / "news_en.jsonl").read_text().splitlines()]
    paths = []
    for i, copies in enumerate((10, 5)):
        path = folder / f"news{i}.jsonl"
        lines = [
            json.dumps({**r, "id": f"{i}-{c}-{r.get('id', n)}"})
            for c in range(copies)
            for n, r in enumerate(records)
        ]
        lines.insert(len(lines) // 2, "{not json")
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def recipe(folder: Path, store: str, inputs: list[Path]) -> Path:
    path = folder / "recipe.yaml"
    items = "".join(
        f"  - path: {p}\n    dataset: news{i}\n    lang: en\n" for i, p in enumerate(inputs)
    )
    path.write_text(
        f"name: dask-test\nstore: {store}\nallow_absolute_paths: true\ninputs:\n{items}"
        f"runner:\n  workers: {PARTS}\n",
        encoding="utf-8",
    )
    return path


def content(store: Store) -> dict[str, list[str]]:
    """Every committed row of every run stage, as sorted JSON lines (a content hash, readable)."""
    found = {}
    for stage in ("documents", "segments", "quarantine"):
        rows = store.sql(f'SELECT * FROM "{stage}"').to_pylist()
        found[stage] = sorted(json.dumps(r, sort_keys=True, default=str) for r in rows)
    return found


def test_a_recipe_on_dask_with_the_store_on_s3_commits_what_a_local_run_does(
    cluster, s3_store_uri, tmp_path
):
    inputs = write_inputs(tmp_path)
    local = tmp_path / "local-store"
    done = curate("run", str(recipe(tmp_path, str(local), inputs)), "--quiet")
    assert done.returncode == 0, done.stderr
    address = cluster.scheduler.address
    cluster.get_task_stream()  # the scheduler records tasks from the first request on
    started = time.time()
    done = curate(
        "run",
        str(recipe(tmp_path, s3_store_uri, inputs)),
        "--runner",
        "dask",
        "--dask-address",
        address,
        "--quiet",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert s3_store_uri in done.stdout
    remote, reference = Store(s3_store_uri), Store(local)
    expected = content(reference)
    assert all(expected[s] for s in ("documents", "segments", "quarantine"))
    assert content(remote) == expected
    runs = {m["run_id"]: m["counts"] for m in remote.manifests()}
    assert runs == {m["run_id"]: m["counts"] for m in reference.manifests()}
    # both worker processes ran part of the stage's bundles
    tasks = cluster.get_task_stream(start=started)
    workers = {t["worker"] for t in tasks if "apply_dofn_to_bundle" in str(t["key"])}
    assert len(workers) == 2, {str(t["key"]) for t in tasks}
    # the workers wrote straight to the object store: nothing is left in a staging area
    assert not [p for p in remote.fs.get_file_info(_under(remote, "_staging")) if p.is_file]


def _under(store: Store, folder: str):
    from pyarrow.fs import FileSelector

    return FileSelector(store.path(folder), recursive=True, allow_not_found=True)


def test_bundle_results_lost_by_the_runner_fail_the_run_and_commit_nothing(
    cluster, s3_store_uri, tmp_path, monkeypatch
):
    """Beam's own DaskRunner bundle function (which drops ``finish_bundle`` outputs) restored:
    the run must fail with a clear error instead of committing an empty run."""
    from apache_beam.runners.dask import transform_evaluator

    import beam_jobs.common
    from beam_jobs.dask import dask_beam_args
    from beam_jobs.ingest import InputSpec, run_ingest
    from curate.errors import UserError
    from curate.ingest import IngestConfig

    monkeypatch.setattr(beam_jobs.common, "keep_finish_bundle_outputs", lambda: None)
    monkeypatch.setattr(transform_evaluator, "apply_dofn_to_bundle", BEAM_BUNDLE_FUNCTION)
    store = Store(s3_store_uri)
    inputs = [InputSpec(str(p), "jsonl") for p in write_inputs(tmp_path)]
    with pytest.raises(UserError, match="results account for 0; nothing was committed"):
        run_ingest(
            store,
            inputs,
            IngestConfig("news", "ingest-lost", lang="en"),
            beam_args=dask_beam_args(cluster.scheduler.address),
        )
    assert store.manifest("ingest-lost") is None


def _beam_bundle_function():
    from apache_beam.runners.dask import transform_evaluator

    return transform_evaluator.apply_dofn_to_bundle


BEAM_BUNDLE_FUNCTION = _beam_bundle_function()  # before any pipeline replaced it


def _read(n: int, folder: str) -> int:
    """A read that leaves a trace: one file per call, named by the element and the process."""
    Path(folder, f"{n}-{os.getpid()}-{uuid.uuid4().hex}").touch()
    return n


def _share(n: int, total: int) -> tuple[int, int]:
    return n % 2, n * 1000 // total


def _sample(n: int) -> str:
    """A side input larger than the main path's elements (as project's samples are)."""
    return str(n) * 100_000


def _finish(item: tuple[int, int], usual: dict[int, int], sample: list[str], folder: str) -> None:
    key, share = item
    Path(folder, f"{key}-{share}-{usual[key]}-{len(sample)}").touch()
    Path(folder + "-where", f"{os.getpid()}-{key}-{share}").touch()


def test_a_collection_with_side_branches_is_computed_once_on_dask(cluster, tmp_path):
    """The shape of ``project``: a read feeding side inputs and the main path, whose result
    feeds a side input of its own next step. Beam's DaskRunner computed a side input's whole
    upstream graph again in every bundle of its consumer; every element must be read once.
    A side input computed once sits on one worker and drew every bundle of its consumer
    there (a large one, as project's samples are); the bundles must run on both workers."""
    import apache_beam as beam

    from beam_jobs.common import make_pipeline, pipeline_options
    from beam_jobs.dask import closing_runner_client, dask_beam_args

    reads, out = tmp_path / "reads", tmp_path / "out"
    reads.mkdir()
    out.mkdir()
    (tmp_path / "out-where").mkdir()
    numbers = list(range(1, 13))
    options = pipeline_options(dask_beam_args(cluster.scheduler.address, partitions=4))
    with closing_runner_client(), make_pipeline(options) as p:
        read = (
            p
            | beam.Create(numbers)
            | beam.Reshuffle()
            | "Read" >> beam.Map(_read, folder=str(reads))
        )
        total = beam.pvalue.AsSingleton(read | "Total" >> beam.CombineGlobally(sum))
        shares = read | "Share" >> beam.Map(_share, total=total)
        usual = beam.pvalue.AsDict(shares | "Usual" >> beam.CombinePerKey(sum))
        sample = beam.pvalue.AsList(read | "Sample" >> beam.Map(_sample))
        _ = shares | "Finish" >> beam.Map(_finish, usual=usual, sample=sample, folder=str(out))
    traces = [name.split("-") for name in os.listdir(reads)]
    assert sorted(int(n) for n, _, _ in traces) == numbers  # each read once
    assert {int(pid) for _, pid, _ in traces} <= set(cluster.run(os.getpid).values())
    total = sum(numbers)
    usual = {k: sum(n * 1000 // total for n in numbers if n % 2 == k) for k in (0, 1)}
    expected = {f"{n % 2}-{n * 1000 // total}-{usual[n % 2]}-{len(numbers)}" for n in numbers}
    assert set(os.listdir(out)) == expected
    # the last step's bundles ran on both workers, not all where its side inputs were computed
    finished_by = {int(name.split("-")[0]) for name in os.listdir(tmp_path / "out-where")}
    assert finished_by == set(cluster.run(os.getpid).values())


def _cores(n: int, folder: str) -> int:
    """The cores this bundle's process may use, left as a file named by element and process."""
    from curate.cores import available_cores

    Path(folder, f"{n}-{os.getpid()}").write_text(str(available_cores()))
    return n


def test_two_workers_on_one_host_each_get_half_of_its_cores(cluster, tmp_path):
    """Two Dask workers of one thread each on one machine: every bundle runs with half of the
    machine's cores (a translation model then starts one replica per core of that share, not
    per core of the machine in each worker)."""
    import apache_beam as beam

    from beam_jobs.common import make_pipeline, pipeline_options
    from beam_jobs.dask import closing_runner_client, dask_beam_args
    from curate.cores import machine_cores, share_of_cores

    options = pipeline_options(dask_beam_args(cluster.scheduler.address, partitions=4))
    with closing_runner_client(), make_pipeline(options) as p:
        _ = p | beam.Create(range(8)) | beam.Reshuffle() | beam.Map(_cores, folder=str(tmp_path))
    reports = {path.name: int(path.read_text()) for path in tmp_path.iterdir()}
    assert len(reports) == 8
    assert {int(name.split("-")[1]) for name in reports} <= set(cluster.run(os.getpid).values())
    assert set(reports.values()) == {share_of_cores(2, cores=machine_cores())}


def test_a_worker_killed_in_the_middle_of_a_stage_leaves_nothing_partial(
    cluster, s3_store_uri, tmp_path
):
    """SIGKILL a worker process while it runs a bundle of an ingest on Dask: the command either
    completes with the full result, or fails with one clear error and commits nothing; then
    the same command completes. A reader never sees part of the run."""
    import signal

    records = [json.loads(line) for line in (SAMPLES / "news_en.jsonl").read_text().splitlines()]
    corpus = tmp_path / "big.jsonl"
    corpus.write_text(
        "".join(
            json.dumps({**r, "id": f"{c}-{n}"}) + "\n"
            for c in range(150)
            for n, r in enumerate(records)
        )
    )
    local = tmp_path / "local-store"
    assert curate("run", str(recipe(tmp_path, str(local), [corpus])), "--quiet").returncode == 0
    expected = content(Store(local))
    command = [
        "run",
        str(recipe(tmp_path, s3_store_uri, [corpus])),
        "--quiet",
        "--runner",
        "dask",
        "--dask-address",
        cluster.scheduler.address,
        "--dask-partitions",
        str(PARTS),
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", "from curate.cli import main; main()", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
    )
    store = Store(s3_store_uri)
    pids = cluster.run(os.getpid)
    killed = None
    seen = []
    keys_seen = set()
    while proc.poll() is None and killed is None:
        processing = cluster.processing()
        keys_seen.update(str(k) for keys in processing.values() for k in keys)
        busy = [
            worker
            for worker, keys in processing.items()
            if any("apply_dofn_to_bundle" in str(k) for k in keys)
        ]
        if busy:
            killed = busy[0]
            os.kill(pids[killed], signal.SIGKILL)
        else:
            time.sleep(0.05)
    count = "SELECT count(*) AS n FROM documents"
    while proc.poll() is None:
        seen.append(store.sql(count).to_pylist()[0]["n"])
        time.sleep(0.2)
    _, err = proc.communicate()
    assert killed is not None, f"the stage ended before a worker was killed: {keys_seen}"
    assert set(seen) <= {0, len(expected["documents"])}, set(seen)
    if proc.returncode != 0:
        errors = [line for line in err.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, err[-3000:]
        assert store.manifests() == []  # nothing committed
        cluster.wait_for_workers(2)
        again = curate(*command)
        assert again.returncode == 0, again.stderr[-3000:]
    assert content(store) == expected


def test_a_grouping_on_dask_has_at_most_the_pipelines_partitions_and_deals_int_keys_in_turn():
    """Beam's own translation shuffled into as many partitions as its input had (Flatten adds
    them up), with a split task per input and output partition, and sent each bucket number to
    a partition by a hash: buckets shared partitions while others stayed empty."""
    import dask
    import dask.bag as db

    from beam_jobs.dask import group_by_key

    items = [(i % 6, i) for i in range(60)] + [("text", 1), ("text", 2)]
    grouped = group_by_key(db.from_sequence(items, npartitions=20), 8)
    assert grouped.npartitions == 8
    parts = dask.compute(*grouped.to_delayed(), scheduler="sync")
    for j in range(6):  # bucket j alone in partition j, with every value
        assert [(k, sorted(v)) for k, v in parts[j] if k != "text"] == [(j, list(range(j, 60, 6)))]
    assert [sorted(v) for p in parts for k, v in p if k == "text"] == [[1, 2]]
    assert len(group_by_key(db.from_sequence(items, npartitions=3), 8).to_delayed()) == 3
