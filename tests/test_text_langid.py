from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st
from langid.langid import LanguageIdentifier, model

from curate.text.langid import MAX_BYTES, detect_batch

SAMPLES = [
    "The committee approved the budget for the next two years.",
    "Der Ausschuss hat den Haushalt für die nächsten zwei Jahre gebilligt.",
    "El comité aprobó el presupuesto para los próximos dos años.",
    "Комитет утвердил бюджет на следующие два года, и это решение поддержали все депутаты.",
    "委员会批准了未来两年的预算。",
    "وافقت اللجنة على الميزانية للعامين المقبلين.",
    "",
    "x",
]


@cache
def _reference() -> LanguageIdentifier:
    return LanguageIdentifier.from_modelstring(model, norm_probs=True)


def test_batch_detection_equals_langid():
    reference = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    got = detect_batch(SAMPLES)
    for text, (lang, confidence) in zip(SAMPLES, got, strict=True):
        ref_lang, ref_conf = reference.classify(text)
        assert lang == ref_lang
        assert abs(confidence - ref_conf) < 1e-6


def test_detects_the_obvious_languages():
    langs = [lang for lang, _ in detect_batch(SAMPLES[:6])]
    assert langs == ["en", "de", "es", "ru", "zh", "ar"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=200), min_size=1, max_size=30))
def test_any_batch_of_texts_gets_langids_own_answers(texts):
    """Batches of mixed lengths (empty ones too) and any characters: the same as one by one."""
    reference = _reference()
    for text, (lang, confidence) in zip(texts, detect_batch(texts), strict=True):
        ref_lang, ref_conf = reference.classify(text.encode("utf-8", "replace").decode())
        assert lang == ref_lang
        assert abs(confidence - ref_conf) < 1e-6


@settings(max_examples=10, deadline=None)
@given(st.lists(st.text(min_size=500, max_size=2500), min_size=1, max_size=4))
def test_long_texts_get_langids_answer_on_their_first_bytes(texts):
    """Texts past MAX_BYTES (cut anywhere, inside a character too) get what langid answers for
    their first MAX_BYTES bytes; shorter ones langid's answer for the whole text."""
    reference = _reference()
    for text, (lang, confidence) in zip(texts, detect_batch(texts), strict=True):
        ref_lang, ref_conf = reference.classify(text.encode("utf-8", "replace")[:MAX_BYTES])
        assert lang == ref_lang
        assert abs(confidence - ref_conf) < 1e-6


def test_the_language_of_a_long_text_is_that_of_its_start():
    """The documented difference from langid: only the first MAX_BYTES bytes are read."""
    english = (SAMPLES[0] + " ") * (MAX_BYTES // len(SAMPLES[0]) + 1)
    german = (SAMPLES[1] + " ") * 100
    text = english + german
    assert _reference().classify(text)[0] == "de"
    assert detect_batch([text])[0][0] == "en"
    assert detect_batch([german])[0][0] == _reference().classify(german)[0] == "de"
