"""Beam pipelines that compose curate's stage functions. Nothing here does stage work itself."""

import logging


def _import_beam_quietly() -> None:
    """Beam's import logs an irrelevant GCP warning on the root logger; keep it off the CLI."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        import apache_beam  # noqa: F401
    finally:
        root.setLevel(level)


_import_beam_quietly()
