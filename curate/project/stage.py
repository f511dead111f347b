"""Align and project stages over records: rows in, rows out, keyed by the schemas' columns.

These are the functions a Beam job (or any runner) calls on a batch. They take and return lists
of dicts whose keys are the columns of ``schemas/translations.json``, ``examples.json``,
``alignments.json`` and ``projections.json``; lineage columns are filled from ``lineage``
(``dataset``, ``run_id``, ``stage``, ...), with ``source_id`` set to the upstream record.

Statistical aligners learn from the batch they align: give :func:`align_rows` and the
projection stages all pairs of one language pair at once (or large batches of them), not one
pair at a time. Every input row gives exactly one output row; projections that failed carry
``status = "dropped"`` and their reasons, so ``rows in == rows out``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from curate.align import sentences
from curate.align.languages import alignment_forms
from curate.align.registry import WordAligner, for_languages
from curate.align.tokenize import Tokens, tokenize
from curate.project.alignment import (
    TRANSLATE_TEST,
    TRANSLATE_TRAIN,
    DraftBatch,
    LabelledText,
    ProjectionConfig,
    ProjectionResult,
    Tokenizer,
    draft_batch,
    finish_batch,
    project_translate_test,
    project_translate_train,
)
from curate.project.consistency import Table
from curate.project.markers import MarkerConfig, project_with_markers
from curate.records import Span, content_id, spans_from_column, spans_to_column
from curate.text.tags import join_tokens

Row = dict[str, Any]


def _offsets_column(offsets: Sequence[tuple[int, int]]) -> list[dict[str, int]]:
    return [{"start": s, "end": e} for s, e in offsets]


def given_words(text: str, tokens: Sequence[str] | None, offsets: Any = None) -> Tokens | None:
    """The words a text was given in (CoNLL), with their offsets; None if none were given or
    they do not make up the text."""
    if not tokens:
        return None
    if offsets:
        spans = [(int(o["start"]), int(o["end"])) for o in offsets]
    else:
        joined, spans = join_tokens(tokens)
        if joined != text:
            return None
    if len(spans) != len(tokens) or any(
        text[a:b] != t for (a, b), t in zip(spans, tokens, strict=True)
    ):
        return None
    return Tokens(list(tokens), spans)


def tokenizer_with(known: Mapping[str, Tokens]) -> Tokenizer:
    """:func:`tokenize`, except for texts that came tokenised: those keep their words (an
    aligner must see the words that gold labels and tags refer to)."""

    def words(text: str, lang: str | None) -> Tokens:
        found = known.get(text)
        return found if found is not None else tokenize(text, lang)

    return words


def _known_words(items: Sequence[tuple[str, Sequence[str] | None, Any]]) -> dict[str, Tokens]:
    known = {}
    for text, tokens, offsets in items:
        words = given_words(text, tokens, offsets)
        if words is not None:
            known[text] = words
    return known


def _given_words_tokenizer(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
) -> Tokenizer:
    """The tokenizer of translate-train: sides that came tokenised keep their words."""
    return tokenizer_with(
        _known_words(
            [(ex["text"], ex.get("tokens"), ex.get("token_offsets")) for ex, _ in pairs]
            + [(tr["text"] or "", tr.get("tokens"), None) for _, tr in pairs]
        )
    )


def align_rows(
    translations: Sequence[Mapping[str, Any]],
    aligner: WordAligner,
    lineage: Mapping[str, Any] | None = None,
) -> list[Row]:
    """``alignments`` rows for ``translations`` rows (source_text -> text), one per input.

    Each language pair is aligned in one call, with its language treatment
    (:mod:`curate.align.languages`); multi-sentence texts sentence pair by sentence pair
    (:mod:`curate.align.sentences`), links indexing the whole text's words. A translation
    given tokenised (``tokens``) is aligned on its own words."""
    words = tokenizer_with(_known_words([(t["text"], t.get("tokens"), None) for t in translations]))
    src = [tokenize(t["source_text"] or "", t["src_lang"]) for t in translations]
    tgt = [words(t["text"] or "", t["tgt_lang"]) for t in translations]
    links: list[list[tuple[int, int]]] = [[] for _ in translations]
    methods = [aligner.method] * len(translations)
    aligned_as = [sentences.WHOLE] * len(translations)
    by_lang: dict[tuple[str, str], list[int]] = {}
    for k, t in enumerate(translations):
        by_lang.setdefault((t["src_lang"], t["tgt_lang"]), []).append(k)
    for (src_lang, tgt_lang), idx in by_lang.items():
        pair_aligner = for_languages(aligner, src_lang, tgt_lang)
        forms = [
            (alignment_forms(src[k].tokens, src_lang), alignment_forms(tgt[k].tokens, tgt_lang))
            for k in idx
        ]
        plan = sentences.plan(
            [(translations[k]["source_text"] or "", translations[k]["text"] or "") for k in idx],
            [(src[k], tgt[k]) for k in idx],
            (src_lang, tgt_lang),
        )
        found = sentences.merge_links(pair_aligner.align(sentences.split_pairs(forms, plan)), plan)
        for n, (k, pair_links) in enumerate(zip(idx, found, strict=True)):
            links[k] = pair_links
            methods[k] = pair_aligner.method
            aligned_as[k] = plan.aligned_as(n)
    rows = []
    for tr, s, t, pair_links, method, unit in zip(
        translations, src, tgt, links, methods, aligned_as, strict=True
    ):
        rows.append(
            {
                **(lineage or {}),
                "id": content_id(tr["id"], method),
                "translation_id": tr["id"],
                "src_lang": tr["src_lang"],
                "tgt_lang": tr["tgt_lang"],
                "src_tokens": s.tokens,
                "tgt_tokens": t.tokens,
                "src_token_offsets": _offsets_column(s.offsets),
                "tgt_token_offsets": _offsets_column(t.offsets),
                "links": [{"src": i, "tgt": j} for i, j in pair_links],
                "method": method,
                "aligned_as": unit,
                "source_id": tr["id"],
            }
        )
    return rows


def _projection_row(
    result: ProjectionResult,
    *,
    example_id: str,
    translation_id: str | None,
    src_lang: str,
    tgt_lang: str,
    direction: str,
    lineage: Mapping[str, Any] | None,
) -> Row:
    return {
        **(lineage or {}),
        "id": content_id(example_id, translation_id, tgt_lang, direction, result.method),
        "example_id": example_id,
        "translation_id": translation_id,
        "src_lang": src_lang,
        "tgt_lang": tgt_lang,
        "direction": direction,
        "method": result.method,
        "text": result.text,
        "spans": spans_to_column(result.spans),
        "tokens": result.tokens,
        "tags": result.tags,
        "status": result.status,
        "reasons": result.reasons,
        "n_source_spans": result.n_source_spans,
        "n_projected": result.n_projected,
        "aligned_as": result.aligned_as,
        "source_id": translation_id or example_id,
    }


def project_translate_train_rows(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    aligner: WordAligner,
    config: ProjectionConfig = ProjectionConfig(),
    lineage: Mapping[str, Any] | None = None,
) -> list[Row]:
    """translate-train: ``(examples row, translations row of its text)`` pairs -> projections
    rows whose spans label the translation. A side that came tokenised (a CoNLL example's
    ``tokens``/``token_offsets``, a CoNLL translation's ``tokens``) keeps its words, so the
    projected tags are one per given word."""
    examples = [LabelledText(ex["text"], spans_from_column(ex["spans"])) for ex, _ in pairs]
    words = _given_words_tokenizer(pairs)
    by_lang: dict[tuple[str, str], list[int]] = {}
    for k, (_, tr) in enumerate(pairs):
        by_lang.setdefault((tr["src_lang"], tr["tgt_lang"]), []).append(k)
    rows: list[Row | None] = [None] * len(pairs)
    for (src_lang, tgt_lang), idx in by_lang.items():
        results = project_translate_train(
            [examples[k] for k in idx],
            [pairs[k][1]["text"] or "" for k in idx],
            aligner,
            src_lang=src_lang,
            tgt_lang=tgt_lang,
            config=config,
            tokenizer=words,
        )
        for k, result in zip(idx, results, strict=True):
            ex, tr = pairs[k]
            rows[k] = _projection_row(
                result,
                example_id=ex["id"],
                translation_id=tr["id"],
                src_lang=src_lang,
                tgt_lang=tgt_lang,
                direction=TRANSLATE_TRAIN,
                lineage=lineage,
            )
    return [r for r in rows if r is not None]


def draft_translate_train_rows(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    aligner: WordAligner,
    config: ProjectionConfig = ProjectionConfig(),
) -> DraftBatch:
    """:func:`project_translate_train_rows` in two halves, for a language pair projected in
    several batches: draft each batch, add up their ``projection_counts()``, then
    :func:`finish_translate_train_rows` each batch with the sum. All ``pairs`` of one call
    must be of one language pair."""
    langs = {(tr["src_lang"], tr["tgt_lang"]) for _, tr in pairs}
    if len(langs) > 1:
        raise ValueError(f"one language pair per batch, got {sorted(langs)}")
    src_lang, tgt_lang = next(iter(langs), (None, None))
    return draft_batch(
        [LabelledText(ex["text"], spans_from_column(ex["spans"])) for ex, _ in pairs],
        [tr["text"] or "" for _, tr in pairs],
        aligner,
        labelled_is_source=True,
        labelled_lang=src_lang,
        other_lang=tgt_lang,
        config=config,
        tokenizer=_given_words_tokenizer(pairs),
    )


def finish_translate_train_rows(
    pairs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    batch: DraftBatch,
    config: ProjectionConfig = ProjectionConfig(),
    lineage: Mapping[str, Any] | None = None,
    table: Table | None = None,
) -> list[Row]:
    """The second half of :func:`draft_translate_train_rows`: projections rows, with the
    consistency pass learnt from ``table`` (by default from the batch alone)."""
    return [
        _projection_row(
            result,
            example_id=ex["id"],
            translation_id=tr["id"],
            src_lang=tr["src_lang"],
            tgt_lang=tr["tgt_lang"],
            direction=TRANSLATE_TRAIN,
            lineage=lineage,
        )
        for (ex, tr), result in zip(pairs, finish_batch(batch, config, table), strict=True)
    ]


def project_translate_test_rows(
    items: Sequence[tuple[Mapping[str, Any], Sequence[Span]]],
    aligner: WordAligner,
    config: ProjectionConfig = ProjectionConfig(),
    lineage: Mapping[str, Any] | None = None,
) -> list[Row]:
    """translate-test: ``(translations row, spans predicted on its text)`` -> projections rows
    whose spans label the original (``source_text``). ``src_lang``/``tgt_lang`` of a row keep
    the translation's meaning: labels went from ``tgt_lang`` back to ``src_lang``."""
    by_lang: dict[tuple[str, str], list[int]] = {}
    for k, (tr, _) in enumerate(items):
        by_lang.setdefault((tr["src_lang"], tr["tgt_lang"]), []).append(k)
    rows: list[Row | None] = [None] * len(items)
    for (src_lang, tgt_lang), idx in by_lang.items():
        results = project_translate_test(
            [items[k][0]["source_text"] or "" for k in idx],
            [LabelledText(items[k][0]["text"] or "", list(items[k][1])) for k in idx],
            aligner,
            src_lang=src_lang,
            tgt_lang=tgt_lang,
            config=config,
        )
        for k, result in zip(idx, results, strict=True):
            tr = items[k][0]
            rows[k] = _projection_row(
                result,
                example_id=tr.get("source_id") or tr["id"],
                translation_id=tr["id"],
                src_lang=tgt_lang,
                tgt_lang=src_lang,
                direction=TRANSLATE_TEST,
                lineage=lineage,
            )
    return [r for r in rows if r is not None]


def project_marker_rows(
    examples: Sequence[Mapping[str, Any]],
    translate: Callable[[list[str]], list[str]],
    tgt_lang: str,
    config: MarkerConfig = MarkerConfig(),
    lineage: Mapping[str, Any] | None = None,
) -> list[Row]:
    """translate-train by markers: ``examples`` rows -> projections rows labelling the marked
    translation (the text column is that translation with the markers removed). ``translate``
    is any ``list[str] -> list[str]`` engine call for ``lang -> tgt_lang``."""
    results = project_with_markers(
        [LabelledText(ex["text"], spans_from_column(ex["spans"])) for ex in examples],
        translate,
        tgt_lang=tgt_lang,
        config=config,
    )
    return [
        _projection_row(
            result,
            example_id=ex["id"],
            translation_id=None,
            src_lang=ex["lang"],
            tgt_lang=tgt_lang,
            direction=TRANSLATE_TRAIN,
            lineage=lineage,
        )
        for ex, result in zip(examples, results, strict=True)
    ]
