"""Exceptions that mean "the user asked for something impossible".

The CLI prints a :class:`UserError` as one line (plus an optional hint) and exits non-zero,
without a traceback. Anything else escaping a command is a bug and is shown in full under
``--debug``.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix: a missing file, an unknown format, a bad option."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint
