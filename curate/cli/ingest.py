"""``curate ingest``: read files into a store (runs the Beam job ``beam_jobs.ingest``)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from curate.cli.display import output_mode, run_job_with_display
from curate.cli.runner import DASK_ADDRESS, DASK_PARTITIONS, STORE, beam_args, open_store
from curate.errors import UserError
from curate.io import FieldMap, format_with_target


def register(app: typer.Typer) -> None:
    app.command(
        "ingest",
        context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    )(ingest)


def ingest(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(
        ..., help="Input files or folders (a folder: its files; or a saved HF dataset)."
    ),
    store: str = STORE,
    dataset: str | None = typer.Option(
        None,
        help="Dataset name (default: from the inputs' names: yor/test.txt -> yor-test, "
        "a folder -> its name).",
    ),
    format: str | None = typer.Option(
        None, "--format", help="jsonl, csv, tsv, parquet, conll, bitext, hf."
    ),
    kind: str = typer.Option("auto", help="auto, documents or examples."),
    lang: str | None = typer.Option(
        None, help="Declared language (ISO 639) where records give none."
    ),
    target_lang: str | None = typer.Option(
        None, help="Declared language of the bitext target side."
    ),
    target_file: Path | None = typer.Option(
        None,
        help="Translations of the input, one per line (or per sentence: a CoNLL file). "
        "With a CoNLL input each labelled sentence is stored with its translation.",
    ),
    target_format: str | None = typer.Option(
        None, help="conll or text: the --target-file's format (default: from its extension)."
    ),
    origin: str = typer.Option(
        "reference",
        help="Who wrote the translations: reference (a human; 'human' is the same) or system "
        "(machine output).",
    ),
    system: str | None = typer.Option(None, help="With --origin system: the system's name."),
    text_field: str = typer.Option("text", help="Field holding the text."),
    id_field: str = typer.Option("id", help="Field holding the record id (used when present)."),
    lang_field: str = typer.Option("lang", help="Field holding the language code (when present)."),
    spans_field: str | None = typer.Option(None, help="Field holding [{start, end, label}] spans."),
    text_b_field: str | None = typer.Option(
        None, help="Second text field (NLI hypothesis, question)."
    ),
    target_field: str | None = typer.Option(
        None, help="Field holding a translation (tabular bitext)."
    ),
    split: str | None = typer.Option(None, help="Split of a Hugging Face dataset."),
    tag_column: int = typer.Option(-1, help="CoNLL: column of the tag."),
    encoding: str | None = typer.Option(
        None, help="Text encoding of the files (default UTF-8; e.g. latin-1 for CoNLL-2002)."
    ),
    on_misaligned: str = typer.Option(
        "error",
        help="Bitext files of unequal line counts: error, or quarantine both files whole.",
    ),
    run_id: str | None = typer.Option(
        None,
        help="Run id (default: ingest-<dataset>); re-running the same files replaces it, "
        "other files under it are refused.",
    ),
    workers: int = typer.Option(1, help="Local worker processes (Beam multi-processing)."),
    dask_address: str | None = DASK_ADDRESS,
    dask_partitions: int = DASK_PARTITIONS,
    langid: bool = typer.Option(
        True, "--langid/--no-langid", help="Identify the language of every text."
    ),
    segment: bool = typer.Option(
        True, "--segment/--no-segment", help="Split documents into sentences."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress; only the final line."),
    as_json: bool = typer.Option(False, "--json", help="One JSON event per line (machine logs)."),
) -> None:
    """Ingest files into the store; extra --options are passed to Beam (e.g. --runner)."""
    from beam_jobs.ingest import InputSpec, run_ingest
    from curate.ingest import IngestConfig
    from curate.io import default_dataset
    from curate.io.bitext import ON_MISALIGNED
    from curate.io.encoding import check_encoding_name
    from curate.languages import store_language

    # click puts unknown --option=value words among the input paths; they are Beam's options
    extra = [str(p) for p in paths if str(p).startswith("-")] + list(ctx.args)
    args = beam_args(extra, dask_address, dask_partitions)
    paths = [p for p in paths if not str(p).startswith("-")]
    if not paths:
        raise UserError("no input files given")
    if kind not in ("auto", "documents", "examples"):
        raise UserError(f"unknown --kind {kind!r}", hint="auto, documents or examples")
    if on_misaligned not in ON_MISALIGNED:
        raise UserError(f"unknown --on-misaligned {on_misaligned!r}", hint=", ".join(ON_MISALIGNED))
    lang = store_language(lang, "--lang") if lang else None
    target_lang = store_language(target_lang, "--target-lang") if target_lang else None
    if encoding:
        check_encoding_name(encoding)
    for path in paths:
        if not path.exists():
            raise UserError(f"input not found: {path}")
    if target_file is not None:
        if not target_file.exists():
            raise UserError(f"input not found: {target_file}")
        format = format_with_target(str(paths[0]), format, str(target_file))
    name = dataset or default_dataset(list(paths))
    fields = FieldMap(
        text=text_field,
        id=id_field,
        lang=lang_field,
        spans=spans_field,
        text_b=text_b_field,
        target=target_field,
    )
    options: dict[str, object] = {"tag_column": tag_column}
    if split:
        options["split"] = split
    if target_file:
        options["target_file"] = str(target_file)
        options["on_misaligned"] = on_misaligned
    if encoding:
        options["encoding"] = encoding
    if target_format:
        options["target_format"] = target_format
    inputs = [InputSpec(str(p), format or "", fields, options) for p in paths]
    config = IngestConfig(
        dataset=name,
        run_id=run_id or f"ingest-{name}",
        kind=kind,
        lang=lang,
        target_lang=target_lang,
        segment=segment,
        identify_language=langid,
        origin=origin,
        system=system,
    )
    opened = open_store(store)
    manifest = run_job_with_display(
        "ingest",
        config.run_id,
        lambda progress: run_ingest(opened, inputs, config, args, workers, progress=progress),
        output_mode(quiet, as_json),
    )
    counts = manifest["counts"].get("ingest", {})
    console = Console(stderr=True, quiet=as_json)
    quarantined = counts.get("quarantined", {})
    reasons = ", ".join(f"{k}={v}" for k, v in quarantined.items())
    filtered = counts.get("filtered", {})
    kinds = ", ".join(f"{k}={v}" for k, v in filtered.items())
    console.print(
        f"[bold]{config.run_id}[/bold]: {counts.get('in', 0)} read, "
        f"{counts.get('out', 0)} written, {sum(quarantined.values())} quarantined"
        + (f" ({reasons})" if reasons else "")
        + (f", {sum(filtered.values())} filtered ({kinds})" if kinds else "")
        + f" in {manifest['seconds']:.1f}s -> {store}",
        soft_wrap=True,
    )
    read = manifest.get("options", {}).get("inputs", [])
    if len(read) > 1 or any(p.is_dir() for p in paths):
        for item in read:
            console.print(f"  read {item['path']} as {item['format']}", soft_wrap=True)
    for stage, rows in manifest["rows"].items():
        console.print(
            f"  {stage}: {rows} rows   curate sql --store {store} 'SELECT * FROM {stage} LIMIT 5'",
            soft_wrap=True,
        )
