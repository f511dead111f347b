"""Device and precision selection: CPU fallback, and a clear error when CUDA was insisted on."""

from __future__ import annotations

import logging

import pytest

from curate.errors import UserError
from curate.mt.device import choose_device, cuda_problem

no_gpu = pytest.mark.skipif(cuda_problem() is None, reason="a usable GPU is present")


@no_gpu
def test_explicit_cuda_without_a_gpu_is_a_one_line_user_error() -> None:
    with pytest.raises(UserError) as err:
        choose_device("cuda", strict=True)
    message = str(err.value)
    assert "--device cuda" in message and "CUDA" in message
    assert "\n" not in message
    assert err.value.hint and "--device cpu" in err.value.hint


@no_gpu
def test_cuda_as_a_preference_falls_back_to_cpu_int8_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="curate.mt.device"):
        choice = choose_device("cuda", strict=False)
    assert (choice.device, choice.compute_type) == ("cpu", "int8")
    assert any("CUDA is not usable" in r.message for r in caplog.records)


@no_gpu
def test_auto_picks_cpu_int8_one_intra_thread_and_one_replica_per_core(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="curate.mt.device"):
        choice = choose_device("auto", cores=4)
    assert any("on the CPU" in r.message for r in caplog.records)
    assert (choice.device, choice.compute_type) == ("cpu", "int8")
    assert (choice.inter_threads, choice.intra_threads) == (4, 1)
    assert choice.translator_kwargs()["device"] == "cpu"


def test_thread_counts_can_be_set() -> None:
    choice = choose_device("cpu", inter_threads=1, intra_threads=2)
    assert (choice.inter_threads, choice.intra_threads) == (1, 2)


def test_unknown_device_and_unsupported_compute_type_are_user_errors() -> None:
    with pytest.raises(UserError, match="unknown device"):
        choose_device("tpu")
    with pytest.raises(UserError, match="float16"):
        choose_device("cpu", "float16")
