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
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from curate.mt.engine import TranslateConfig, Translation, TranslationEngine
from curate.mt.languages import ResolvedLanguage
from curate.mt.memory import TranslationMemory
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
    return lambda: _rows_result(
        engine, rows, pending.result(), src_lang, tgt_lang, run_id, source_kind, dataset
    )


def _rows_result(
    engine: TranslationEngine,
    rows: Sequence[dict[str, Any]],
    results: list[Translation],
    src_lang: ResolvedLanguage,
    tgt_lang: ResolvedLanguage,
    run_id: str,
    source_kind: str,
    dataset: str | None,
) -> TranslateResult:
    out = TranslateResult()
    model_id, model_version = engine.model.model_id, engine.model.version
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
                    "id": content_id(STAGE, source_id, tgt_lang.tag, QUARANTINE_REASON),
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
                "id": content_id(source_id, src_lang.tag, tgt_lang.tag, model_id, model_version),
                "src_lang": src_lang.tag,
                "tgt_lang": tgt_lang.tag,
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
