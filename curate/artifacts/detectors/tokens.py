"""Copy-through tokens that a translation must keep: numbers, URLs, e-mail addresses, placeholders.

Each detector first compares the extracted tokens of both sides with vectorised polars string
operations and only looks closer (in Python) at the few rows that differ.

Numbers are compared by their digits (``1,000`` = ``1.000`` = ``1 000``; ``7.5`` = ``7,5``;
leading zeros dropped). Differences a faithful translation makes are forgiven: digits split or
joined differently (``7.55am`` / ``7:55``), short years (``SS19`` / ``2019``, ``1950-53`` /
``1953``, ``1930s`` / ``años 30``), clock times (``3 p.m.`` / ``15:00``), thousand/million
scaling (``1.5 million`` / ``1 500 000``) and, next to an imperial unit word, unit conversions
(inches/cm, feet/m, heights like ``6-foot-6`` / ``1,98 m``, miles/km, pounds/kg,
Fahrenheit/Celsius, ...; each unit word allows only
its own factors, rounded as far as the converted number's written digits go or by 5%). Where
the digits differ, numbers written as words (``thirty-two``, ``sechs``; see :mod:`.numwords`)
take part in the matching. What remains is scored by
its shape: a number on each side without a counterpart looks *changed* (1 point per such pair);
a number on one side only is more often written as a word or dropped as redundant on the other
("ten" / "10") and counts a third. Numbers in other numeral systems (Chinese 万, Roman) are not
read, but digits followed by the East Asian unit characters 千 万 億 兆 (천 만 억 조) are
(``1100万`` / ``11 million``).
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import NamedTuple

import numpy as np
import polars as pl

from curate.artifacts.detectors.numwords import (
    ANY_NUMBER_WORD,
    LEXICON,
    number_words,
)
from curate.artifacts.registry import Context, Scores, register
from curate.languages import base_language

_NUMBER = r"\d+(?:[.,'\u00a0\u202f\u2009]\d+)*"
_NUMBER_SPACED = re.compile(r"\d+(?:(?:[.,'\u00a0\u202f\u2009 ])\d{3}(?!\d))*(?:[.,]\d+)?|\d+")
_NUMBER_RE = re.compile(_NUMBER)
_URL = r"(?i)(?:https?://|www\.)[^\s<>\"'«»“”„]+"
_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_PLACEHOLDER = (
    r"\{\{\s*[\w.]*\s*\}\}|\{[\w.]*\}|%(?:\d+\$)?[sdfi]\b|%\(\w+\)[sdfi]\b|\$\{\w+\}"
    r"|<(?:x|g|ph|bx|ex)\b[^>]*>"
)

#: Unit conversion factors (target value / source value) a translator may apply, both ways,
#: per imperial unit word (a word start, as in ``_IMPERIAL``) that follows one of the numbers;
#: the converted value must match as far as its written digits go ("2,5" for 2.54) or within
#: 5%. Yards/metres and short/metric tons are near 1 and left out: they would excuse any
#: number changed by up to 15%. Temperatures also go through the Fahrenheit rule.
CONVERSIONS = (
    (re.compile(r"inch|zoll|pulgad|pouce|țol|tol", re.I), (2.54, 25.4)),
    (re.compile(r"foot|feet|ft|fu[ßs]|pie|picio", re.I), (0.3048, 30.48, 0.092903)),
    (re.compile(r"mile|meile|milla|mille|mil[eăi]|mph", re.I), (1.609344, 2.58999)),
    (re.compile(r"pound|lbs?\b|pfund|libra|livre", re.I), (0.453592,)),
    (re.compile(r"ounce|oz\b|unze|onza|once|uncie", re.I), (28.3495, 29.5735)),
    (re.compile(r"stone", re.I), (6.35029,)),
    (re.compile(r"gallon|gal[oó]n", re.I), (3.78541,)),
    (re.compile(r"pint", re.I), (0.473176,)),
    (re.compile(r"acre", re.I), (0.404686,)),
    # a difference of degrees Fahrenheit in Celsius ("10 degrees above average" / "6 Grad")
    (re.compile(r"degree|grad|°", re.I), (5 / 9,)),
)


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.digit(c)) if c.isdigit() else c for c in text)


_RANGE = r"(?:\s?(?:-|–|to|bis|and|or|à|a|y|et|și|o|ou|oder|und|al)\s?[\d.,]+)?"
#: Imperial (and US customary) unit words in the languages we meet most, as word starts.
_IMPERIAL = re.compile(
    _RANGE
    + r"\s?-?(?:inch|zoll|pulgad|pouce|țol|tol|foot|feet|ft\b|fu[ßs]|pie\b|pies|pied|picio|yard|"
    r"iard|mile|meile|milla|mille|mil[eăi]|mph|pound|lbs?\b|pfund|libra|livre|ounce|oz\b|unze|"
    r"onza|once|uncie|stone|gallon|gal[oó]n|pint|acre|°\s?f\b|fahrenheit|degree|grad)",
    re.IGNORECASE,
)
_FEET_INCHES = re.compile(
    r"\b(\d)[- ]?(?:foot|feet|ft\.?)[- ]?(\d{1,2})(?:[- ]?(?:inch(?:es)?|in\b\.?))?", re.IGNORECASE
)
_PM = re.compile(r"\s?(?::\d\d)?\s?[pP]\.?\s?[mM]\b")
_CLOCK_DOT = re.compile(r"\b(\d{1,2})[.:](\d\d)(?=\s?[aApP]\.?\s?[mM]\b)")


class _Num(NamedTuple):
    key: str  # digits, leading zeros dropped
    value: float
    after: str  # the text that follows (for unit words and "p.m.")
    #: half a unit of the last written digit ("2,8": 0.05; "28": 0.5): how far rounding can go
    step: float = 0.5
    #: written as a word ("six"), not in digits
    word: bool = False

    @property
    def unit(self) -> bool:
        """An imperial unit word follows ("6 feet", "2 to 4 inches")."""
        return bool(_IMPERIAL.match(self.after))

    @property
    def factors(self) -> tuple[float, ...]:
        """Conversion factors of the imperial unit word that follows, if any."""
        m = _IMPERIAL.match(self.after)
        if m is None:
            return ()
        unit = m.group(0).lstrip(" -0123456789.,").lower()
        for pattern, factors in CONVERSIONS:
            if pattern.search(unit):
                return factors
        return ()

    @property
    def pm(self) -> bool:
        """An afternoon clock hour ("3 p.m.", "5:30pm")."""
        return bool(_PM.match(self.after))


_GROUP_SEP = re.compile(r"[^\d]")
_SPACED_HINT = re.compile(r"\d \d{3}(?!\d)")


def _parse(m: re.Match[str], text: str) -> _Num:
    raw = m.group(0)
    if not raw.isascii():
        raw = _ascii_digits(raw)
    groups = _GROUP_SEP.split(raw)
    digits = "".join(groups)
    step = 0.5
    if len(groups) > 1 and len(groups[-1]) != 3:  # last separator is a decimal mark
        value = float("".join(groups[:-1]) + "." + groups[-1])
        step = 0.5 * 10.0 ** -len(groups[-1])
    else:
        value = float(digits)
    return _Num(digits.lstrip("0") or "0", value, text[m.end() : m.end() + 32], step)


def _feet_inches(text: str) -> tuple[str, list[tuple[int, _Num]]]:
    """Heights such as ``6-foot-6`` or ``5 ft 11 in`` as one number of feet (6.5, 5.92), so
    that they match their conversion (``1,98 m``); the text comes back with them blanked."""
    found = []
    for m in _FEET_INCHES.finditer(text):
        feet, inches = int(m.group(1)), int(m.group(2))
        value = feet + inches / 12
        found.append((m.start(), _Num(f"{feet}'{inches}", value, " feet", 0.5 / 12)))
    return _FEET_INCHES.sub(lambda m: " " * len(m.group(0)), text), found


#: East Asian number units written after digits: small ones (十 百 千) multiply the digits
#: before them, large ones (万 億 兆) everything since the previous large one.
_SMALL_UNITS = {"十": 1, "십": 1, "百": 2, "백": 2, "千": 3, "천": 3}
_LARGE_UNITS = {"万": 4, "萬": 4, "만": 4, "億": 8, "억": 8, "兆": 12, "조": 12}
_UNIT_CHARS = "".join(_SMALL_UNITS) + "".join(_LARGE_UNITS)
#: Digits with unit characters, as one expression (``1億2千万``, ``37만 5,000``, ``22 억 5 천만``).
_MYRIAD = re.compile(
    rf"{_NUMBER}\s?[{_UNIT_CHARS}](?:\s?(?:{_NUMBER}\s?)?[{_UNIT_CHARS}])*(?:\s?{_NUMBER})?"
)
_MYRIAD_PART = re.compile(rf"({_NUMBER})?\s?([{_UNIT_CHARS}])|({_NUMBER})")


def _plain_value(raw: str) -> float:
    groups = re.split(r"[^\d]", _ascii_digits(raw))
    if len(groups) > 1 and len(groups[-1]) != 3:  # last separator is a decimal mark
        return float("".join(groups[:-1]) + "." + groups[-1])
    return float("".join(groups))


def _myriad_value(expression: str) -> float:
    total = section = 0.0
    for number, unit, plain in _MYRIAD_PART.findall(expression):
        if plain:
            section += _plain_value(plain)
        elif unit in _SMALL_UNITS:
            section += (_plain_value(number) if number else 1.0) * 10.0 ** _SMALL_UNITS[unit]
        else:
            section += _plain_value(number) if number else 0.0
            total += (section or 1.0) * 10.0 ** _LARGE_UNITS[unit]
            section = 0.0
    return total + section


def _myriads(text: str) -> tuple[str, list[tuple[int, _Num]]]:
    """Numbers written with East Asian unit characters as one value (``1億2,500万`` =
    125,000,000, ``1억 4천 2백만`` = 142,000,000); the text comes back with them blanked."""
    found = []
    for m in _MYRIAD.finditer(text):
        value = _myriad_value(m.group(0))
        key = f"{value:.0f}" if value == int(value) else repr(value).replace(".", "")
        found.append((m.start(), _Num(key, value, text[m.end() : m.end() + 32])))
    if found:
        text = _MYRIAD.sub(lambda m: " " * len(m.group(0)), text)
    return text, found


def _numbers(text: str, spaced: bool, lang: str | None = None) -> list[_Num]:
    if "m" in text or "M" in text:
        text = _CLOCK_DOT.sub(r"\1:\2", text)
    found: list[tuple[int, _Num]] = []
    if "f" in text:
        text, found = _feet_inches(text)
    if not text.isascii():
        text, myriads = _myriads(text)
        found += myriads
    pattern = _NUMBER_SPACED if spaced else _NUMBER_RE
    found += [
        (m.start(), _parse(m, text))
        for m in pattern.finditer(text)
        if not (m.start() and text[m.start() - 1] == ":" and not m.group(0).strip("0"))
    ]  # the ":00" of a clock time is no number of its own
    found += [
        (a, _Num(str(v), float(v), text[b : b + 32], word=True))
        for v, a, b in number_words(text, lang)
    ]
    return [n for _, n in sorted(found, key=lambda x: x[0])]


def _converted(x: float, y: _Num, factor: float) -> bool:
    """``y`` is ``x`` times ``factor``, rounded as far as its written digits (or by 5%)."""
    expected = x * factor
    return abs(y.value - expected) <= max(0.05 * expected, y.step)


def _explained(a: _Num, b: _Num) -> bool:
    """A pair of unequal numbers that a faithful translation can produce."""
    x, y = a.value, b.value
    short, long_ = sorted((a.key, b.key), key=len)
    if len(short) == 2 and len(long_) == 4 and long_[:2] in ("19", "20") and long_.endswith(short):
        return True  # '19 / 2019, 1950-53 / 1953, the 1930s / los años 30
    if x == 0 or y == 0:
        return False
    ratio = y / x
    if any(abs(ratio / s - 1) < 1e-9 for s in (1e3, 1e6, 1e9, 1e-3, 1e-6, 1e-9)):
        return True
    if (a.pm and y == x + 12) or (b.pm and x == y + 12):
        return True
    if a.unit or b.unit:
        if abs((x - 32) * 5 / 9 - y) <= 1.5 or abs((y - 32) * 5 / 9 - x) <= 1.5:  # Fahrenheit
            return True
        for factor in a.factors + b.factors:
            if _converted(x, b, factor) or _converted(y, a, factor):
                return True
    return False


def _take(numbers: list[_Num], surplus: Counter[str]) -> list[_Num]:
    out = []
    for n in numbers:
        if surplus[n.key] > 0:
            surplus[n.key] -= 1
            out.append(n)
    return out


def _join_adjacent(a: list[_Num], b: list[_Num]) -> None:
    """Match a number of one side against two neighbours of the other (``755`` / ``7`` ``55``)."""
    for one, two in ((a, b), (b, a)):
        i = 0
        while i < len(two) - 1:
            joined = two[i].key + two[i + 1].key.rjust(2, "0")
            hit = next((x for x in one if x.key in (joined, two[i].key + two[i + 1].key)), None)
            if hit is not None:
                one.remove(hit)
                del two[i : i + 2]
            else:
                i += 1


def _unmatched(src: list[_Num], tgt: list[_Num]) -> tuple[list[_Num], list[_Num]]:
    src_keys, tgt_keys = Counter(n.key for n in src), Counter(n.key for n in tgt)
    a = _take(src, src_keys - tgt_keys)
    b = _take(tgt, tgt_keys - src_keys)
    _join_adjacent(a, b)
    for x in list(a):
        for y in b:
            if _explained(x, y):
                a.remove(x)
                b.remove(y)
                break
    return a, b


def number_difference(
    source: str,
    text: str,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    *,
    languages: tuple[str | None, str | None] | None = None,
) -> tuple[float, list[str], list[str]]:
    """Score of the numbers without a counterpart, and the unmatched digits of each side.

    With the languages given, numbers written as words (:mod:`.numwords`) count too. A number
    word left without a counterpart only counts where the other side's language has a lexicon
    (its counterpart may be a word the lexicon cannot read: Korean 세 for "three");
    ``languages`` names the pair's languages where ``src_lang``/``tgt_lang`` are None only to
    skip reading words.
    """
    src_code, tgt_code = languages or (src_lang, tgt_lang)
    keep_src_words = base_language(tgt_code) in LEXICON
    keep_tgt_words = base_language(src_code) in LEXICON
    best: tuple[float, list[str], list[str]] | None = None
    spacings = (
        (False, True) if _SPACED_HINT.search(source) or _SPACED_HINT.search(text) else (False,)
    )
    for spaced in spacings:
        a, b = _unmatched(_numbers(source, spaced, src_lang), _numbers(text, spaced, tgt_lang))
        a = [n for n in a if keep_src_words or not n.word]
        b = [n for n in b if keep_tgt_words or not n.word]
        changed = min(len(a), len(b))
        score = changed + (len(a) + len(b) - 2 * changed) / 3
        result = (score, [n.key for n in a], [n.key for n in b])
        if best is None or result[0] < best[0]:
            best = result
    assert best is not None
    return best


def _digit_keys(column: str) -> pl.Expr:
    """Sorted digit strings of a column's numbers, inner separators removed (fast pre-check)."""
    return (
        pl.col(column)
        .str.replace_all(r"(\d)[.,'\u00a0\u202f\u2009](\d)", "$1$2")
        .str.extract_all(r"\d+")
        .list.sort()
    )


@register("number_mismatch", version="3", threshold=1.0)
def number_mismatch(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """Numbers of the source missing from the output, or numbers the output made up.

    Score: numbers that look changed (1 each) plus numbers found on one side only (1/3 each),
    after forgiving what faithful translations do (see the module docstring); flagged at 1.
    Where the digits differ, numbers written as words count too (``thirty-two`` / ``32``,
    ``six`` / ``7``; English, German, French, Spanish, Italian, Portuguese, Romanian).
    """
    keys = pairs.select(_digit_keys("source_text").alias("s"), _digit_keys("text").alias("t"))
    differs = (keys["s"] != keys["t"]).fill_null(True).to_numpy()
    rows = np.flatnonzero(differs)
    score = np.zeros(pairs.height)
    found: dict[int, tuple[list[str], list[str]]] = {}
    src = pairs["source_text"].gather(rows).to_list()
    tgt = pairs["text"].gather(rows).to_list()
    src_keys = keys["s"].gather(rows).to_list()
    tgt_keys = keys["t"].gather(rows).to_list()
    src_lang = pairs["src_lang"].gather(rows).to_list()
    tgt_lang = pairs["tgt_lang"].gather(rows).to_list()
    worded = pairs.select(
        pl.col(c).gather(rows).str.to_lowercase().str.contains(ANY_NUMBER_WORD)
        for c in ("source_text", "text")
    )
    src_worded, tgt_worded = worded["source_text"].to_list(), worded["text"].to_list()
    for k, i in enumerate(rows.tolist()):
        a, b = Counter(src_keys[k]), Counter(tgt_keys[k])
        missing, extra = list((a - b).elements()), list((b - a).elements())
        # languages whose number words to read (None: the text has none, skip the search)
        s_lang = src_lang[k] if src_worded[k] else None
        t_lang = tgt_lang[k] if tgt_worded[k] else None
        if missing:
            words = t_lang is not None and number_words(tgt[k], t_lang)
        else:
            words = s_lang is not None and number_words(src[k], s_lang)
        if (missing and extra) or words:
            # numbers on both sides without a match (in digits or words): look closer
            score[i], missing, extra = number_difference(
                src[k], tgt[k], s_lang, t_lang, languages=(src_lang[k], tgt_lang[k])
            )
        else:  # on one side only: written as words or dropped on the other
            score[i] = (len(missing) + len(extra)) / 3
        found[i] = (missing, extra)

    def explain(i: int) -> str:
        missing, extra = found[i]
        return f"missing {' '.join(missing) or '-'}; not in source {' '.join(extra) or '-'}"

    return Scores(score, explain=explain)


def _set_mismatch(pairs: pl.DataFrame, pattern: str, strip: str, what: str) -> Scores:
    def tokens(column: str) -> pl.Expr:
        return (
            pl.col(column)
            .str.extract_all(pattern)
            .list.eval(pl.element().str.strip_chars_end(strip).str.to_lowercase())
            .list.unique()
        )

    sets = pairs.select(tokens("source_text").alias("s"), tokens("text").alias("t"))
    diff = sets.select(
        pl.col("s").list.set_difference("t").alias("missing"),
        pl.col("t").list.set_difference("s").alias("extra"),
    )
    score = (diff["missing"].list.len() + diff["extra"].list.len()).cast(pl.Float64).to_numpy()

    def explain(i: int) -> str:
        missing = ", ".join(diff["missing"][i].to_list()) or "-"
        extra = ", ".join(diff["extra"][i].to_list()) or "-"
        return f"{what} missing: {missing}; not in source: {extra}"

    return Scores(score, explain=explain)


@register("url_mismatch", version="1", threshold=1.0)
def url_mismatch(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """URLs of the source missing from the output or added to it (case-insensitive).

    Score: number of distinct URLs present on one side only; flagged at 1.
    """
    return _set_mismatch(pairs, _URL, ".,;:!?)]}", "URLs")


@register("email_mismatch", version="1", threshold=1.0)
def email_mismatch(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """E-mail addresses of the source missing from the output or added to it.

    Score: number of distinct addresses present on one side only; flagged at 1.
    """
    return _set_mismatch(pairs, _EMAIL, ".", "e-mails")


@register("placeholder_mismatch", version="1", threshold=1.0)
def placeholder_mismatch(pairs: pl.DataFrame, params: object, ctx: Context) -> Scores:
    """Format placeholders (``{0}``, ``{name}``, ``{{var}}``, ``%s``, ``%(n)d``, ``${x}``, XLIFF
    inline tags) not carried over exactly, counting repeats.

    Score: placeholders present on one side only (as a multiset); flagged at 1.
    """
    lists = pairs.select(
        pl.col("source_text").str.extract_all(_PLACEHOLDER).list.sort().alias("s"),
        pl.col("text").str.extract_all(_PLACEHOLDER).list.sort().alias("t"),
    )
    differs = (lists["s"] != lists["t"]).fill_null(True).to_numpy()
    score = np.zeros(pairs.height)
    found: dict[int, tuple[list[str], list[str]]] = {}
    for i in np.flatnonzero(differs):
        s, t = Counter(lists["s"][int(i)].to_list()), Counter(lists["t"][int(i)].to_list())
        missing, extra = list((s - t).elements()), list((t - s).elements())
        score[i] = len(missing) + len(extra)
        found[int(i)] = (missing, extra)

    def explain(i: int) -> str:
        missing, extra = found[i]
        return f"placeholders missing: {' '.join(missing) or '-'}; added: {' '.join(extra) or '-'}"

    return Scores(score, explain=explain)
