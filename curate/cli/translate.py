"""``curate translate`` (the Beam job ``beam_jobs.translate``) and ``curate models ...``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from curate.cli.display import output_mode, run_job_with_display
from curate.cli.runner import DASK_ADDRESS, DASK_PARTITIONS, STORE, beam_args
from curate.errors import UserError

models_app = typer.Typer(help="Translation models: list, fetch from the Hub, convert local ones.")


def register(app: typer.Typer) -> None:
    app.command(
        "translate",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(translate)
    app.add_typer(models_app, name="models")


def translate(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="Target language(s), ISO 639, comma-separated."),
    store: str = STORE,
    stage: str = typer.Option("segments", help="Stage to translate: segments or examples."),
    source_lang: str | None = typer.Option(None, "--from", help="Only rows in these languages."),
    model: str | None = typer.Option(None, help="Model directory or registry name."),
    device: str = typer.Option("auto", help="auto, cpu or cuda (cuda: no CPU fallback)."),
    beam_size: int = typer.Option(4, help="Beam size."),
    max_decoding_length: int = typer.Option(256, help="Longest output, in tokens."),
    batch_tokens: int = typer.Option(
        16384, help="Tokens (estimated) per RunInference batch; CTranslate2 splits it further."
    ),
    memory: bool = typer.Option(True, "--memory/--no-memory", help="Use the translation memory."),
    run_id: str | None = typer.Option(None, help="Run id (default: translate-<stage>-<targets>)."),
    workers: int = typer.Option(1, help="Local worker processes (Beam multi-processing)."),
    dask_address: str | None = DASK_ADDRESS,
    dask_partitions: int = DASK_PARTITIONS,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only the final line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (machine logs)."),
) -> None:
    """Translate a stage of the store with CTranslate2; extra --options are passed to Beam."""
    from beam_jobs.translate import TranslateJob, run_translate
    from curate.cli.inspect import require_store
    from curate.mt.engine import TranslateConfig

    args = beam_args(list(ctx.args), dask_address, dask_partitions)
    opened = require_store(store)

    targets = tuple(t.strip() for t in to.split(",") if t.strip())
    if not targets:
        raise UserError("--to needs at least one language")
    job = TranslateJob(
        run_id=run_id or f"translate-{stage}-{'-'.join(targets)}",
        targets=targets,
        model=model,
        source_stage=stage,
        source_langs=tuple(s.strip() for s in source_lang.split(",")) if source_lang else (),
        device=device,
        strict_device=device == "cuda",
        use_memory=memory,
        batch_tokens=batch_tokens,
        config=TranslateConfig(beam_size=beam_size, max_decoding_length=max_decoding_length),
    )
    manifest = run_job_with_display(
        "translate",
        job.run_id,
        lambda progress: run_translate(opened, job, args, workers, progress=progress),
        output_mode(quiet, as_json),
    )
    counts = manifest["counts"].get("translate", {})
    quarantined = sum(counts.get("quarantined", {}).values())
    Console(stderr=True, quiet=as_json).print(
        f"[bold]{job.run_id}[/bold]: {counts.get('in', 0)} translated into {', '.join(targets)}, "
        f"{quarantined} quarantined, in {manifest['seconds']:.1f}s "
        f"({manifest['versions'].get('model')})",
        soft_wrap=True,
    )


@models_app.command("list")
def models_list() -> None:
    """Known models and whether they are on this machine."""
    from curate.mt.registry import list_models

    table = Table("name", "family", "hub id", "local path", "default")
    for row in list_models():
        table.add_row(
            row["name"],
            row["family"],
            row["hub_id"] or "-",
            row["path"] or "-",
            "yes" if row["default"] else "",
        )
    Console().print(table)


@models_app.command("fetch")
def models_fetch(
    name: str = typer.Argument(..., help="Registry name, e.g. nllb-200-distilled-600M."),
) -> None:
    """Download a registry model from the Hub and convert it once into the model cache."""
    from curate.mt.convert import fetch

    info = fetch(name)
    print(f"{info.model_id} ({info.family_name}) at {info.path}")


@models_app.command("convert")
def models_convert(
    hf_dir: Path = typer.Argument(..., help="Local Hugging Face model directory."),
    out: Path = typer.Argument(..., help="Output CTranslate2 model directory."),
    quantization: str = typer.Option("int8", help="int8, int8_float16, float16 or float32."),
    source_langs: str | None = typer.Option(None, "--source-langs", help="ISO codes (Marian)."),
    target_langs: str | None = typer.Option(None, "--target-langs", help="ISO codes (Marian)."),
    force: bool = typer.Option(False, help="Replace an existing output directory."),
) -> None:
    """Convert a local Hugging Face translation model to CTranslate2."""
    from curate.mt.convert import convert

    if not hf_dir.is_dir():
        raise UserError(f"not a directory: {hf_dir}")
    info = convert(
        hf_dir,
        out,
        quantization=quantization,
        source_languages=[c.strip() for c in source_langs.split(",")] if source_langs else None,
        target_languages=[c.strip() for c in target_langs.split(",")] if target_langs else None,
        force=force,
    )
    print(f"{info.model_id} ({info.family_name}) at {info.path}")
