"""``curate align`` and ``curate project`` (Beam jobs in ``beam_jobs.project``)."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console

from curate.align.chunks import CHUNK_PAIRS
from curate.cli.display import output_mode, run_job_with_display
from curate.errors import UserError
from curate.store import Store

STORE = typer.Option(Path("store"), "--store", "-s", help="Store directory.")
ALIGNER = typer.Option("eflomal", "--aligner", help="eflomal (default) or simalign.")
CHUNK = typer.Option(
    CHUNK_PAIRS, "--chunk-pairs", min=1, help="Sentence pairs the aligner learns from at once."
)
EXTRA = typer.Option(None, "--extra-bitext", help="'src ||| tgt' file(s) to train the aligner on.")


def register(app: typer.Typer) -> None:
    settings = {"allow_extra_args": True, "ignore_unknown_options": True}
    app.command("align", context_settings=settings)(align)
    app.command("project", context_settings=settings)(project)


def _options(path: Path | None) -> dict:
    if path is None:
        return {}
    if not path.exists():
        raise UserError(f"options file not found: {path}")
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of options")
    return data


def align(
    ctx: typer.Context,
    store: Path = STORE,
    aligner: str = ALIGNER,
    aligner_options: Path | None = typer.Option(None, help="YAML of the aligner's options."),
    extra_bitext: list[Path] | None = EXTRA,
    chunk_pairs: int = CHUNK,
    run_id: str = typer.Option("align", help="Run id; re-running replaces it."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only the final line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (machine logs)."),
) -> None:
    """Word-align every translation in the store (writes the alignments stage)."""
    from beam_jobs.project import ProjectJob, run_align

    job = ProjectJob(
        run_id=run_id,
        aligner=aligner,
        aligner_options=_options(aligner_options),
        extra_bitext=tuple(str(p) for p in extra_bitext or ()),
        chunk_pairs=chunk_pairs,
    )
    manifest = run_job_with_display(
        "align",
        run_id,
        lambda progress: run_align(Store(store), job, list(ctx.args), progress=progress),
        output_mode(quiet, as_json),
    )
    Console(stderr=True, quiet=as_json).print(
        f"{run_id}: {manifest['rows'].get('alignments', 0)} alignments"
    )


def project(
    ctx: typer.Context,
    store: Path = STORE,
    method: str = typer.Option("alignment", help="alignment or marker."),
    aligner: str = ALIGNER,
    aligner_options: Path | None = typer.Option(None, help="YAML of the aligner's options."),
    options: Path | None = typer.Option(None, help="YAML of the projection options."),
    extra_bitext: list[Path] | None = EXTRA,
    chunk_pairs: int = CHUNK,
    model: str | None = typer.Option(None, help="Marker projection: the translation model."),
    run_id: str = typer.Option("project", help="Run id; re-running replaces it."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only the final line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (machine logs)."),
) -> None:
    """Carry span labels of translated examples onto their translations (translate-train)."""
    from beam_jobs.project import ProjectJob, run_project

    job = ProjectJob(
        run_id=run_id,
        method=method,
        aligner=aligner,
        aligner_options=_options(aligner_options),
        options=_options(options),
        extra_bitext=tuple(str(p) for p in extra_bitext or ()),
        model=model,
        chunk_pairs=chunk_pairs,
    )
    manifest = run_job_with_display(
        "project",
        run_id,
        lambda progress: run_project(Store(store), job, list(ctx.args), progress=progress),
        output_mode(quiet, as_json),
    )
    st = Store(store)
    statuses = st.sql(
        f"SELECT status, count(*) AS n FROM projections WHERE run_id = '{job.run_id}' GROUP BY 1"
    ).to_pylist()
    summary = ", ".join(f"{r['status']}={r['n']}" for r in statuses)
    Console(stderr=True, quiet=as_json).print(
        f"{run_id}: {manifest['counts']['project']['in']} examples projected ({summary})"
    )
