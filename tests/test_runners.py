"""The same jobs construct for Dataflow, Flink and Spark (built and serialised, not submitted)."""

from __future__ import annotations

import pytest
from apache_beam.internal import pickler
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.job import utils as job_utils

from beam_jobs import ingest as ingest_job
from beam_jobs import translate as translate_job
from beam_jobs.common import WriteStagesFn, make_pipeline, pipeline_options
from curate.ingest import IngestConfig
from curate.mt.memory import MemoryShard

RUNNERS = {
    "DataflowRunner": [
        "--runner=DataflowRunner",
        "--project=my-project",
        "--region=europe-west4",
        "--temp_location=gs://curate-example-bucket/tmp",
        "--staging_location=gs://curate-example-bucket/staging",
        "--extra_package=dist/curate-0.1.0.tar.gz",
    ],
    "FlinkRunner": [
        "--runner=FlinkRunner",
        "--flink_master=localhost:8081",
        "--environment_type=LOOPBACK",
    ],
    "SparkRunner": [
        "--runner=SparkRunner",
        "--spark_master_url=spark://localhost:7077",
        "--environment_type=LOOPBACK",
    ],
}


#: options each runner needs, as a worker reads them back from the job's options struct
NEEDED = {
    "DataflowRunner": {
        "project": "my-project",
        "region": "europe-west4",
        "temp_location": "gs://curate-example-bucket/tmp",
        "staging_location": "gs://curate-example-bucket/staging",
        "extra_packages": ["dist/curate-0.1.0.tar.gz"],
    },
    "FlinkRunner": {"flink_master": "localhost:8081", "environment_type": "LOOPBACK"},
    "SparkRunner": {"spark_master_url": "spark://localhost:7077", "environment_type": "LOOPBACK"},
}


def constructed(args: list[str], build) -> dict[str, tuple]:
    """Build a job for the runner ``args`` name, serialise it as the runner would, read the
    proto back: ``{top-level transform name: (DoFn, args, kwargs)}`` as a worker unpickles
    them (``()`` for composites)."""
    pipeline = make_pipeline(pipeline_options(args))
    assert type(pipeline.runner).__name__ == args[0].split("=", 1)[1]
    build(pipeline)
    proto = beam_runner_api_pb2.Pipeline.FromString(
        pipeline.to_runner_api().SerializeToString()  # pickles every DoFn
    )
    root = proto.components.transforms[proto.root_transform_ids[0]]
    top = [proto.components.transforms[t] for t in root.subtransforms]
    fns: dict[str, tuple] = {}
    for transform in top:
        fns[transform.unique_name] = ()
        if transform.spec.urn == "beam:transform:pardo:v1":
            payload = beam_runner_api_pb2.ParDoPayload.FromString(transform.spec.payload)
            fns[transform.unique_name] = tuple(pickler.loads(payload.do_fn.payload)[:3])
    return fns


def worker_options(args: list[str]) -> dict[str, object]:
    """The options as a portable job carries them to the workers (a protobuf struct)."""
    options = pipeline_options(args)
    return job_utils.struct_to_dict(job_utils.dict_to_struct(options.get_all_options()))


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_jobs_construct_and_serialise_for_cluster_runners(runner, tmp_path):
    args = RUNNERS[runner]
    staging = str(tmp_path)
    ingest = constructed(
        args,
        lambda p: ingest_job.build(
            p,
            [ingest_job.InputSpec("gs://bucket/in.jsonl", "jsonl")],
            IngestConfig("d", "r"),
            staging,
            True,
        ),
    )
    assert list(ingest) == ["Inputs", "Read", "Ingest"]
    write = ingest["Ingest"][0]
    assert isinstance(write, WriteStagesFn)
    assert (write.staging_dir, write.prefix) == (staging, "r")
    assert write.stage_fn is ingest_job.ingest_tables
    # the reading step, as a worker unpickles it, reads a file with the job's config
    read, read_args, read_kwargs = ingest["Read"]
    assert read_kwargs["config"] == IngestConfig("d", "r")
    local = tmp_path / "in.jsonl"
    local.write_text('{"text": "Hello."}\n{broken\n')
    element = (ingest_job.InputSpec(str(local), "jsonl"), None)
    ((batch, config),) = read.process(element, *read_args, **read_kwargs)
    assert (len(batch.records), len(batch.quarantined)) == (1, 1)
    assert config.run_id == "r"

    job = translate_job.TranslateJob(run_id="t", targets=("de",), model="nllb-200-distilled-600M")
    translate = constructed(
        args,
        lambda p: translate_job.build(
            p,
            ["gs://bucket/store/segments/lang=en/r--000000000000.parquet"],
            job,
            "gs://bucket/store",
            staging,
        ),
    )
    assert list(translate) == ["Shards", "Read", "Groups", "Batch", "Translate", "Write"]
    model = translate["Translate"][0]
    assert isinstance(model, translate_job.TranslateBatchesFn)
    assert (model.job, model.store_root) == (job, "gs://bucket/store")
    assert (translate["Write"][0].staging_dir, translate["Write"][0].prefix) == (staging, "t")
    # with the translation memory joined by key: its shards are read by workers
    shard = MemoryShard(
        "en", "de", "bucket/store/memory/src_lang=en/tgt_lang=de/p.parquet", (0,), 9
    )
    join = translate_job.MemoryJoin("m", "1", "d", ((("en", "de"), ("en", "de")),), (shard,))
    joined = constructed(
        args,
        lambda p: translate_job.build(
            p,
            ["gs://bucket/store/segments/lang=en/r--000000000000.parquet"],
            job,
            "gs://bucket/store",
            staging,
            join,
        ),
    )
    assert {
        "KeyRows",
        "ReadMemory",
        "JoinMemory",
        "Hits",
        "MissGroups",
        "Remembered",
        "Results",
    } <= set(joined)
    read_memory = joined["ReadMemory"][2]
    assert (read_memory["store_root"], read_memory["join"]) == ("gs://bucket/store", join)

    options = worker_options(args)
    assert options["runner"] == runner
    assert options.items() >= NEEDED[runner].items()
    assert options["save_main_session"] is False


def test_local_runs_never_use_the_default_runner():
    pipeline = make_pipeline(pipeline_options([]))
    assert type(pipeline.runner).__name__ == "FnApiRunner"
