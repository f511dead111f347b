"""The folder of an export, written whole or not at all: a temporary folder that takes the
target's place when the export succeeds (an earlier export there is replaced), and is removed
when it fails (the target is untouched)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curate.errors import UserError

#: The line a README written by an export holds: a folder with it may be replaced by the next.
CARD_MARKER = "<!-- written by curate export; edit the recipe, not this file -->"


def _is_previous_export(folder: Path) -> bool:
    readme = folder / "README.md"
    return readme.is_file() and CARD_MARKER in readme.read_text(encoding="utf-8", errors="replace")


@contextmanager
def replaced_folder(folder: Path) -> Iterator[Path]:
    """A temporary folder to write an export into; on success it takes ``folder``'s place whole
    (an earlier export there is replaced), on failure it is removed and ``folder`` is untouched.

    ``folder`` must not exist, be empty, or hold an earlier export (a README.md with the card
    marker).
    """
    if folder.exists() and (
        not folder.is_dir() or (any(folder.iterdir()) and not _is_previous_export(folder))
    ):
        raise UserError(
            f"{folder} exists and is not an earlier export; choose an empty or new folder"
        )
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.parent / f".{folder.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
        if folder.exists():
            old = folder.parent / f".{folder.name}.old-{os.getpid()}"
            folder.rename(old)
            tmp.rename(folder)
            shutil.rmtree(old)
        else:
            tmp.rename(folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
