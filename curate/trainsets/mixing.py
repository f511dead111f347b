"""Language mixing: sample training samples per language group to target token ratios.

Samples are grouped by language (``group_by="langs"``: the sorted languages of a sample, e.g.
``de-en``; ``group_by="lang"``: the languages other than ``pivot``, e.g. ``de``). With ``n_g``
available tokens in group g and ``N`` in all, the target ratio ``p_g`` is

- ``proportional``: ``n_g / N``;
- ``temperature``: ``(n_g / N) ** (1 / temperature)``, renormalised (T > 1 flattens the mix
  towards the smaller languages, T = 1 is proportional);
- ``fixed``: ``ratios[g]`` as given (must sum to 1; groups not named get 0; ``fr-en`` and
  ``en-fr`` name the same group).

The token target is ``target_tokens``, or, when unset, the largest total that needs no group to
repeat a sample (``min_g n_g / p_g``). Each group is filled to ``round(p_g * target)`` tokens in
a seeded random order: samples that fit are taken, the rest skipped, then the one sample that
brings the total closest to the quota. With ``allow_repeats`` a group short of its quota runs
through its samples again (repeats get a new id); without it the shortfall is reported.

Only samples of the ``splits`` listed are sampled; others pass through unchanged. Samples not
drawn are counted as filtered with reason ``not_sampled`` (or ``ratio_zero``).

Mixing in shards: ratios, target and quotas depend only on the tokens available per group
(:func:`available_tokens`, which adds up shard by shard), so :func:`plan_mix` makes them from
those counts alone, :func:`shard_plan` splits each group's quota over the shards in proportion
to the tokens each shard holds of the group (largest remainders, so the shares add up to the
quota), and :func:`mix` fills one shard's share from that shard's samples. With one shard this is
exactly :func:`mix` over all samples.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from curate.errors import UserError
from curate.records import content_id
from curate.trainsets.common import BuildReport, BuildResult, config_from_dict

STAGE = "build.mix"


@dataclass(frozen=True)
class MixConfig:
    """Options of :func:`mix` (the ``mix`` section of a recipe)."""

    strategy: str = "proportional"
    temperature: float = 1.0
    ratios: dict[str, float] = field(default_factory=dict)
    target_tokens: int | None = None
    group_by: str = "langs"
    pivot: str = "en"
    allow_repeats: bool = False
    splits: tuple[str, ...] = ("train",)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.strategy not in {"proportional", "temperature", "fixed"}:
            raise UserError(
                f"strategy must be proportional, temperature or fixed, not {self.strategy!r}"
            )
        if self.strategy == "temperature" and self.temperature <= 0:
            raise UserError("temperature must be > 0")
        if self.strategy == "fixed":
            if not self.ratios:
                raise UserError("strategy fixed needs ratios, e.g. {de-en: 0.5, fr-en: 0.5}")
            if any(r < 0 for r in self.ratios.values()):
                raise UserError("ratios must be >= 0")
            if abs(sum(self.ratios.values()) - 1) > 1e-6:
                raise UserError(f"ratios must sum to 1, not {sum(self.ratios.values()):g}")
        if self.group_by not in {"langs", "lang"}:
            raise UserError(f"group_by must be langs or lang, not {self.group_by!r}")
        if self.target_tokens is not None and self.target_tokens < 1:
            raise UserError("target_tokens must be positive")

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> MixConfig:
        return config_from_dict(cls, data)


def group_of(sample: dict[str, Any], config: MixConfig) -> str:
    langs = sorted(set(sample["langs"]))
    if config.group_by == "lang":
        others = [lang for lang in langs if lang != config.pivot]
        return "-".join(others) or config.pivot
    return "-".join(langs)


def _canonical(group: str) -> str:
    return "-".join(sorted(group.split("-")))


def target_ratios(available: dict[str, int], config: MixConfig) -> dict[str, float]:
    """Target ratio of each group (see the module docstring)."""
    total = sum(available.values())
    if config.strategy == "fixed":
        # "fr-en" and "en-fr" name the same group.
        wanted = {_canonical(k): float(v) for k, v in config.ratios.items()}
        present = {_canonical(g): g for g in available}
        unknown = sorted(k for k in config.ratios if _canonical(k) not in present)
        if unknown:
            raise UserError(
                f"ratios name group(s) with no samples: {', '.join(unknown)}",
                hint=f"groups present: {', '.join(sorted(available))}",
            )
        return {g: wanted.get(_canonical(g), 0.0) for g in available}
    if total == 0:
        return {g: 0.0 for g in available}
    power = 1.0 if config.strategy == "proportional" else 1.0 / config.temperature
    weights = {g: (n / total) ** power if n else 0.0 for g, n in available.items()}
    norm = sum(weights.values())
    return {g: w / norm for g, w in weights.items()}


def _fill(
    samples: list[dict[str, Any]], quota: int, rng: random.Random, allow_repeats: bool
) -> tuple[list[tuple[int, int]], int]:
    """Indices (with repeat number) of samples filling ``quota`` tokens, and the tokens taken."""
    sizes = [int(s["n_tokens"] or 0) for s in samples]
    usable = sum(1 for n in sizes if n > 0)
    taken: list[tuple[int, int]] = []
    total, repeat = 0, 0
    while True:
        order = list(range(len(samples)))
        rng.shuffle(order)
        in_pass: set[int] = set()
        for i in order:
            if sizes[i] and total + sizes[i] <= quota:
                taken.append((i, repeat))
                in_pass.add(i)
                total += sizes[i]
        # Another pass only when repeats are allowed and every sample fitted in this one.
        if total >= quota or not allow_repeats or not in_pass or len(in_pass) < usable:
            break
        repeat += 1
    remaining = quota - total
    if remaining > 0:
        # One more sample if it brings the total closer to the quota than stopping here.
        fresh = [(i, repeat) for i in range(len(samples)) if sizes[i] and i not in in_pass]
        again = [(i, repeat + 1) for i in in_pass] if allow_repeats else []
        best = min(
            fresh + again, key=lambda c: (abs(remaining - sizes[c[0]]), c[1], c[0]), default=None
        )
        if best is not None and abs(remaining - sizes[best[0]]) < remaining:
            taken.append(best)
            total += sizes[best[0]]
    return taken, total


def available_tokens(samples: Iterable[dict[str, Any]], config: MixConfig) -> dict[str, int]:
    """Tokens per language group of the samples that are drawn from (``splits``)."""
    available: dict[str, int] = {}
    for s in samples:
        if s["split"] in config.splits:
            g = group_of(s, config)
            available[g] = available.get(g, 0) + int(s["n_tokens"] or 0)
    return available


@dataclass(frozen=True)
class MixPlan:
    """Target ratio per group, the token target, and the tokens each group is filled to."""

    ratios: dict[str, float]
    target: int
    quotas: dict[str, int]


def plan_mix(available: dict[str, int], config: MixConfig) -> MixPlan:
    """Ratios, target and quotas from the tokens available per group (module docstring)."""
    ratios = target_ratios(available, config)
    if config.target_tokens is not None:
        target = config.target_tokens
    else:
        limits = [available[g] / p for g, p in ratios.items() if p > 0]
        target = int(min(limits)) if limits else 0
    return MixPlan(ratios, target, {g: round(ratios[g] * target) for g in available})


def shard_plan(plan: MixPlan, available: dict[int, dict[str, int]], shard: int) -> MixPlan:
    """``plan`` with the quotas of shard ``shard``: each group's quota split over the shards in
    proportion to ``available[shard][group]`` tokens, by largest remainders (ties: lower shard
    first), so the shards' quotas of a group add up to the group's."""
    quotas: dict[str, int] = {}
    for g, quota in plan.quotas.items():
        held = {s: groups.get(g, 0) for s, groups in available.items() if groups.get(g, 0)}
        total = sum(held.values())
        if not total or shard not in held:
            quotas[g] = 0
            continue
        share = {s: quota * n // total for s, n in held.items()}
        rest = {s: quota * n % total for s, n in held.items()}
        left = quota - sum(share.values())
        for s in sorted(held, key=lambda s: (-rest[s], s))[:left]:
            share[s] += 1
        quotas[g] = share[shard]
    return MixPlan(plan.ratios, plan.target, quotas)


def mix(
    samples: Iterable[dict[str, Any]],
    config: MixConfig | None = None,
    *,
    plan: MixPlan | None = None,
    shard: int = 0,
) -> BuildResult:
    """Sample ``samples`` per language group to the configured ratios and token target.

    ``plan`` (of all shards, with this shard's quotas: :func:`shard_plan`) mixes one shard of
    the samples, ``shard`` numbering it; without it the plan is made from ``samples``.
    ``BuildResult.report.stats["groups"]`` gives, per group: available tokens and samples,
    target ratio and tokens, achieved tokens and ratio, samples drawn and repeats, shortfall.
    """
    config = config or MixConfig()
    rows = list(samples)
    report = BuildReport(stage=STAGE, n_in=len(rows))
    filtered: list[dict[str, Any]] = []
    passthrough = [r for r in rows if r["split"] not in config.splits]
    pool = [r for r in rows if r["split"] in config.splits]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in pool:
        groups.setdefault(group_of(r, config), []).append(r)
    available = {g: sum(int(s["n_tokens"] or 0) for s in members) for g, members in groups.items()}
    plan = plan or plan_mix(available, config)
    ratios, target = plan.ratios, plan.target
    out: list[dict[str, Any]] = list(passthrough)
    group_stats: dict[str, dict[str, Any]] = {}
    distinct_kept = len(passthrough)
    for g in sorted(groups):
        members = groups[g]
        quota = plan.quotas.get(g, 0)
        rng = random.Random(f"{config.seed}:{g}" + (f":{shard}" if shard else ""))
        taken, tokens = _fill(members, quota, rng, config.allow_repeats) if quota else ([], 0)
        chosen = {i for i, _ in taken}
        for i, rep in taken:
            sample = members[i]
            if rep:
                sample = {**sample, "id": content_id(sample["id"], "repeat", str(rep))}
            out.append(sample)
        for i, sample in enumerate(members):
            if i not in chosen:
                reason = "ratio_zero" if ratios[g] == 0 else "not_sampled"
                report.filter(reason)
                filtered.append({"id": sample["id"], "reason": reason})
        distinct_kept += len(chosen)
        group_stats[g] = {
            "available_tokens": available[g],
            "available_samples": len(members),
            "target_ratio": ratios[g],
            "target_tokens": quota,
            "achieved_tokens": tokens,
            "samples": len(taken),
            "repeated_samples": sum(1 for _, rep in taken if rep),
            "shortfall_tokens": max(0, quota - tokens),
        }
    achieved_total = sum(s["achieved_tokens"] for s in group_stats.values())
    for stats in group_stats.values():
        stats["achieved_ratio"] = stats["achieved_tokens"] / achieved_total if achieved_total else 0
    report.n_kept = distinct_kept
    report.n_out = len(out)
    report.stats = {
        "strategy": config.strategy,
        "temperature": config.temperature if config.strategy == "temperature" else None,
        "target_tokens": target,
        "achieved_tokens": achieved_total,
        "groups": group_stats,
    }
    report.check()
    return BuildResult(samples=out, filtered=filtered, report=report)
