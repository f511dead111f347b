"""Detectors that learn what is usual per language pair from the data itself: length ratio,
truncation (which uses it) and misalignment."""

from __future__ import annotations

import json
import math
import random

import numpy as np

from curate.artifacts import DetectConfig, fit_stats, score_pairs

LATIN = "abcdefghijklmnopqrstuvwxyz"
CJK = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可也你"


def _word(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _sentence(rng: random.Random, n_chars: int) -> str:
    words, total = [], 0
    while total < n_chars:
        w = _word(rng, LATIN, rng.randint(2, 9))
        words.append(w)
        total += len(w) + 1
    return " ".join(words).capitalize() + "."


def length_corpus(seed: int = 0) -> tuple[list[dict], dict[str, int]]:
    """en-de outputs about 1.2x the source's characters, en-zh about 0.35x; plus probes."""
    rng = random.Random(seed)
    rows, probes = [], {}
    for i in range(120):
        src = _sentence(rng, rng.randint(30, 200))
        de = _sentence(rng, int(len(src) * 1.2 * math.exp(rng.gauss(0, 0.06))))
        zh = _word(rng, CJK, max(2, int(len(src) * 0.35 * math.exp(rng.gauss(0, 0.06))))) + "。"
        rows.append(_row(f"de{i}", "de", src, de))
        rows.append(_row(f"zh{i}", "zh", src, zh))
    src = _sentence(rng, 120)
    for name, lang, text in [
        ("de_short", "de", _sentence(rng, 40)),  # a third of the usual German length
        ("zh_normal", "zh", _word(rng, CJK, 42) + "。"),  # usual for Chinese
        ("zh_long", "zh", _word(rng, CJK, 150) + "。"),  # German-like length is 4x too long
        ("de_normal", "de", _sentence(rng, 145)),
    ]:
        probes[name] = len(rows)
        rows.append(_row(name, lang, src, text))
    return rows, probes


def _row(tid: str, lang: str, source: str, text: str, **extra: object) -> dict:
    return {
        "id": tid,
        "src_lang": "en",
        "tgt_lang": lang,
        "source_text": source,
        "text": text,
        **extra,
    }


def test_length_ratio_is_learned_per_language_pair():
    rows, probes = length_corpus()
    _, runs = score_pairs(rows, DetectConfig(only=("length_ratio",)))
    run = runs["length_ratio"]
    assert run.flag[probes["de_short"]] and run.score[probes["de_short"]] < 0
    assert run.flag[probes["zh_long"]] and run.score[probes["zh_long"]] > 0
    assert not run.flag[probes["zh_normal"]]
    assert not run.flag[probes["de_normal"]]
    # the generated pairs themselves are within the band
    assert run.flag[: len(rows) - 4].mean() < 0.02


def test_learned_statistics_are_json_and_reused_by_small_batches():
    rows, _ = length_corpus()
    stats: dict = {}
    score_pairs(rows, DetectConfig(only=("length_ratio",)), stats=stats)
    assert set(stats["length_ratio"]) == {"en-de", "en-zh"}
    restored = json.loads(json.dumps(stats))
    small = [_row("x", "de", "Short source sentence here.", "Kurz.")]
    _, runs = score_pairs(small, DetectConfig(only=("length_ratio",)), stats=restored)
    assert runs["length_ratio"].flag[0]
    # without statistics and with one row, the pair is not judged
    _, runs = score_pairs(small, DetectConfig(only=("length_ratio",)))
    assert math.isnan(runs["length_ratio"].score[0]) and not runs["length_ratio"].flag[0]


def test_truncation_needs_a_lost_ending_and_a_short_output_or_the_engine_flag():
    rows, _ = length_corpus()
    rng = random.Random(5)
    src = _sentence(rng, 150)
    full = _sentence(rng, 180)
    cut = full[: len(full) // 2].rstrip(". ")
    probes = {
        "cut": _row("cut", "de", src, cut),
        "engine": _row("engine", "de", src, full, truncated=True),
        "complete": _row("complete", "de", src, full),
        "comma_end": _row("comma_end", "de", src, full.rstrip(".") + ","),  # sentence goes on
        "zh_cut": _row("zh_cut", "zh", src, _word(rng, CJK, 20)),
        "zh_complete": _row("zh_complete", "zh", src, _word(rng, CJK, 50) + "。"),
    }
    batch = [dict(r, truncated=False) for r in rows] + list(probes.values())
    _, runs = score_pairs(batch, DetectConfig(only=("length_ratio", "truncation")))
    flags = dict(zip([r["id"] for r in batch], runs["truncation"].flag.tolist(), strict=True))
    assert flags["cut"] and flags["engine"] and flags["zh_cut"]
    assert not flags["complete"] and not flags["comma_end"] and not flags["zh_complete"]


def _cut_corpus(n: int, rng: random.Random) -> list[dict]:
    """en-de rows whose outputs all use "der" inside a sentence, never at the end."""
    rows = []
    for i in range(n):
        src = _sentence(rng, rng.randint(40, 120))
        body = _sentence(rng, int(len(src) * 1.2)).rstrip(".")
        rows.append(_row(f"de{i}", "de", src, f"{body[:20]} der {body[20:]}."))
    return rows


def test_truncation_reads_a_last_word_that_rarely_ends_an_output():
    rng = random.Random(9)
    headline = "Police arrest suspect in the death of a local student"  # no final punctuation
    body = _sentence(rng, 70).rstrip(".")
    probes = [
        _row("cut", "de", headline, f"{body} der"),
        _row("whole", "de", headline, f"{body} {_word(rng, LATIN, 7)}"),
    ]
    config = DetectConfig(only=("length_ratio", "truncation"))
    for n, cut_flagged in ((300, True), (60, False)):  # 60 rows: too few to learn end words
        batch = _cut_corpus(n, rng) + probes
        _, runs = score_pairs(batch, config)
        assert runs["truncation"].flag[-2:].tolist() == [cut_flagged, False]
    stats = fit_stats(_cut_corpus(300, rng), config)
    assert stats["truncation"]["en-de"]["words"]["der"] > 4  # JSON, reusable by later batches
    json.dumps(stats)


NAMES = (
    "Alice Bruno Carla Dmitri Elena Farid Greta Hiroshi Ingrid Jamal Klara Luis Mona Nils".split()
)
CITIES = "Paris Berlin Madrid Lisbon Vienna Prague Oslo Dublin Athens Warsaw Zurich Riga".split()


def _aligned_pair(rng: random.Random) -> tuple[str, str]:
    a, b = rng.sample(NAMES, 2)
    city = rng.choice(CITIES)
    n, day = rng.randint(2, 950), rng.randint(1, 28)
    form = rng.randrange(4)
    if form == 0:
        return (
            f"{a} met {b} in {city} on {day} May.",
            f"{a} traf {b} am {day}. Mai in {city}.",
        )
    if form == 1:
        return (
            f"Yesterday {a} paid {n} euros for a ticket to {city}, said {b}.",
            f"Gestern zahlte {a} {n} Euro für eine Fahrkarte nach {city}, sagte {b}.",
        )
    if form == 2:
        return (
            f"Why did {a} leave {city} after {n} days?",
            f"Warum hat {a} {city} nach {n} Tagen verlassen?",
        )
    return (
        f"The council of {city} approved a budget of {n} million; {a} and {b} voted no.",
        f"Der Rat von {city} billigte einen Haushalt von {n} Millionen; {a} und {b} waren dagegen.",
    )


def test_misalignment_flags_outputs_that_belong_to_other_sources():
    rng = random.Random(3)
    pairs = [_aligned_pair(rng) for _ in range(240)]
    rows = [_row(f"p{i}", "de", s, t) for i, (s, t) in enumerate(pairs)]
    shuffled = list(range(0, 240, 12))  # 20 rows get another row's output
    for k, i in enumerate(shuffled):
        j = shuffled[(k + 1) % len(shuffled)]
        rows[i]["text"] = pairs[j][1]
    _, runs = score_pairs(rows, DetectConfig(only=("length_ratio", "misalignment")))
    flag = runs["misalignment"].flag
    is_shuffled = np.zeros(len(rows), dtype=bool)
    is_shuffled[shuffled] = True
    print(flag[is_shuffled].mean(), flag[~is_shuffled].mean())
    assert flag[is_shuffled].mean() >= 0.8
    assert flag[~is_shuffled].mean() <= 0.02


def test_misalignment_does_not_judge_pairs_it_cannot_learn():
    rows = [_row("a", "de", "Alice met Bruno in Paris.", "Der Rat billigte den Haushalt.")]
    _, runs = score_pairs(rows, DetectConfig(only=("misalignment",)))
    assert math.isnan(runs["misalignment"].score[0]) and not runs["misalignment"].flag[0]


def test_fit_stats_gives_later_batches_the_same_expectations():
    rows, probes = length_corpus()
    stats = fit_stats(rows)
    assert {"length_ratio", "semantic_misalignment"} <= set(stats)
    json.dumps(stats)
    one = [rows[probes["de_short"]]]
    _, runs = score_pairs(
        one, DetectConfig(only=("length_ratio",)), stats=json.loads(json.dumps(stats))
    )
    _, full = score_pairs(rows, DetectConfig(only=("length_ratio",)))
    assert runs["length_ratio"].score[0] == full["length_ratio"].score[probes["de_short"]]


def test_robust_fit_gives_a_normal_sd_unmoved_by_outliers_and_floored():
    from curate.artifacts.detectors._robust import robust_fit

    values = np.random.default_rng(0).normal(5.0, 2.0, 4000)
    values[:200] = 1e6  # 5% wild values move neither the median nor the scale
    median, scale = robust_fit(values, min_scale=0.1)
    assert abs(median - 5.0) < 0.15 and abs(scale - 2.0) < 0.15
    assert robust_fit(np.full(50, 3.0), min_scale=0.1) == (3.0, 0.1)


def test_a_trimmed_robust_fit_is_not_widened_by_damaged_rows_on_one_side():
    from curate.artifacts.detectors._robust import robust_fit

    rng = np.random.default_rng(1)
    clean = rng.normal(0.0, 1.0, 3000)
    mixed = np.r_[clean[:2100], rng.uniform(2.0, 12.0, 900)]  # 30% damaged, all on the high side
    plain = robust_fit(mixed, min_scale=0.01)[1]
    trimmed = robust_fit(mixed, min_scale=0.01, trim_above=3.0)[1]
    reference = robust_fit(clean, min_scale=0.01, trim_above=3.0)[1]
    assert plain > 1.4 * reference
    assert abs(trimmed - reference) < abs(plain - reference) / 2


def test_binned_logistic_learns_a_missing_value_bin_and_survives_json():
    from curate.artifacts.detectors.binned_logistic import binned_logit, fit_binned_logistic

    rng = np.random.default_rng(2)
    n = 4000
    y = (rng.random(n) < 0.5).astype(float)
    x = np.c_[rng.normal(y * 2.0, 1.0), rng.normal(0.0, 1.0, n)]
    # the second feature is missing mostly on label-0 rows: missingness itself is evidence
    x[(y == 0) & (rng.random(n) < 0.6), 1] = np.nan
    model = json.loads(json.dumps(fit_binned_logistic(x, y, bins=10, ridge=1.0)))
    logit = binned_logit(model, x)
    assert ((logit > 0) == (y == 1)).mean() > 0.8
    same_first = np.array([[1.0, 0.0], [1.0, np.nan]])
    with_value, missing = binned_logit(model, same_first)
    assert missing < with_value - 0.5
    # a feature that is never known leaves the rows to the other feature
    never = np.c_[x[:, 0], np.full(n, np.nan)]
    assert np.isfinite(binned_logit(fit_binned_logistic(never, y, 10, 1.0), never)).all()


def test_tfidf_rows_weigh_rare_shared_tokens_and_ignore_tokens_on_every_row():
    from curate.artifacts.detectors.similarity import tfidf_rows

    src = [["brux", "parl", "the"], ["mond", "the"], ["the"]]
    tgt = [["brüs", "parl", "the"], ["mont", "the"], ["the"]]
    a, b = tfidf_rows(src, tgt)
    sim = (a @ b.T).toarray()
    assert sim[0, 0] > 0.3 and sim[0, 0] == sim.max()
    # "the" is on every row of both sides: weight 0, so it makes no pairing similar
    assert sim[1, 1] == 0.0 and sim[2, 2] == 0.0 and sim[0, 1] == 0.0
    empty_a, empty_b = tfidf_rows([[], []], [[], []])
    assert (empty_a @ empty_b.T).nnz == 0


def test_length_ratio_allows_short_sources_their_wider_spread():
    """The spread of a length ratio grows as texts get shorter: a 10-character source whose
    translation came out half again as long is usual, not an outlier; losing two thirds of the
    output still is, and so is the same half-again-longer output of a long source."""
    rng = random.Random(11)
    rows = []
    for i in range(900):
        n = rng.randint(8, 14) if i % 25 == 0 else rng.randint(40, 220)
        m = max(1, round(n * 1.1 * math.exp(rng.gauss(0, 0.6 / math.sqrt(n)))))
        rows.append(_row(f"r{i}", "de", _word(rng, LATIN, n), _word(rng, LATIN, m)))
    probes = {
        "short_longer": (10, 17),  # log ratio +0.44 over the usual: 2.2 sd at 10 characters
        "short_cut": (12, 4),
        "long_longer": (200, 340),
    }
    for name, (n, m) in probes.items():
        rows.append(_row(name, "de", _word(rng, LATIN, n), _word(rng, LATIN, m)))
    _, runs = score_pairs(rows, DetectConfig(only=("length_ratio",)))
    flag = dict(zip([r["id"] for r in rows], runs["length_ratio"].flag, strict=True))
    assert not flag["short_longer"]
    assert flag["short_cut"] and flag["long_longer"]
    assert np.mean([flag[f"r{i}"] for i in range(900)]) < 0.01


def _heavy_tailed_batch(n: int, damaged: int, seed: int) -> list[dict]:
    """en-de outputs 1.2x the source; their log ratio spreads heavier-tailed than normal (one
    row in 50 with 2.5x the usual spread); the last ``damaged`` rows are cut to a third."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        src = _sentence(rng, rng.randint(80, 200))
        spread = 0.15 if rng.random() < 0.02 else 0.06
        ratio = 0.4 if i >= n - damaged else 1.2 * math.exp(rng.gauss(0, spread))
        rows.append(_row(f"de{i}", "de", src, _sentence(rng, int(len(src) * ratio))))
    return rows


def test_length_ratio_calibrates_a_heavy_tailed_pair_and_keeps_real_damage():
    only = DetectConfig(only=("length_ratio",))
    clean = _heavy_tailed_batch(2000, 0, seed=3)
    uncalibrated = DetectConfig.from_dict(
        {"only": ["length_ratio"], "length_ratio": {"max_tail": 1.0}}
    )
    _, runs = score_pairs(clean, uncalibrated)
    assert runs["length_ratio"].flag.mean() > 0.002  # the heavy tail beyond 3.5 MAD units
    stats: dict = {}
    _, runs = score_pairs(clean, only, stats=stats)
    assert 1.0 < stats["length_ratio"]["en-de"]["tail"] < 1.15
    assert runs["length_ratio"].flag.mean() <= 0.0015  # tail_share 0.1%, and a row of rounding

    damaged = _heavy_tailed_batch(2000, 100, seed=3)
    stats = {}
    _, runs = score_pairs(damaged, only, stats=stats)
    assert stats["length_ratio"]["en-de"]["tail"] == 1.15  # widening stops at max_tail
    assert runs["length_ratio"].flag[-100:].all()
    assert runs["length_ratio"].flag[:-100].mean() <= 0.005
