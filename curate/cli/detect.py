"""``curate detect`` (Beam job ``beam_jobs.detect``) and ``curate report`` (HTML + JSON)."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console

from curate.cli.display import output_mode, run_job_with_display
from curate.cli.runner import DASK_ADDRESS, DASK_PARTITIONS, STORE, beam_args, open_store
from curate.errors import UserError
from curate.store import Store


def register(app: typer.Typer) -> None:
    app.command(
        "detect", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
    )(detect)
    app.command("report")(report)
    app.command("detectors")(detectors)


def detect(
    ctx: typer.Context,
    store: str = STORE,
    config: Path | None = typer.Option(
        None, "--config", help="YAML: a recipe or its detect section."
    ),
    only: str | None = typer.Option(None, help="Only these detectors (comma-separated)."),
    skip: str | None = typer.Option(None, help="Skip these detectors (comma-separated)."),
    run_id: str = typer.Option("detect", help="Run id; re-running replaces it."),
    workers: int = typer.Option(1, help="Local worker processes (Beam multi-processing)."),
    dask_address: str | None = DASK_ADDRESS,
    dask_partitions: int = DASK_PARTITIONS,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only the final line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (machine logs)."),
) -> None:
    """Tag every translation with artifact scores and flags (nothing is dropped)."""
    from beam_jobs.detect import UNSCORED, DetectJob, run_detect

    args = beam_args(list(ctx.args), dask_address, dask_partitions)
    section: dict = {}
    if config is not None:
        if not config.exists():
            raise UserError(f"config not found: {config}")
        data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise UserError(f"{config}: expected a mapping")
        section = dict(data.get("detect") or {}) if "inputs" in data else dict(data)
    if only:
        section["only"] = [d.strip() for d in only.split(",")]
    if skip:
        section["skip"] = [d.strip() for d in skip.split(",")]
    opened = open_store(store)
    manifest = run_job_with_display(
        "detect",
        run_id,
        lambda progress: run_detect(
            opened, DetectJob(run_id, section), args, workers, progress=progress
        ),
        output_mode(quiet, as_json),
    )
    rows = manifest["rows"].get("artifact_tags", 0)
    counts = manifest["counts"].get("detect", {})
    console = Console(stderr=True, quiet=as_json)
    console.print(
        f"{run_id}: {counts.get('in', 0)} translations checked, {rows} tags written; "
        f"rates: curate report --store {store} --out report.html",
        soft_wrap=True,
    )
    for why, n in manifest["counts"].get(UNSCORED, {}).get("filtered", {}).items():
        name, _, reason = why.partition(": ")
        console.print(f"  {name}: {n} translations not scored: {reason}", soft_wrap=True)


def detectors(
    as_json: bool = typer.Option(False, "--json", help="One JSON object per detector."),
) -> None:
    """List the artifact detectors: version, when they flag, default threshold, what they need
    and what they do (settings go in a recipe's ``detect`` section)."""
    import dataclasses
    import json

    from rich.table import Table

    from curate.artifacts.registry import detector_names, get_detector

    rows = []
    for name in detector_names():
        d = get_detector(name)
        rows.append(
            {
                "name": d.name,
                "version": d.version,
                "flags_when": {"high": ">=", "low": "<=", "both": "|score| >="}[d.direction],
                "threshold": d.threshold,
                "requires": list(d.requires),
                "model": d.model,
                "learns_per_pair": d.learns,
                "replaces": list(d.replaces),
                "options": [f.name for f in dataclasses.fields(d.params)],
                "description": d.description,
            }
        )
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    table = Table("detector", "flags when score", "needs", "what it finds", show_lines=True)
    for row in rows:
        needs = ", ".join(row["requires"] + ([row["model"]] if row["model"] else []))
        replaces = f" Replaces {', '.join(row['replaces'])}." if row["replaces"] else ""
        table.add_row(
            f"{row['name']} v{row['version']}",
            f"{row['flags_when']} {row['threshold']:g}",
            needs or "-",
            row["description"].replace("``", "") + replaces,
        )
    Console().print(table)


def report(
    store: str = STORE,
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML page to write."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the numbers as JSON."),
    run_id: str | None = typer.Option(None, help="Only this detect run."),
    examples: int = typer.Option(5, help="Worst examples shown per detector."),
) -> None:
    """One self-contained HTML page of artifact rates, score distributions and worst examples."""
    from curate.artifacts.report import write_report

    st = Store(store)
    query = (  # system: who translated (a system's name, reference, or curate's model)
        "SELECT g.*, t.source_text, t.text, CASE t.origin WHEN 'system' THEN t.system "
        "WHEN 'reference' THEN 'reference' ELSE coalesce(t.model_id, t.origin) END AS system "
        "FROM artifact_tags g JOIN translations t ON g.translation_id = t.id"
    )
    table = (
        st.connect(run_id=None)
        .execute(
            query + (" WHERE g.run_id = $run" if run_id else ""), {"run": run_id} if run_id else {}
        )
        .to_arrow_table()
    )
    if table.num_rows == 0:
        raise UserError("the store has no artifact tags", hint="run `curate detect` first")
    write_report(table, out, json_out, examples=examples)
    Console(stderr=True).print(f"wrote {out}" + (f" and {json_out}" if json_out else ""))
