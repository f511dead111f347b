"""Variants of the Synthetic language in other families, with exact gold spans and alignments.

Each variant rewrites the target side of :func:`curate.synth.generate` pairs, word by word, so
the gold word alignment and the entity spans carry over exactly:

- ``qsc`` (no spaces): every word becomes one to three characters of a CJK-like inventory
  (Han code points), names are transliterated syllable by syllable, numbers stay digits,
  ``.``/``,`` become ``。``/``，``, and nothing separates the words;
- ``qsp`` (prefixing): function words (postpositions, determiners, conjunctions, tense and
  plural particles) become clitics written onto the next word (``na`` + ``casa`` ->
  ``nacasa``); a name's span covers its whole written word, clitics included (the convention
  of NER data tokenised at spaces);
- ``qsa`` (agglutinating): the same function words become suffixes of the previous word
  (``Paris`` + ``na`` -> ``Parisna``); a name's span ends where its suffixes begin (the
  Korean convention: particles are not part of a name);
- ``qsn`` (another script): every word, names included, is transliterated into Georgian
  letters (no case), so no target word looks like its English source.

``VariantPair.tgt_words`` gives the character range of each gold target word, which the gold
``alignment`` indexes. :data:`VARIANT_CLITICS` lists the written clitics and suffixes, which
:mod:`curate.align.languages` uses for the variants' codes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from curate.align.languages import (
    AGGLUTINATING,
    NO_SPACE,
    PREFIXING,
    WHOLE,
    Treatment,
    register_treatment,
)
from curate.records import Span
from curate.synth import lexicon as lx
from curate.synth.pairs import SynthPair, generate
from curate.text.tags import char_spans_to_token, join_tokens

VARIANTS = ("qsc", "qsp", "qsa", "qsn")

#: Synthetic function words written as clitics (qsp) or suffixes (qsa)
FUNCTION_WORDS = frozenset(
    {t for t, _ in lx.DETERMINERS.values()}
    | set(lx.PREPOSITIONS.values())
    | set(lx.CONTRACTIONS.values())
    | set(lx.TIME_PREPOSITIONS.values())
    | set(lx.CONJUNCTIONS.values())
    | {lx.PLURAL, lx.PAST, lx.FUTURE}
)
VARIANT_CLITICS = tuple(sorted(FUNCTION_WORDS, key=lambda w: (-len(w), w)))

#: how each variant is treated, as a real language of its family would be
TREATMENTS = {
    "qsc": Treatment(NO_SPACE, stem=WHOLE),
    "qsp": Treatment(PREFIXING, clitics=((3, VARIANT_CLITICS),) * 3),
    "qsa": Treatment(AGGLUTINATING, particles=VARIANT_CLITICS),
    "qsn": Treatment(),
}
for _code, _treatment in TREATMENTS.items():
    register_treatment(_code, _treatment)

_HAN = [chr(c) for c in range(0x4E00, 0x4E00 + 2400)]
_PUNCT_CJK = {".": "。", ",": "，", "(": "（", ")": "）", "!": "！", "?": "？"}
_SYLLABLE = re.compile(r"[^aeiouy]*[aeiouy]+(?:[^aeiouy](?![aeiouy]))?", re.IGNORECASE)
_GEORGIAN = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        "აბცდეფგჰიჯკლმნოპქრსტუვწხყზ",
        strict=True,
    )
)


@dataclass(frozen=True)
class VariantPair:
    """English sentence, variant translation, gold target words, alignment and spans."""

    src: str
    tgt: str
    tgt_words: tuple[tuple[int, int], ...]
    alignment: tuple[tuple[int, int], ...]
    src_spans: tuple[Span, ...]
    tgt_spans: tuple[Span, ...]


def _digest(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")


def _han_word(word: str) -> str:
    if not any(c.isalpha() for c in word):
        return "".join(_PUNCT_CJK.get(c, c) for c in word)
    if word[:1].isupper():  # a name: one character per syllable
        return "".join(_HAN[_digest(s.lower()) % 300] for s in _SYLLABLE.findall(word) or [word])
    h = _digest(word)
    n = 1 if word in FUNCTION_WORDS else 2 + h % 2
    return "".join(_HAN[300 + (h >> (11 * i)) % (len(_HAN) - 300)] for i in range(n))


def _georgian(word: str) -> str:
    return "".join(_GEORGIAN.get(c, c) for c in word.lower())


def _is_clitic(tokens: list[str], i: int, ranges: list[tuple[int, int, str]]) -> bool:
    return tokens[i] in FUNCTION_WORDS and not any(a <= i < b for a, b, _ in ranges)


def _attach(tokens: list[str], ranges: list[tuple[int, int, str]], forward: bool) -> list[int]:
    """For each token, the index of the written word it ends up in (clitics joined)."""
    n = len(tokens)
    host = list(range(n))
    order = range(n - 1, -1, -1) if forward else range(n)
    for i in order:
        j = i + 1 if forward else i - 1
        if _is_clitic(tokens, i, ranges) and 0 <= j < n and tokens[j][:1].isalnum():
            host[i] = host[j]
    return host


def _rewrite(pair: SynthPair, variant: str) -> VariantPair:
    tokens = pair.tgt.split(" ")
    ranges = char_spans_to_token(pair.tgt_spans, join_tokens(tokens)[1])
    if variant in ("qsc", "qsn"):
        words = [_han_word(t) if variant == "qsc" else _georgian(t) for t in tokens]
        sep = "" if variant == "qsc" else " "
        pieces, pos = [], 0
        for w in words:
            pieces.append((pos, pos + len(w)))
            pos += len(w) + len(sep)
        text = sep.join(words)
        spans = tuple(Span(pieces[a][0], pieces[b - 1][1], lab) for a, b, lab in ranges)
        alignment = pair.alignment
        word_ranges = tuple(pieces)
    else:
        host = _attach(tokens, ranges, forward=variant == "qsp")
        groups: dict[int, list[int]] = {}
        for i, h in enumerate(host):
            groups.setdefault(h, []).append(i)
        written = sorted(groups)
        new_index = {i: k for k, h in enumerate(written) for i in groups[h]}
        char_of: dict[int, tuple[int, int]] = {}
        text_parts, pos = [], 0
        for h in written:
            word_start = pos
            for i in groups[h]:
                char_of[i] = (pos, pos + len(tokens[i]))
                pos += len(tokens[i])
            text_parts.append("".join(tokens[i] for i in groups[h]))
            char_of[-h - 1] = (word_start, pos)
            pos += 1
        text = " ".join(text_parts)
        spans_list = []
        for a, b, lab in ranges:
            if variant == "qsp":  # whole written words
                spans_list.append(Span(char_of[-host[a] - 1][0], char_of[-host[b - 1] - 1][1], lab))
            else:  # the name itself, without the suffixes after it
                spans_list.append(Span(char_of[a][0], char_of[b - 1][1], lab))
        spans = tuple(spans_list)
        alignment = tuple(sorted({(s, new_index[t]) for s, t in pair.alignment}))
        word_ranges = tuple(char_of[-h - 1] for h in written)
    return VariantPair(pair.src, text, word_ranges, alignment, pair.src_spans, spans)


def generate_variant(variant: str, n: int, seed: int) -> list[VariantPair]:
    """``n`` pairs of ``variant`` (one of :data:`VARIANTS`) drawn from ``seed``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(VARIANTS)}")
    return [_rewrite(p, variant) for p in generate(n, seed)]
