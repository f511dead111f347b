"""The progress channel on its own: reporter files, the polling thread, rates and time left."""

from __future__ import annotations

import json
import threading
import time

from curate.progress import ProgressPoller, ProgressReporter, ProgressUpdate, read_reports


def test_reporter_writes_at_most_every_interval_and_on_flush(tmp_path):
    reporter = ProgressReporter(tmp_path, interval=60)
    reporter.add({"ingest": 5}, tokens=7, nbytes=100)  # the first add writes at once
    reporter.add({"ingest": 3})
    assert json.loads(reporter.path.read_text())["records"] == {"ingest": 5}
    reporter.flush()
    assert read_reports(tmp_path)[reporter.path.name].records == {"ingest": 8}
    assert [p.name for p in tmp_path.iterdir()] == [reporter.path.name]  # no temporary left


def test_poller_sums_reporters_of_many_threads_and_ends_exact(tmp_path):
    updates: list[ProgressUpdate] = []

    def work() -> None:
        reporter = ProgressReporter(tmp_path, interval=0.01)
        for _ in range(200):
            reporter.add({"translate": 1, "other": 2}, tokens=3)
            time.sleep(0.001)
        reporter.flush()

    with ProgressPoller(tmp_path, "translate", "tr", updates.append, total=800, interval=0.02):
        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    records = [u.records for u in updates]
    assert records == sorted(records) and len(set(records)) > 2
    last = updates[-1]
    assert (last.done, last.stage, last.records, last.tokens) == (True, "translate", 800, 2400)
    assert last.eta_s == 0.0 and last.records_per_s > 0
    halfway = [u for u in updates if 0 < u.records < 800 and u.eta_s is not None]
    assert halfway and all(u.eta_s >= 0 for u in halfway)


def test_a_vanished_file_never_makes_the_sums_go_down(tmp_path):
    reporter = ProgressReporter(tmp_path)
    reporter.add({"detect": 10})
    poller = ProgressPoller(tmp_path, "detect", "d", lambda u: None)
    assert poller.snapshot().records == 10
    reporter.path.unlink()
    (tmp_path / "garbled.json").write_text("{not json")
    assert poller.snapshot().records == 10


def test_without_a_total_there_is_a_rate_but_no_time_left(tmp_path):
    reporter = ProgressReporter(tmp_path, interval=0)
    poller = ProgressPoller(tmp_path, "build-parallel", "b", lambda u: None)
    reporter.add({"build.parallel": 4, "build.mix": 1})
    first = poller.snapshot()
    time.sleep(0.05)
    reporter.add({"build.parallel": 4})
    later = poller.snapshot()
    assert (first.stage, first.records, later.records) == ("build.parallel", 4, 8)
    assert later.records_per_s > 0 and later.eta_s is None


def test_a_failing_callback_is_dropped_and_the_block_goes_on(tmp_path):
    calls = []

    def broken(update: ProgressUpdate) -> None:
        calls.append(update)
        raise RuntimeError("terminal gone")

    with ProgressPoller(tmp_path, "ingest", "i", broken, interval=0.01):
        ProgressReporter(tmp_path).add({"ingest": 1})
        time.sleep(0.05)
    assert len(calls) == 1


def test_the_last_update_shows_the_result_when_workers_left_no_readable_file(tmp_path):
    updates: list[ProgressUpdate] = []
    with ProgressPoller(tmp_path, "ingest", "i", updates.append, total=9) as poller:
        poller.settle({"ingest": 9})  # what the job's result says (e.g. remote workers)
    assert [(u.records, u.done) for u in updates] == [(0, False), (9, True)]
