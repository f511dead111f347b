"""The omission detector and the word translation model it learns from the batch: left-out
clauses are found in Latin, Cyrillic, CJK and Arabic targets, faithful translations are not."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from curate.artifacts import DetectConfig, score_pairs
from curate.artifacts.detectors.lexical import LexicalParams, lexical_features, lexical_models
from curate.artifacts.frame import pair_frame
from curate.artifacts.registry import Context

ALPHABETS = {
    "de": "abcdefghijklmnopqrstuvwxyzäöü",
    "ru": "абвгдеёжзийклмнопрстуфхцчшщыэюя",
    "zh": "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000)),  # CJK ideographs
    "ar": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
}
COMMA = {"de": ", ", "ru": ", ", "zh": "，", "ar": "، "}
N_ROWS = 600  # per language pair: the word model needs a few hundred pairs
DROPPED = range(0, N_ROWS, 20)  # 30 rows per pair lose their middle clause


def _word(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _corpus(lang: str, seed: int = 0) -> tuple[list[dict], np.ndarray]:
    """A synthetic language pair: a 400-word dictionary, sentences of three clauses translated
    word by word (CJK words are two characters, written without spaces)."""
    rng = random.Random(seed)
    latin = "abcdefghijklmnopqrstuvwxyz"
    english = sorted({_word(rng, latin, rng.randint(3, 9)) for _ in range(400)})
    size = (2, 2) if lang == "zh" else (3, 9)
    dictionary = {w: _word(rng, ALPHABETS[lang], rng.randint(*size)) for w in english}
    space = "" if lang == "zh" else " "
    rows, dropped = [], np.zeros(N_ROWS, dtype=bool)
    for i in range(N_ROWS):
        clauses = [rng.sample(english, rng.randint(4, 7)) for _ in range(3)]
        source = ", ".join(" ".join(c) for c in clauses).capitalize() + "."
        translated = [space.join(dictionary[w] for w in c) for c in clauses]
        if i in DROPPED:
            translated = [translated[0], translated[2]]
            dropped[i] = True
        text = COMMA[lang].join(translated) + ("。" if lang == "zh" else ".")
        rows.append(
            {
                "id": f"{lang}{i}",
                "src_lang": "en",
                "tgt_lang": lang,
                "source_text": source,
                "text": text,
            }
        )
    return rows, dropped


@pytest.mark.parametrize("lang", ["de", "ru", "zh", "ar"])
def test_omission_flags_left_out_clauses_in_every_script(lang):
    rows, dropped = _corpus(lang)
    _, runs = score_pairs(rows, DetectConfig(only=("length_ratio", "omission")))
    flag = runs["omission"].flag
    assert flag[dropped].mean() >= 0.9
    assert flag[~dropped].mean() <= 0.02
    assert "gap z" in runs["omission"].detail[int(np.flatnonzero(dropped & flag)[0])]


@pytest.mark.parametrize("lang", ["de", "ru", "zh", "ar"])
def test_word_model_finds_the_uncovered_stretch_and_rejects_other_pairings(lang):
    rows, dropped = _corpus(lang, seed=1)
    pairs = pair_frame(rows)
    ctx = Context()
    params = LexicalParams()
    features = lexical_features(pairs, params, ctx)
    # a left-out clause is a long stretch of uncovered source words; the rest is covered
    assert np.median(features.gap[dropped]) > 2 * np.median(features.gap[~dropped]) + 1.0
    assert np.median(features.coverage[~dropped]) > 0.8
    # the same sources with other sources' translations are barely covered
    ((_, model),) = lexical_models(pairs, params, ctx)[f"en-{lang}"]
    other = model.features(np.roll(np.arange(N_ROWS), 1))
    assert np.median(other.coverage) < 0.3
    assert np.median(other.src_logprob) < np.median(features.src_logprob) - 1.0


def test_word_model_needs_enough_pairs_and_judges_only_bounded_lengths():
    rows, _ = _corpus("de")
    few = pair_frame(rows[:50])
    assert np.isnan(lexical_features(few, LexicalParams(), Context()).gap).all()
    long_row = dict(rows[0], source_text=" ".join(["word"] * 200))
    pairs = pair_frame([long_row, *rows[1:]])
    features = lexical_features(pairs, LexicalParams(), Context())
    assert math.isnan(features.gap[0]) and not np.isnan(features.gap[1:]).any()


def test_omission_is_not_judged_without_a_length_model():
    rows = [
        {
            "id": "a",
            "src_lang": "en",
            "tgt_lang": "de",
            "source_text": "One, two, three.",
            "text": "Eins.",
        }
    ]
    _, runs = score_pairs(rows, DetectConfig(only=("omission",)))
    assert math.isnan(runs["omission"].score[0]) and not runs["omission"].flag[0]


@pytest.mark.parametrize("lang", ["de", "ru", "zh", "ar"])
def test_misalignment_uses_the_word_model_to_find_other_sources_translations(lang):
    rows, dropped = _corpus(lang, seed=2)
    clean = np.flatnonzero(~dropped)
    moved = clean[::25]  # these rows get the translation of the next moved row
    texts = [rows[i]["text"] for i in moved]
    for k, i in enumerate(moved):
        rows[i]["text"] = texts[(k + 1) % len(moved)]
    _, runs = score_pairs(rows, DetectConfig(only=("length_ratio", "misalignment")))
    flag, score = runs["misalignment"].flag, runs["misalignment"].score
    is_moved = np.zeros(len(rows), dtype=bool)
    is_moved[moved] = True
    # ranked apart from the faithful pairs; most are above the default threshold
    assert np.quantile(score[is_moved], 0.1) > np.quantile(score[~is_moved], 0.99)
    assert flag[is_moved].mean() >= 0.7
    assert flag[~is_moved].mean() <= 0.02


def test_large_batches_get_one_word_model_per_block_of_rows():
    rows, dropped = _corpus("ru", seed=3)
    pairs = pair_frame(rows)
    params = LexicalParams(max_rows=300)
    (models,) = lexical_models(pairs, params, Context()).values()
    assert [len(r) for r, _ in models] == [300, 300]
    features = lexical_features(pairs, params, Context())
    assert np.median(features.gap[dropped]) > 2 * np.median(features.gap[~dropped]) + 1.0
