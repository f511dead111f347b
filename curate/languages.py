"""Language codes: the one place that says whether a code names a language, and its canonical
code, English name, likely script and macrolanguage.

Users write ``de``, ``deu``, ``ger``, ``DE``, ``de_AT``, ``eng_Latn`` or ``German``. Parsing,
ISO 639 aliases, likely scripts and names come from ``langcodes`` (with ``language_data``); the
macrolanguage an individual language belongs to comes from the IANA subtag registry that
``language_data`` ships. What this project adds is small and stated here:

* the canonical (store) form of a code is its shortest standard tag, with the individual
  languages the translation models use for a macrolanguage (``arb``, ``pes``, ``nb``, see
  :data:`MACROLANGUAGES`) written as the macrolanguage (``ar``, ``fa``, ``no``);
* the private-use code ``qsy`` is this project's synthetic language (:data:`PRIVATE_NAMES`).

A model family's own codes (``deu_Latn``, ``__de__``, ``<2de>``) are resolved from these in
:mod:`curate.mt.languages`; per-language treatment for alignment is in
:mod:`curate.align.languages`.
"""

from __future__ import annotations

from functools import cache

import langcodes

from curate.errors import UserError

#: Names for codes that ``langcodes`` cannot know (private use, ISO 639 ``qaa``-``qtz``).
PRIVATE_NAMES = {"qsy": "Synthetic"}

#: macrolanguage (as langcodes normalises it) -> the individual language NLLB-200 and other
#: translation models use for it; the store writes the macrolanguage for both.
MACROLANGUAGES: dict[str, str] = {
    "ar": "arb",
    "ay": "ayr",
    "az": "azj",
    "din": "dik",
    "et": "ekk",
    "fa": "pes",
    "ff": "fuv",
    "kr": "knc",
    "ku": "kmr",
    "lv": "lvs",
    "mg": "plt",
    "mn": "khk",
    "ms": "zsm",
    "ne": "npi",
    "no": "nb",
    "om": "gaz",
    "or": "ory",
    "ps": "pbt",
    "qu": "quy",
    "sq": "als",
    "sw": "swh",
    "tmh": "taq",
    "uz": "uzn",
    "yi": "ydd",
}
#: the reverse of :data:`MACROLANGUAGES`: individual language -> macrolanguage
INDIVIDUAL_TO_MACRO = {v: k for k, v in MACROLANGUAGES.items()}


@cache
def parse_language(code: str) -> langcodes.Language:
    """Parse a user's language code (or English name) into a ``langcodes.Language``."""
    text = code.strip()
    if not text:
        raise UserError("empty language code")
    try:
        lang = langcodes.Language.get(text.replace("_", "-"))
        if lang.language and lang.is_valid():
            return lang
    except (langcodes.LanguageTagError, ValueError):
        pass
    try:  # a language name such as "German" or "Swiss German"
        return langcodes.find(text)
    except LookupError:
        raise UserError(
            f"{code!r} is not a language code (give ISO 639-1/-3 such as 'de' or 'deu')"
        ) from None


def store_language(code: str, key: str = "language") -> str:
    """The one form a language code takes in the store: the shortest standard tag.

    ISO 639-1 and 639-3 codes of one language are one tag (``yor`` and ``yo`` -> ``yo``,
    ``deu``/``ger`` -> ``de``, ``eng_Latn`` -> ``en``; macrolanguage members such as ``arb``
    -> ``ar``); a region or an unusual script stays (``de-AT``, ``zh-Hant``). Names are not
    codes: ``english`` raises a :class:`UserError` naming ``key`` and suggesting the code.
    """
    found = store_form(str(code).strip().replace("_", "-"))
    if found is None:
        raise UserError(
            f"{key}: {code!r} is not an ISO 639 language code", hint=_code_hint(str(code).strip())
        )
    return found


@cache
def store_form(text: str) -> str | None:
    """:func:`store_language` of a code (``_`` read as ``-``); None when it is not a code."""
    text = text.replace("_", "-")
    if text.lower() == "und":
        return "und"
    try:
        parsed = langcodes.Language.get(langcodes.standardize_tag(text, macro=True))
    except (langcodes.LanguageTagError, ValueError):
        return None
    if not parsed.language or not parsed.is_valid():
        return None
    language = INDIVIDUAL_TO_MACRO.get(parsed.language, parsed.language)
    return langcodes.Language.make(
        language=language, script=parsed.script, territory=parsed.territory
    ).to_tag()


def is_language(code: str | None) -> bool:
    """Whether ``code`` is a language code (not a name, not empty)."""
    return bool(code) and store_form(str(code).strip()) is not None


@cache
def base_language(code: str | None) -> str:
    """The language subtag of a code's store form, without script or region: ``zh-Hant``,
    ``zh_CN``, ``zho``, ``ZH`` -> ``zh``; ``deu_Latn`` -> ``de``. A code that is not one comes
    back lower-cased up to its first ``-``/``_``; ``""`` for None."""
    text = (code or "").strip()
    found = store_form(text) if text else None
    if found is None:
        return text.lower().replace("_", "-").split("-")[0]
    return found.split("-")[0]


@cache
def macrolanguage(code: str | None) -> str | None:
    """The macrolanguage the IANA registry puts a language in (``yue``, ``cmn`` -> ``zh``;
    ``arz`` -> ``ar``), None if it has none or is not a code."""
    return _registry_macrolanguages().get(base_language(code))


@cache
def _registry_macrolanguages() -> dict[str, str]:
    from language_data.registry_parser import parse_registry

    return {
        item["Subtag"]: item["Macrolanguage"]
        for item in parse_registry()
        if item.get("Type") == "language" and "Macrolanguage" in item
    }


@cache
def language_name(code: str) -> str:
    """English name of a language code (``de`` -> ``German``, ``qsy`` -> ``Synthetic``).

    Unknown codes come back unchanged, so a template or a message never fails on a name.
    """
    if code in PRIVATE_NAMES:
        return PRIVATE_NAMES[code]
    try:
        language = langcodes.Language.get(code)
    except (langcodes.LanguageTagError, ValueError, LookupError):
        return code
    if language.language in PRIVATE_NAMES and not language.script:
        return PRIVATE_NAMES[language.language]
    name = language.display_name()
    return code if name.lower().startswith("unknown") else name


def likely_script(code: str) -> str | None:
    """The ISO 15924 script a language is most likely written in (``de`` -> ``Latn``)."""
    try:
        return langcodes.Language.get(code).maximize().script
    except (langcodes.LanguageTagError, ValueError, LookupError):
        return None


def canonical_tag(language: str, script: str | None = None, *, keep_script: bool = False) -> str:
    """The tag recorded for a language: the macrolanguage where the models pick one member
    (``arb`` -> ``ar``), the script only when it matters (``zh-Hant``, not ``de-Latn``)."""
    lang = langcodes.Language.get(language).language or language
    lang = INDIVIDUAL_TO_MACRO.get(lang, lang)
    if script and (keep_script or script != likely_script(lang)):
        return f"{lang}-{script}"
    return lang


def _code_hint(text: str) -> str:
    try:
        found = langcodes.find(text).language
    except LookupError:
        found = None
    example = f"'{found}' for {language_name(found)}" if found else "'de' or 'deu'"
    return f"give an ISO 639-1 or 639-3 code, e.g. {example}"
