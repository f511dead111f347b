"""NTREX-128 English-X sentence pairs, tokenised as the aligners see them (benchmark data)."""

from __future__ import annotations

from pathlib import Path

from curate.align.tokenize import tokenize

#: NTREX's file code of each language the benchmarks read
NTREX_CODES = {"de": "deu", "es": "spa", "fr": "fra", "ro": "ron"}


def ntrex_tokens(data: Path, lang: str, n: int | None = None) -> list[tuple[list[str], list[str]]]:
    """The first ``n`` (all: None) NTREX ``(English, lang)`` pairs under ``data`` (the shared
    data folder) as token lists; none where NTREX has no file for ``lang``."""
    ntrex = data / "ntrex128"
    code = NTREX_CODES.get(lang)
    tgt = ntrex / f"newstest2019-ref.{code}.txt"
    if code is None or not tgt.exists():
        return []
    with open(ntrex / "newstest2019-src.eng.txt", encoding="utf-8") as fe:
        english = fe.read().splitlines()
    with open(tgt, encoding="utf-8") as ft:
        other = ft.read().splitlines()
    if len(english) != len(other):
        raise SystemExit(f"{tgt}: {len(other)} lines, the English file has {len(english)}")
    return [
        (tokenize(e.strip(), "en").tokens, tokenize(t.strip(), lang).tokens)
        for e, t in list(zip(english, other, strict=True))[:n]
    ]


def ntrex_en_de_tokens(data: Path, n: int) -> list[tuple[list[str], list[str]]]:
    """The first ``n`` NTREX en-de pairs under ``data``, as token lists."""
    return ntrex_tokens(data, "de", n)
