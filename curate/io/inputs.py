"""What the paths a user gives stand for: files with their formats, folders expanded to files,
splits read from file names, and the dataset name a set of inputs gets by default.

Corpora are distributed as folders of split files (MasakhaNER: ``yor/dev.txt``,
``yor/test.txt``, ``yor/train.txt``; CoNLL-2002: ``esp.testa``, ``esp.testb``), so a file's name
often says its split and not its dataset. :func:`default_dataset` therefore names a split file
after its folder as well (``yor/test.txt`` -> ``yor-test``), a folder after itself, and several
files after all of them, never after the first file alone.
"""

from __future__ import annotations

import re
from pathlib import Path

from curate.errors import UserError
from curate.text.tags import TagError, parse_tag

#: file names (stem or extension) that name a split rather than a dataset
SPLIT_NAMES = frozenset(
    {"train", "dev", "devel", "valid", "validation", "val", "test", "testa", "testb", "eval"}
)
#: files of a folder that are documentation, not data
_DOC_FILE = re.compile(r"^(readme|license|licence|copying|notice)(\..*)?$|\.md$", re.IGNORECASE)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
#: non-blank lines looked at to recognise a CoNLL file
_SNIFF_LINES = 50


def split_of(path: str | Path) -> str | None:
    """The split a file's name says (``dev.txt`` -> ``dev``, ``esp.testb`` -> ``testb``)."""
    path = Path(path)
    for part in (path.stem, path.suffix.lstrip(".")):
        if part.lower() in SPLIT_NAMES:
            return part.lower()
    return None


def is_saved_hf(folder: str | Path) -> bool:
    """Whether ``folder`` holds a dataset saved with ``datasets``' ``save_to_disk``."""
    folder = Path(folder)
    return (folder / "dataset_dict.json").exists() or (folder / "state.json").exists()


def folder_files(folder: str | Path) -> list[str]:
    """The data files under ``folder`` (recursively, sorted; hidden and documentation files
    such as README.md left out); a UserError when there are none."""
    folder = Path(folder)
    files = sorted(
        str(p)
        for p in folder.rglob("*")
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
        and not _DOC_FILE.search(p.name)
    )
    if not files:
        raise UserError(f"{folder} holds no data files")
    return files


def looks_like_conll(path: str | Path) -> bool:
    """Whether the file's first lines are CoNLL: token lines with at least two columns whose
    last is a tag (``O``, ``B-X``, ``I-X``), blank lines between sentences."""
    seen = 0
    with open(path, "rb") as fh:
        for raw in fh:
            columns = raw.decode("utf-8", "replace").split()
            if not columns or columns[0] == "-DOCSTART-":
                continue
            if len(columns) < 2:
                return False
            try:
                parse_tag(columns[-1])
            except TagError:
                return False
            seen += 1
            if seen >= _SNIFF_LINES:
                break
    return seen > 0


def default_dataset(paths: list[str | Path]) -> str:
    """The dataset name for inputs given without ``--dataset``.

    One file: its stem, with its folder's name in front when the stem names a split
    (``yor/test.txt`` -> ``yor-test``). One folder: its name. Several paths: their names
    joined (``news-ner``); split files of one folder: the folder's name.
    """
    names = [_single_name(Path(p)) for p in paths]
    parents = {Path(p).resolve().parent for p in paths}
    if len(paths) > 1 and len(parents) == 1 and all(split_of(p) for p in paths):
        names = [_clean(next(iter(parents)).name)]
    unique = list(dict.fromkeys(names))
    name = "-".join(unique)
    if len(name) > 60:
        name = f"{unique[0][:40]}-and-{len(unique) - 1}-more"
    return name or "dataset"


def _single_name(path: Path) -> str:
    resolved = path.resolve()
    if resolved.is_dir():
        return _clean(resolved.name)
    if resolved.stem.lower() in SPLIT_NAMES and resolved.parent.name:
        return _clean(f"{resolved.parent.name}-{resolved.stem}")
    if split_of(resolved):  # esp.testb: the split is the extension, the stem the dataset
        return _clean(resolved.name)
    return _clean(resolved.stem)


def _clean(name: str) -> str:
    return _UNSAFE.sub("_", name).strip("._-") or "dataset"
