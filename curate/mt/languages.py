"""Map the language codes users type (ISO 639-1/-3, BCP 47, names) to a model's own codes.

Users write ``de``, ``deu``, ``ger``, ``zh-Hant``, ``pt-BR`` or even ``German``; models want
``deu_Latn`` (NLLB-200), ``__de__`` (M2M-100), ``<2de>`` (MADLAD-400) or nothing (a Marian
model for one pair). :class:`LanguageTable` holds a model's native codes with the ISO tag each
stands for and resolves a user's code to exactly one of them, or raises a
:class:`~curate.errors.UserError` that names the language and lists close matches.

Parsing and normalisation come from ``langcodes`` (IETF BCP 47, ISO 639 aliases and likely
scripts); the macrolanguage table in :mod:`curate.mt.langtables` fills the one gap it leaves.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache

import langcodes

from curate.errors import UserError
from curate.mt.langtables import MACROLANGUAGES

_INDIVIDUAL_TO_MACRO = {v: k for k, v in MACROLANGUAGES.items()}


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
    if text.lower() == "und":
        return "und"
    try:
        parsed = langcodes.Language.get(langcodes.standardize_tag(text, macro=True))
    except (langcodes.LanguageTagError, ValueError):
        return None
    if not parsed.language or not parsed.is_valid():
        return None
    language = _INDIVIDUAL_TO_MACRO.get(parsed.language, parsed.language)
    return langcodes.Language.make(
        language=language, script=parsed.script, territory=parsed.territory
    ).to_tag()


def _code_hint(text: str) -> str:
    try:
        found = langcodes.find(text).language
    except LookupError:
        found = None
    example = f"'{found}' for {language_name(found)}" if found else "'de' or 'deu'"
    return f"give an ISO 639-1 or 639-3 code, e.g. {example}"


def language_name(tag: str) -> str:
    """English name of a tag, e.g. ``"German"``; the tag itself when unknown."""
    try:
        name = langcodes.Language.get(tag).display_name()
    except (langcodes.LanguageTagError, ValueError, LookupError):
        return tag
    return tag if name.lower().startswith("unknown") else name


def likely_script(lang: str) -> str | None:
    try:
        return langcodes.Language.get(lang).maximize().script
    except (langcodes.LanguageTagError, ValueError, LookupError):
        return None


def canonical_tag(language: str, script: str | None = None, *, keep_script: bool = False) -> str:
    """The tag we record for a language: the macrolanguage where the models pick one member
    (``arb`` -> ``ar``), the script only when it matters (``zh-Hant``, not ``de-Latn``)."""
    lang = langcodes.Language.get(language).language or language
    lang = _INDIVIDUAL_TO_MACRO.get(lang, lang)
    if script and (keep_script or script != likely_script(lang)):
        return f"{lang}-{script}"
    return lang


@dataclass(frozen=True)
class ResolvedLanguage:
    """A user's language as one model understands it."""

    native: str  # what the model wants, e.g. "deu_Latn", "de", "qsy"
    tag: str  # what we record in datasets and the translation memory, e.g. "de"


@dataclass
class LanguageTable:
    """The languages a model supports: native code -> (language subtag, script or None)."""

    model: str
    entries: dict[str, tuple[str, str | None, str | None]]  # language, script, territory
    _by_language: dict[str, list[str]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_language = {}
        for native, (lang, _script, _territory) in self.entries.items():
            self._by_language.setdefault(lang, []).append(native)

    @classmethod
    def from_natives(
        cls, model: str, natives: Iterable[str], to_tag: Callable[[str], str]
    ) -> LanguageTable:
        """Build from native codes and a function giving each one's BCP 47 tag."""
        entries: dict[str, tuple[str, str | None, str | None]] = {}
        for native in natives:
            parsed = langcodes.Language.get(to_tag(native))
            entries[native] = (parsed.language or native, parsed.script, parsed.territory)
        return cls(model, entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, code: str) -> bool:
        try:
            self.resolve(code)
        except UserError:
            return False
        return True

    def tag(self, native: str) -> str:
        lang, script, territory = self.entries[native]
        several_scripts = len({self.entries[n][1] for n in self._by_language[lang]}) > 1
        tag = canonical_tag(lang, script, keep_script=several_scripts)
        return f"{tag}-{territory}" if territory else tag

    def tags(self) -> list[str]:
        return sorted({self.tag(n) for n in self.entries})

    def resolve(self, code: str, role: str = "") -> ResolvedLanguage:
        """The native code for ``code``; :class:`UserError` if the model lacks the language."""
        if code in self.entries:
            return ResolvedLanguage(code, self.tag(code))
        parsed = parse_language(code)
        lang = parsed.language or ""
        candidates = (self._by_language.get(lang) or []) + (
            self._by_language.get(MACROLANGUAGES.get(lang, "")) or []
        )
        candidates = candidates or self._by_language.get(_INDIVIDUAL_TO_MACRO.get(lang, ""), [])
        if not candidates:
            raise self._unsupported(code, parsed, role)
        # A regional variant (prs_Arab is "fa-AF", Dari) only when the region was asked for.
        regional = [n for n in candidates if self.entries[n][2] == parsed.territory]
        candidates = regional or [n for n in candidates if not self.entries[n][2]] or candidates
        scripts = {self.entries[n][1] for n in candidates} - {None}
        if parsed.script and scripts:
            with_script = [n for n in candidates if self.entries[n][1] == parsed.script]
            if not with_script:
                raise UserError(
                    f"model {self.model} has no {role}{' ' if role else ''}language "
                    f"{language_name(lang)} in script {parsed.script} "
                    f"(it has {', '.join(sorted(scripts))})"
                )
            candidates = with_script
        if len(candidates) > 1:
            likely = parsed.maximize().script
            preferred = [n for n in candidates if self.entries[n][1] == likely]
            candidates = preferred or sorted(candidates)
        native = candidates[0]
        return ResolvedLanguage(native, self.tag(native))

    def _unsupported(self, code: str, parsed: langcodes.Language, role: str) -> UserError:
        name = language_name(parsed.to_tag())
        tags = self.tags()
        if len(tags) <= 12:
            hint = f"it supports: {', '.join(f'{t} ({language_name(t)})' for t in tags)}"
        else:
            close = self.close_matches(code, parsed)
            hint = f"close matches: {', '.join(close)}" if close else None
            hint = f"{hint + '; ' if hint else ''}{len(tags)} languages in all"
        return UserError(
            f"model {self.model} does not support {role}{' ' if role else ''}language "
            f"{code!r} ({name})",
            hint=hint,
        )

    def close_matches(self, code: str, parsed: langcodes.Language | None = None) -> list[str]:
        """Supported tags that look like ``code`` or whose name shares a word with its name."""
        tags = self.tags()
        found = difflib.get_close_matches(code.lower(), tags, n=5, cutoff=0.6)
        if parsed is not None:
            words = set(language_name(parsed.to_tag()).lower().split())
            for tag in tags:
                if words & set(language_name(tag).lower().split()) and tag not in found:
                    found.append(tag)
        return [f"{t} ({language_name(t)})" for t in found[:8]]
