"""Choose where and how a CTranslate2 model runs: device, precision and thread counts.

``auto`` picks CUDA with ``int8_float16`` when CTranslate2 sees a usable GPU and CPU with
``int8`` otherwise. A machine whose driver cannot run CUDA makes CTranslate2 raise
``RuntimeError: CUDA failed ...``: when CUDA was only a preference (``auto``, or ``cuda`` from a
recipe default) we fall back to the CPU with a logged warning (once per load: the CPU is
much slower, the user should know); when the user insisted (``--device cuda``,
``strict=True``) that is a :class:`~curate.errors.UserError`.

Threads on the CPU: ``intra_threads=1`` and one translator replica per core this process may use
(``inter_threads``; a worker's share where several share the machine, :mod:`curate.cores`) was
the fastest setting measured on the reference machine (see ENVIRONMENT.md); more intra-op
threads made small models up to 10x slower.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

import ctranslate2

from curate.cores import available_cores
from curate.errors import UserError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cpu", "cuda")
DEFAULT_COMPUTE = {"cpu": "int8", "cuda": "int8_float16"}


@dataclass(frozen=True)
class DeviceChoice:
    """Arguments for ``ctranslate2.Translator`` and why they were chosen."""

    device: str
    compute_type: str
    inter_threads: int
    intra_threads: int
    device_index: tuple[int, ...] = (0,)
    reason: str = ""

    def translator_kwargs(self) -> dict[str, object]:
        return {
            "device": self.device,
            "device_index": list(self.device_index),
            "compute_type": self.compute_type,
            "inter_threads": self.inter_threads,
            "intra_threads": self.intra_threads,
        }


@functools.cache
def cuda_problem() -> str | None:
    """``None`` when CTranslate2 can run on a GPU here, else one line saying why not.

    Asked once per process: CTranslate2 raises its driver error only on the first query and
    reports zero devices after it, so later answers would name a different reason.
    """
    try:
        count = ctranslate2.get_cuda_device_count()
        ctranslate2.get_supported_compute_types("cuda")
    except (RuntimeError, ValueError) as exc:  # no driver, or a build without CUDA
        return _first_line(exc)
    if count == 0:
        return "no CUDA device visible to CTranslate2"
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _compute_type(device: str, requested: str) -> str:
    supported = ctranslate2.get_supported_compute_types(device)
    if requested == "auto":
        preferred = DEFAULT_COMPUTE[device]
        if preferred in supported:
            return preferred
        fallback = "float16" if device == "cuda" else "float32"
        return fallback if fallback in supported else sorted(supported)[0]
    if requested not in supported and requested != "default":
        raise UserError(
            f"compute type {requested!r} is not supported on {device} here "
            f"(supported: {', '.join(sorted(supported))})"
        )
    return requested


def choose_device(
    device: str = "auto",
    compute_type: str = "auto",
    *,
    strict: bool = False,
    inter_threads: int | None = None,
    intra_threads: int | None = None,
    cores: int | None = None,
) -> DeviceChoice:
    """Resolve ``device``/``compute_type`` (``auto`` allowed) into a :class:`DeviceChoice`.

    ``strict`` means the user named the device explicitly: a CUDA request that cannot be met
    raises :class:`UserError` instead of falling back. ``cores`` bounds the CPU threads (for
    several worker processes on one machine, pass each its share).
    """
    if device not in DEVICES:
        raise UserError(f"unknown device {device!r} (choose one of {', '.join(DEVICES)})")
    n_cores = cores or available_cores()
    reason = ""
    chosen = "cpu"
    if device in ("auto", "cuda"):
        problem = cuda_problem()
        if problem is None:
            chosen = "cuda"
            reason = "CUDA device visible"
        elif device == "cuda" and strict:
            raise UserError(
                f"--device cuda was requested but CUDA is not usable here: {problem}",
                hint="use --device auto (falls back to the CPU) or --device cpu",
            )
        else:
            log.warning("CUDA is not usable (%s); translating on the CPU instead", problem)
            reason = f"CUDA unusable: {problem}"
    else:
        reason = "CPU requested"
    resolved_compute = _compute_type(chosen, compute_type)
    if chosen == "cuda":
        gpus = ctranslate2.get_cuda_device_count()
        return DeviceChoice(
            device="cuda",
            compute_type=resolved_compute,
            inter_threads=inter_threads or 1,
            intra_threads=intra_threads or 1,
            device_index=tuple(range(gpus)),
            reason=reason,
        )
    intra = intra_threads or 1
    inter = inter_threads or max(1, n_cores // intra)
    return DeviceChoice(
        device="cpu",
        compute_type=resolved_compute,
        inter_threads=inter,
        intra_threads=intra,
        reason=reason,
    )
