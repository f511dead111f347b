"""The ``curate`` command line. Each command group lives in its own module of this package.

Errors the user can fix are printed as one line (plus a hint) with exit status 2; a traceback is
shown only with ``--debug``.
"""

from __future__ import annotations

import logging
import sys
import warnings

import typer

from curate.cli import build as _build
from curate.cli import detect as _detect
from curate.cli import evaluate as _evaluate
from curate.cli import ingest as _ingest
from curate.cli import inspect as _inspect
from curate.cli import project as _project
from curate.cli import run as _run
from curate.cli import translate as _translate
from curate.errors import UserError

app = typer.Typer(
    name="curate",
    help="Cross-lingual data curation: ingest, translate, project labels, detect artifacts, build.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
_state = {"debug": False}


@app.callback()
def _options(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only results and errors."),
) -> None:
    _state["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.ERROR if quiet else logging.WARNING, force=True
    )


_ingest.register(app)
_inspect.register(app)
_translate.register(app)
_project.register(app)
_build.register(app)
_detect.register(app)
_evaluate.register(app)
_run.register(app)


def main() -> None:
    debug = "--debug" in sys.argv
    if not debug:
        # library warnings (DuckDB copies, tokenizer advice) are for developers, not users
        warnings.simplefilter("ignore")
        # errors in finalisers after a failure (e.g. a Parquet writer closing on a full disk)
        # repeat the error already reported; keep them out of the one-line message
        sys.unraisablehook = lambda _: None
    try:
        # without standalone mode, click returns the code of a typer.Exit instead of exiting
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except UserError as exc:
        if debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        sys.exit(2)
    except FileNotFoundError as exc:
        if debug:
            raise
        print(f"error: file not found: {exc.filename}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except Exception as exc:  # a usage error or a bug
        exit_types, usage_types, abort_types = _click_exceptions()
        if isinstance(exc, exit_types):
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, usage_types):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        if isinstance(exc, abort_types):
            sys.exit(1)
        if debug:
            raise
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        print("hint: run again with --debug for the traceback", file=sys.stderr)
        sys.exit(1)


def _click_exceptions() -> tuple[tuple[type, ...], tuple[type, ...], tuple[type, ...]]:
    """Exit, usage-error and abort classes of typer (which bundles its own click) and click."""
    exits: list[type] = [typer.Exit]
    usage: list[type] = []
    aborts: list[type] = [typer.Abort]
    try:
        from typer._click.exceptions import ClickException  # typer >= 0.24

        usage.append(ClickException)
    except ImportError:
        pass
    import click

    exits.append(click.exceptions.Exit)
    usage.append(click.ClickException)
    aborts.append(click.exceptions.Abort)
    return tuple(exits), tuple(usage), tuple(aborts)
