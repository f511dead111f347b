"""Model families and how each one is told the source and target language.

=========  ======================================  ==============================================
family     native language code                    how the language reaches the model
=========  ======================================  ==============================================
nllb       FLORES-200, ``deu_Latn``                source starts with the source code; the target
                                                   prefix is the target code
m2m100     ``de``, written ``__de__`` as a token   same, with ``__xx__`` tokens
madlad     ``de``, written ``<2de>``               the source starts with ``<2de>`` (target only)
marian     ISO, from the model's metadata          one model per pair, nothing to add (a
                                                   multi-target OPUS model takes ``>>deu<<``)
=========  ======================================  ==============================================

Each family also knows how to find its supported languages in the model's vocabulary, so a
loaded model, not a table in this file, decides what it supports.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from curate.errors import UserError
from curate.mt.langtables import FLORES200, M2M100, M2M100_ALIASES
from curate.mt.languages import LanguageTable


@dataclass(frozen=True)
class LanguageFraming:
    """Special tokens around a tokenised source, and the forced start of the target."""

    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ("</s>",)
    target_prefix: tuple[str, ...] = ()

    @property
    def extra_tokens(self) -> int:
        return len(self.before) + len(self.after)


class Family(ABC):
    """Conventions of one model family: which languages a model has, and how to ask for one."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""

    @abstractmethod
    def tables(
        self, model: str, vocabulary: Sequence[str], metadata: dict[str, Any]
    ) -> tuple[LanguageTable, LanguageTable]:
        """(source languages, target languages) of a model."""

    @abstractmethod
    def framing(self, src: str, tgt: str) -> LanguageFraming:
        """The tokens that tell the model the language pair."""

    def strip_output(self, tokens: list[str], framing: LanguageFraming) -> list[str]:
        """Remove the forced target prefix from a hypothesis."""
        n = len(framing.target_prefix)
        if n and tokens[:n] == list(framing.target_prefix):
            return tokens[n:]
        return tokens


class CodedFamily(Family):
    """A many-to-many family whose languages are special tokens of its vocabulary."""

    @abstractmethod
    def native_codes(self, vocabulary: Sequence[str], metadata: dict[str, Any]) -> list[str]:
        """The model's own language codes (e.g. ``eng_Latn``), from vocabulary or metadata."""

    def native_to_tag(self, native: str) -> str:
        return native

    def tables(
        self, model: str, vocabulary: Sequence[str], metadata: dict[str, Any]
    ) -> tuple[LanguageTable, LanguageTable]:
        table = LanguageTable.from_natives(
            model, self.native_codes(vocabulary, metadata), self.native_to_tag
        )
        return table, table


class NLLB(CodedFamily):
    name = "nllb"
    description = "NLLB-200: FLORES-200 codes (eng_Latn), target code as decoder prefix"
    _code = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")

    def native_codes(self, vocabulary: Sequence[str], metadata: dict[str, Any]) -> list[str]:
        found = [t for t in vocabulary if self._code.match(t)]
        return found or list(FLORES200)

    def native_to_tag(self, native: str) -> str:
        return native.replace("_", "-")

    def framing(self, src: str, tgt: str) -> LanguageFraming:
        return LanguageFraming(before=(src,), target_prefix=(tgt,))


class M2M100Family(CodedFamily):
    name = "m2m100"
    description = "M2M-100: __de__ tokens on the source and as decoder prefix"
    _token = re.compile(r"^__([a-z]{2,3})__$")

    def native_codes(self, vocabulary: Sequence[str], metadata: dict[str, Any]) -> list[str]:
        found = [m.group(1) for t in vocabulary if (m := self._token.match(t))]
        return found or list(M2M100)

    def native_to_tag(self, native: str) -> str:
        return M2M100_ALIASES.get(native, native)

    def framing(self, src: str, tgt: str) -> LanguageFraming:
        return LanguageFraming(before=(f"__{src}__",), target_prefix=(f"__{tgt}__",))


class MADLAD(CodedFamily):
    name = "madlad"
    description = "MADLAD-400 (T5): a <2de> tag starts the source; no source language needed"
    _token = re.compile(r"^<2([A-Za-z]{2,3}(?:[_-][A-Za-z0-9]+)*)>$")

    def native_codes(self, vocabulary: Sequence[str], metadata: dict[str, Any]) -> list[str]:
        found = [m.group(1) for t in vocabulary if (m := self._token.match(t))]
        if not found:
            raise UserError("a MADLAD-400 model must have <2xx> language tags in its vocabulary")
        return found

    def native_to_tag(self, native: str) -> str:
        return native.replace("_", "-")

    def framing(self, src: str, tgt: str) -> LanguageFraming:
        return LanguageFraming(before=(f"<2{tgt}>",))


class Marian(Family):
    name = "marian"
    description = "Marian / OPUS-MT: one model per pair (or >>xxx<< target tags), ISO codes"
    _token = re.compile(r"^>>([a-z]{2,3}(?:_[A-Za-z]+)?)<<$")

    def tables(
        self, model: str, vocabulary: Sequence[str], metadata: dict[str, Any]
    ) -> tuple[LanguageTable, LanguageTable]:
        sources = list(metadata.get("source_languages") or [])
        targets = list(metadata.get("target_languages") or [])
        tagged = [m.group(1) for t in vocabulary if (m := self._token.match(t))]
        if tagged:
            targets = tagged
        if not sources or not targets:
            raise UserError(
                f"Marian model {model} does not say which languages it translates",
                hint="give the pair when converting: curate models convert ... --src en --tgt de",
            )

        def table(codes: list[str]) -> LanguageTable:
            return LanguageTable.from_natives(model, codes, lambda c: c.replace("_", "-"))

        return table(sources), table(targets)

    def framing(self, src: str, tgt: str) -> LanguageFraming:
        # The vocabulary decides: ``>>xxx<<`` natives exist only in multi-target models.
        return LanguageFraming()


class MarianMultiTarget(Marian):
    """Marian model with ``>>xxx<<`` target tags (OPUS-MT ``en-mul`` and similar)."""

    def framing(self, src: str, tgt: str) -> LanguageFraming:
        return LanguageFraming(before=(f">>{tgt}<<",))


FAMILIES: dict[str, Family] = {f.name: f for f in (NLLB(), M2M100Family(), MADLAD(), Marian())}


def get_family(name: str, vocabulary: Sequence[str] = ()) -> Family:
    """The family called ``name``; a Marian vocabulary with ``>>xxx<<`` tags gets the tags."""
    try:
        family = FAMILIES[name]
    except KeyError:
        raise UserError(
            f"unknown model family {name!r} (known: {', '.join(sorted(FAMILIES))})"
        ) from None
    if name == "marian" and any(Marian._token.match(t) for t in vocabulary):
        return MarianMultiTarget()
    return family


def guess_family(model_type: str, vocabulary: Sequence[str]) -> str | None:
    """Family of a Hugging Face ``model_type`` (and vocabulary, to tell NLLB from M2M-100)."""
    if model_type == "marian":
        return "marian"
    if model_type in ("m2m_100", "nllb", "nllb_moe"):
        return "nllb" if any(NLLB._code.match(t) for t in vocabulary) else "m2m100"
    if model_type in ("t5", "mt5") and any(MADLAD._token.match(t) for t in vocabulary):
        return "madlad"
    return None
