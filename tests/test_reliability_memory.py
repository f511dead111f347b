"""Queries keep working while a translate run compacts the translation memory.

A translate run ends by compacting the memory (one new file, then the old files are deleted).
Every store connection makes a ``memory`` view, so any ``curate sql`` query, even one that does
not touch the memory, used to fail with a DuckDB IO error when it listed the memory's files just
before a compaction deleted them.
"""

from __future__ import annotations

import threading

import pytest

from curate.mt.memory import MemoryEntry, TranslationMemory
from curate.store import Store


@pytest.mark.slow
def test_queries_during_memory_compactions_never_fail(tmp_path):
    (tmp_path / "_runs").mkdir()
    memory = TranslationMemory(tmp_path)
    errors: list[str] = []
    answered = [0]
    stop = threading.Event()

    def query() -> None:
        store = Store(tmp_path)
        while not stop.is_set():
            for sql in ("SELECT count(*) FROM documents", "SELECT count(*) FROM memory"):
                try:
                    store.sql(sql)
                    answered[0] += 1
                except Exception as exc:  # the test fails on any of them
                    errors.append(repr(exc)[:300])

    reader = threading.Thread(target=query)
    reader.start()
    try:
        for i in range(120):
            for j in range(2):  # two flushes, so the compaction has files to merge and delete
                entries = {f"sentence {i} {j} {k}": MemoryEntry(f"satz {i} {k}") for k in range(5)}
                memory.add("m", "1", "en", "de", entries)
                memory.flush()
            memory.compact("en", "de")
            stop.wait(0.02)  # compactions far more often than translate runs end, not back to back
    finally:
        stop.set()
        reader.join()
    assert answered[0] > 10
    assert not errors, errors[:2]
    store = Store(tmp_path)
    assert store.sql("SELECT count(*) AS n FROM memory").column(0)[0].as_py() == 120 * 2 * 5
