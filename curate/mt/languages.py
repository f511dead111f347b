"""Map the language codes users type (ISO 639-1/-3, BCP 47, names) to a model's own codes.

Users write ``de``, ``deu``, ``ger``, ``zh-Hant``, ``pt-BR`` or even ``German``; models want
``deu_Latn`` (NLLB-200), ``__de__`` (M2M-100), ``<2de>`` (MADLAD-400) or nothing (a Marian
model for one pair). :class:`LanguageTable` holds a model's native codes with the ISO tag each
stands for and resolves a user's code to exactly one of them, or raises a
:class:`~curate.errors.UserError` that names the language and lists close matches.

Parsing, canonical codes and names come from :mod:`curate.languages` (``langcodes`` and the
macrolanguages the models pick a member of); the families' code lists are in
:mod:`curate.mt.langtables`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import langcodes

from curate.errors import UserError
from curate.languages import (
    INDIVIDUAL_TO_MACRO,
    MACROLANGUAGES,
    canonical_tag,
    language_name,
    parse_language,
)


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
        candidates = candidates or self._by_language.get(INDIVIDUAL_TO_MACRO.get(lang, ""), [])
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
