"""``curate align`` and ``curate project`` (Beam jobs in ``beam_jobs.project``)."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.console import Console

from curate.align.chunks import CHUNK_PAIRS
from curate.align.sentences import aligned_as_summary
from curate.cli.display import output_mode, run_job_with_display
from curate.cli.runner import DASK_ADDRESS, DASK_PARTITIONS, STORE, beam_args, open_store
from curate.errors import UserError
from curate.store import Store

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
    store: str | None = typer.Option(
        None,
        "--store",
        "-s",
        help="Align every translation of this store (a directory, or s3://bucket/prefix).",
    ),
    src: Path | None = typer.Option(
        None, "--src", help="Or files: source sentences, one per line (or 'SRC ||| TGT' lines)."
    ),
    tgt: Path | None = typer.Option(None, "--tgt", help="Target sentences, line by line."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Files: Pharaoh links to write."),
    pretokenized: bool = typer.Option(
        False, "--pretokenized", help="Files: words are separated by spaces; keep them as given."
    ),
    one_based: bool = typer.Option(
        False, "--one-based", help="Files: write 1-based indices (default 0-based, like eflomal)."
    ),
    src_lang: str | None = typer.Option(None, help="Files: source language (tokenisation)."),
    tgt_lang: str | None = typer.Option(None, help="Files: target language (tokenisation)."),
    tokens_out: Path | None = typer.Option(
        None, help="Files: also write the words aligned, as 'SRC ||| TGT' lines."
    ),
    aligner: str = ALIGNER,
    aligner_options: Path | None = typer.Option(None, help="YAML of the aligner's options."),
    extra_bitext: list[Path] | None = EXTRA,
    chunk_pairs: int = CHUNK,
    run_id: str = typer.Option("align", help="Store: run id; re-running replaces it."),
    dask_address: str | None = DASK_ADDRESS,
    dask_partitions: int = DASK_PARTITIONS,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only the final line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (machine logs)."),
) -> None:
    """Word-align the store's translations (--store), or a bitext's files (--src [--tgt] --out).

    Files mode works like eflomal's and fast_align's command lines: two line-aligned files, or
    one file of 'SRC ||| TGT' lines, in; one line of Pharaoh 'i-j' links per pair out.
    """
    files = src is not None or tgt is not None
    if files == (store is not None):
        raise UserError(
            "give either --store DIR (align the store's translations) or --src FILE "
            "[--tgt FILE] --out LINKS (align files)",
            hint="curate align --src corpus.ro --tgt corpus.en --out links.txt",
        )
    if files:
        _align_files(
            src,
            tgt,
            out,
            pretokenized,
            one_based,
            src_lang,
            tgt_lang,
            tokens_out,
            aligner,
            _options(aligner_options),
            extra_bitext or [],
        )
        return
    from beam_jobs.project import ProjectJob, run_align

    assert store is not None
    args = beam_args(list(ctx.args), dask_address, dask_partitions)
    job = ProjectJob(
        run_id=run_id,
        aligner=aligner,
        aligner_options=_options(aligner_options),
        extra_bitext=tuple(str(p) for p in extra_bitext or ()),
        chunk_pairs=chunk_pairs,
    )
    opened = open_store(store)
    manifest = run_job_with_display(
        "align",
        run_id,
        lambda progress: run_align(opened, job, args, progress=progress),
        output_mode(quiet, as_json),
    )
    units = aligned_as_summary(manifest["counts"].get("align", {}).get("notes", {}))
    Console(stderr=True, quiet=as_json).print(
        f"{run_id}: {manifest['rows'].get('alignments', 0)} alignments"
        + (f"; {units}" if units else ""),
        soft_wrap=True,
    )


def _align_files(
    src: Path | None,
    tgt: Path | None,
    out: Path | None,
    pretokenized: bool,
    one_based: bool,
    src_lang: str | None,
    tgt_lang: str | None,
    tokens_out: Path | None,
    aligner: str,
    options: dict,
    extra_bitext: list[Path],
) -> None:
    """``curate align --src ... --out ...``: align a bitext's files and write Pharaoh links."""
    import time

    from curate.align.bitext import align_bitext_files, read_bitext_pairs
    from curate.align.registry import get_aligner
    from curate.align.tokenize import tokenize

    if src is None:
        raise UserError("--tgt needs --src (the source side)")
    if out is None:
        raise UserError("files mode needs --out LINKS (where the Pharaoh links go)")
    for path in (src, tgt, *extra_bitext):
        if path is not None and not path.exists():
            raise UserError(f"input not found: {path}")
    if aligner == "eflomal" and extra_bitext:
        options["extra"] = [
            (tokenize(a, src_lang).tokens, tokenize(b, tgt_lang).tokens)
            for path in extra_bitext
            for a, b in read_bitext_pairs(str(path))
        ]
    start = time.perf_counter()
    try:
        result = align_bitext_files(
            get_aligner(aligner, **options),
            src,
            out,
            tgt,
            src_lang=src_lang,
            tgt_lang=tgt_lang,
            pretokenized=pretokenized,
            one_based=one_based,
            tokens_path=tokens_out,
        )
    except (TypeError, ValueError) as exc:
        raise UserError(str(exc)) from None
    base = "1-based" if one_based else "0-based"
    Console(stderr=True).print(
        f"{result.pairs} pairs aligned by {result.method}: {result.links} links ({base}) "
        f"-> {out} in {time.perf_counter() - start:.1f}s",
        soft_wrap=True,
    )


def project(
    ctx: typer.Context,
    store: str = STORE,
    method: str = typer.Option("alignment", help="alignment or marker."),
    aligner: str = ALIGNER,
    aligner_options: Path | None = typer.Option(None, help="YAML of the aligner's options."),
    options: Path | None = typer.Option(None, help="YAML of the projection options."),
    extra_bitext: list[Path] | None = EXTRA,
    chunk_pairs: int = CHUNK,
    model: str | None = typer.Option(None, help="Marker projection: the translation model."),
    run_id: str = typer.Option("project", help="Run id; re-running replaces it."),
    dask_address: str | None = DASK_ADDRESS,
    dask_partitions: int = DASK_PARTITIONS,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only the final line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (machine logs)."),
) -> None:
    """Carry span labels of translated examples onto their translations (translate-train)."""
    from beam_jobs.project import ProjectJob, run_project

    args = beam_args(list(ctx.args), dask_address, dask_partitions)
    job = ProjectJob(
        run_id=run_id,
        method=method,
        aligner=aligner,
        aligner_options=_options(aligner_options),
        options=_options(options),
        extra_bitext=tuple(str(p) for p in extra_bitext or ()),
        chunk_pairs=chunk_pairs,
        model=model,
    )
    opened = open_store(store)
    manifest = run_job_with_display(
        "project",
        run_id,
        lambda progress: run_project(opened, job, args, progress=progress),
        output_mode(quiet, as_json),
    )
    st = Store(store)
    statuses = st.sql(
        f"SELECT status, count(*) AS n FROM projections WHERE run_id = '{job.run_id}' GROUP BY 1"
    ).to_pylist()
    summary = ", ".join(f"{r['status']}={r['n']}" for r in statuses)
    units = aligned_as_summary(manifest["counts"]["project"].get("notes", {}))
    Console(stderr=True, quiet=as_json).print(
        f"{run_id}: {manifest['counts']['project']['in']} examples projected ({summary})"
        + (f"; {units}" if units else ""),
        soft_wrap=True,
    )
