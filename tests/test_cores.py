"""Each worker's share of the machine's cores: honoured by the translation device choice, given
to every worker of ``--workers N`` on the local runner, and a bad value is one clear error."""

from __future__ import annotations

import os
from pathlib import Path

import apache_beam as beam
import pytest

from beam_jobs.common import make_pipeline, pipeline_options
from curate.cores import (
    WORKER_CORES_VARIABLE,
    available_cores,
    machine_cores,
    share_of_cores,
)
from curate.errors import UserError
from curate.mt.device import choose_device


def test_a_workers_share_bounds_the_cores_and_the_translator_replicas(monkeypatch) -> None:
    monkeypatch.delenv(WORKER_CORES_VARIABLE, raising=False)
    assert available_cores() == machine_cores()
    monkeypatch.setenv(WORKER_CORES_VARIABLE, "1")
    assert available_cores() == 1
    assert choose_device("cpu").inter_threads == 1
    monkeypatch.setenv(WORKER_CORES_VARIABLE, str(machine_cores() + 8))  # never above the machine
    assert available_cores() == machine_cores()


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5"])
def test_a_share_that_is_no_number_of_cores_is_a_one_line_user_error(monkeypatch, value) -> None:
    monkeypatch.setenv(WORKER_CORES_VARIABLE, value)
    with pytest.raises(UserError) as err:
        available_cores()
    assert WORKER_CORES_VARIABLE in str(err.value) and "\n" not in str(err.value)


def test_shares_are_equal_and_at_least_one_core() -> None:
    assert share_of_cores(2, cores=16) == 8
    assert share_of_cores(3, cores=16) == 5
    assert share_of_cores(2, cores=2) == 1
    assert share_of_cores(4, cores=2) == 1
    assert share_of_cores(1, cores=6) == 6


def test_every_local_worker_process_gets_its_share(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(WORKER_CORES_VARIABLE, raising=False)

    def _report_cores(element: int, folder: str) -> int:  # local: pickled by value
        from curate.cores import available_cores

        (Path(folder) / f"{os.getpid()}-{element}").write_text(str(available_cores()))
        return element

    with make_pipeline(pipeline_options(workers=2)) as pipeline:
        _ = (
            pipeline
            | beam.Create(range(8), reshuffle=False)
            | beam.Map(_report_cores, folder=str(tmp_path))
        )
    reports = {path.name: int(path.read_text()) for path in tmp_path.iterdir()}
    assert len(reports) == 8
    assert {name.split("-")[0] for name in reports} != {str(os.getpid())}  # ran in the workers
    assert set(reports.values()) == {share_of_cores(2, cores=machine_cores())}
    assert WORKER_CORES_VARIABLE not in os.environ  # the driver's own environment is untouched
