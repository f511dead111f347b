"""The one tag rule: IOB1, IOB2, BIOES and BILOU read to the same spans and are written back
as they were; a malformed tag is an error wherever it is read (ingest and evaluation alike)."""

import pytest

from curate.text.tags import (
    TagError,
    char_spans_to_tags,
    detect_scheme,
    join_tokens,
    parse_tag,
    spans_to_tags,
    tagged_text,
    tags_to_char_spans,
    tags_to_spans,
)


def offsets(tokens):
    return tagged_text(tokens, ["O"] * len(tokens)).offsets


@pytest.mark.parametrize(
    "tags",
    [
        ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "O"],  # IOB2, adjacent same-type spans
        ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "O"],  # IOB1: B- only between same-type spans
        ["I-ORG", "I-PER", "I-PER", "O"],  # IOB1: a type change starts a span
        ["B-PER", "E-PER", "O", "S-LOC", "S-LOC", "O"],  # BIOES
        ["B-PER", "I-PER", "E-PER", "O", "S-LOC"],  # BIOES, a three-token span
        ["B-PER", "L-PER", "O", "U-LOC", "U-LOC", "O"],  # BILOU
        ["O", "O"],
    ],
)
def test_tags_to_spans_and_back_are_lossless(tags):
    tokens = ["Ann", "Lee", "in", "Rome", "Paris", "."][: len(tags)]
    offs = offsets(tokens)
    spans = tags_to_char_spans(tags, offs)
    assert char_spans_to_tags(spans, offs, detect_scheme(tags)) == tags


def test_every_scheme_of_the_same_entities_reads_to_the_same_spans():
    expected = [(0, 2, "PER"), (3, 4, "LOC"), (4, 5, "LOC")]
    for tags in (
        ["B-PER", "I-PER", "O", "B-LOC", "B-LOC"],
        ["I-PER", "I-PER", "O", "I-LOC", "B-LOC"],
        ["B-PER", "E-PER", "O", "S-LOC", "S-LOC"],
        ["B_PER", "L_PER", "O", "U_LOC", "U_LOC"],
    ):
        assert tags_to_spans(tags) == expected, tags


def test_sequences_are_read_leniently_like_conlleval():
    assert tags_to_spans(["B-PER", "I-PER", "O", "I-LOC", "I-LOC", "B-LOC"]) == [
        (0, 2, "PER"),
        (3, 5, "LOC"),
        (5, 6, "LOC"),
    ]
    assert tags_to_spans(["S-PER", "B-ORG", "E-ORG", "I-MISC"]) == [
        (0, 1, "PER"),
        (1, 3, "ORG"),
        (3, 4, "MISC"),
    ]
    assert spans_to_tags(4, [(1, 3, "ORG")]) == ["O", "B-ORG", "I-ORG", "O"]
    with pytest.raises(ValueError, match="overlaps"):
        spans_to_tags(4, [(0, 2, "ORG"), (1, 3, "PER")])
    with pytest.raises(ValueError, match="unknown tag scheme"):
        spans_to_tags(4, [], "bio")


def test_spans_are_character_offsets_of_the_joined_tokens():
    tokens = ["Anna", "Lind", "visited", "New", "York"]
    text, _, spans = tagged_text(tokens, ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"])
    assert text == "Anna Lind visited New York"
    assert [(text[s.start : s.end], s.label) for s in spans] == [
        ("Anna Lind", "PER"),
        ("New York", "LOC"),
    ]
    with pytest.raises(ValueError, match="2 tokens but 1 tags"):
        tagged_text(["a", "b"], ["O"])


@pytest.mark.parametrize("tag", ["X-PER", "PER", "", "_", "B-", "b-PER"])
def test_bad_tag_is_an_error(tag):
    with pytest.raises(TagError):
        parse_tag(tag)
    with pytest.raises(TagError):
        tags_to_spans(["B-PER", tag])


def test_join_tokens_offsets() -> None:
    text, offsets = join_tokens(["a", "bc", "d"])
    assert text == "a bc d"
    assert offsets == [(0, 1), (2, 4), (5, 6)]
