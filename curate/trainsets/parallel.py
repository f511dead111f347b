"""Parallel training sets: translation pairs rendered through templates, in both directions.

Input: ``translations`` records (machine output or ingested bitext) and, optionally, the
``artifact_tags`` of those translations. Each pair goes through, in this order, and stops at the
first reason that applies (the reason it is counted under):

``empty`` (a side is blank), ``truncated``, ``mt_score`` (the translation's own score below
``min_mt_score``), ``flag:<detector>`` (a detector in ``drop_flags`` flagged it; ``"*"`` means
any detector), ``score_above:<detector>`` / ``score_below:<detector>`` (``max_scores`` /
``min_scores``), ``duplicate_exact`` (same normalised pair seen before, in either direction),
``duplicate_near`` (MinHash LSH over character n-grams of the pair, datasketch), ``too_long``
(a rendered sample over ``max_tokens``).

Kept pairs become one sample per direction (``forward`` is source -> target as translated). The
split is drawn per pair, so both directions of a pair land in the same split. Every input ends
as samples or as one row of ``BuildResult.filtered`` with its reason.
"""

from __future__ import annotations

import json
import string
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from curate.errors import UserError
from curate.languages import language_name
from curate.records import content_id
from curate.trainsets.common import (
    BuildReport,
    BuildResult,
    assign_split,
    check_split_fractions,
    config_from_dict,
)
from curate.trainsets.tokens import FallbackCounter, TokenCounter

STAGE = "build.parallel"

#: Built-in templates; any other string is used as a ``str.format`` template.
TEMPLATES: dict[str, str] = {
    "plain": "{src_lang_name}: {src}\n{tgt_lang_name}: {tgt}",
    "instruction": (
        "### Instruction:\nTranslate the following text from {src_lang_name} into "
        "{tgt_lang_name}.\n\n### Input:\n{src}\n\n### Response:\n{tgt}"
    ),
}
#: The ``chat`` template: a user turn and an assistant turn, rendered as ChatML in ``text``
#: and kept as ``messages`` in ``meta`` for tokenizers with their own chat template.
CHAT_USER_TEMPLATE = (
    "Translate the following text from {src_lang_name} into {tgt_lang_name}.\n\n{src}"
)
TEMPLATE_FIELDS = {"src", "tgt", "src_lang", "tgt_lang", "src_lang_name", "tgt_lang_name"}


@dataclass(frozen=True)
class ParallelConfig:
    """Options of :func:`build_parallel` (the ``build.parallel`` section of a recipe)."""

    name: str = "parallel"
    template: str = "plain"
    chat_user_template: str = CHAT_USER_TEMPLATE
    directions: str = "both"
    drop_empty: bool = True
    drop_truncated: bool = True
    min_mt_score: float | None = None
    drop_flags: tuple[str, ...] = ("*",)
    max_scores: dict[str, float] = field(default_factory=dict)
    min_scores: dict[str, float] = field(default_factory=dict)
    dedup_exact: bool = True
    dedup_near: bool = True
    near_threshold: float = 0.85
    near_ngram: int = 5
    near_num_perm: int = 64
    max_tokens: int | None = None
    validation_fraction: float = 0.0
    test_fraction: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.directions not in {"both", "forward", "backward"}:
            raise UserError(
                f"directions must be both, forward or backward, not {self.directions!r}"
            )
        if self.template != "chat":
            _check_template(self.template_text, "template")
        _check_template(self.chat_user_template, "chat_user_template")
        if not 0 < self.near_threshold <= 1:
            raise UserError("near_threshold must be in (0, 1]")
        check_split_fractions(self.validation_fraction, self.test_fraction)

    @property
    def template_text(self) -> str:
        return TEMPLATES.get(self.template, self.template)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> ParallelConfig:
        return config_from_dict(cls, data)


def _check_template(template: str, option: str) -> None:
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    except ValueError as exc:
        raise UserError(f"bad {option}: {exc}") from None
    unknown = names - TEMPLATE_FIELDS
    if unknown:
        raise UserError(
            f"unknown field(s) in {option}: {', '.join(sorted(unknown))}",
            hint=f"available: {', '.join(sorted(TEMPLATE_FIELDS))}; built-ins: "
            f"{', '.join([*TEMPLATES, 'chat'])}",
        )
    if "{src}" not in template and option == "template":
        raise UserError(f"{option} must contain {{src}}")


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _tags_by_translation(tags: Iterable[dict[str, Any]] | None) -> dict[str, list[dict[str, Any]]]:
    by_id: dict[str, list[dict[str, Any]]] = {}
    for tag in tags or ():
        by_id.setdefault(tag["translation_id"], []).append(tag)
    return by_id


def _artifact_reason(tags: list[dict[str, Any]], config: ParallelConfig) -> str | None:
    drop_any = "*" in config.drop_flags
    for tag in sorted(tags, key=lambda t: t["detector"]):
        if tag.get("flag") and (drop_any or tag["detector"] in config.drop_flags):
            return f"flag:{tag['detector']}"
    for tag in sorted(tags, key=lambda t: t["detector"]):
        score = tag.get("score")
        if score is None:
            continue
        upper = config.max_scores.get(tag["detector"])
        if upper is not None and score > upper:
            return f"score_above:{tag['detector']}"
        lower = config.min_scores.get(tag["detector"])
        if lower is not None and score < lower:
            return f"score_below:{tag['detector']}"
    return None


def _render(src: str, tgt: str, sl: str, tl: str, config: ParallelConfig) -> tuple[str, Any]:
    values = {
        "src": src,
        "tgt": tgt,
        "src_lang": sl,
        "tgt_lang": tl,
        "src_lang_name": language_name(sl),
        "tgt_lang_name": language_name(tl),
    }
    if config.template == "chat":
        user = config.chat_user_template.format(**values)
        messages = [{"role": "user", "content": user}, {"role": "assistant", "content": tgt}]
        text = f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{tgt}<|im_end|>"
        return text, messages
    return config.template_text.format(**values), None


def near_signatures(keys: list[str], ngram: int, num_perm: int) -> list[Any]:
    """MinHash signatures (datasketch) of the character ``ngram``-grams of each key."""
    import xxhash
    from datasketch import MinHash

    shingles = [
        {k[i : i + ngram] for i in range(max(1, len(k) - ngram + 1))}
        for k in (k.encode() for k in keys)
    ]
    # xxhash (C, deterministic) instead of datasketch's default SHA-1: about 10x faster.
    return MinHash.bulk(shingles, num_perm=num_perm, hashfunc=xxhash.xxh32_intdigest)


def lsh_bands(config: ParallelConfig) -> tuple[int, int]:
    """``(bands, rows per band)`` of the LSH index near-duplicate search uses for ``config``
    (datasketch's choice for the threshold, weighted to miss few pairs)."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(
        threshold=config.near_threshold, num_perm=config.near_num_perm, weights=(0.1, 0.9)
    )
    return lsh.b, lsh.r


class _NearDuplicates:
    """MinHash LSH over character n-grams, candidates verified by their estimated Jaccard.

    The LSH bands are tuned to miss few pairs (false negatives weigh 0.9); a candidate counts
    as a duplicate only when its estimated Jaccard similarity reaches the threshold.
    """

    def __init__(self, config: ParallelConfig) -> None:
        from datasketch import MinHashLSH

        self._n = config.near_ngram
        self._perm = config.near_num_perm
        self._threshold = config.near_threshold
        self._lsh = MinHashLSH(
            threshold=config.near_threshold, num_perm=self._perm, weights=(0.1, 0.9)
        )
        self._kept: dict[str, Any] = {}

    def signatures(self, keys: list[str]) -> list[Any]:
        return near_signatures(keys, self._n, self._perm)

    def seen(self, key: str, signature: Any) -> bool:
        for candidate in self._lsh.query(signature):
            if signature.jaccard(self._kept[candidate]) >= self._threshold:
                return True
        self._lsh.insert(key, signature)
        self._kept[key] = signature
        return False


def filter_reason(
    row: dict[str, Any], tags: list[dict[str, Any]], config: ParallelConfig
) -> str | None:
    """The first per-row reason to drop a translation (before deduplication), or None."""
    src, tgt = row.get("source_text") or "", row.get("text") or ""
    if config.drop_empty and (not src.strip() or not tgt.strip()):
        return "empty"
    if config.drop_truncated and row.get("truncated"):
        return "truncated"
    score = row.get("score")
    if config.min_mt_score is not None and score is not None and score < config.min_mt_score:
        return "mt_score"
    return _artifact_reason(tags, config)


def dedup_key(row: dict[str, Any]) -> str:
    """What exact and near duplicates are judged on: both normalised sides with their
    languages, in either direction."""
    src, tgt = row.get("source_text") or "", row.get("text") or ""
    sides = sorted([(row["src_lang"], _normalise(src)), (row["tgt_lang"], _normalise(tgt))])
    return "\x00".join(f"{lang}\x01{text}" for lang, text in sides)


def build_parallel(
    translations: Iterable[dict[str, Any]],
    config: ParallelConfig | None = None,
    *,
    tags: Iterable[dict[str, Any]] | None = None,
    counter: TokenCounter | None = None,
    run_id: str = "local",
    dataset: str | None = None,
) -> BuildResult:
    """Build parallel samples from ``translations`` rows (see the module docstring).

    ``dataset`` fills the lineage column when a row has none.
    """
    config = config or ParallelConfig()
    counter = counter or FallbackCounter()
    rows = list(translations)
    tags_by_id = _tags_by_translation(tags)
    report = BuildReport(stage=STAGE, n_in=len(rows))
    filtered: list[dict[str, Any]] = []

    def drop(row: dict[str, Any], reason: str) -> None:
        report.filter(reason)
        filtered.append({"id": row["id"], "reason": reason})

    # Cheap per-row filters and exact duplicates first, then near duplicates in one batch.
    survivors: list[tuple[dict[str, Any], str]] = []
    exact_seen: set[str] = set()
    for row in rows:
        reason = filter_reason(row, tags_by_id.get(row["id"], []), config)
        if reason:
            drop(row, reason)
            continue
        key = dedup_key(row)
        if config.dedup_exact:
            if key in exact_seen:
                drop(row, "duplicate_exact")
                continue
            exact_seen.add(key)
        survivors.append((row, key))

    kept: list[dict[str, Any]] = []
    if config.dedup_near and survivors:
        near = _NearDuplicates(config)
        signatures = near.signatures([key for _, key in survivors])
        for i, ((row, _), signature) in enumerate(zip(survivors, signatures, strict=True)):
            if near.seen(str(i), signature):
                drop(row, "duplicate_near")
            else:
                kept.append(row)
    else:
        kept = [row for row, _ in survivors]

    # Render every direction, count tokens in one batch, then drop pairs over max_tokens.
    directions = {"both": ("forward", "backward"), "forward": ("forward",)}.get(
        config.directions, ("backward",)
    )
    rendered: list[tuple[dict[str, Any], str, str, Any]] = []
    for row in kept:
        for direction in directions:
            if direction == "forward":
                sl, tl, s, t = row["src_lang"], row["tgt_lang"], row["source_text"], row["text"]
            else:
                sl, tl, s, t = row["tgt_lang"], row["src_lang"], row["text"], row["source_text"]
            text, messages = _render(s, t, sl, tl, config)
            rendered.append((row, direction, text, messages))
    counts = counter.count_batch([text for _, _, text, _ in rendered])
    too_long: set[str] = set()
    if config.max_tokens is not None:
        too_long = {
            r["id"]
            for (r, _, _, _), n in zip(rendered, counts, strict=True)
            if n > config.max_tokens
        }
        for row in kept:
            if row["id"] in too_long:
                drop(row, "too_long")
    template_name = config.template if config.template in {*TEMPLATES, "chat"} else "custom"
    samples: list[dict[str, Any]] = []
    for (row, direction, text, messages), n in zip(rendered, counts, strict=True):
        if row["id"] in too_long:
            continue
        sl, tl = (
            (row["src_lang"], row["tgt_lang"])
            if direction == "forward"
            else (row["tgt_lang"], row["src_lang"])
        )
        meta: dict[str, Any] = {
            "direction": direction,
            "template": template_name,
            "origin": row.get("origin"),
        }
        if messages is not None:
            meta["messages"] = messages
        samples.append(
            {
                "id": content_id(config.name, STAGE, row["id"], direction),
                "config": config.name,
                "split": assign_split(
                    row["id"], config.validation_fraction, config.test_fraction, config.seed
                ),
                "kind": "parallel",
                "langs": [sl, tl],
                "text": text,
                "n_tokens": n,
                "tokenizer": counter.name,
                "sources": [
                    {"record_id": row["id"], "lang": sl, "chunk_start": None, "chunk_end": None},
                    {"record_id": row["id"], "lang": tl, "chunk_start": None, "chunk_end": None},
                ],
                "meta": json.dumps(meta, ensure_ascii=False),
                "dataset": row.get("dataset") or dataset or "unknown",
                "source_id": row["id"],
                "run_id": run_id,
                "stage": STAGE,
                "model_id": row.get("model_id"),
                "model_version": row.get("model_version"),
            }
        )
    report.n_kept = len(kept) - len(too_long)
    report.n_out = len(samples)
    report.stats = {
        "directions": list(directions),
        "tokens_out": sum(s["n_tokens"] for s in samples),
        "tokenizer": counter.name,
    }
    report.check()
    return BuildResult(samples=samples, filtered=filtered, report=report)
