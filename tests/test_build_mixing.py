"""Language mixing: proportional, temperature and fixed ratios to a token target."""

from __future__ import annotations

import random
from typing import Any

import pytest

from curate.errors import UserError
from curate.trainsets.mixing import MixConfig, mix, target_ratios

# Available tokens per language pair in the generated corpus (roughly 16 : 4 : 1).
SIZES = {"de-en": 320_000, "en-fr": 80_000, "en-ro": 20_000}


def corpus(seed: int = 0) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    rows = []
    for group, total in SIZES.items():
        a, b = group.split("-")
        made = 0
        while made < total:
            n = rng.randint(20, 400)
            rows.append(
                {
                    "id": f"{group}-{len(rows)}",
                    "langs": [b, a] if rng.random() < 0.5 else [a, b],
                    "n_tokens": n,
                    "split": "train",
                }
            )
            made += n
    return rows


def achieved(result) -> dict[str, float]:
    return {g: s["achieved_ratio"] for g, s in result.report.stats["groups"].items()}


def tokens_by_group(samples: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in samples:
        key = "-".join(sorted(s["langs"]))
        out[key] = out.get(key, 0) + s["n_tokens"]
    return out


def test_proportional_keeps_the_corpus_ratios() -> None:
    rows = corpus()
    result = mix(rows, MixConfig(strategy="proportional", target_tokens=200_000))
    available = result.report.stats["groups"]
    total = sum(g["available_tokens"] for g in available.values())
    for group, ratio in achieved(result).items():
        assert ratio == pytest.approx(available[group]["available_tokens"] / total, abs=0.01)
    assert sum(s["n_tokens"] for s in result.samples) == pytest.approx(200_000, rel=0.01)


def test_temperature_flattens_towards_small_languages_within_one_percent() -> None:
    rows = corpus()
    config = MixConfig(strategy="temperature", temperature=5.0, target_tokens=60_000, seed=1)
    result = mix(rows, config)
    stats = result.report.stats["groups"]
    available = {g: s["available_tokens"] for g, s in stats.items()}
    total = sum(available.values())
    weights = {g: (n / total) ** (1 / 5.0) for g, n in available.items()}
    expected = {g: w / sum(weights.values()) for g, w in weights.items()}
    measured = tokens_by_group(result.samples)
    measured_total = sum(measured.values())
    for group in SIZES:
        assert measured[group] / measured_total == pytest.approx(expected[group], abs=0.01)
        assert stats[group]["target_ratio"] == pytest.approx(expected[group])
    # The smallest language gets far more than its natural 5 % share.
    assert measured["en-ro"] / measured_total > 0.2
    assert measured_total == pytest.approx(60_000, rel=0.01)


def test_fixed_ratios_within_one_percent_and_deterministic() -> None:
    rows = corpus()
    ratios = {"de-en": 0.5, "fr-en": 0.3, "en-ro": 0.2}
    config = MixConfig(strategy="fixed", ratios=ratios, target_tokens=90_000, seed=7)
    result = mix(rows, config)
    measured = tokens_by_group(result.samples)
    total = sum(measured.values())
    for group, ratio in ratios.items():
        group = "-".join(sorted(group.split("-")))
        assert measured[group] / total == pytest.approx(ratio, abs=0.01)
    again = mix(rows, config)
    assert [s["id"] for s in again.samples] == [s["id"] for s in result.samples]
    other_seed = mix(rows, MixConfig(strategy="fixed", ratios=ratios, target_tokens=90_000, seed=8))
    assert [s["id"] for s in other_seed.samples] != [s["id"] for s in result.samples]


def test_without_a_target_the_largest_mix_without_repeats_is_drawn() -> None:
    rows = corpus()
    result = mix(rows, MixConfig(strategy="fixed", ratios={"de-en": 0.5, "en-ro": 0.5}))
    measured = tokens_by_group(result.samples)
    # en-ro (20k tokens) limits the mix: about 20k of each, and fr-en gets nothing.
    assert measured["en-ro"] == pytest.approx(20_000, rel=0.02)
    assert measured["de-en"] == pytest.approx(measured["en-ro"], rel=0.02)
    assert "en-fr" not in measured
    assert result.report.filtered["ratio_zero"] > 0
    assert len({s["id"] for s in result.samples}) == len(result.samples)


def test_repeats_fill_a_small_language_when_allowed_and_shortfall_is_reported_otherwise() -> None:
    rows = corpus()
    ratios = {"de-en": 0.5, "fr-en": 0.25, "en-ro": 0.25}
    strict = mix(rows, MixConfig(strategy="fixed", ratios=ratios, target_tokens=200_000))
    assert strict.report.stats["groups"]["en-ro"]["shortfall_tokens"] > 25_000
    repeated = mix(
        rows,
        MixConfig(strategy="fixed", ratios=ratios, target_tokens=200_000, allow_repeats=True),
    )
    stats = repeated.report.stats["groups"]["en-ro"]
    assert stats["achieved_tokens"] == pytest.approx(50_000, rel=0.01)
    assert stats["repeated_samples"] > 0
    assert len({s["id"] for s in repeated.samples}) == len(repeated.samples)


def test_counts_add_up_and_other_splits_pass_through() -> None:
    rows = corpus()
    rows += [
        {"id": f"v{i}", "langs": ["de", "en"], "n_tokens": 50, "split": "validation"}
        for i in range(10)
    ]
    result = mix(rows, MixConfig(target_tokens=50_000))
    report = result.report
    assert report.n_in == len(rows)
    assert report.n_kept + sum(report.filtered.values()) == len(rows)
    assert sum(1 for s in result.samples if s["split"] == "validation") == 10


def test_group_by_language_against_a_pivot() -> None:
    ratios = target_ratios({"de": 300, "fr": 100}, MixConfig(strategy="temperature", temperature=2))
    assert ratios["de"] == pytest.approx(3**0.5 / (3**0.5 + 1))
    rows = corpus()
    result = mix(rows, MixConfig(group_by="lang", pivot="en", target_tokens=10_000))
    assert set(result.report.stats["groups"]) == {"de", "fr", "ro"}


def test_bad_configs_are_errors() -> None:
    with pytest.raises(UserError, match="sum to 1"):
        MixConfig(strategy="fixed", ratios={"de-en": 0.6, "fr-en": 0.6})
    with pytest.raises(UserError, match="no samples"):
        mix(corpus(), MixConfig(strategy="fixed", ratios={"xx-yy": 1.0}))
    with pytest.raises(UserError, match="unknown option"):
        MixConfig.from_dict({"strategy": "temperature", "temp": 2})
