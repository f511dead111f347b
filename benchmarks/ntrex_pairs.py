"""NTREX-128 English-German sentence pairs, tokenised as the aligners see them (benchmark data)."""

from __future__ import annotations

from pathlib import Path

from curate.align.tokenize import tokenize


def ntrex_en_de_tokens(data: Path, n: int) -> list[tuple[list[str], list[str]]]:
    """The first ``n`` NTREX en-de pairs under ``data`` (the shared data folder), as token lists."""
    ntrex = data / "ntrex128"
    with (
        open(ntrex / "newstest2019-src.eng.txt", encoding="utf-8") as fe,
        open(ntrex / "newstest2019-ref.deu.txt", encoding="utf-8") as fd,
    ):
        return [
            (tokenize(e.strip(), "en").tokens, tokenize(d.strip(), "de").tokens)
            for e, d, _ in zip(fe, fd, range(n), strict=False)
        ]
