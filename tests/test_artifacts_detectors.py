"""Each artifact detector flags what it is for and leaves good translations alone, in several
scripts (Latin, Cyrillic, CJK, Arabic)."""

from __future__ import annotations

import math

import pytest

from curate.artifacts import DetectConfig, score_pairs
from curate.artifacts.detect import DetectorRun


def _rows(pairs: list[tuple[str, str, str, str]], **extra: list) -> list[dict]:
    rows = []
    for i, (src_lang, tgt_lang, source, text) in enumerate(pairs):
        row = {
            "id": f"t{i}",
            "src_lang": src_lang,
            "tgt_lang": tgt_lang,
            "source_text": source,
            "text": text,
        }
        for column, values in extra.items():
            row[column] = values[i]
        rows.append(row)
    return rows


def run(name: str, pairs: list[tuple[str, str, str, str]], **extra: list) -> DetectorRun:
    _, runs = score_pairs(_rows(pairs, **extra), DetectConfig(only=(name,)))
    return runs[name]


def flags(name: str, pairs: list[tuple[str, str, str, str]], **extra: list) -> list[bool]:
    return run(name, pairs, **extra).flag.tolist()


# --- empty ------------------------------------------------------------------------------------


def test_empty_flags_blank_and_punctuation_only_outputs():
    assert flags(
        "empty",
        [
            ("en", "ru", "The house is big.", ""),
            ("en", "zh", "The house is big.", "   \n"),
            ("en", "ar", "The house is big.", " … "),
            ("en", "ru", "The house is big.", "Дом большой."),
            ("en", "zh", "The house is big.", "房子很大。"),
            ("en", "ar", "The house is big.", "المنزل كبير."),
            ("en", "de", "", ""),  # nothing to translate: not an artifact
        ],
    ) == [True, True, True, False, False, False, False]


# --- untranslated ----------------------------------------------------------------------------


def test_untranslated_flags_copies_in_any_script():
    result = run(
        "untranslated",
        [
            ("ru", "en", "Дом стоит на холме у реки.", "Дом стоит на холме у реки."),
            ("zh", "en", "房子在河边的小山上。", "房子在河边的小山上"),
            ("ar", "en", "يقع المنزل على تلة بجانب النهر.", "يقع المنزل على تلة بجانب النهر"),
            ("en", "de", "The house stands on a hill.", "the house stands on a hill!!"),
            ("ru", "en", "Дом стоит на холме у реки.", "The house stands on a hill by the river."),
            ("zh", "en", "房子在河边的小山上。", "The house is on a hill by the river."),
            ("ar", "en", "يقع المنزل على تلة بجانب النهر.", "The house is on a hill by the river."),
            ("en", "de", "The house stands on a hill.", "Das Haus steht auf einem Hügel."),
        ],
    )
    assert result.flag.tolist() == [True] * 4 + [False] * 4
    assert result.detail[0] == "identical to the source"


def test_untranslated_skips_short_sources_and_same_language_pairs():
    result = run(
        "untranslated",
        [("en", "de", "OK", "OK"), ("en", "en", "The house is big.", "The house is big.")],
    )
    assert all(math.isnan(s) for s in result.score)
    assert not result.flag.any()


# --- wrong_language --------------------------------------------------------------------------


def test_wrong_language_flags_outputs_in_another_language():
    en = "The committee will publish its final report on the new railway line next spring."
    fr = "Le comité publiera son rapport final sur la nouvelle ligne ferroviaire au printemps."
    de = "Der Ausschuss veröffentlicht den Abschlussbericht über die neue Bahnstrecke im Frühjahr."
    ru = "Комитет опубликует свой окончательный доклад о новой железной дороге следующей весной."
    zh = "委员会将于明年春天发布关于新铁路线的最终报告，届时公众可以查阅全部内容。"
    ar = "ستنشر اللجنة تقريرها النهائي عن خط السكك الحديدية الجديد في الربيع المقبل."
    result = run(
        "wrong_language",
        [
            ("en", "de", en, fr),
            ("en", "ru", en, en),
            ("en", "zh", en, en),
            ("en", "ar", en, fr),
            ("en", "deu_Latn", en, de),  # NLLB-style codes are understood
            ("en", "ru", en, ru),
            ("en", "zh", en, zh),
            ("en", "ar", en, ar),
        ],
    )
    assert result.flag.tolist() == [True] * 4 + [False] * 4
    assert "expected de" in result.detail[0]


def test_wrong_language_reads_the_individual_languages_translation_models_use():
    # NLLB writes Pashto as pbt_Arab (Southern Pashto) and Norwegian as nob_Latn (Bokmål):
    # langid knows them as ps and no/nb, so both targets are judged
    en = "The committee will publish its final report on the new railway line next spring."
    result = run("wrong_language", [("en", "pbt_Arab", en, en), ("en", "nob_Latn", en, en)])
    assert result.flag.tolist() == [True, True]
    assert "expected ps" in result.detail[0]


def test_wrong_language_does_not_judge_short_outputs_or_unknown_targets():
    result = run(
        "wrong_language",
        [
            ("en", "de", "Yes.", "Oui."),
            ("en", "xx", "The report is ready.", "Le rapport est prêt."),
        ],
    )
    assert all(math.isnan(s) for s in result.score)


def test_wrong_language_calls_short_questions_too_short_to_judge():
    # langid calls this German question English with probability 0.99
    question = "Wann hat Steve Jobs Apple gegründet?"
    long = (
        "Der Ausschuss veröffentlicht den Abschlussbericht über die neue Bahnstrecke im Frühjahr."
    )
    result = run(
        "wrong_language",
        [("en", "de", "When did Steve Jobs found Apple?", question), ("en", "de", long, long)],
    )
    assert math.isnan(result.score[0]) and not result.flag[0]
    assert result.detail[0].startswith("too short to judge (")
    assert result.score[1] == 0.0


# --- repetition ------------------------------------------------------------------------------


def test_repetition_flags_loops_in_several_scripts():
    assert (
        flags(
            "repetition",
            [
                (
                    "en",
                    "de",
                    "in the rubble of the house",
                    "in den Trümmern in den Trümmern in den Trümmern",
                ),
                ("en", "ru", "in the big house", "в большом доме в большом доме в большом доме"),
                ("en", "zh", "our house", "我们的我们的我们的房子"),
                ("en", "ar", "in the house", "في البيت في البيت في البيت"),
                ("en", "de", "the end", "das das das Ende"),
                ("en", "de", "in the rubble of the house", "in den Trümmern des Hauses"),
                ("en", "ru", "very very good", "очень очень хорошо"),  # one word said twice
                ("en", "zh", "let me study it", "让我研究研究"),  # reduplication, not a loop
                ("en", "ar", "in the house", "في البيت"),
                ("en", "fr", "la la la la", "la la la la"),  # the source loops too
            ],
        )
        == [True] * 5 + [False] * 5
    )


# --- numbers ---------------------------------------------------------------------------------


def test_number_mismatch_flags_changed_numbers():
    assert (
        flags(
            "number_mismatch",
            [
                ("en", "de", "He was 54 years old.", "Er war 34 Jahre alt."),
                ("en", "ru", "The bridge is 1,200 metres long.", "Мост длиной 1 500 метров."),
                ("en", "zh", "It costs 250 dollars.", "它花费350美元。"),
                ("en", "ar", "There were 12 apples.", "كان هناك ١٣ تفاحة."),
            ],
        )
        == [True] * 4
    )


def test_number_mismatch_forgives_what_translators_do():
    assert (
        flags(
            "number_mismatch",
            [
                (
                    "en",
                    "de",
                    "The bridge is 1,200.5 metres long.",
                    "Die Brücke ist 1.200,5 Meter lang.",
                ),
                ("en", "fr", "It happened at 3 p.m.", "C'est arrivé à 15 h 00."),
                ("en", "de", "Up to 10 inches of rain.", "Bis zu 25 Zentimeter Regen."),
                ("en", "es", "In the 1930s.", "En los años 30."),
                ("en", "ru", "Ten experts and 40 volunteers.", "10 экспертов и 40 добровольцев."),
                ("en", "zh", "It costs 250 dollars.", "它花费250美元。"),
                ("en", "ar", "There were 12 apples.", "كان هناك ١٢ تفاحة."),
                ("en", "fr", "1,000 people", "1 000 personnes"),
                ("en", "de", "at 7.55am", "um 7:55 Uhr"),
            ],
        )
        == [False] * 9
    )


def test_number_mismatch_reads_numbers_written_as_words():
    rows = [
        ("en", "de", "Thirty-two percent supported it.", "39 Prozent unterstützten es."),
        ("en", "es", "It's six in the morning there.", "Allí son las 7 de la mañana."),
        ("en", "de", "Thirty-two percent supported it.", "32 Prozent unterstützten es."),
        ("en", "es", "Five people and 3 cars.", "5 personas y tres coches."),
        ("en", "fr", "It's six in the morning there.", "Il est 6 heures du matin là-bas."),
    ]
    assert flags("number_mismatch", rows) == [True, True, False, False, False]


def test_number_mismatch_converted_units_must_match_their_rounding():
    rows = [
        ("en", "de", "Up to 10 inches of rain.", "Bis zu 28 Zentimeter Regen."),
        ("en", "de", "1 to 4 inches of rain.", "2,8 bis 10 Zentimeter Regen."),
        ("en", "de", "1 to 4 inches of rain.", "2,5 bis 10 Zentimeter Regen."),
        ("en", "es", "A 550 pound hog.", "Un cerdo de 250 kilos."),
        ("en", "fr", "The town is 3 miles away.", "La ville est à 5 km."),
        ("en", "de", "A 6-foot-6 forward.", "Ein 2,18 m großer Spieler."),
        ("en", "de", "A 6-foot-6 forward.", "Ein 1,98 m großer Spieler."),
        ("en", "fr", "He is 5 ft 11 in tall.", "Il mesure 1,80 m."),
    ]
    assert flags("number_mismatch", rows) == [True, True, False, False, False, True, False, False]


# --- URLs, e-mail, placeholders --------------------------------------------------------------


def test_url_email_and_placeholder_mismatches():
    src = "Write to info@example.org or see https://example.org/help for {count} items (%s)."
    good_ru = "Пишите на info@example.org или смотрите https://example.org/help: {count} шт. (%s)."
    good_zh = "请写信至 info@example.org 或访问 https://example.org/help 查看 {count} 项（%s）。"
    bad_ar = "اكتب إلى info@example.com أو انظر https://example.com/help لـ {عدد} عناصر."
    rows = [("en", "ru", src, good_ru), ("en", "zh", src, good_zh), ("en", "ar", src, bad_ar)]
    assert flags("url_mismatch", rows) == [False, False, True]
    assert flags("email_mismatch", rows) == [False, False, True]
    placeholders = run("placeholder_mismatch", rows)
    assert placeholders.flag.tolist() == [False, False, True]
    assert placeholders.score[2] == 3  # {count} and %s missing, {عدد} made up


def test_percent_signs_are_not_placeholders():
    assert flags("placeholder_mismatch", [("en", "de", "100 percent sure", "100%ig sicher")]) == [
        False
    ]


# --- brackets, quotes, markers ---------------------------------------------------------------


def test_unbalanced_brackets_and_quotes():
    assert (
        flags(
            "unbalanced_brackets",
            [
                (
                    "en",
                    "de",
                    "The Welsh Parliament (WP) met.",
                    "Das walisische Parlament (WP tagte.",
                ),
                ("en", "zh", "He said hello.", "他说「你好。"),
                ("en", "ru", "The big house is old.", "Большой дом «очень стар."),
                ("en", "ar", "The house (which is old) is big.", "المنزل (القديم كبير."),
                (
                    "en",
                    "de",
                    "The Welsh Parliament (WP) met.",
                    "Das walisische Parlament (WP) tagte.",
                ),
                ("en", "zh", "He said hello.", "他说「你好」。"),
                ("en", "ru", 'He said "hello".', "Он сказал «привет»."),
                # a quotation opened in the previous segment and closed here is not an artifact
                ("en", "fr", "That is all.", "C'est tout.\u00a0»"),
            ],
        )
        == [True] * 4 + [False] * 4
    )


def test_leaked_markers():
    result = run(
        "leaked_markers",
        [
            ("en", "de", "Alice lives in Paris.", "<e1>Alice</e1> wohnt in Paris."),
            ("en", "ru", "Alice lives in Paris.", "[e1]Алиса[/e1] живёт в Париже."),
            ("en", "zh", "Alice lives in Paris.", "爱丽丝住在巴黎。"),
            ("en", "ar", "Alice lives in Paris.", "تعيش أليس في باريس."),
            ("en", "de", "<e1>Alice</e1> lives in Paris.", "<e1>Alice</e1> wohnt in Paris."),
        ],
    )
    assert result.flag.tolist() == [True, True, False, False, False]
    assert "<e1>" in result.detail[0]


# --- engine and projection signals -----------------------------------------------------------


def test_low_confidence_reads_the_engine_score():
    result = run(
        "low_confidence",
        [("en", "de", "a", "b"), ("en", "ru", "a", "б"), ("en", "zh", "a", "乙")],
        score=[-2.3, -0.4, None],
    )
    assert result.flag.tolist() == [True, False, False]
    assert math.isnan(result.score[2])


def test_low_confidence_is_skipped_without_engine_scores():
    _, runs = score_pairs(_rows([("en", "de", "a", "b")]), DetectConfig())
    assert "low_confidence" not in runs


def test_projection_trouble_from_span_counts_and_status():
    result = run(
        "projection_trouble",
        [("en", "de", "a", "b")] * 5,
        n_source_spans=[3, 3, 2, 2, 0],
        n_projected=[1, 3, 4, 2, 0],
        projection_status=["partial", "complete", "complete", "dropped", "complete"],
    )
    assert result.flag.tolist() == [True, False, True, True, False]
    assert result.score[0] == pytest.approx(2 / 3)
    assert math.isnan(result.score[4])


# --- paired fields (NLI) ---------------------------------------------------------------------


def test_paired_overlap_shift_flags_lost_premise_hypothesis_overlap():
    premise = "The old man is reading a newspaper in the park."
    hypothesis = "The old man is reading a newspaper."
    result = run(
        "paired_overlap_shift",
        [
            ("en", "de", premise, "Der alte Mann liest im Park eine Zeitung."),
            ("en", "zh", premise, "老人在公园里看报纸。"),
            ("en", "ru", premise, "Старик читает газету в парке."),
            ("en", "ar", premise, "الرجل العجوز يقرأ صحيفة في الحديقة."),
        ],
        paired_source_text=[hypothesis] * 4,
        paired_text=[
            "Ein betagter Herr studiert ein Blatt.",  # no word shared any more
            "老人在看报纸。",
            "Старик читает газету.",
            "الرجل العجوز يقرأ صحيفة.",
        ],
    )
    assert result.flag.tolist() == [True, False, False, False]
    assert result.score[0] > 0.8


# --- human vs machine ------------------------------------------------------------------------


def test_reference_disagreement_flags_outliers_against_the_pairs_typical_chrf():
    base = "Комитет опубликует доклад о новой дороге весной номер"
    pairs, refs = [], []
    for i in range(40):
        ref = f"{base} {i}."
        pairs.append(("en", "ru", "The committee will publish the report.", f"{base} {i}!"))
        refs.append(ref)
    pairs.append(("en", "ru", "The committee will publish the report.", "Кошка спит на диване."))
    refs.append(f"{base} 40.")
    result = run("reference_disagreement", pairs, reference_text=refs)
    assert result.flag.tolist() == [False] * 40 + [True]
