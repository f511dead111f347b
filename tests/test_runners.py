"""The same jobs construct for Dataflow, Flink and Spark (built and serialised, not submitted)."""

from __future__ import annotations

import pytest

from beam_jobs import ingest as ingest_job
from beam_jobs import translate as translate_job
from beam_jobs.common import make_pipeline, pipeline_options
from curate.ingest import IngestConfig

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


def constructed(args: list[str], build) -> int:
    pipeline = make_pipeline(pipeline_options(args))
    assert type(pipeline.runner).__name__ == args[0].split("=", 1)[1]
    build(pipeline)
    return len(pipeline.to_runner_api().SerializeToString())  # pickles every DoFn


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_jobs_construct_and_serialise_for_cluster_runners(runner, tmp_path):
    args = RUNNERS[runner]
    staging = str(tmp_path)
    sizes = [
        constructed(
            args,
            lambda p: ingest_job.build(
                p,
                [ingest_job.InputSpec("gs://bucket/in.jsonl", "jsonl")],
                IngestConfig("d", "r"),
                staging,
                True,
            ),
        ),
        constructed(
            args,
            lambda p: translate_job.build(
                p,
                ["gs://bucket/store/segments/lang=en/r--000000000000.parquet"],
                translate_job.TranslateJob(
                    run_id="t", targets=("de",), model="nllb-200-distilled-600M"
                ),
                "gs://bucket/store",
                staging,
            ),
        ),
    ]
    assert all(size > 1000 for size in sizes)


def test_local_runs_never_use_the_default_runner():
    pipeline = make_pipeline(pipeline_options([]))
    assert type(pipeline.runner).__name__ == "FnApiRunner"
