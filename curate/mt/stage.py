"""The translate stage: input records in, ``translations`` and ``quarantine`` records out.

``translate_rows`` is the ``batch -> batch`` function the Beam job and the CLI wrap: it takes
rows of any record kind with an ``id`` and a text column (segments, examples, documents), and
returns rows of ``schemas/translations.json`` plus, for inputs the model failed on, rows of
``schemas/quarantine.json`` carrying the original row as payload. For every call
``len(rows) == len(translations) + len(quarantine)``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pyarrow as pa

from curate.mt.engine import TranslateConfig, TranslationEngine
from curate.mt.memory import MemoryEntry, TranslationMemory
from curate.mt.translation import Translation, remembered_translation
from curate.records import content_id, load_schema

STAGE = "translate"
QUARANTINE_REASON = "translation_failed"


@dataclass
class TranslateResult:
    translations: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def tables(self) -> tuple[pa.Table, pa.Table]:
        return (
            load_schema("translations").table(self.translations),
            load_schema("quarantine").table(self.quarantine),
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _meta(result: Translation) -> str | None:
    """How the input was fitted to the model, when it had to be (JSON for the meta column)."""
    meta: dict[str, Any] = {}
    if result.pieces > 1:
        meta["pieces"] = result.pieces
    if result.input_truncated:
        meta["input_truncated"] = True
    return json.dumps(meta) if meta else None


def translate_rows(
    engine: TranslationEngine,
    rows: Sequence[dict[str, Any]],
    src: str,
    tgt: str,
    *,
    run_id: str,
    text_column: str = "text",
    source_kind: str = "segments",
    dataset: str | None = None,
    memory: TranslationMemory | None = None,
    config: TranslateConfig | None = None,
) -> TranslateResult:
    """Translate ``rows[i][text_column]`` from ``src`` to ``tgt`` (ISO codes)."""
    return submit_rows(
        engine,
        rows,
        src,
        tgt,
        run_id=run_id,
        text_column=text_column,
        source_kind=source_kind,
        dataset=dataset,
        memory=memory,
        config=config,
    )()


def submit_rows(
    engine: TranslationEngine,
    rows: Sequence[dict[str, Any]],
    src: str,
    tgt: str,
    *,
    run_id: str,
    text_column: str = "text",
    source_kind: str = "segments",
    dataset: str | None = None,
    memory: TranslationMemory | None = None,
    config: TranslateConfig | None = None,
) -> Callable[[], TranslateResult]:
    """:func:`translate_rows` in two steps: the model starts now, the returned function waits.

    A caller that submits its next rows before calling it keeps the model busy meanwhile
    (:meth:`TranslationEngine.submit_texts`); the result is the same as ``translate_rows``.
    """
    src_lang, tgt_lang = engine.languages(src, tgt)
    texts = [str(row.get(text_column) or "") for row in rows]
    pending = engine.submit_texts(texts, src, tgt, memory=memory, config=config)
    lineage = _Lineage(
        engine.model.model_id, engine.model.version, src_lang.tag, tgt_lang.tag, run_id, source_kind
    )
    return lambda: _rows_result(lineage, rows, pending.result(), dataset)


def submit_groups(
    engine: TranslationEngine,
    groups: Sequence[Sequence[dict[str, Any]]],
    src: str,
    tgt: str,
    *,
    run_id: str,
    text_column: str = "text",
    source_kind: str = "segments",
    memory: TranslationMemory | None = None,
    config: TranslateConfig | None = None,
) -> Callable[[], TranslateResult]:
    """:func:`submit_rows` for rows already joined with the translation memory (its misses).

    The rows of one group share one normalised text (:func:`~curate.mt.memory.normalize_text`;
    a blank text is a group of its own): the model translates each group once and every row of
    it gets that translation, as repeats inside one :func:`submit_rows` call do. The memory,
    when given, is not looked up (the caller resolved its hits), only taught the new
    translations. Rows come out group by group.
    """
    cfg = config or engine.config
    src_lang, tgt_lang = engine.languages(src, tgt)
    firsts = [str(group[0].get(text_column) or "") for group in groups]
    pending = engine.submit_texts(firsts, src, tgt, config=cfg)
    lineage = _Lineage(
        engine.model.model_id, engine.model.version, src_lang.tag, tgt_lang.tag, run_id, source_kind
    )

    def finish() -> TranslateResult:
        results = pending.result()
        if memory is not None:
            learned = {
                r.source: MemoryEntry(r.text, r.score, r.truncated, r.pieces, r.input_truncated)
                for r in results
                if r.ok and not r.passthrough and r.text is not None
            }
            memory.add(
                lineage.model_id,
                lineage.model_version,
                lineage.src_tag,
                lineage.tgt_tag,
                learned,
                decoding=cfg.decoding_key(),
            )
        rows = [row for group in groups for row in group]
        expanded = [
            replace(result, source=str(row.get(text_column) or ""))
            for group, result in zip(groups, results, strict=True)
            for row in group
        ]
        return _rows_result(lineage, rows, expanded, None)

    return finish


def remembered_rows(
    rows: Sequence[dict[str, Any]],
    entries: Sequence[MemoryEntry],
    *,
    model_id: str,
    model_version: str,
    src_tag: str,
    tgt_tag: str,
    run_id: str,
    text_column: str = "text",
    source_kind: str = "segments",
) -> TranslateResult:
    """Translation rows for ``rows`` whose translations the memory holds (``entries[i]``), as
    :func:`submit_rows` makes them for memory hits, without a model."""
    results = [
        remembered_translation(str(row.get(text_column) or ""), entry)
        for row, entry in zip(rows, entries, strict=True)
    ]
    lineage = _Lineage(model_id, model_version, src_tag, tgt_tag, run_id, source_kind)
    return _rows_result(lineage, rows, results, None)


@dataclass(frozen=True)
class _Lineage:
    """What every output row of one call records about where it came from."""

    model_id: str
    model_version: str
    src_tag: str
    tgt_tag: str
    run_id: str
    source_kind: str


def _rows_result(
    lineage_of: _Lineage,
    rows: Sequence[dict[str, Any]],
    results: list[Translation],
    dataset: str | None,
) -> TranslateResult:
    out = TranslateResult()
    model_id, model_version = lineage_of.model_id, lineage_of.model_version
    run_id, source_kind = lineage_of.run_id, lineage_of.source_kind
    for row, result in zip(rows, results, strict=True):
        source_id = str(row.get("id") or row.get("source_id") or "")
        lineage = {
            "dataset": row.get("dataset") or dataset or "",
            "source_id": source_id,
            "run_id": run_id,
            "stage": STAGE,
            "model_id": model_id,
            "model_version": model_version,
        }
        if not result.ok:
            payload = json.dumps(row, ensure_ascii=False, default=_json_default).encode()
            out.quarantine.append(
                {
                    "id": content_id(STAGE, source_id, lineage_of.tgt_tag, QUARANTINE_REASON),
                    "reason": QUARANTINE_REASON,
                    "detail": result.error,
                    "source_file": row.get("source_file"),
                    "source_line": row.get("source_line"),
                    "payload": payload,
                    **lineage,
                }
            )
            out.counts["quarantined"] += 1
            continue
        out.translations.append(
            {
                "id": content_id(
                    source_id, lineage_of.src_tag, lineage_of.tgt_tag, model_id, model_version
                ),
                "src_lang": lineage_of.src_tag,
                "tgt_lang": lineage_of.tgt_tag,
                "source_kind": source_kind,
                "source_text": result.source,
                "text": result.text,
                "origin": "mt",
                "score": result.score,
                "truncated": result.truncated,
                "from_memory": result.from_memory,
                "source_file": row.get("source_file"),
                "source_line": row.get("source_line"),
                "meta": _meta(result),
                **lineage,
            }
        )
        out.counts["passthrough" if result.passthrough else "translated"] += 1
        out.counts["from_memory"] += int(result.from_memory)
    return out
