"""Detectors in scripts without spaces, other digits, other quotes, and partial copies of the
source: what a faithful translation does there is left alone, the artifact is flagged."""

from __future__ import annotations

import math
import random

from curate.artifacts import DetectConfig, score_pairs
from tests.test_artifacts_detectors import flags, run

# --- partial copies ---------------------------------------------------------------------------

SOURCE = (
    "The new strategy comes after the company sold its pharmacy business to a rival "
    "three years ago, and it now wants to win back the customers it lost."
)


def test_partial_copy_flags_an_untranslated_tail_head_or_clause_in_any_script():
    tail = "it now wants to win back the customers it lost."
    result = run(
        "partial_copy",
        [
            (
                "en",
                "de",
                SOURCE,
                f"Die neue Strategie folgt dem Verkauf des Apothekengeschäfts, and {tail}",
            ),
            ("en", "ja", SOURCE, f"新しい戦略は、3年前に薬局事業を売却した後に生まれた。{tail}"),
            (
                "en",
                "ru",
                SOURCE,
                "The new strategy comes after the company sold its pharmacy "
                "business, и теперь она хочет вернуть потерянных клиентов.",
            ),
            (
                "en",
                "th",
                SOURCE,
                "กลยุทธ์ใหม่นี้เกิดขึ้นหลังจากที่บริษัท sold its pharmacy business "
                "to a rival three years ago และตอนนี้ต้องการเอาลูกค้ากลับคืนมา",
            ),
            ("en", "fa", SOURCE, f"استراتژی جدید پس از فروش داروخانه‌ها آمده است، {tail}"),
        ],
    )
    assert run_flags(result) == [True] * 5
    assert "win back the customers" in (result.detail[0] or "")


def run_flags(result) -> list[bool]:
    return result.flag.tolist()


def test_partial_copy_leaves_names_numbers_and_titles_alone():
    source = (
        "Norman Eisen, a senior fellow at the Brookings Institution, is the author of "
        '"The Last Palace: Europe\'s Turbulent Century in Five Lives" and lives in Washington.'
    )
    result = run(
        "partial_copy",
        [
            (
                "en",
                "es",
                source,
                "Norman Eisen, investigador de la Brookings Institution, es autor "
                'de "The Last Palace: Europe\'s Turbulent Century in Five Lives" y vive '
                "en Washington.",
            ),
            (
                "en",
                "ko",
                source,
                "브루킹스 연구소의 Norman Eisen은 \"The Last Palace: Europe's "
                'Turbulent Century in Five Lives"의 저자이며 워싱턴에 산다.',
            ),
            (
                "en",
                "de",
                SOURCE,
                "Die neue Strategie folgt auf den Verkauf des Apothekengeschäfts "
                "vor drei Jahren, und nun will das Unternehmen die verlorenen Kunden "
                "zurückgewinnen.",
            ),
            (
                "en",
                "ja",
                SOURCE,
                "新しい戦略は、3年前に薬局事業を売却した後に生まれ、失った顧客を取り戻そうとしている。",
            ),
        ],
    )
    assert run_flags(result) == [False] * 4
    # short sources and same-language pairs are not judged
    short = run("partial_copy", [("en", "de", "Peter Jones quits.", "Peter Jones quits.")])
    same = run("partial_copy", [("en", "en", SOURCE, SOURCE)])
    assert math.isnan(short.score[0]) and math.isnan(same.score[0])


# --- brackets and quotes of other scripts -----------------------------------------------------


def test_quotes_of_other_scripts_are_quotes_and_gershayim_are_letters():
    assert flags(
        "unbalanced_brackets",
        [
            # a quotation opened here and closed in the next segment, in corner quotes
            (
                "en",
                "ja",
                'A source said: "Truly was by far the top.',
                "情報筋は、「Trulyは一番だ。",
            ),
            # Hebrew abbreviations with gershayim are not quotes
            ("en", "he", "The chief executive of NATO said so.", "מנכ“ל נאט״ו אמר זאת."),
            ("en", "he", "The IDF said so.", 'צה"ל אמר זאת.'),
            # unbalanced inside the text, with no quotation in the source: an artifact
            ("en", "ja", "He said hello to them all.", "彼は「こんにちは、と皆に言った。"),
            ("en", "zh", "The house (which is old) is big.", "房子（很旧很大。"),
        ],
    ) == [False, False, False, True, True]


# --- numbers across digit systems and number units --------------------------------------------


def test_number_mismatch_reads_east_asian_number_units_and_other_digits():
    rows = [
        ("en", "ja", "He pulled out of a £11million deal.", "彼は1100万ポンドの取引から撤退した。"),
        ("en", "ko", "The city has more than 380,000 people.", "이 도시의 인구는 38만명 이상이다."),
        ("en", "ja", "It sold for £125m.", "1億2,500万ポンドで売却した。"),
        ("en", "fa", "In 2016, 13 people came.", "در سال ۲۰۱۶، ۱۳ نفر آمدند."),
        ("en", "th", "About 10 percent left.", "ประมาณ ๑๐ เปอร์เซ็นต์ออกไป"),
        ("en", "ja", "He pulled out of a £11million deal.", "彼は1200万ポンドの取引から撤退した。"),
        ("en", "ko", "The city has more than 380,000 people.", "이 도시의 인구는 39만명 이상이다."),
        ("en", "fa", "In 2016, 13 people came.", "در سال ۲۰۱۶، ۱۴ نفر آمدند."),
    ]
    assert flags("number_mismatch", rows) == [False] * 5 + [True] * 3


def test_number_words_without_a_lexicon_on_the_other_side_do_not_count():
    rows = [
        # "three" is 세 in Korean, a word no lexicon here reads: 10대 (teens) has no counterpart
        ("en", "ko", "Three teenage boys were arrested.", "세 명의 10대 소년들이 체포되었다."),
        ("en", "ja", "It raises £120 million a year.", "年間1億2千万ポンドの収入になる。"),
        ("en", "he", "Up to 10 inches of rain.", "עד 250 מ“מ גשם."),  # inches to millimetres
        ("en", "he", "At 2pm two vans came.", "בשעה 14:00 הגיעו שני טנדרים."),  # ":00" is no number
        # with a lexicon on both sides a number word still counts
        ("en", "es", "It's six in the morning there.", "Allí son las 7 de la mañana."),
    ]
    assert flags("number_mismatch", rows) == [False] * 4 + [True]


def test_number_words_are_read_whatever_form_the_language_code_takes():
    rows = [
        (src, tgt, "It's six in the morning there.", "Allí son las 7 de la mañana.")
        for src, tgt in (("en", "es"), ("eng_Latn", "spa_Latn"), ("eng", "spa"), ("EN-gb", "es-MX"))
    ]
    assert flags("number_mismatch", rows) == [True] * 4


# --- Thai: letters, not words; sentences without a full stop ----------------------------------


def test_repetition_in_thai_counts_letters_not_words():
    assert flags(
        "repetition",
        [
            # อพยพย้าย ("relocate") has a letter pair said twice: a word, not a loop
            ("en", "th", "Ten percent had to move.", "สิบเปอร์เซ็นต์ต้องอพยพย้ายถิ่นฐาน"),
            (
                "en",
                "th",
                "in the rubble of the house",
                "ในซากปรักหักพังของบ้าน ในซากปรักหักพังของบ้าน ในซากปรักหักพังของบ้าน",
            ),
        ],
    ) == [False, True]


THAI = "กขคงจฉชซฌญฎฏฐฑฒณดตถทธนบปผฝพฟภมยรลวศษสหฬอฮ"


def test_truncation_learns_that_a_language_ends_sentences_without_punctuation():
    """Thai ends most sentences without punctuation: an open ending alone is no evidence."""
    rng = random.Random(3)

    def sentence(alphabet: str, n: int, sep: str) -> str:
        words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 8))) for _ in range(n)]
        return sep.join(words)

    rows = []
    for i in range(300):
        n = rng.randint(6, 20)
        source = sentence("abcdefghijklmnopqrstuvwxyz", n, " ").capitalize() + "."
        rows.append({"id": f"th{i}", "src_lang": "en", "tgt_lang": "th",
                     "source_text": source, "text": sentence(THAI, n, " ")})  # fmt: skip
    config = DetectConfig(only=("length_ratio", "truncation"))
    stats: dict = {}
    _, runs = score_pairs(rows, config, stats=stats)
    assert stats["truncation"]["en-th"]["closes"] < 0.05
    assert runs["truncation"].flag.mean() == 0
