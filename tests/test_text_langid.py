from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st
from langid.langid import LanguageIdentifier, model

from curate.text.langid import detect_batch

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
