"""Numbers written as words, for the number check: "Thirty-two percent" / "32 %", "six" / "6".

A small lexicon per language (2 to 19 and the tens; English also reads hyphenated compounds such
as ``thirty-two``). Words that double as articles or pronouns ("one", "ein", "un", "una") are
left out on purpose: they would put a 1 into most sentences. Languages without a lexicon here
read no number words. The number check only reads words on rows whose digits differ, so the
lexicon only ever turns a "number on one side only" into a match or a changed number.
"""

from __future__ import annotations

import re

from curate.languages import base_language

_UNITS = {
    "en": "two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen",
    "de": "zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn vierzehn "
    "fünfzehn sechzehn siebzehn achtzehn neunzehn",
    "fr": "deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
    "seize dix-sept dix-huit dix-neuf",
    "es": "dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince "
    "dieciséis diecisiete dieciocho diecinueve",
    "it": "due tre quattro cinque sei sette otto nove dieci undici dodici tredici quattordici "
    "quindici sedici diciassette diciotto diciannove",
    "pt": "dois duas três quatro cinco seis sete oito nove dez onze doze treze catorze quinze "
    "dezesseis dezessete dezoito dezenove",
    "ro": "doi două trei patru cinci șase șapte opt nouă zece unsprezece doisprezece "
    "treisprezece paisprezece cincisprezece șaisprezece șaptesprezece optsprezece nouăsprezece",
}
_TENS = {
    "en": "twenty thirty forty fifty sixty seventy eighty ninety",
    "de": "zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig",
    "fr": "vingt trente quarante cinquante soixante soixante-dix quatre-vingts quatre-vingt-dix",
    "es": "veinte treinta cuarenta cincuenta sesenta setenta ochenta noventa",
    "it": "venti trenta quaranta cinquanta sessanta settanta ottanta novanta",
    "pt": "vinte trinta quarenta cinquenta sessenta setenta oitenta noventa",
    "ro": "douăzeci treizeci patruzeci cincizeci șaizeci șaptezeci optzeci nouăzeci",
}
#: Units that only occur inside an English compound ("twenty-one").
_EN_COMPOUND_UNITS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_EN_COMPOUND_UNITS.update({"seven": 7, "eight": 8, "nine": 9})


def _lexicon(lang: str) -> dict[str, int]:
    units = _UNITS[lang].split()
    # pt and ro have two genders of "two": both are 2
    values = []
    for word in units:
        values.append(values[-1] if word in ("duas", "două") else (values[-1] + 1 if values else 2))
    table = dict(zip(units, values, strict=True))
    if lang == "ro":  # "doisprezece" and "douăsprezece" are both 12; lexicon keeps the first
        table["douăsprezece"] = 12
    table.update({word: 10 * (i + 2) for i, word in enumerate(_TENS[lang].split())})
    return table


LEXICON: dict[str, dict[str, int]] = {lang: _lexicon(lang) for lang in _UNITS}


def _alternatives(lang: str) -> str:
    """The lexicon's words as one regex alternation, longest first ("thirty-two" for en)."""
    words = sorted(LEXICON[lang], key=len, reverse=True)
    if lang == "en":
        tens = "|".join(w for w in words if LEXICON[lang][w] >= 20)
        words = [rf"(?:{tens})-(?:{'|'.join(_EN_COMPOUND_UNITS)})", *words]
    return "|".join(words)


#: A whole lower-case word of the lexicon (hyphenated words count as one: "dix-sept").
_PATTERNS = {lang: re.compile(rf"(?<![\w-])({_alternatives(lang)})(?![\w-])") for lang in LEXICON}
#: polars (Rust regex) pattern for lower-cased text that holds a number word of any lexicon:
#: a fast vectorised pre-check before :func:`number_words` (no ``\b``: it is slow there).
ANY_NUMBER_WORD = (
    r"(?:^|[^\p{L}\p{N}-])(?:"
    + "|".join(_alternatives(lang) for lang in LEXICON)
    + r")(?:$|[^\p{L}\p{N}-])"
)


def number_words(text: str, lang: str | None) -> list[tuple[int, int, int]]:
    """``(value, start, end)`` of every number word of ``text`` in language ``lang``."""
    lang = base_language(lang)
    pattern = _PATTERNS.get(lang)
    if pattern is None:
        return []
    table = LEXICON[lang]
    out = []
    for m in pattern.finditer(text.lower()):
        word = m.group(1).lower()
        value = table.get(word)
        if value is None:  # an English compound
            tens, _, unit = word.partition("-")
            value = table[tens] + _EN_COMPOUND_UNITS[unit]
        out.append((value, m.start(), m.end()))
    return out
