"""``curate build parallel|interleaved`` (Beam job ``beam_jobs.build``) and ``curate export``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml
from rich.console import Console

from curate.cli.display import output_mode, run_job_with_display
from curate.cli.runner import DASK_ADDRESS, DASK_PARTITIONS, STORE, beam_args, open_store
from curate.errors import UserError

build_app = typer.Typer(help="Build training sets from the store.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(build_app, name="build")
    app.command("export")(export)


def _section(path: Path | None, key: str) -> dict:
    """A mapping from a YAML file (a whole recipe's ``key`` section, or the section itself)."""
    if path is None:
        return {}
    if not path.exists():
        raise UserError(f"config not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping")
    return data.get(key, data) if key in data else data


def _run(
    kind: str,
    store: str,
    run_id: str | None,
    config: Path | None,
    mix: Path | None,
    quiet: bool = False,
    as_json: bool = False,
    args: list[str] | None = None,
    **kw,
) -> None:
    from beam_jobs.build import BuildJob, run_build

    job = BuildJob(
        run_id=run_id or f"build-{kind}",
        kind=kind,
        config=_section(config, kind),
        mix=_section(mix, "mix") if mix else None,
        **kw,
    )
    opened = open_store(store)
    manifest = run_job_with_display(
        f"build {kind}",
        job.run_id,
        lambda progress: run_build(opened, job, args, progress=progress),
        output_mode(quiet, as_json),
    )
    console = Console(stderr=True, quiet=as_json)
    for stage, c in manifest["counts"].items():
        filtered = ", ".join(f"{k}={v}" for k, v in c["filtered"].items()) or "none"
        console.print(
            f"{stage}: {c['in']} in, {c['out']} out; filtered: {filtered}", soft_wrap=True
        )
    console.print(f"training_samples: {manifest['rows'].get('training_samples', 0)} rows")


CONFIG = typer.Option(None, "--config", help="YAML with the builder's options (or a recipe).")
MIX = typer.Option(None, "--mix", help="YAML with mixing options (or a recipe with `mix:`).")
TOKENIZER = typer.Option(None, "--tokenizer", help="SentencePiece model or HF tokenizer dir.")
QUIET = typer.Option(False, "--quiet", "-q", help="No progress; only the final lines.")
JSON = typer.Option(False, "--json", help="One JSON event per line (machine logs).")


#: unknown --options of a build command go to Beam (e.g. --runner=DataflowRunner ...)
BEAM = {"allow_extra_args": True, "ignore_unknown_options": True}


@build_app.command("parallel", context_settings=BEAM)
def build_parallel(
    ctx: typer.Context,
    store: str = STORE,
    config: Path | None = CONFIG,
    mix: Path | None = MIX,
    tokenizer: str | None = TOKENIZER,
    run_id: str | None = typer.Option(None, help="Run id (default: build-parallel)."),
    dask_address: str | None = DASK_ADDRESS,
    dask_partitions: int = DASK_PARTITIONS,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Parallel samples (templates, both directions, filtered and de-duplicated)."""
    args = beam_args(list(ctx.args), dask_address, dask_partitions)
    _run("parallel", store, run_id, config, mix, quiet, as_json, args, tokenizer=tokenizer)


@build_app.command("interleaved", context_settings=BEAM)
def build_interleaved(
    ctx: typer.Context,
    store: str = STORE,
    config: Path | None = CONFIG,
    mix: Path | None = MIX,
    tokenizer: str | None = TOKENIZER,
    pair_by: str = typer.Option("origin", help="origin, link or retrieval."),
    link_field: str = typer.Option("link", help="Document field holding the shared link."),
    pivot: str = typer.Option("en", help="Pivot language for link and retrieval pairing."),
    method: str = typer.Option("tfidf", help="Retrieval similarity: tfidf or minhash."),
    threshold: float = typer.Option(0.3, help="Retrieval score threshold."),
    run_id: str | None = typer.Option(None, help="Run id (default: build-interleaved)."),
    dask_address: str | None = DASK_ADDRESS,
    dask_partitions: int = DASK_PARTITIONS,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Interleaved (CrossIC-PT style) samples from paired documents."""
    _run(
        "interleaved",
        store,
        run_id,
        config,
        mix,
        quiet,
        as_json,
        beam_args(list(ctx.args), dask_address, dask_partitions),
        tokenizer=tokenizer,
        pair_by=pair_by,
        link_field=link_field,
        pivot=pivot,
        retrieval_method=method,
        threshold=threshold,
    )


def export(
    to: Path = typer.Option(..., "--to", help="Folder for the Hub-ready dataset."),
    store: str = STORE,
    stage: Annotated[
        str, typer.Option(help="What to export: training_samples or projections.")
    ] = "training_samples",
    status: Annotated[
        str, typer.Option(help="Projections only: statuses to export, comma-separated.")
    ] = "complete",
    fmt: Annotated[
        str,
        typer.Option("--format", help="hub (Parquet + dataset card) or conll (projections only)."),
    ] = "hub",
    push: str | None = typer.Option(None, "--push", help="Also upload to this Hub dataset repo."),
    name: str = typer.Option("curate dataset", help="Pretty name on the dataset card."),
    license: str = typer.Option("other", help="License id for the card."),
    max_shard_mb: int = typer.Option(256, help="Largest Parquet shard, in MB."),
    max_shard_rows: Annotated[
        int, typer.Option(help="Most rows in one Parquet shard.", min=1)
    ] = 100_000,
    private: bool = typer.Option(False, help="Create the Hub repo as private."),
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            help="Runs to export, comma-separated (default: the latest run of each job that "
            "wrote the stage).",
        ),
    ] = None,
) -> None:
    """Export training samples, or projected span labels, as a Hub-ready folder (Parquet shards
    + dataset card)."""
    from curate.cli.inspect import require_store
    from curate.export.hub import export_folder
    from curate.export.push import push as push_folder
    from curate.export.stages import export_card, export_reader, export_runs

    if fmt not in ("hub", "conll"):
        raise UserError(f"unknown export format {fmt!r}", hint="choose hub or conll")
    if fmt == "conll" and (stage != "projections" or push):
        raise UserError(
            "--format conll writes projected span labels to a folder",
            hint="use it with --stage projections and without --push",
        )
    st = require_store(store)
    statuses = [s.strip() for s in status.split(",") if s.strip()]
    named = [r.strip() for r in (run_id or "").split(",") if r.strip()]
    runs = export_runs(st, stage, named)
    rows = export_reader(st, stage, statuses, runs)
    console = Console(stderr=True)
    console.print(
        f"exporting {stage} of run {', '.join(runs)}"
        + ("" if named else " (the latest; --run-id to choose)"),
        soft_wrap=True,
    )
    if fmt == "conll":
        from curate.export.conll import export_conll

        for config, splits in export_conll(rows, to).items():
            for split, n in splits.items():
                console.print(f"{to}/{config}/{split}.conll: {n} sentences", soft_wrap=True)
        return
    card = export_card(
        stage,
        pretty_name=name,
        license=license,
        provenance=f"Built by curate from the store {st.name}, run {', '.join(runs)}.",
        recipe={m["run_id"]: m["options"] for m in st.manifests() if m["run_id"] in runs},
    )
    result = export_folder(
        rows, to, card, max_shard_bytes=max_shard_mb * 1_000_000, max_shard_rows=max_shard_rows
    )
    for config, splits in result.configs.items():
        for split, info in splits.items():
            files = len(info["files"])
            console.print(
                f"{config}/{split}: {info['rows']} rows in {files} file(s)", soft_wrap=True
            )
    console.print(
        f"exported to {to}; load with datasets.load_dataset({str(to)!r}, name=CONFIG)",
        soft_wrap=True,
    )
    if push:
        url = push_folder(to, push, private=private)
        console.print(f"pushed to {url}")
