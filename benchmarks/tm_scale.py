"""The translation memory at scale: lookups joined with a large memory by key in the Beam job.

A store gets a memory of ``--entries`` generated sentences (default 1M) for a small random
CTranslate2 model (``curate.mt.random_model``, built here), and ``--segments`` segments
(default 100k), ``--hit-rate`` of them sentences of the memory (the planted hits, some of
them repeated) and the rest new sentences. Then ``curate translate``'s job
(``beam_jobs.translate.run_translate``) runs in its own process: the memory is read in shards
and joined with the segments by key (``CoGroupByKey``); hits become translations without the
model, and only the misses are translated by the (tiny) model. Nothing in a hit needs a model.

Printed per memory size (``--sizes``, default ``100000`` and ``--entries``): the seconds of
the job's process (the pipeline, the commit and the memory's compaction, which merges the
new entries into the memory), the hits found (they must equal the planted hits, else the run
fails), and the peak RSS of the largest process of the job (its own process or one of its
Beam workers) beside the memory's size on disk. The last line is
``tm_peak_rss_mib X``: that peak RSS at the largest size.

    nice -n 10 .venv/bin/python benchmarks/tm_scale.py --entries 1000000 --segments 100000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from curate.mt.engine import TranslateConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SYLLABLES = "ka lo mi ne ru sa ti vo be da fe gi ho ju le ma no pe qu ri so tu wa xe yo zu".split()


def vocabulary(n: int = 4000, seed: int = 5) -> list[str]:
    rng = random.Random(seed)
    words: set[str] = set()
    while len(words) < n:
        words.add("".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def sentence(i: int, words: list[str]) -> str:
    """A distinct sentence for each ``i`` (six words and the number)."""
    rng = random.Random(i)
    body = " ".join(rng.choice(words) for _ in range(6))
    return f"{body.capitalize()} {i}."


def prepare(store_path: Path, model_dir: Path, entries: int, segments: int, hit_rate: float) -> int:
    """The model, the memory and the segments; returns the planted hits."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curate.mt.engine import TranslationEngine
    from curate.mt.memory import ROW_GROUP_ROWS, TranslationMemory, normalize_text, text_hash
    from curate.mt.random_model import random_ct2_model
    from curate.records import content_id, load_schema
    from curate.store import StageCounts, Store

    words = vocabulary()
    if not model_dir.exists():
        random_ct2_model(model_dir, [sentence(i, words) for i in range(2000)], src="en", tgt="de")
    engine = TranslationEngine.load(str(model_dir), download=False)
    src, tgt = (lang.tag for lang in engine.languages("en", "de"))
    store = Store(store_path)
    memory = TranslationMemory(store.location)
    directory = Path(memory.partition_dir(src, tgt))
    directory.mkdir(parents=True, exist_ok=True)
    schema = load_schema("translation_memory").file_schema
    decoding = job_config().decoding_key()
    step = 200_000
    for start in range(0, entries, step):
        texts = [
            normalize_text(sentence(i, words)) for i in range(start, min(entries, start + step))
        ]
        n = len(texts)
        table = pa.table(
            {
                "text_hash": [text_hash(t) for t in texts],
                "model_id": [engine.model.model_id] * n,
                "model_version": [engine.model.version] * n,
                "decoding": [decoding] * n,
                "source_text": texts,
                "text": [f"DE {t}" for t in texts],
                "score": [-0.25] * n,
                "truncated": [False] * n,
                "pieces": [1] * n,
                "input_truncated": [False] * n,
                "created_at": pa.array([0] * n, pa.timestamp("us", tz="UTC")),
            }
        ).cast(schema)
        pq.write_table(
            table,
            directory / f"part-bench-{start:09d}.parquet",
            compression="zstd",
            row_group_size=ROW_GROUP_ROWS,
        )
    rng = random.Random(17)
    planted = int(segments * hit_rate)
    chosen = [rng.randrange(entries) for _ in range(planted)]  # repeats included
    fresh = [entries + rng.randrange(segments) for _ in range(segments - planted)]
    texts = [sentence(i, words) for i in chosen + fresh]
    rng.shuffle(texts)
    rows = [
        {
            "id": content_id("bench", str(k)),
            "doc_id": content_id("bench-doc", str(k // 20)),
            "seg_index": k % 20,
            "paragraph_index": 0,
            "char_start": 0,
            "char_end": len(text),
            "ws_after": " ",
            "text": text,
            "lang": "en",
            "dataset": "bench",
            "source_id": str(k),
            "run_id": "ingest",
            "stage": "ingest",
        }
        for k, text in enumerate(texts)
    ]
    with store.open_run("ingest", "ingest") as run:
        run.write("segments", load_schema("segments").table(rows))
        run.count("segments", StageCounts(records_in=len(rows), records_out=len(rows)))
    del engine
    return planted


def job_config() -> TranslateConfig:
    from curate.mt.engine import TranslateConfig

    return TranslateConfig(beam_size=1, max_decoding_length=8)


def run_job(store_path: str, model_dir: str, workers: int) -> None:
    """Child process: the translate job on the prepared store."""
    from beam_jobs.translate import TranslateJob, run_translate
    from curate.store import Store

    job = TranslateJob("tm-bench", ("de",), model=model_dir, config=job_config())
    started = time.perf_counter()
    manifest = run_translate(Store(store_path), job, workers=workers)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "in": manifest["counts"]["translate"]["in"]}))


def timed(args: list[str]) -> tuple[float, float, str]:
    """Seconds, peak RSS (MiB) of the largest process of a child and its descendants, stdout."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OPENBLAS_NUM_THREADS": "1"}
    env["PYTHONPATH"] = str(ROOT)
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, *args], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"{args[:2]} failed with exit code {os.waitstatus_to_exitcode(status)}")
    return seconds, usage.ru_maxrss / 1024, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000])
    parser.add_argument("--segments", type=int, default=100_000)
    parser.add_argument("--hit-rate", type=float, default=0.9)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--prepare", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--job", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        store, model, entries, segments, rate = args.prepare
        print(prepare(Path(store), Path(model), int(entries), int(segments), float(rate)))
        return
    if args.job:
        run_job(args.job[0], args.job[1], int(args.job[2]))
        return

    from curate.store import Store

    sizes = sorted({*args.sizes, args.entries})
    rss = 0.0
    with tempfile.TemporaryDirectory(prefix="tm-scale-") as tmp:
        model = Path(tmp) / "model"
        for size in sizes:
            store = Path(tmp) / f"store-{size}"
            spec = [str(store), str(model), str(size), str(args.segments), str(args.hit_rate)]
            prep_s, _, out = timed(["--prepare", *spec])
            planted = int(out.split()[-1])
            on_disk = sum(f.stat().st_size for f in (store / "memory").rglob("*.parquet"))
            seconds, rss, out = timed(["--job", str(store), str(model), str(args.workers)])
            result = json.loads(out.splitlines()[-1])
            hits = (
                Store(store)
                .sql("SELECT count(*) FROM translations WHERE from_memory")
                .column(0)[0]
                .as_py()
            )
            print(
                f"memory {size:>9,} entries ({on_disk / 2**20:6.1f} MiB on disk), "
                f"{args.segments:,} segments, workers {args.workers}: "
                f"job {result['seconds']:7.1f} s (process {seconds:7.1f} s, prepared in "
                f"{prep_s:.0f} s), hits {hits:,} of {planted:,} planted, "
                f"peak RSS {rss:7.0f} MiB",
                flush=True,
            )
            if hits != planted or result["in"] != args.segments:
                raise SystemExit(f"found {hits} hits of {planted} planted ({result['in']} in)")
    print(f"tm_peak_rss_mib {rss:.0f}")


if __name__ == "__main__":
    main()
