"""``curate run RECIPE`` and ``curate plan RECIPE``: a whole recipe in one command."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from curate.cli.display import JobDisplay, emit, output_mode


class Runner(StrEnum):
    """Where `curate run` runs its Beam pipelines."""

    local = "local"
    dask = "dask"


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("plan")(plan)


def run(
    recipe_path: Path = typer.Argument(..., metavar="RECIPE", help="Recipe YAML."),
    force: bool = typer.Option(False, "--force", help="Redo stages whose outputs are current."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only the final summary line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (machine logs)."),
    runner: Runner = typer.Option(
        Runner.local, "--runner", help="local (in-process Beam) or dask (Beam's DaskRunner)."
    ),
    dask_address: str | None = typer.Option(
        None,
        "--dask-address",
        help="Dask scheduler (tcp://host:8786); without it a local cluster runs for the command.",
    ),
    dask_workers: int = typer.Option(
        2, "--dask-workers", min=1, help="Worker processes of the local Dask cluster."
    ),
    dask_partitions: int = typer.Option(
        16,
        "--dask-partitions",
        min=1,
        help="Dask partitions a stage's first elements are spread over (Beam's default puts "
        "up to 128 elements in one partition, i.e. on one worker).",
    ),
) -> None:
    """Run every stage of a recipe, skipping those whose inputs and settings are unchanged."""
    from curate.recipe import load_recipe

    recipe, base = load_recipe(recipe_path)
    if dask_address and runner is not Runner.dask:
        from curate.errors import UserError

        raise UserError("--dask-address needs --runner dask")
    with _runner(runner, dask_address, dask_workers, dask_partitions) as beam_args:
        if beam_args:
            runner_section = recipe.runner.model_copy(
                update={"beam_args": [*recipe.runner.beam_args, *beam_args]}
            )
            recipe = recipe.model_copy(update={"runner": runner_section})
        _run(recipe, base, force, quiet, as_json)


@contextmanager
def _runner(
    runner: Runner, address: str | None, workers: int, partitions: int
) -> Iterator[list[str]]:
    """The Beam options for ``runner``; a local Dask cluster lives as long as the block."""
    if runner is Runner.local:
        yield []
        return
    from beam_jobs.dask import dask_beam_args, local_cluster

    if address:
        yield dask_beam_args(address, partitions)
        return
    with local_cluster(workers) as started:
        yield dask_beam_args(started, partitions)


def _run(recipe: Any, base: Path, force: bool, quiet: bool, as_json: bool) -> None:
    from beam_jobs.recipe import run_recipe, store_of

    mode = output_mode(quiet, as_json)
    display = JobDisplay(mode, Console(stderr=True, quiet=mode != "rich"))

    def on_step(event: str, step: Any, result: Any) -> None:
        if event == "start":
            display.start(step.name, step.run_id)
            return
        if mode == "json":
            emit(
                {
                    "event": event,
                    "step": step.name,
                    "run_id": step.run_id,
                    "time": time.time(),
                    "skipped": result.skipped,
                    "seconds": round(result.seconds, 2),
                    "counts": result.manifest.get("counts", {}),
                    "rows": result.manifest.get("rows", {}),
                }
            )
            return
        # rows written to the store; a step that writes none there (export) counts its output
        rows = sum(result.manifest.get("rows", {}).values()) or sum(
            c.get("out", 0) for c in result.manifest.get("counts", {}).values()
        )
        state = "unchanged, skipped" if result.skipped else f"{rows} rows"
        display.done(step.name, f"{step.name}: {state}")

    def on_progress(step: Any, update: Any) -> None:
        display.update(step.name, update)

    with display:
        results = run_recipe(recipe, base, force=force, on_step=on_step, on_progress=on_progress)
    store = store_of(recipe, base)
    summary = _summary(store, results)
    if as_json:
        print(json.dumps({"event": "summary", **summary}), flush=True)
    elif mode == "quiet":
        ran = sum(not r.skipped for r in results)
        print(
            f"{recipe.name}: {ran} stage(s) ran, {len(results) - ran} unchanged; store {store.uri}"
        )
    else:
        _print_summary(Console(width=max(Console().width, 120)), summary)


_QUERIES = (
    "SELECT * FROM runs",
    "SELECT stage, reason, count(*) FROM quarantine GROUP BY ALL",
    "SELECT config, split, count(*) FROM training_samples GROUP BY ALL",
)


def _summary(store: Any, results: list[Any]) -> dict[str, Any]:
    rates = []
    con = store.connect()
    if con.execute("SELECT count(*) FROM artifact_tags").fetchone()[0]:
        rates = [
            {"detector": d, "pair": p, "flagged": int(f), "rate": round(float(r), 4)}
            for d, p, f, r in con.execute(
                "SELECT detector, src_lang || '-' || tgt_lang, sum(flag::INT), avg(flag::INT) "
                "FROM artifact_tags GROUP BY ALL ORDER BY 1, 2"
            ).fetchall()
        ]
    return {
        "store": store.uri,
        "steps": [
            {
                "step": r.step,
                "run_id": r.run_id,
                "skipped": r.skipped,
                "seconds": round(r.seconds, 2),
                "rows": r.manifest.get("rows", {}),
                "counts": r.manifest.get("counts", {}),
                "export": r.manifest.get("export"),
            }
            for r in results
        ],
        "artifact_rates": rates,
        "sql": [f"curate sql --store {store.uri} '{query}'" for query in _QUERIES],
    }


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table("step", "status", "records in", "out", "quarantined", "filtered", "seconds")
    for step in summary["steps"]:
        for stage, c in step["counts"].items() or [("-", {})]:
            quarantined = ", ".join(f"{k}={v}" for k, v in c.get("quarantined", {}).items())
            filtered = ", ".join(f"{k}={v}" for k, v in c.get("filtered", {}).items())
            table.add_row(
                f"{step['step']} ({stage})",
                "skipped (unchanged)" if step["skipped"] else "ran",
                str(c.get("in", "")),
                str(c.get("out", "")),
                quarantined or "0",
                filtered or "0",
                f"{step['seconds']:.1f}",
            )
    console.print(table)
    if summary["artifact_rates"]:
        rates = Table("detector", "pair", "flagged", "rate")
        for r in summary["artifact_rates"]:
            rates.add_row(r["detector"], r["pair"], str(r["flagged"]), f"{r['rate']:.1%}")
        console.print(rates)
    console.print(f"store: {summary['store']}")
    for step in summary["steps"]:
        if step.get("export"):
            runs = ", ".join(step["export"].get("runs", []))
            console.print(f"export: {step['export']['folder']} (run {runs})", soft_wrap=True)
    console.print("look at the results:")
    for line in summary["sql"]:
        console.print(f"  {line}", soft_wrap=True, markup=False)


def plan(
    recipe_path: Path = typer.Argument(..., metavar="RECIPE", help="Recipe YAML."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
) -> None:
    """What a recipe would run, how much it would translate, and about how long that takes."""
    from beam_jobs.recipe import estimate
    from curate.recipe import load_recipe

    recipe, base = load_recipe(recipe_path)
    result = estimate(recipe, base)
    if as_json:
        print(json.dumps(result, indent=1))
        return
    console = Console()
    console.print(f"[bold]{recipe.name}[/bold]: {len(result['steps'])} step(s)")
    for i, name in enumerate(result["steps"], start=1):
        console.print(f"  {i}. {name}")
    console.print(f"input records: {result['records']}")
    if "segments_total" in result:
        console.print(
            f"to translate: {result['segments_to_translate']} of {result['segments_total']} "
            f"segment(s) ({result['from_memory']} already in the translation memory), "
            f"{result['source_tokens_to_translate']} source tokens"
        )
        eta = result["translate_seconds_estimate"]
        console.print(
            f"model probe: {result['probe_source_tokens_per_s']} source tokens/s on this machine; "
            f"translation estimate: {eta if eta is not None else '-'} s"
        )
