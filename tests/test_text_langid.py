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
