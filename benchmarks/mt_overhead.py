"""Overhead of the translate path over bare CTranslate2, and what the translation memory saves.

For each model (the shipped en-qsy model, and a base-size random Marian built here: d_model
512, 6+6 layers, int8), on the same inputs and the same thread settings:

(a) bare: pre-tokenised input, one ``translate_batch`` call over all sentences,
    ``batch_type="tokens"`` (CTranslate2 sorts and batches); only that call is timed;
(b) end to end: read a Parquet file of segments in record batches, translate each batch with
    ``curate.mt.stage.translate_rows`` (tokenise, sort, batch, translate, detokenise, scores),
    write ``translations`` into a store run (Parquet, zstd) and commit it.

Throughput is source sentences per second; ``overhead_ratio`` is (b)/(a). Targets: at least
0.90 with the base-size model, at least 0.70 with the shipped model.

Then the translation memory on a corpus where 30% of the segments repeat earlier ones:
run 1 with an empty memory, run 2 again with the memory, and run 1 with ``--no-memory``.
Targets: run 2 makes at most 0.05 of run 1's model calls; run 1 takes at most 0.75 of the
time without memory.

    python benchmarks/mt_overhead.py                  # both models, about 5 minutes on 2 cores
    python benchmarks/mt_overhead.py --models shipped --n 1000

The last line is ``overhead_ratio <b/a of the base-size model>`` (or of the only model run).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import pyarrow as pa
import pyarrow.parquet as pq

from curate.mt.device import choose_device
from curate.mt.engine import TranslateConfig, TranslationEngine
from curate.mt.memory import TranslationMemory
from curate.mt.random_model import RandomMarianConfig, random_ct2_model
from curate.mt.registry import SHIPPED_MODELS_DIR, load_model_info
from curate.mt.stage import translate_rows
from curate.records import content_id
from curate.store.run import StageCounts
from curate.store.store import Store

NTREX_EN = Path(__file__).resolve().parents[2] / "shared/data/ntrex128/newstest2019-src.eng.txt"
BASE = RandomMarianConfig(
    vocab_size=8000,
    d_model=512,
    encoder_layers=6,
    decoder_layers=6,
    attention_heads=8,
    ffn_dim=2048,
    max_position_embeddings=512,
    init_std=0.02,
    seed=0,
)


def english_sentences(n: int, seed: int) -> list[str]:
    """``n`` English sentences: NTREX news when present here, else the synthetic generator."""
    if NTREX_EN.exists():
        lines = [x.strip() for x in NTREX_EN.read_text(encoding="utf-8").splitlines() if x.strip()]
        rng = random.Random(seed)
        return [lines[rng.randrange(len(lines))] for _ in range(n)] if n > len(lines) else lines[:n]
    from curate.synth import generate

    return [p.src for p in generate(n, seed)]


def synthetic_sentences(n: int, seed: int) -> list[str]:
    from curate.synth import generate

    return [p.src for p in generate(n, seed)]


class Clock:
    """Wall and CPU seconds (CPU summed over all threads of this process) of a block."""

    def __enter__(self) -> Clock:
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu


def with_repeats(unique: list[str], share: float, seed: int) -> list[str]:
    """``unique`` plus repeats of earlier items so that ``share`` of the result are repeats."""
    rng = random.Random(seed)
    n_repeats = round(len(unique) * share / (1 - share))
    out = list(unique)
    for _ in range(n_repeats):
        out.insert(rng.randrange(1, len(out) + 1), rng.choice(out[: max(1, len(out) // 2)]))
    return out


# --------------------------------------------------------------------------------------------


class Bare:
    """(a): one CTranslate2 translator, loaded and warmed up once, fed pre-tokenised input.

    Each timed run is a single ``translate_batch`` over all sentences: CTranslate2 sorts them
    by length and runs batches of ``max_batch_tokens`` on all replicas at once, which was at
    least as fast as any chunked loop (synchronous or asynchronous) tried on this machine.
    Only that call is timed: tokenisation and detokenisation are left out.
    """

    def __init__(self, model_dir: Path, cfg: TranslateConfig, threads: tuple[int, int]) -> None:
        import ctranslate2
        import sentencepiece as spm

        self.sp = spm.SentencePieceProcessor(model_file=str(model_dir / "source.spm"))
        self.cfg = cfg
        self.translator = ctranslate2.Translator(
            str(model_dir),
            device="cpu",
            compute_type="int8",
            inter_threads=threads[0],
            intra_threads=threads[1],
        )

    def run(self, texts: list[str]) -> Clock:
        tokens = [[*t, "</s>"] for t in self.sp.encode(texts, out_type=str)]
        with Clock() as clock:
            self.translator.translate_batch(
                tokens,
                max_batch_size=self.cfg.max_batch_tokens,
                batch_type="tokens",
                beam_size=self.cfg.beam_size,
                max_decoding_length=self.cfg.max_decoding_length,
                return_scores=True,
            )
        return clock


def write_segments(path: Path, texts: list[str]) -> None:
    rows = {
        "id": [content_id("bench", str(i)) for i in range(len(texts))],
        "text": texts,
        "lang": ["en"] * len(texts),
        "dataset": ["bench"] * len(texts),
    }
    pq.write_table(pa.table(rows), path, compression="zstd")


def end_to_end(
    engine: TranslationEngine,
    segments: Path,
    store_dir: Path,
    tgt: str,
    *,
    run_id: str,
    use_memory: bool,
    rows_per_batch: int,
) -> tuple[Clock, int]:
    """(b): time to read, translate and write a store run; and the model calls it made."""
    calls_before = engine.stats.model_segments
    clock = Clock().__enter__()
    store = Store(store_dir)
    memory = TranslationMemory(store_dir) if use_memory else None
    counts = StageCounts()
    with store.open_run("translate", run_id, {"model": engine.model.name}) as run:
        out = run.writer("translations")
        quarantine = run.writer("quarantine")
        for batch in pq.ParquetFile(segments).iter_batches(batch_size=rows_per_batch):
            rows = batch.to_pylist()
            result = translate_rows(engine, rows, "en", tgt, run_id=run_id, memory=memory)
            translations, quarantined = result.tables()
            out.write(translations)
            if quarantined.num_rows:
                quarantine.write(quarantined)
            failed = result.counts["quarantined"]
            counts.add(
                StageCounts(
                    records_in=len(rows),
                    records_out=translations.num_rows,
                    quarantined=Counter({"translation_failed": failed} if failed else {}),
                )
            )
        run.add_files(out.close())
        run.add_files(quarantine.close())
        run.count("translate", counts)
        if memory is not None:
            memory.close()
    clock.__exit__()
    return clock, engine.stats.model_segments - calls_before


def paired_median(numerators: list[Clock], denominators: list[Clock]) -> float:
    """Median over rounds of numerator/denominator wall times taken side by side in time."""
    return statistics.median(n.wall / d.wall for n, d in zip(numerators, denominators, strict=True))


def best(clocks: list[Clock]) -> Clock:
    return min(clocks, key=lambda c: c.wall)


def report(n: int, clocks: list[Clock]) -> str:
    walls = ", ".join(f"{c.wall:.2f}" for c in clocks)
    b = best(clocks)
    return f"{n / b.wall:.1f} sent/s (best {b.wall:.2f} s wall, {b.cpu:.2f} s CPU; rounds: {walls})"


def measure_model(
    label: str,
    model_dir: Path,
    texts: list[str],
    cfg: TranslateConfig,
    threads: tuple[int, int],
    work: Path,
    rows_per_batch: int,
    rounds: int,
) -> float:
    """(a) and (b) alternately, ``rounds`` times each.

    The ratio is the median over rounds of a/b wall times measured back to back, which is
    robust to other work on the machine; the best-of-rounds ratio and the CPU-time ratio (all
    threads of this process) are printed too.
    """
    tgt = load_model_info(model_dir).metadata["target_languages"][0]
    segments = work / f"{label}-segments.parquet"
    write_segments(segments, texts)
    engine = TranslationEngine.load(
        model_dir, device="cpu", inter_threads=threads[0], intra_threads=threads[1], config=cfg
    )
    bare = Bare(model_dir, cfg, threads)
    engine.translate_texts(texts[:50], "en", tgt)  # warm up both paths alike
    bare.run(texts[:50])
    clocks_a, clocks_b = [], []
    for r in range(rounds):
        clocks_a.append(bare.run(texts))
        clock, _ = end_to_end(
            engine,
            segments,
            work / f"{label}-store",
            tgt,
            run_id=f"{label}-e2e-{r}",
            use_memory=False,
            rows_per_batch=rows_per_batch,
        )
        clocks_b.append(clock)
    a, b = best(clocks_a), best(clocks_b)
    print(f"{label}: (a) bare translate_batch {report(len(texts), clocks_a)}")
    print(f"{label}: (b) end to end           {report(len(texts), clocks_b)}")
    ratio = paired_median(clocks_a, clocks_b)
    print(f"overhead_ratio_best_of_{label} {a.wall / b.wall:.3f}")
    print(f"overhead_ratio_cpu_{label} {a.cpu / b.cpu:.3f}")
    print(f"overhead_ratio_{label} {ratio:.3f}")
    return ratio


def measure_memory(
    label: str,
    model_dir: Path,
    unique: list[str],
    cfg: TranslateConfig,
    threads: tuple[int, int],
    work: Path,
    rows_per_batch: int,
    rounds: int,
) -> None:
    """No memory vs first run with an empty memory (alternately), then a second run."""
    texts = with_repeats(unique, 0.30, seed=7)
    tgt = load_model_info(model_dir).metadata["target_languages"][0]
    for old in work.glob(f"{label}-nomem*"):
        shutil.rmtree(old)
    for old in work.glob(f"{label}-mem*"):
        shutil.rmtree(old)
    segments = work / f"{label}-repeats.parquet"
    write_segments(segments, texts)
    engine = TranslationEngine.load(
        model_dir, device="cpu", inter_threads=threads[0], intra_threads=threads[1], config=cfg
    )
    engine.translate_texts(unique[:8], "en", tgt)
    common = {"tgt": tgt, "rows_per_batch": rows_per_batch}
    off, first = [], []
    for r in range(rounds):
        clock, off_calls = end_to_end(
            engine, segments, work / f"{label}-nomem", run_id=f"off{r}", use_memory=False, **common
        )
        off.append(clock)
        store = work / f"{label}-mem{r}"
        clock, first_calls = end_to_end(
            engine, segments, store, run_id="first", use_memory=True, **common
        )
        first.append(clock)
    second, second_calls = end_to_end(
        engine, segments, store, run_id="second", use_memory=True, **common
    )
    print(
        f"{label} memory: {len(texts)} segments, {len(texts) - len(set(texts))} repeats; "
        f"model calls: no memory {off_calls}, run 1 {first_calls}, run 2 {second_calls}"
    )
    print(f"{label} memory: no memory {report(len(texts), off)}")
    print(f"{label} memory: run 1     {report(len(texts), first)}")
    print(f"{label} memory: run 2     {second.wall:.2f} s wall")
    print(f"memory_second_run_call_ratio_{label} {second_calls / max(first_calls, 1):.3f}")
    print(f"memory_first_run_time_ratio_best_of_{label} {best(first).wall / best(off).wall:.3f}")
    print(f"memory_first_run_time_ratio_cpu_{label} {best(first).cpu / best(off).cpu:.3f}")
    print(f"memory_first_run_time_ratio_{label} {paired_median(first, off):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="shipped,base", help="shipped, base, or both")
    parser.add_argument("--n", type=int, default=1000, help="sentences for the shipped model")
    parser.add_argument("--n-base", type=int, default=160, help="sentences for the base model")
    parser.add_argument("--beam-size", type=int, default=2)
    parser.add_argument("--max-decoding-length", type=int, default=40)
    parser.add_argument("--max-batch-tokens", type=int, default=1024)
    parser.add_argument("--rows-per-batch", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5, help="alternating repetitions")
    parser.add_argument("--rounds-base", type=int, default=3, help="the same, base model")
    parser.add_argument(
        "--shipped", type=Path, default=SHIPPED_MODELS_DIR / "en-qsy", help="shipped model dir"
    )
    parser.add_argument("--memory-model", default="shipped", help="model for the memory part")
    parser.add_argument("--no-memory-part", action="store_true")
    parser.add_argument("--work", type=Path, default=None, help="keep built models here")
    args = parser.parse_args()

    choice = choose_device("cpu")
    threads = (choice.inter_threads, choice.intra_threads)
    cfg = TranslateConfig(
        beam_size=args.beam_size,
        max_decoding_length=args.max_decoding_length,
        max_batch_tokens=args.max_batch_tokens,
    )
    print(f"threads inter={threads[0]} intra={threads[1]}, {cfg}")
    work = args.work or Path(tempfile.mkdtemp(prefix="curate-mt-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ratios: dict[str, float] = {}
    try:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
        if "shipped" in models:
            shipped = args.shipped
            if not (shipped / "model.bin").exists():
                raise SystemExit(f"the shipped model is missing from {shipped}")
            texts = synthetic_sentences(args.n, seed=12345)
            ratios["shipped"] = measure_model(
                "shipped", shipped, texts, cfg, threads, work, args.rows_per_batch, args.rounds
            )
            if not args.no_memory_part and args.memory_model == "shipped":
                unique = synthetic_sentences(round(args.n * 0.7), seed=777)
                measure_memory(
                    "shipped", shipped, unique, cfg, threads, work, args.rows_per_batch, args.rounds
                )
        if "base" in models:
            sample = english_sentences(2000, seed=1)
            base_dir = random_ct2_model(work / "base-marian", sample, BASE, tgt="de", name="base")
            texts = english_sentences(args.n_base, seed=2)
            ratios["base"] = measure_model(
                "base", base_dir, texts, cfg, threads, work, args.rows_per_batch, args.rounds_base
            )
            if not args.no_memory_part and args.memory_model == "base":
                unique = english_sentences(round(args.n_base * 0.7), seed=3)
                measure_memory(
                    "base",
                    base_dir,
                    unique,
                    cfg,
                    threads,
                    work,
                    args.rows_per_batch,
                    args.rounds_base,
                )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    final = ratios.get("base", ratios.get("shipped"))
    print(f"overhead_ratio {final:.3f}")


if __name__ == "__main__":
    main()
