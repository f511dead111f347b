"""Translate whole documents: split into sentences, translate, reassemble with the original layout.

A document is cut into paragraphs at blank lines and each paragraph into sentences with
``sentencex``. Everything that is not sentence text (leading and trailing whitespace, the
blank lines between paragraphs, the spaces or single line breaks between sentences) is kept
byte for byte, so the translation has the source's layout: same paragraph breaks, same line
breaks between sentences. All sentences of all documents go to the engine in one call, so
batching, length sorting and the translation memory work across documents.

A document with a sentence that failed is returned with ``text=None`` and the error: the
caller quarantines the document rather than emitting it with a hole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sentencex import segment as sentencex_segment

from curate.languages import parse_language
from curate.mt.engine import TranslateConfig, Translation, TranslationEngine
from curate.mt.memory import TranslationMemory

_PARAGRAPH_BREAK = re.compile(r"\n[ \t\r\f\v]*\n\s*")


@dataclass(frozen=True)
class Part:
    """A piece of a document: a sentence to translate, or layout to keep as it is."""

    text: str
    translate: bool


def split_document(text: str, lang: str) -> list[Part]:
    """``text`` as alternating layout and sentence parts; ``"".join`` gives ``text`` back."""
    parts: list[Part] = []
    position = 0
    for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
        end = brk.start() if brk else len(text)
        parts.extend(_split_paragraph(text[position:end], lang))
        if brk:
            parts.append(Part(brk.group(), False))
            position = brk.end()
    return [p for p in parts if p.text]


def _split_paragraph(paragraph: str, lang: str) -> list[Part]:
    if not paragraph.strip():
        return [Part(paragraph, False)]
    sentences = [s for s in sentencex_segment(lang, paragraph) if s]
    if "".join(sentences) != paragraph:  # the segmenter changed the text: keep it whole
        sentences = [paragraph]
    parts: list[Part] = []
    for sentence in sentences:
        core = sentence.strip()
        if not core:
            parts.append(Part(sentence, False))
            continue
        start = sentence.index(core)
        parts.append(Part(sentence[:start], False))
        parts.append(Part(core, True))
        parts.append(Part(sentence[start + len(core) :], False))
    return parts


@dataclass(frozen=True)
class DocumentTranslation:
    """A translated document and the translations of its sentences (in order)."""

    source: str
    text: str | None
    segments: list[Translation]
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def translate_documents(
    engine: TranslationEngine,
    documents: Sequence[str],
    src: str,
    tgt: str,
    *,
    memory: TranslationMemory | None = None,
    config: TranslateConfig | None = None,
) -> list[DocumentTranslation]:
    """Translate each document sentence by sentence, keeping its whitespace and paragraphs."""
    engine.languages(src, tgt)  # refuse an unsupported pair before any work
    seg_lang = parse_language(src).language or "en"
    split = [split_document(doc, seg_lang) for doc in documents]
    sentences = [p.text for parts in split for p in parts if p.translate]
    translated = iter(engine.translate_texts(sentences, src, tgt, memory=memory, config=config))
    out: list[DocumentTranslation] = []
    for doc, parts in zip(documents, split, strict=True):
        pieces: list[str] = []
        segments: list[Translation] = []
        for part in parts:
            if not part.translate:
                pieces.append(part.text)
                continue
            result = next(translated)
            segments.append(result)
            pieces.append(result.text or "")
        errors = [s.error for s in segments if s.error]
        if errors:
            error = f"{len(errors)} sentence(s) failed: {errors[0]}"
            out.append(DocumentTranslation(doc, None, segments, error))
        else:
            out.append(DocumentTranslation(doc, "".join(pieces), segments))
    return out
