"""Per-language treatment for alignment, chosen from the language code alone.

The aligner's stemmer (eflomal's prefix truncation) and the tokeniser's rules fit languages that
separate words with spaces and inflect with suffixes. Other families need other rules; this
module says which, for a code such as ``zh``, ``ar-EG`` or ``kor``:

=============  ==========================================  =====================================
family         words for alignment and projection          what the aligner compares
=============  ==========================================  =====================================
suffixing      spaces and punctuation (the default)        word prefixes (eflomal's truncation)
no-space       a word segmenter with its dictionary:       whole words
               ``jieba`` (zh), ``fugashi`` + ``unidic-lite``
               (ja), ``pythainlp`` newmm (th); grapheme
               clusters where no segmenter is packaged
               (lo, km, my, bo)
isolating      spaces (Vietnamese syllables)               whole words
agglutinating  Korean: particles split off their noun      word prefixes
               (``kiwipiepy``), so a projected name does
               not carry ``-은``, ``-에서``
prefixing      spaces; the words keep their clitics        clitic-stripped forms (ar, he, fa:
                                                           ``و ف ب ل ك ال``, ``ו ה ב ל מ ש כ``,
                                                           ``می``) cut to prefixes; Bantu
                                                           languages (sw, ...): word suffixes
=============  ==========================================  =====================================

Everything here is reversible: segmenters only cut a run of text into pieces, so token offsets
always point at the original characters, and clitic stripping changes only what the aligner
compares (:func:`alignment_forms`), never the tokens that spans are projected onto.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from curate.languages import base_language, macrolanguage

SUFFIXING, NO_SPACE, ISOLATING, AGGLUTINATING, PREFIXING = (
    "suffixing",
    "no-space",
    "isolating",
    "agglutinating",
    "prefixing",
)
#: how the aligner compares words: by prefix (a stemmer), whole, or by suffix
PREFIX, WHOLE, SUFFIX = "prefix", "whole", "suffix"


@dataclass(frozen=True)
class Treatment:
    """What a language gets: its family, segmenter, clitics and the aligner's stemming."""

    family: str = SUFFIXING
    #: name of the word segmenter for runs of a no-space script (None: grapheme clusters)
    segmenter: str | None = None
    #: split particles off the words they attach to (Korean, with kiwipiepy)
    split_particles: bool = False
    #: suffixes (longest first) split off the end of a word, repeatedly, as particles
    particles: tuple[str, ...] = ()
    #: clitic prefixes stripped from words before the aligner compares them: stages of
    #: ``(shortest stem left, prefixes)``, each stage stripping at most one prefix
    clitics: tuple[tuple[int, tuple[str, ...]], ...] = ()
    stem: str = PREFIX


# Clitic prefixes in stages, applied in order, each stage stripping at most one of its prefixes
# (the longest that leaves a stem of the stage's minimum length). Arabic follows Larkey's
# "light10" stemmer (and-, then the article with a preposition); Hebrew strips the
# conjunction, the relative she-, then one article or preposition; Persian the verb prefixes.
Stage = tuple[int, tuple[str, ...]]
_ARABIC_CLITICS: tuple[Stage, ...] = (
    (3, ("و",)),
    (2, ("وال", "بال", "كال", "فال", "لل", "ال")),
)
_HEBREW_CLITICS: tuple[Stage, ...] = (
    (3, ("ו",)),
    (3, ("ש",)),
    (3, ("ה", "ב", "ל", "מ", "כ")),
)
_PERSIAN_CLITICS: tuple[Stage, ...] = ((2, ("نمی\u200c", "می\u200c", "بی\u200c")),)

_TABLE: dict[str, Treatment] = {
    "zh": Treatment(NO_SPACE, segmenter="jieba", stem=WHOLE),
    "ja": Treatment(NO_SPACE, segmenter="fugashi", stem=WHOLE),
    "th": Treatment(NO_SPACE, segmenter="pythainlp", stem=WHOLE),
    **{c: Treatment(NO_SPACE, stem=WHOLE) for c in ("lo", "km", "my", "bo", "dz")},
    "vi": Treatment(ISOLATING, stem=WHOLE),
    "ko": Treatment(AGGLUTINATING, split_particles=True),
    "ar": Treatment(PREFIXING, clitics=_ARABIC_CLITICS),
    "he": Treatment(PREFIXING, clitics=_HEBREW_CLITICS),
    "fa": Treatment(PREFIXING, clitics=_PERSIAN_CLITICS),
    **{
        c: Treatment(PREFIXING, stem=SUFFIX)
        for c in ("sw", "zu", "xh", "lg", "rw", "rn", "ny", "sn", "ln", "kg", "ki", "st", "tn")
    },
}


def base_code(lang: str | None) -> str:
    """The code a treatment is kept under: the language of ``lang`` (``zh-Hant``, ``zh_CN``,
    ``zho``, ``ZH`` -> ``zh``), or its macrolanguage when only that has a treatment (``yue``,
    ``cmn`` -> ``zh``, ``arz`` -> ``ar``); ``""`` for None. Codes come from
    :mod:`curate.languages`."""
    code = base_language(lang)
    macro = macrolanguage(code) if code not in _TABLE else None
    return macro if macro in _TABLE else code


def treatment(lang: str | None) -> Treatment:
    """The treatment of ``lang`` (the suffixing default for codes not listed)."""
    return _TABLE.get(base_code(lang), Treatment())


def family(lang: str | None) -> str:
    return treatment(lang).family


def register_treatment(code: str, value: Treatment) -> None:
    """Give ``code`` a treatment (the synthetic variants register theirs on import)."""
    _TABLE[code.lower()] = value


def suffix_cuts(word: str, t: Treatment, min_stem: int = 1) -> list[int]:
    """Offsets in ``word`` where listed particles begin (``Parisna`` -> ``[5]``)."""
    cuts: list[int] = []
    end = len(word)
    while True:
        for p in t.particles:
            if word.endswith(p, 0, end) and end - len(p) >= min_stem:
                end -= len(p)
                cuts.append(end)
                break
        else:
            return sorted(cuts)


# --- segmenters (imported lazily: each loads a dictionary once) ----------------------------


@functools.cache
def _jieba() -> Callable[[str], Sequence[str]]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return functools.partial(jieba.lcut, HMM=True)


@functools.cache
def _fugashi() -> Callable[[str], Sequence[str]]:
    import fugashi

    tagger = fugashi.Tagger()  # unidic-lite's dictionary
    return lambda run: [w.surface for w in tagger(run)]


@functools.cache
def _pythainlp() -> Callable[[str], Sequence[str]]:
    from pythainlp.tokenize import word_tokenize

    return functools.partial(word_tokenize, engine="newmm", keep_whitespace=False)


_SEGMENTERS = {"jieba": _jieba, "fugashi": _fugashi, "pythainlp": _pythainlp}


def segmenter_for(lang: str | None) -> Callable[[str], Sequence[str]] | None:
    """The word segmenter for runs of a no-space script in ``lang``, or None (graphemes)."""
    name = treatment(lang).segmenter
    return _SEGMENTERS[name]() if name else None


@functools.cache
def _kiwi():
    from kiwipiepy import Kiwi

    return Kiwi()


def _hangul(ch: str) -> bool:
    return "\uac00" <= ch <= "\ud7a3" or "\u1100" <= ch <= "\u11ff" or "\u3130" <= ch <= "\u318f"


def particle_starts(text: str) -> set[int]:
    """Character offsets in ``text`` where Korean words are cut (kiwipiepy's analysis): where a
    particle (tag ``J*``) begins, and between a number or a Latin word and the Hangul written
    onto it (``13세`` -> ``13`` ``세``, ``Twp과`` -> ``Twp`` ``과``)."""
    cuts: set[int] = set()
    for m in _kiwi().tokenize(text):
        if m.tag.startswith("J") and m.start > 0:
            cuts.add(m.start)
        elif m.tag in ("SN", "SL"):
            end = m.start + m.len
            if m.start > 0 and _hangul(text[m.start - 1]):
                cuts.add(m.start)
            if end < len(text) and _hangul(text[end]):
                cuts.add(end)
    return cuts


# --- what the aligner compares ------------------------------------------------------------


def strip_clitic(word: str, t: Treatment) -> str:
    """``word`` without its clitic prefixes, stage by stage, where the stem left is long
    enough (``وبالمدينة`` -> ``مدينة``, ``كتاب`` stays)."""
    for min_stem, prefixes in t.clitics:
        for clitic in sorted(prefixes, key=len, reverse=True):
            if word.startswith(clitic) and len(word) - len(clitic) >= min_stem:
                word = word[len(clitic) :]
                break
    return word


def alignment_forms(tokens: Sequence[str], lang: str | None) -> list[str]:
    """The forms of ``tokens`` that the aligner compares (clitics stripped where listed)."""
    t = treatment(lang)
    if not t.clitics:
        return list(tokens)
    return [strip_clitic(w, t) for w in tokens]


def stem_mode(lang: str | None) -> str:
    """``prefix``, ``whole`` or ``suffix``: how the aligner should stem ``lang``'s words."""
    return treatment(lang).stem
