"""Sentence segmentation: offsets restore the text; the one-sentence shortcut equals sentencex."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sentencex import segment as sentencex_segment

from curate.text import segment as seg
from curate.text.segment import split_sentences

LANGS = ["en", "de", "ca", "it", "ru", "el", "hy", "my", "am", "hi", "ar", "ja", "zh", "fr"]
# letters of several scripts, spaces, digits, and every kind of punctuation the shortcut looks at
ALPHABET = list("abcXYZ ßéжЖяΩωաբկ漢字あ가ابتअकሀ0123 ") + list(
    ".!?:;,…\"'()[]«»“”‘’¿¡。！？।።؟՜၏။-—"
)

# ASCII texts take a separate, lighter path through the shortcut
ASCII_ALPHABET = list("abcXYZ 0123 \t\x0b\x0c\r.!?:;,\"'()[]-")


def _by_sentencex(text: str, lang: str) -> list[str]:
    return [s.strip() for s in sentencex_segment(lang, text) if s.strip()]


@pytest.mark.parametrize("lang", ["en", "ca", "ru"])
def test_sentences_restore_the_text_exactly(lang):
    text = "The council met on Monday.  It said: yes!\n\nA new paragraph (short). Done"
    sentences = split_sentences(text, lang)
    assert "".join(s.text + s.ws_after for s in sentences) == text
    assert [s.paragraph for s in sentences][-1] == 1
    assert all(text[s.start : s.end] == s.text for s in sentences)


@settings(max_examples=600, deadline=None)
@given(
    text=st.text(alphabet=ALPHABET, max_size=60).map(lambda t: unicodedata.normalize("NFC", t))
    | st.text(alphabet=ASCII_ALPHABET, max_size=40),
    lang=st.sampled_from(LANGS),
)
def test_the_one_sentence_shortcut_gives_what_sentencex_gives(text, lang):
    """Texts without a terminator before their final punctuation skip sentencex: same answer."""
    ours = [s.text for s in split_sentences(text, lang)]
    assert ours == _by_sentencex(text, lang)


def test_every_character_sentencex_splits_at_is_a_terminator():
    """Each punctuation or symbol character sentencex ends a sentence at is in the shortcut's set
    (a sample of languages; the full scan over langid's languages found the same set)."""
    candidates = [
        chr(c)
        for c in range(0x20, 0x3000)
        if unicodedata.category(chr(c))[0] in "PS" and not seg._TERMINATOR.match(chr(c))
    ]
    for lang in ["en", "el", "hy", "my", "am", "fr"]:
        splitting = [c for c in candidates if len(_by_sentencex(f"Abc def{c} Ghi jkl", lang)) > 1]
        assert splitting == [], lang
