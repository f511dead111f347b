"""The ingest stage: raw records from a reader -> documents, segments, examples or bitext.

``ingest_batch(batch, config)`` is a pure function over one :class:`~curate.io.ReadBatch`:
it normalises text (recording the original where it changed and moving spans with it),
identifies the language of every text in one vectorised call, segments documents into
sentences, assigns stable content-hash ids, and sends whatever it cannot use to quarantine with a
reason. Its counts satisfy ``in == out + quarantined + filtered`` for every batch.
"""

from __future__ import annotations

import json
import json.encoder
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from curate.errors import UserError
from curate.io.base import Quarantined, RawRecord, ReadBatch
from curate.languages import store_form
from curate.records import Span, content_id, load_schema, spans_to_column
from curate.store.run import StageCounts
from curate.text.langid import detect_batch
from curate.text.normalize import normalize
from curate.text.segment import Sentence, split_sentences
from curate.text.tags import detect_scheme, tagged_text

STAGE = "ingest"
#: ``translations.origin`` of ingested translations (``mt`` is curate's own model output)
ORIGINS = ("reference", "system")


def _meta_encoder() -> Callable[[dict[str, Any]], str]:
    """``json.dumps(meta, default=str)``, with the standard library's C encoder made once.

    ``json.dumps`` builds a new encoder on every call, which cost more than encoding the few
    fields a record usually has left over. Parsed input cannot be circular, so no marker check.
    """
    make = json.encoder.c_make_encoder
    if make is None:  # an interpreter without the C accelerator
        return json.JSONEncoder(default=str).encode
    encode = make(
        None, str, json.encoder.encode_basestring_ascii, None, ": ", ", ", False, False, True
    )
    return lambda meta: "".join(encode(meta, 0))


_META_JSON = _meta_encoder()


@dataclass(frozen=True)
class IngestConfig:
    dataset: str
    run_id: str
    kind: str = "auto"  # auto | documents | examples
    lang: str | None = None  # declared language for records without one (source side of bitext)
    target_lang: str | None = None  # declared language of the target side of bitext
    segment: bool = True
    identify_language: bool = True
    #: who wrote the target side of bitext: reference (a human translation; "human" is the same)
    #: or system (machine output of the system named by ``system``)
    origin: str = "reference"
    system: str | None = None

    def __post_init__(self) -> None:
        if self.origin == "human":
            object.__setattr__(self, "origin", "reference")
        if self.origin not in ORIGINS:
            raise UserError(
                f"unknown origin {self.origin!r}",
                hint="reference (or human) for a human translation, system for machine output",
            )
        if self.origin == "system" and not (self.system or "").strip():
            raise UserError(
                "a system output needs the name of its system",
                hint="--system NAME (recipe: system)",
            )
        if self.origin != "system" and self.system:
            raise UserError("a system name goes with origin system", hint="--origin system")


@dataclass
class IngestResult:
    tables: dict[str, pa.Table]
    counts: StageCounts = field(default_factory=StageCounts)


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


def ingest_batch(batch: ReadBatch, config: IngestConfig) -> IngestResult:
    texts: list[str] = []
    prepared: list[tuple[RawRecord, dict[str, Any]]] = []
    quarantine: list[Quarantined] = list(batch.quarantined)
    for record in batch.records:
        try:
            row = _prepare(record, config)
        except _Reject as exc:
            quarantine.append(
                Quarantined(
                    exc.reason, str(exc), record.source_file, record.source_line, record.payload
                )
            )
            continue
        prepared.append((record, row))
        texts.append(row["text"])
        if "target" in row:
            texts.append(row["target"])
    detected = detect_batch(texts) if config.identify_language else [(None, None)] * len(texts)
    detected = [(_detected(code), confidence) for code, confidence in detected]
    pair_src, pair_tgt = _pair_majorities(prepared, detected)

    documents: list[dict[str, Any]] = []
    segments = _Segments(config)
    examples: list[dict[str, Any]] = []
    translations: list[dict[str, Any]] = []
    position = written = 0
    for record, row in prepared:
        lang_detected, confidence = detected[position]
        target_detected = detected[position + 1][0] if "target" in row else None
        position += 2 if "target" in row else 1
        declared = _declared(record.lang or config.lang)
        if declared is False:
            quarantine.append(
                Quarantined(
                    "bad_language_code",
                    f"language {record.lang!r} is not an ISO 639 code",
                    record.source_file,
                    record.source_line,
                    record.payload,
                )
            )
            continue
        written += 1  # one input record, even where it gives an example and a translation
        lineage = _lineage(record, config)
        if "target" in row:  # one language per side of a bitext, not per line
            lang_detected = pair_src or lang_detected
            target_detected = pair_tgt or target_detected
        lang = declared or lang_detected or "und"
        common = {
            "lang": lang,
            "lang_declared": declared,
            "lang_detected": lang_detected,
            "lang_confidence": confidence,
            "text": row["text"],
            "text_original": row["text_original"],
            "source_file": record.source_file,
            "source_line": record.source_line,
            "meta": _META_JSON(record.meta) if record.meta else None,
            **lineage,
        }
        example_id = None
        if row["is_example"]:
            example_id = content_id(
                config.dataset, lineage["source_id"], row["text"], str(row["spans"])
            )
            examples.append(
                {
                    **common,
                    "id": example_id,
                    "text_b": row["text_b"],
                    "spans": spans_to_column(row["spans"]),
                    "tokens": row.get("tokens"),
                    "token_offsets": row.get("token_offsets"),
                    "tags": record.tags,
                    "tag_scheme": row.get("tag_scheme"),
                    "task": record.task or ("ner" if record.tags else None),
                }
            )
        elif "target" not in row:
            doc_id = content_id(config.dataset, lineage["source_id"], row["text"])
            sentences = split_sentences(row["text"], lang) if config.segment else []
            documents.append({**common, "id": doc_id, "n_segments": len(sentences)})
            segments.add_document(doc_id, lang, sentences)
        if "target" in row:
            translation = _translation_row(row, lang, target_detected, common, config)
            if example_id is not None:  # labelled text with its translation: linked
                translation["source_kind"] = "examples"
                translation["source_id"] = example_id
            translations.append(translation)

    reasons = Counter(q.reason for q in quarantine)
    counts = StageCounts(
        records_in=len(batch),
        records_out=written,
        quarantined=reasons,
        filtered=Counter({"blank_line": batch.skipped} if batch.skipped else {}) + batch.filtered,
    )
    tables = {
        "documents": load_schema("documents").table(documents),
        "segments": segments.table(),
        "examples": load_schema("examples").table(examples),
        "translations": load_schema("translations").table(translations),
        "quarantine": quarantine_table(quarantine, config.dataset, config.run_id, STAGE),
    }
    return IngestResult({k: v for k, v in tables.items() if v.num_rows}, counts)


def majority_language(codes: Iterable[str | None]) -> str | None:
    """The most frequent detected code (None if none was detected)."""
    counted = Counter(code for code in codes if code)
    return counted.most_common(1)[0][0] if counted else None


def _pair_majorities(
    prepared: list[tuple[RawRecord, dict[str, Any]]], detected: list[tuple[str | None, Any]]
) -> tuple[str | None, str | None]:
    """The majority detected language of the source and of the target texts of a batch's pairs.

    A bitext's languages are its file's (the driver detects them on the file and declares them,
    see :func:`pair_languages`); the batch's majority is the fallback, never one line's guess.
    """
    src: list[str | None] = []
    tgt: list[str | None] = []
    position = 0
    for _, row in prepared:
        if "target" in row:
            src.append(detected[position][0])
            tgt.append(detected[position + 1][0])
            position += 2
        else:
            position += 1
    return majority_language(src), majority_language(tgt)


def pair_languages(
    batches: Iterable[ReadBatch], limit: int = 4096
) -> tuple[str | None, str | None]:
    """The languages of a bitext's two sides, by majority over its first ``limit`` pairs."""
    src: list[str] = []
    tgt: list[str] = []
    for batch in batches:
        for record in batch.records:
            if record.target is not None:  # bitext, or labelled text with its translation
                src.append(normalize(record.text).text)
                tgt.append(normalize(record.target).text)
        if len(src) >= limit:
            break
    if not src:
        return None, None
    found = detect_batch(src[:limit] + tgt[:limit])
    n = len(src[:limit])
    return (
        majority_language(_detected(code) for code, _ in found[:n]),
        majority_language(_detected(code) for code, _ in found[n:]),
    )


def _translation_row(
    row: dict[str, Any],
    lang: str,
    target_detected: str | None,
    common: dict[str, Any],
    config: IngestConfig,
) -> dict[str, Any]:
    """The ``translations`` row of an ingested translation (a bitext pair's target side)."""
    declared = _declared(config.target_lang)
    return {
        "id": content_id(common["dataset"], common["source_id"], row["text"], row["target"]),
        "src_lang": lang,
        "tgt_lang": (declared if isinstance(declared, str) else None) or target_detected or "und",
        "source_kind": "bitext",
        "source_text": row["text"],
        "text": row["target"],
        "origin": config.origin,
        "system": config.system,
        "tokens": row.get("target_tokens"),
        **{k: common[k] for k in ("source_file", "source_line", "meta")},
        **{k: common[k] for k in ("dataset", "source_id", "run_id", "stage")},
        **{k: common[k] for k in ("model_id", "model_version")},
    }


class _Segments:
    """The segments of a batch's documents, gathered column by column (a batch has thousands;
    a dict per segment cost more than segmenting)."""

    _PER_SEGMENT = ("seg_index", "paragraph_index", "char_start", "char_end", "ws_after", "text")

    def __init__(self, config: IngestConfig) -> None:
        self.config = config
        self.columns: dict[str, list[Any]] = {
            name: [] for name in ("id", "doc_id", "lang", *self._PER_SEGMENT)
        }

    def add_document(self, doc_id: str, lang: str, sentences: list[Sentence]) -> None:
        c = self.columns
        for index, (text, start, end, paragraph, ws_after) in enumerate(sentences):
            c["id"].append(f"{doc_id}.{index}")  # stable: the document's hash + position
            c["doc_id"].append(doc_id)
            c["lang"].append(lang)
            c["seg_index"].append(index)
            c["paragraph_index"].append(paragraph)
            c["char_start"].append(start)
            c["char_end"].append(end)
            c["ws_after"].append(ws_after)
            c["text"].append(text)

    def table(self) -> pa.Table:
        n = len(self.columns["id"])
        data = {
            **self.columns,
            "source_id": self.columns["doc_id"],
            "dataset": [self.config.dataset] * n,
            "run_id": [self.config.run_id] * n,
            "stage": ["segment"] * n,
            "model_id": [None] * n,
            "model_version": [None] * n,
        }
        schema = load_schema("segments").arrow
        return pa.Table.from_pydict({name: data[name] for name in schema.names}, schema=schema)


def quarantine_table(entries: list[Quarantined], dataset: str, run_id: str, stage: str) -> pa.Table:
    """Quarantine rows for any stage (the payload is kept byte for byte)."""
    rows = [
        {
            "id": content_id(
                stage, q.source_file, str(q.source_line), q.reason, q.payload.hex()[:64]
            ),
            "reason": q.reason,
            "detail": q.detail.encode("utf-8", "backslashreplace").decode("utf-8"),
            "source_file": q.source_file,
            "source_line": q.source_line,
            "payload": q.payload,
            "dataset": dataset,
            "source_id": f"{Path(q.source_file).name}:{q.source_line}",
            "run_id": run_id,
            "stage": stage,
        }
        for q in entries
    ]
    return load_schema("quarantine").table(rows)


def _lineage(record: RawRecord, config: IngestConfig) -> dict[str, Any]:
    return {
        "dataset": config.dataset,
        "source_id": record.id or f"{Path(record.source_file).name}:{record.source_line}",
        "run_id": config.run_id,
        "stage": STAGE,
        "model_id": None,
        "model_version": None,
    }


def _declared(code: str | None) -> str | bool | None:
    """A declared language code in the store's form (:func:`store_language`), None if none was
    given, False if it is not a code."""
    if code is None or not str(code).strip():
        return None
    return store_form(str(code).strip().replace("_", "-")) or False


def _detected(code: str | None) -> str | None:
    """langid's code in the store's form (the same function as declared codes)."""
    return store_form(code) if code else None


def _prepare(record: RawRecord, config: IngestConfig) -> dict[str, Any]:
    """Normalise a record's texts and spans; raise _Reject for what cannot be used."""
    if record.kind == "tokens":
        row = _prepare_tokens(record)
        if record.target is not None:
            _add_target(record, row)
        return row
    norm = normalize(record.text)
    if not norm.text:
        raise _Reject("empty_text", "text is empty after normalisation")
    row: dict[str, Any] = {
        "text": norm.text,
        "text_original": record.text if norm.changed else None,
        "text_b": normalize(record.text_b).text if record.text_b else None,
        "is_example": False,
    }
    if record.kind == "pair":
        _add_target(record, row)
    if record.spans is not None or config.kind == "examples":
        spans = _parse_spans(record.spans, record.text)
        mapped = [Span(*norm.map_span(s.start, s.end), s.label) for s in spans]
        row["spans"] = mapped
        row["is_example"] = True
    elif config.kind == "examples":
        row["spans"] = []
        row["is_example"] = True
    return row


def _add_target(record: RawRecord, row: dict[str, Any]) -> None:
    """The record's translation, normalised (its words too, when given tokenised)."""
    if record.target_tokens is not None:
        tokens = [normalize(t).text for t in record.target_tokens]
        if not tokens or not all(tokens):
            raise _Reject("empty_text", "a target token is empty after normalisation")
        row["target"], row["target_tokens"] = " ".join(tokens), tokens
        return
    target = normalize(record.target or "")
    if not target.text:
        raise _Reject("empty_text", "target text is empty after normalisation")
    row["target"] = target.text


def _prepare_tokens(record: RawRecord) -> dict[str, Any]:
    tokens = [normalize(t).text for t in record.tokens or []]
    if not tokens or not all(tokens):
        raise _Reject("empty_text", "a token is empty after normalisation")
    tags = record.tags or ["O"] * len(tokens)
    text, offsets, spans = tagged_text(tokens, tags)
    return {
        "text": text,
        "text_original": None if tokens == record.tokens else " ".join(record.tokens or []),
        "text_b": None,
        "is_example": True,
        "spans": spans,
        "tokens": tokens,
        "token_offsets": [{"start": s, "end": e} for s, e in offsets],
        "tag_scheme": record.tag_scheme or detect_scheme(tags),
    }


def _parse_spans(value: Any, text: str) -> list[Span]:
    """Spans given as ``[{"start", "end", "label"}]`` or ``[[start, end, label]]`` on ``text``."""
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise _Reject("bad_span", "spans field is not JSON") from None
    if not isinstance(value, list):
        raise _Reject("bad_span", "spans must be a list")
    spans: list[Span] = []
    for item in value:
        try:
            if isinstance(item, dict):
                start, end, label = int(item["start"]), int(item["end"]), str(item["label"])
            else:
                start, end, label = int(item[0]), int(item[1]), str(item[2])
        except (KeyError, IndexError, TypeError, ValueError):
            raise _Reject("bad_span", f"cannot read span {item!r}") from None
        if not 0 <= start < end <= len(text):
            raise _Reject(
                "bad_span", f"span [{start}, {end}) is outside the text (length {len(text)})"
            )
        spans.append(Span(start, end, label))
    return sorted(spans)
