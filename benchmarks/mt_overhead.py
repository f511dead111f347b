"""Overhead of ``curate translate`` over bare CTranslate2, and what the translation memory saves.

For each model (the shipped en-qsy model, and a base-size random Marian built here: d_model
512, 6+6 layers, int8), on the same inputs and the same thread and decoding settings:

(a) bare: pre-tokenised input, one ``translate_batch`` call over all sentences,
    ``batch_type="tokens"`` (CTranslate2 sorts and batches over all replicas); only that call
    is timed: tokenisation and detokenisation are left out;
(b) ``curate translate`` as a user runs it, in its own process, timed from start to exit:
    interpreter start-up and imports, the Beam pipeline (read the store's ``examples``,
    batches each submitted to the model before the previous one is collected, tokenise,
    translate, detokenise, scores), Parquet writing and the commit. The input store is made
    once beforehand with ``curate ingest`` (not timed).

Throughput is source sentences per second; ``overhead_ratio`` is (a)/(b) in time, i.e. (b)'s
throughput over (a)'s. Targets: at least 0.90 with the base-size model, at least 0.70 with the
shipped model. The sizes are jobs of one to two minutes: at a few seconds, the fixed start-up
of a process that imports Beam (about 3 s of CPU here; 7 s while the job used Beam's
RunInference, which imports torch) is what is measured; ``overhead_ratio_job_only`` leaves it
out.

Both sides are warmed alike before anything is timed: one untimed full-size run of (a) (the
translator stays loaded) and one of (b) (model file and imported modules in the page cache).
Then ``--rounds`` rounds alternate, each round running both sides back to back, (a) first in
even rounds and (b) first in odd ones, so that a machine that speeds up or slows down over the
run moves both sides alike. The headline is the ratio of the best-of-N times, N = rounds; its
spread is stated beside it: the range of the per-round ratios and the best-of ratio of each
half of the rounds. Other work on the machine moves wall times a lot: note the load (printed
at the start and the end).

Then the translation memory with ``curate translate`` on a corpus where 30% of the segments
repeat earlier ones: run 1 on a fresh store with the memory, run 2 again on the same store,
and ``--no-memory`` (run 1 and ``--no-memory`` alternate which goes first, ``--rounds`` times;
the time ratio is of the best-of-N times, with the per-round range beside it). Targets: run 2
makes at most 0.05 of run 1's model calls; run 1 takes at most 0.75 of the time of
``--no-memory``.

    python benchmarks/mt_overhead.py          # both models, about 40 minutes on 2 quiet cores
    python benchmarks/mt_overhead.py --models shipped --n 5000 --no-memory-part

The last line is ``overhead_ratio <best-of-N a / best-of-N b of the base-size model>`` (or of
the only model run).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


from curate.mt.device import choose_device
from curate.mt.engine import TranslateConfig
from curate.mt.random_model import RandomMarianConfig, random_ct2_model
from curate.mt.registry import SHIPPED_MODELS_DIR, load_model_info
from curate.store.store import Store

CURATE = Path(sys.executable).with_name("curate")
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


def prepare_store(work: Path, label: str, texts: list[str]) -> Path:
    """A store whose ``examples`` are ``texts`` (one per record), made by ``curate ingest``."""
    store = work / f"{label}-input-store"
    shutil.rmtree(store, ignore_errors=True)
    source = work / f"{label}-input.jsonl"
    with source.open("w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            fh.write(json.dumps({"id": f"s{i}", "text": text, "lang": "en"}) + "\n")
    curate("ingest", str(source), "--store", str(store), "--kind", "examples", "--lang", "en")
    rows = Store(store).sql("SELECT count(*) AS n FROM examples").to_pylist()[0]["n"]
    if rows != len(texts):
        raise SystemExit(f"ingest kept {rows} of {len(texts)} sentences")
    return store


def curate(*args: str) -> None:
    """Run the ``curate`` command of this environment; fail loudly with its own error line."""
    done = subprocess.run([str(CURATE), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"curate {args[0]} failed: {done.stderr.strip()[-2000:]}")


def curate_translate(
    store: Path,
    model_dir: Path,
    tgt: str,
    cfg: TranslateConfig,
    *,
    run_id: str,
    use_memory: bool,
    batch_tokens: int,
) -> tuple[Clock, float, int]:
    """(b): ``curate translate`` as a user runs it, timed from process start to exit.

    Returns the clock (wall; CPU of the child process), the job's own seconds from its
    manifest (pipeline without interpreter start-up and imports), and the distinct segments
    the model translated (those not taken from the translation memory).
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with Clock() as clock:
        curate(
            "translate",
            "--store",
            str(store),
            "--stage",
            "examples",
            "--to",
            tgt,
            "--model",
            str(model_dir),
            "--beam-size",
            str(cfg.beam_size),
            "--max-decoding-length",
            str(cfg.max_decoding_length),
            "--batch-tokens",
            str(batch_tokens),
            "--memory" if use_memory else "--no-memory",
            "--run-id",
            run_id,
        )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock.cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    result = Store(store)
    job_seconds = float(result.manifest(run_id)["seconds"])  # type: ignore[index]
    calls = result.sql(
        "SELECT count(DISTINCT source_text) AS n FROM translations "
        f"WHERE run_id = '{run_id}' AND NOT from_memory AND trim(source_text) <> ''"
    ).to_pylist()[0]["n"]
    return clock, job_seconds, int(calls)


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
    batch_tokens: int,
    rounds: int,
) -> float:
    """(a) and (b), both warmed alike, then ``rounds`` alternating rounds of each.

    Returns the ratio of best-of-rounds wall times; its spread (per-round ratios, the best-of
    ratio of each half of the rounds), the CPU-time ratio and the ratio against the job's own
    time (without interpreter start-up and imports) are printed beside it.
    """
    tgt = load_model_info(model_dir).metadata["target_languages"][0]
    store = prepare_store(work, label, texts)
    bare = Bare(model_dir, cfg, threads)
    translate = {"cfg": cfg, "use_memory": False, "batch_tokens": batch_tokens, "tgt": tgt}
    bare.run(texts)  # warm-up of (a), full size, untimed
    curate_translate(store, model_dir, run_id="warm-up", **translate)  # and of (b)
    clocks_a, clocks_b, job_seconds = [], [], []

    def run_b(r: int) -> None:
        clock, seconds, _ = curate_translate(store, model_dir, run_id=f"e2e-{r}", **translate)
        clocks_b.append(clock)
        job_seconds.append(seconds)

    for r in range(rounds):
        if r % 2 == 0:
            clocks_a.append(bare.run(texts))
            run_b(r)
        else:
            run_b(r)
            clocks_a.append(bare.run(texts))
    a, b = best(clocks_a), best(clocks_b)
    n = len(texts)
    print(f"{label}: (a) bare translate_batch {report(n, clocks_a)}")
    print(f"{label}: (b) curate translate     {report(n, clocks_b)}")
    print(f"{label}: (b) the job alone (manifest seconds): best {min(job_seconds):.2f} s")
    per_round = [x.wall / y.wall for x, y in zip(clocks_a, clocks_b, strict=True)]
    half = rounds // 2
    halves = ""
    if half:
        first = best(clocks_a[:half]).wall / best(clocks_b[:half]).wall
        second = best(clocks_a[half:]).wall / best(clocks_b[half:]).wall
        halves = f"; best-of ratio of rounds 1-{half}: {first:.3f}, of the rest: {second:.3f}"
    print(
        f"{label}: per-round ratios {', '.join(f'{x:.3f}' for x in per_round)} "
        f"(min {min(per_round):.3f}, median {statistics.median(per_round):.3f}, "
        f"max {max(per_round):.3f}){halves}"
    )
    ratio = a.wall / b.wall
    print(f"overhead_ratio_paired_median_{label} {statistics.median(per_round):.3f}")
    print(f"overhead_ratio_cpu_{label} {a.cpu / b.cpu:.3f}")
    print(f"overhead_ratio_job_only_{label} {a.wall / min(job_seconds):.3f}")
    print(f"overhead_ratio_{label} {ratio:.3f}")
    return ratio


def measure_memory(
    label: str,
    model_dir: Path,
    unique: list[str],
    cfg: TranslateConfig,
    work: Path,
    batch_tokens: int,
    rounds: int,
) -> None:
    """``--no-memory`` vs a first run with an empty memory, alternating which goes first, then
    a second run on the last store."""
    texts = with_repeats(unique, 0.30, seed=7)
    tgt = load_model_info(model_dir).metadata["target_languages"][0]
    source = prepare_store(work, f"{label}-repeats", texts)
    common = {"tgt": tgt, "cfg": cfg, "batch_tokens": batch_tokens}
    off, first = [], []
    off_calls = first_calls = 0
    store = work / f"{label}-memory"
    for r in range(rounds):

        def run_off(r: int = r) -> None:
            nonlocal off_calls
            clock, _, off_calls = curate_translate(
                source, model_dir, run_id=f"off-{r}", use_memory=False, **common
            )
            off.append(clock)

        def run_first() -> None:
            nonlocal first_calls
            shutil.rmtree(store, ignore_errors=True)
            shutil.copytree(source, store)
            clock, _, first_calls = curate_translate(
                store, model_dir, run_id="first", use_memory=True, **common
            )
            first.append(clock)

        for side in (run_off, run_first) if r % 2 == 0 else (run_first, run_off):
            side()
    second, _, second_calls = curate_translate(
        store, model_dir, run_id="second", use_memory=True, **common
    )
    print(
        f"{label} memory: {len(texts)} segments, {len(texts) - len(set(texts))} repeats; "
        f"distinct segments the model translated: --no-memory {off_calls}, run 1 {first_calls}, "
        f"run 2 {second_calls}"
    )
    print(f"{label} memory: --no-memory {report(len(texts), off)}")
    print(f"{label} memory: run 1       {report(len(texts), first)}")
    print(f"{label} memory: run 2       {second.wall:.2f} s wall")
    print(f"memory_second_run_call_ratio_{label} {second_calls / max(first_calls, 1):.3f}")
    per_round = [f.wall / o.wall for f, o in zip(first, off, strict=True)]
    print(
        f"{label} memory: run 1 / --no-memory per round {min(per_round):.3f}-{max(per_round):.3f}"
        f" (median {statistics.median(per_round):.3f})"
    )
    print(f"memory_first_run_time_ratio_{label} {best(first).wall / best(off).wall:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default="shipped,base", help="shipped, base, or both")
    parser.add_argument("--n", type=int, default=20000, help="sentences for the shipped model")
    parser.add_argument("--n-base", type=int, default=1200, help="sentences for the base model")
    parser.add_argument("--beam-size", type=int, default=2)
    parser.add_argument("--max-decoding-length", type=int, default=40)
    parser.add_argument(
        "--batch-tokens", type=int, default=16384, help="curate translate --batch-tokens"
    )
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds")
    parser.add_argument("--rounds-base", type=int, default=6, help="the same, base model")
    parser.add_argument(
        "--shipped", type=Path, default=SHIPPED_MODELS_DIR / "en-qsy", help="shipped model dir"
    )
    parser.add_argument("--memory-model", default="base", help="model for the memory part")
    parser.add_argument("--no-memory-part", action="store_true")
    parser.add_argument("--work", type=Path, default=None, help="keep built models here")
    args = parser.parse_args()

    choice = choose_device("cpu")
    threads = (choice.inter_threads, choice.intra_threads)
    # CTranslate2's batch size (max_batch_tokens) stays at curate's default in both paths
    cfg = TranslateConfig(beam_size=args.beam_size, max_decoding_length=args.max_decoding_length)
    print(f"threads inter={threads[0]} intra={threads[1]}, {cfg}")
    print(f"load average at start: {os.getloadavg()}")
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
                "shipped", shipped, texts, cfg, threads, work, args.batch_tokens, args.rounds
            )
            if not args.no_memory_part and args.memory_model == "shipped":
                unique = synthetic_sentences(round(args.n * 0.7), seed=777)
                measure_memory(
                    "shipped", shipped, unique, cfg, work, args.batch_tokens, args.rounds
                )
        if "base" in models:
            sample = english_sentences(2000, seed=1)
            base_dir = random_ct2_model(work / "base-marian", sample, BASE, tgt="de", name="base")
            texts = english_sentences(args.n_base, seed=2)
            ratios["base"] = measure_model(
                "base", base_dir, texts, cfg, threads, work, args.batch_tokens, args.rounds_base
            )
            if not args.no_memory_part and args.memory_model == "base":
                unique = english_sentences(round(args.n_base * 0.7), seed=3)
                measure_memory(
                    "base", base_dir, unique, cfg, work, args.batch_tokens, args.rounds_base
                )
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"load average at end: {os.getloadavg()}")
    final = ratios.get("base", ratios.get("shipped"))
    print(f"overhead_ratio {final:.3f}")


if __name__ == "__main__":
    main()
