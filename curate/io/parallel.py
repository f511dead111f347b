"""Labelled text with its translation: a CoNLL file paired unit by unit with a target file.

Annotation projection over a parallel corpus starts from labelled source sentences and their
existing (usually human) translations. Here the source is a CoNLL file and the target either a
plain file with one translation per line (line ``i`` translates sentence ``i``) or a second
CoNLL file with the same number of sentences (its tokens are kept as given, so its tags can
serve as gold for the projected labels). Each source sentence becomes one ``tokens`` record that
carries its translation in ``target`` (and ``target_tokens``); ingest turns it into an example
and a translation linked to it.

Pairing is by position, so the two files must have the same number of units (sentences, or
lines of the plain file): :func:`check_paired` says so before anything is read. A unit that
cannot be used on either side sends the pair to quarantine with the reason of that side.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from curate.errors import UserError
from curate.io.base import BATCH_SIZE, FieldMap, Quarantined, RawRecord, ReadBatch
from curate.io.conll import read_conll

CONLL_SUFFIXES = (".conll", ".conll02", ".conll03", ".conllu", ".bio", ".iob")

#: One unit of a file, in order: a record, or why it was quarantined.
Unit = RawRecord | Quarantined


def target_format(options: dict[str, Any]) -> str:
    """``conll`` or ``text``: the ``target_format`` option, else from the target's extension."""
    given = options.get("target_format")
    if given:
        if given not in ("conll", "text"):
            raise UserError(f"unknown target format {given!r}", hint="conll or text")
        return str(given)
    return "conll" if str(options["target_file"]).lower().endswith(CONLL_SUFFIXES) else "text"


def conll_units(path: str, options: dict[str, Any]) -> Iterator[Unit]:
    """The sentences of a CoNLL file in file order, quarantined ones included."""
    for batch in read_conll(path, FieldMap(), options):
        units: list[Unit] = [*batch.records, *batch.quarantined]
        yield from sorted(units, key=lambda u: u.source_line or 0)


def text_units(path: str, encoding: str = "utf-8") -> Iterator[Unit]:
    """The lines of a plain file (a blank line is an empty translation, still a unit)."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.rstrip(b"\r\n")
            try:
                text = line.decode(encoding)
            except UnicodeDecodeError as exc:
                yield Quarantined(
                    "invalid_utf8", f"invalid {encoding} at byte {exc.start}", path, number, line
                )
                continue
            yield RawRecord("text", path, number, line, text=text)


def _target_units(options: dict[str, Any]) -> Iterator[Unit]:
    path = str(options["target_file"])
    if target_format(options) == "conll":
        return conll_units(path, {k: v for k, v in options.items() if k != "target_file"})
    return text_units(path, str(options.get("encoding") or "utf-8"))


def count_units(path: str, fmt: str) -> int:
    """Sentences of a CoNLL file (``fmt="conll"``) or lines of a plain file."""
    if fmt == "text":
        with open(path, "rb") as fh:
            return sum(1 for _ in fh)
    return sum(1 for _ in conll_units(path, {}))


def check_paired(path: str, options: dict[str, Any]) -> None:
    """Refuse a CoNLL source and a target file whose units do not pair up one to one."""
    target = str(options["target_file"])
    n_src = count_units(path, "conll")
    fmt = target_format(options)
    n_tgt = count_units(target, fmt)
    if n_src != n_tgt:
        unit = "sentences" if fmt == "conll" else "lines"
        raise UserError(
            f"{path} has {n_src} sentences but {target} has {n_tgt} {unit}; "
            "they must pair up one to one",
            hint="a target file needs one translation per source sentence, in the same order",
        )


def read_conll_with_target(
    path: str, fields: FieldMap, options: dict[str, Any]
) -> Iterator[ReadBatch]:
    """CoNLL sentences, each with its translation from ``options["target_file"]`` if given."""
    if not options.get("target_file"):
        yield from read_conll(path, fields, options)
        return
    target_path = str(options["target_file"])
    targets = _target_units(options)
    batch = ReadBatch()
    for source in conll_units(path, options):
        target = next(targets, None)
        if target is None:
            raise UserError(f"{target_path} ends before {path}; they must pair up one to one")
        _add(source, target, target_path, batch)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = ReadBatch()
    if next(targets, None) is not None:
        raise UserError(f"{target_path} has more units than {path}; they must pair up one to one")
    if len(batch):
        yield batch


def _add(source: Unit, target: Unit, target_path: str, batch: ReadBatch) -> None:
    if isinstance(source, Quarantined):
        batch.quarantined.append(source)
    elif isinstance(target, Quarantined):
        batch.quarantined.append(
            Quarantined(
                target.reason,
                f"target {target_path}:{target.source_line}: {target.detail}",
                source.source_file,
                source.source_line,
                source.payload + b"\n|||\n" + target.payload,
            )
        )
    else:
        source.target = target.text
        source.target_tokens = target.tokens
        batch.records.append(source)
