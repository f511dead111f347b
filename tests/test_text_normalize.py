from hypothesis import given
from hypothesis import strategies as st

from curate.text.normalize import normalize


def test_clean_text_is_returned_unchanged():
    result = normalize("Hello world.\n\nSecond paragraph.")
    assert result.text == "Hello world.\n\nSecond paragraph."
    assert not result.changed


def test_whitespace_controls_and_nfc_are_normalised():
    result = normalize("  Cafe\u0301\u00a0 au\tlait\r\n\r\n\r\nnext\x00 line  ")
    assert result.text == "Café au lait\n\nnext line"
    assert result.changed


def test_spans_move_with_the_text():
    original = "  Mr.\u00a0\u00a0John  Smith\u200b lives in  New York."
    result = normalize(original)
    name_start = original.index("John")
    name_end = original.index("Smith") + len("Smith")
    start, end = result.map_span(name_start, name_end)
    assert result.text[start:end] == "John Smith"
    city = original.index("New")
    start, end = result.map_span(city, city + len("New York"))
    assert result.text[start:end] == "New York"


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_offsets_are_monotone_and_in_range(text):
    result = normalize(text)
    assert result.text == normalize(result.text).text  # idempotent
    if result.changed:
        assert result.offsets is not None
        assert len(result.offsets) == len(text) + 1
        assert all(a <= b for a, b in zip(result.offsets, result.offsets[1:], strict=False))
        assert result.offsets[-1] == len(result.text)


@given(
    st.text(alphabet=" \nab", max_size=12)
    | st.text(alphabet=" \n\t\r\x00\x7fab.é\u00a0\u200b", max_size=20)
)
def test_fast_path_takes_exactly_the_texts_normalising_leaves_alone(text):
    # the clean-text shortcut must neither skip a text that needs work nor miss a clean one
    result = normalize(text)
    slow = normalize("\u200b" + text)  # a removed character forces the full path
    assert slow.text == result.text
    assert result.changed == (slow.text != text)
