"""CoNLL reader: one token per line, blank lines between sentences, ``-DOCSTART-`` lines
counted apart (filtered as ``docstart``).

Both column layouts are read: CoNLL-2002 (``token tag``) and CoNLL-2003 (``token POS chunk tag``),
whitespace- or tab-separated. The token is the first column and the tag the last, unless
``token_column``/``tag_column`` options say otherwise. The column count is fixed by a file's
first token line; a sentence with a line of another width, or a malformed tag, is quarantined
whole, with the number of the offending line. Sentence text is the tokens joined by single
spaces, and each token's character range is recorded, so spans and tags convert both ways.

Tags follow the one rule of :mod:`curate.text.tags`: IOB1, IOB2, BIOES and BILOU are read, a
malformed tag quarantines its sentence. The tag scheme is a file's, not a sentence's: a sentence
without entities (or whose entities all start with ``B-``) reads the same in every scheme, so a
first pass over the tags decides the scheme for the whole file (BIOES or BILOU when a sentence
has their tags, else IOB1 when any entity starts with ``I-``). Lines are decoded with the
``encoding`` option (UTF-8 by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curate.io.base import BATCH_SIZE, FieldMap, Quarantined, RawRecord, ReadBatch
from curate.io.encoding import encoding_of
from curate.text.tags import TagError, detect_scheme, most_specific_scheme, parse_tag

DOCSTART = "-DOCSTART-"


def read_conll(path: str, fields: FieldMap, options: dict[str, Any]) -> Iterator[ReadBatch]:
    token_column = int(options.get("token_column", 0))
    tag_column = int(options.get("tag_column", -1))
    encoding = encoding_of(options)
    scheme = file_scheme(path, tag_column, encoding)
    width: int | None = None
    batch = ReadBatch()
    sentence: list[tuple[int, bytes, list[str]]] = []

    def flush() -> None:
        nonlocal sentence
        if sentence:
            _sentence_to_record(
                sentence, path, width or 0, (token_column, tag_column), scheme, batch
            )
        sentence = []

    for number, line, columns in _lines(path, encoding):
        if not columns:
            if sentence:
                flush()
            else:
                batch.skipped += 1
        else:
            if columns[0] == DOCSTART:
                flush()
                batch.filtered["docstart"] += 1
                continue
            if width is None and columns != ["\udcff"]:
                width = len(columns)
            sentence.append((number, line, columns))
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = ReadBatch()
    flush()
    if len(batch):
        yield batch


def read_conll_tags(
    path: str | Path, column: int = -1, encoding: str = "utf-8"
) -> list[tuple[list[str], list[str]]]:
    """The sentences of a CoNLL file as ``(tokens, tags)``, tags from ``column``: the file read
    by the rules ingest reads it with (:func:`read_conll`), for scoring predictions against gold
    (``curate eval projection``). A sentence that ingest would quarantine (a malformed tag, a
    line of another width, bytes that do not decode) raises ``ValueError`` naming the file and
    the line."""
    options = {"tag_column": column, "encoding": encoding}
    sentences: list[tuple[list[str], list[str]]] = []
    for batch in read_conll(str(path), FieldMap(), options):
        if batch.quarantined:
            raise ValueError(f"{path}: {batch.quarantined[0].detail}")
        sentences.extend((list(r.tokens or []), list(r.tags or [])) for r in batch.records)
    return sentences


def _lines(path: str, encoding: str) -> Iterator[tuple[int, bytes, list[str]]]:
    """``(line number, raw bytes, columns)``; a line that does not decode has the columns
    ``["\\udcff"]`` (reported by the sentence it is in)."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            line = raw.rstrip(b"\r\n")
            try:
                yield number, line, line.decode(encoding).split()
            except UnicodeDecodeError:
                yield number, line, ["\udcff"]


def file_scheme(path: str, tag_column: int = -1, encoding: str = "utf-8") -> str:
    """The most specific scheme of the file's sentences: ``bilou`` or ``bioes`` if some sentence
    has their tags, ``iob1`` if an entity starts with ``I-``, else ``iob2``."""
    schemes: set[str] = set()
    tags: list[str] = []
    for _, _, columns in [*_lines(path, encoding), (0, b"", [])]:
        if columns and columns[0] != DOCSTART:
            if -len(columns) <= tag_column < len(columns):
                tags.append(columns[tag_column])
            continue
        schemes.add(_scheme_of(tags))
        tags = []
    return most_specific_scheme(schemes)


def _scheme_of(tags: list[str]) -> str:
    try:
        return detect_scheme(tags)
    except TagError:
        return "iob2"  # a malformed sentence is quarantined; it decides nothing


def _sentence_to_record(
    lines: list[tuple[int, bytes, list[str]]],
    path: str,
    width: int,
    columns_used: tuple[int, int],
    scheme: str,
    batch: ReadBatch,
) -> None:
    token_column, tag_column = columns_used
    first_line = lines[0][0]
    payload = b"\n".join(raw for _, raw, _ in lines)
    tokens: list[str] = []
    tags: list[str] = []
    for number, _, columns in lines:
        if columns == ["\udcff"]:
            batch.quarantined.append(
                Quarantined(
                    "invalid_utf8", f"invalid UTF-8 on line {number}", path, first_line, payload
                )
            )
            return
        if len(columns) != width:
            batch.quarantined.append(
                Quarantined(
                    "wrong_column_count",
                    f"line {number} has {len(columns)} columns, expected {width}",
                    path,
                    first_line,
                    payload,
                )
            )
            return
        tag = columns[tag_column]
        try:
            parse_tag(tag)
        except TagError as exc:
            batch.quarantined.append(
                Quarantined("bad_tag", f"line {number}: {exc}", path, first_line, payload)
            )
            return
        tokens.append(columns[token_column])
        tags.append(tag)
    batch.records.append(
        RawRecord(
            kind="tokens",
            source_file=path,
            source_line=first_line,
            payload=payload,
            text=" ".join(tokens),
            tokens=tokens,
            tags=tags,
            task="ner",
            tag_scheme=scheme,
        )
    )
