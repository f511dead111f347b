"""The Pharaoh format: sure and possible links, 0- or 1-based, written back as read."""

from __future__ import annotations

import pytest

from curate.align.pharaoh import format_pharaoh, parse_pharaoh, read_pharaoh, write_pharaoh


def test_parse_sure_and_possible_links() -> None:
    gold = parse_pharaoh("0-0 1p2 2?1")
    assert gold.sure == {(0, 0)}
    assert gold.possible == {(0, 0), (1, 2), (2, 1)}
    assert parse_pharaoh("1-1 2p3", one_based=True).possible == {(0, 0), (1, 2)}
    with pytest.raises(ValueError, match="not a Pharaoh link"):
        parse_pharaoh("0-0 1:2")
    with pytest.raises(ValueError, match="below 1"):
        parse_pharaoh("0-1", one_based=True)


def test_written_links_read_back(tmp_path) -> None:
    path = tmp_path / "links"
    write_pharaoh(path, [[(1, 0), (0, 0)], []], one_based=True)
    assert path.read_text(encoding="utf-8") == "1-1 2-1\n\n"
    assert [g.sure for g in read_pharaoh(path, one_based=True)] == [{(0, 0), (1, 0)}, set()]
    assert format_pharaoh([(2, 1), (0, 3)]) == "0-3 2-1"
