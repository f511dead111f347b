import pytest

from curate.text.bio import TagError, char_spans, detect_scheme, spans_to_tags


def offsets(tokens):
    out, cursor = [], 0
    for t in tokens:
        out.append((cursor, cursor + len(t)))
        cursor += len(t) + 1
    return out


@pytest.mark.parametrize(
    "tags",
    [
        ["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "O"],  # IOB2, adjacent same-type spans
        ["I-PER", "I-PER", "O", "I-LOC", "B-LOC", "O"],  # IOB1: B- only between same-type spans
        ["I-ORG", "I-PER", "I-PER", "O"],  # IOB1: a type change starts a span
        ["O", "O"],
    ],
)
def test_tags_to_spans_and_back_are_lossless(tags):
    tokens = ["Ann", "Lee", "in", "Rome", "Paris", "."][: len(tags)]
    offs = offsets(tokens)
    spans = char_spans(offs, tags)
    assert spans_to_tags(offs, spans, detect_scheme(tags)) == tags


def test_spans_are_character_offsets():
    tokens = ["Anna", "Lind", "visited", "New", "York"]
    text = " ".join(tokens)
    spans = char_spans(offsets(tokens), ["B-PER", "I-PER", "O", "B-LOC", "I-LOC"])
    assert [(text[s.start : s.end], s.label) for s in spans] == [
        ("Anna Lind", "PER"),
        ("New York", "LOC"),
    ]


def test_bad_tag_is_an_error():
    with pytest.raises(TagError):
        detect_scheme(["B-PER", "X-PER"])
