"""Reading bitext files for alignment: lines end at \\n only, and nothing is dropped silently."""

from __future__ import annotations

import re

import pytest

from curate.align.bitext import read_bitext, read_bitext_pairs
from curate.errors import UserError


def test_extra_bitext_made_by_paste_of_crlf_files_keeps_every_pair(tmp_path):
    # `paste` of two CRLF files leaves the source's \r inside each line
    path = tmp_path / "extra.ro-en"
    path.write_bytes(b"Buna ziua\r ||| Good day\r\nMultumesc\r ||| Thank you\r\n\n")
    assert read_bitext_pairs(str(path)) == [("Buna ziua", "Good day"), ("Multumesc", "Thank you")]


def test_extra_bitext_line_without_separator_is_an_error(tmp_path):
    path = tmp_path / "extra.txt"
    path.write_text("a ||| b\njust a line\n", encoding="utf-8")
    with pytest.raises(UserError, match=re.escape("extra.txt:2: no ' ||| '")):
        read_bitext_pairs(str(path))


def test_two_files_pair_line_by_line_and_unequal_files_are_refused(tmp_path):
    src, tgt = tmp_path / "a.en", tmp_path / "a.de"
    src.write_text("one\u2028still one\ntwo\n", encoding="utf-8")  # U+2028 is not a line end
    tgt.write_text("eins\r\nzwei\r\n", encoding="utf-8")
    assert read_bitext(src, tgt) == [("one\u2028still one", "eins"), ("two", "zwei")]
    tgt.write_text("eins\n", encoding="utf-8")
    with pytest.raises(ValueError, match="has 2 lines"):
        read_bitext(src, tgt)
