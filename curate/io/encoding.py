"""Text encodings of input files: the ``encoding`` read option, and refusing a file that is
mostly not UTF-8 before anything is written.

Readers decode UTF-8 by default and quarantine a line that is not valid UTF-8 on its own
(``invalid_utf8``). That is right for a stray bad line, and wrong for a file in another encoding
(CoNLL-2002 is distributed in ISO-8859-1): every line with an accent would be quarantined, and
the part kept would be a biased subset. :func:`check_encoding` looks at a file's lines with
non-ASCII bytes first and refuses the file when most of them are not UTF-8, naming the
encoding that ``charset-normalizer`` finds likely, so the user can pass ``--encoding``.
"""

from __future__ import annotations

import codecs
from typing import Any

from curate.errors import UserError

DEFAULT = "utf-8"
#: bytes of a file looked at (from its start) to decide whether it is UTF-8
SCAN_BYTES = 16 << 20
#: a file is refused when at least this many of its lines are not UTF-8 ...
MIN_INVALID_LINES = 3
#: ... and they are more than this share of its lines with non-ASCII bytes
MAX_INVALID_SHARE = 0.5


def encoding_of(options: dict[str, Any]) -> str:
    """The encoding a reader decodes with (``options["encoding"]``, UTF-8 by default)."""
    return str(options.get("encoding") or DEFAULT)


def check_encoding_name(name: str) -> str:
    """``name`` if Python knows the codec (``latin-1``, ``cp1252``, ...), else a UserError."""
    try:
        codecs.lookup(name)
    except LookupError:
        raise UserError(
            f"unknown encoding {name!r}", hint="e.g. utf-8, latin-1 (iso-8859-1), cp1252"
        ) from None
    return name


def check_encoding(path: str, encoding: str | None = None) -> None:
    """Refuse ``path`` (a UserError) when it is mostly not in ``encoding`` (UTF-8 if None).

    With an explicit encoding nothing is checked: the user chose (``utf-8`` given explicitly
    reads the file as UTF-8 and quarantines the lines that do not decode). Empty or all-ASCII
    files pass.
    """
    if encoding:
        return
    invalid: list[bytes] = []
    valid = 0
    with open(path, "rb") as fh:
        for line in fh.readlines(SCAN_BYTES):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                valid += 1
            except UnicodeDecodeError:
                invalid.append(line)
    if len(invalid) < MIN_INVALID_LINES or len(invalid) <= MAX_INVALID_SHARE * (
        len(invalid) + valid
    ):
        return
    share = len(invalid) / (len(invalid) + valid)
    likely = likely_encoding(b"".join(invalid[:2000]))
    if likely is None:
        raise UserError(
            f"{path} is not UTF-8 text ({len(invalid)} lines, {share:.0%} of its non-ASCII "
            "lines, do not decode); nothing was read",
            hint="a binary file? or pass --encoding NAME (e.g. latin-1; utf-8 quarantines "
            "the lines that do not decode)",
        )
    raise UserError(
        f"{path} is not UTF-8: {len(invalid)} lines ({share:.0%} of its non-ASCII lines) do "
        f"not decode; it looks like {likely}; nothing was read",
        hint=f"pass --encoding {likely} (recipe: `encoding: {likely}`), or --encoding utf-8 "
        "to quarantine the lines that do not decode",
    )


#: among encodings that ``charset-normalizer`` finds equally likely, the widely used ones first
#: (on Spanish text it ties cp1250, cp1252 and iso8859_10, and cp1250 turns ``ñ`` into ``ń``)
_COMMON = ("cp1252", "iso8859-1", "iso8859-15", "cp1251", "koi8-r", "shift_jis", "gb18030")


def likely_encoding(sample: bytes) -> str | None:
    """The encoding ``charset-normalizer`` finds most likely for ``sample`` (of equally likely
    ones, the most widely used), or None for bytes that read as no text (binary)."""
    from charset_normalizer import from_bytes

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    tied = [
        codecs.lookup(m.encoding).name
        for m in matches
        if m.chaos == best.chaos and m.coherence == best.coherence
    ]
    return next((name for name in _COMMON if name in tied), codecs.lookup(best.encoding).name)
