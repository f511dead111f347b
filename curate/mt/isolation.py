"""Poison-record isolation: a model call that raises is split in halves and each half run
again, until the input that raises is alone; it fails, every other input is translated.

A call that fails costs about ``2 log2(n)`` further calls to isolate one bad input among ``n``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

log = logging.getLogger(__name__)


class _Failable(Protocol):
    error: str | None


U = TypeVar("U", bound=_Failable)
R = TypeVar("R")
#: what a call returns: its results, or the exception it raised when it was started
Handle = Any


def collect_isolating(
    units: list[U],
    handle: Handle,
    call: Callable[[list[U]], Handle],
    read: Callable[[Handle], R],
    fill: Callable[[list[U], R], None],
    on_failed_call: Callable[[], None] = lambda: None,
) -> None:
    """Wait for ``handle`` (the call of ``units``), ``read`` its results and ``fill`` them in.

    If the call raised, or ``read`` raises, the units are split in halves, each half is
    ``call``-ed again and collected the same way; a unit that fails alone gets ``error`` set to
    the exception's type and text. ``on_failed_call`` is told of every call that failed.
    """
    try:
        if isinstance(handle, BaseException):
            raise handle
        results = read(handle)
    except Exception as exc:
        on_failed_call()
        if len(units) == 1:
            units[0].error = f"{type(exc).__name__}: {exc}"
            log.warning("translation failed for one input: %s", units[0].error)
            return
        mid = len(units) // 2
        for half in (units[:mid], units[mid:]):
            collect_isolating(half, call(half), call, read, fill, on_failed_call)
        return
    fill(units, results)
