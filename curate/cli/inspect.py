"""``curate sql`` and ``curate stats``: read-only inspection of a store."""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
from rich.console import Console
from rich.table import Table

from curate.store import Store

STORE_OPTION = typer.Option(
    "store", "--store", "-s", help="Store: a directory, or s3://bucket/prefix (gs://, az://)."
)


class OutputFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    parquet = "parquet"


def register(app: typer.Typer) -> None:
    app.command("sql")(sql)
    app.command("stats")(stats)
    app.command("doctor")(doctor)


def doctor(
    store: str = STORE_OPTION,
    fix: bool = typer.Option(False, "--fix", help="Move damaged files aside, remove orphans."),
) -> None:
    """Check every committed file of a store; with --fix, set damaged files aside."""
    from curate.store.doctor import diagnose, repair

    st = require_store(store)
    report = diagnose(st)
    for problem in report.problems:
        run = f" (run {problem.run_id})" if problem.run_id else ""
        print(f"{problem.kind}: {problem.path}{run}: {problem.detail}")
    print(f"{report.checked_files} committed file(s) checked, {len(report.problems)} problem(s)")
    if fix and report.problems:
        for action in repair(st, report):
            print(action)
    elif report.problems:
        raise typer.Exit(1)


def sql(
    query: str = typer.Argument(
        ..., help="One SELECT over the stage views (documents, segments, ...)."
    ),
    store: str = STORE_OPTION,
    format: OutputFormat = typer.Option(
        OutputFormat.table, "--format", "-f", help="Output format."
    ),
    output: Path | None = typer.Option(None, "--output", "-o", help="File for --format parquet."),
    run_id: str | None = typer.Option(None, "--run-id", help="Only this run's records."),
    limit: int = typer.Option(50, help="Rows shown in table format."),
) -> None:
    """Run read-only SQL over a store (views: one per stage, plus runs, quarantine, memory)."""
    table = require_store(store).sql(query, run_id=run_id)
    print_table(table, format, output, limit)


def stats(
    store: str = STORE_OPTION, as_json: bool = typer.Option(False, "--json", help="JSON output.")
) -> None:
    """Summarise a store: records per stage and language, quarantine and filter reasons."""
    st = require_store(store)
    con = st.connect()
    per_stage: dict[str, dict[str, int]] = {}
    for stage in st.stages():
        columns = [c[0] for c in con.execute(f'DESCRIBE "{stage}"').fetchall()]
        if "src_lang" in columns:
            key = "src_lang || '-' || tgt_lang"
        elif "lang" in columns:
            key = "lang"
        elif stage == "quarantine":
            key = "reason"
        else:
            key = "config" if "config" in columns else "'all'"
        rows = con.execute(
            f'SELECT {key} AS k, count(*) FROM "{stage}" GROUP BY k ORDER BY k'
        ).fetchall()
        if rows:
            per_stage[stage] = {str(k): int(n) for k, n in rows}
    counts = {stage: c.to_json() for stage, c in st.counts().items()}
    summary = {
        "store": st.uri,
        "runs": len(st.manifests()),
        "records": per_stage,
        "counts": counts,
    }
    if as_json:
        print(json.dumps(summary, indent=1))
        return
    console = Console()
    console.print(f"[bold]{st.uri}[/bold]: {summary['runs']} run(s)")
    table = Table("stage", "group", "records")
    for stage, groups in per_stage.items():
        for group, n in groups.items():
            table.add_row(stage, group, str(n))
    console.print(table)
    reasons = Table("stage", "in", "out", "quarantined (by reason)", "filtered (by reason)")
    for stage, c in counts.items():
        reasons.add_row(
            stage,
            str(c["in"]),
            str(c["out"]),
            ", ".join(f"{k}={v}" for k, v in c["quarantined"].items()) or "-",
            ", ".join(f"{k}={v}" for k, v in c["filtered"].items()) or "-",
        )
    console.print(reasons)


def print_table(table: pa.Table, format: OutputFormat, output: Path | None, limit: int) -> None:
    if format is OutputFormat.csv:
        sink = pa.BufferOutputStream()
        pacsv.write_csv(flat_for_csv(table), sink)
        sys.stdout.write(sink.getvalue().to_pybytes().decode("utf-8"))
    elif format is OutputFormat.json:
        for row in table.to_pylist():
            print(json.dumps(row, ensure_ascii=False, default=_json_default))
    elif format is OutputFormat.parquet:
        if output is None:
            from curate.errors import UserError

            raise UserError("--format parquet needs --output FILE")
        pq.write_table(table, output, compression="zstd")
        print(f"wrote {table.num_rows} rows to {output}")
    else:
        view = Table(*table.column_names)
        for row in table.slice(0, limit).to_pylist():
            view.add_row(*(_cell(v) for v in row.values()))
        console = Console()
        console.print(view)
        if table.num_rows > limit:
            console.print(
                f"({table.num_rows} rows, first {limit} shown; --limit or --format csv for all)"
            )


def flat_for_csv(table: pa.Table) -> pa.Table:
    """``table`` with every list, struct or map column as JSON text (CSV has no nested cells)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_nested(field.type):
            cells = [
                None if v is None else json.dumps(v, ensure_ascii=False, default=_json_default)
                for v in table.column(i).to_pylist()
            ]
            table = table.set_column(i, field.name, pa.array(cells, pa.string()))
    return table


def _cell(value: object) -> str:
    text = value.hex() if isinstance(value, bytes) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _json_default(value: object) -> object:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def require_store(store: str | Path) -> Store:
    """The store at ``store`` (a directory or a URI); a UserError unless a run was committed
    there (a command that reads a store says so first)."""
    from curate.errors import UserError

    st = Store(store)
    st.check_reachable()  # the server refused: credentials, endpoint, network
    if not st.exists():
        raise UserError(
            f"no store at {st.uri}",
            hint="run `curate ingest ... --store DIR` first, or pass --store",
        )
    return st
