"""Sentence pairs of the synthetic language pair with gold alignments and entity spans.

``generate(n, seed, markers)`` draws ``n`` :class:`SynthPair` deterministically from ``seed``.
With ``markers > 0`` that share of the pairs (those with an entity) has entity spans wrapped in
bracket markers on both sides, ``[ New York ]`` -> ``[ New York ]``, as marker-based
(EasyProject-style) label projection does before translation. Span offsets always point at the
entity text, inside the markers; ``tgt_spans[i]`` is the translation of ``src_spans[i]``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from curate.align.pharaoh import format_pharaoh
from curate.records import Span
from curate.synth.grammar import Generator, Phrase
from curate.text.tags import char_spans_to_tags, join_tokens, token_spans_to_char

#: ISO 639-3 private-use code and name of the synthetic target language.
LANG_CODE = "qsy"
LANG_NAME = "Synthetic"
OPEN, CLOSE = "[", "]"


@dataclass(frozen=True)
class SynthPair:
    """An English sentence, its Synthetic translation, gold word alignment and entity spans.

    ``alignment`` holds 0-based ``(src_idx, tgt_idx)`` pairs over whitespace tokens, markers
    included (a marker is aligned to its counterpart).
    """

    src: str
    tgt: str
    alignment: tuple[tuple[int, int], ...]
    src_spans: tuple[Span, ...]
    tgt_spans: tuple[Span, ...]


def _insert_markers(
    tokens: list[str], ranges: list[tuple[int, int]]
) -> tuple[list[str], list[int]]:
    """Wrap token ranges in markers; return new tokens and old index -> new index."""
    opens = {a for a, _ in ranges}
    closes = {b for _, b in ranges}
    out: list[str] = []
    index: list[int] = []
    for i, tok in enumerate([*tokens, ""]):
        if i in closes:
            out.append(CLOSE)
        if i in opens:
            out.append(OPEN)
        if i < len(tokens):
            index.append(len(out))
            out.append(tok)
    return out, index


def _char_spans(tokens: list[str], ranges: list[tuple[int, int, str]]) -> tuple[Span, ...]:
    return tuple(token_spans_to_char(ranges, join_tokens(tokens)[1]))


def _finish(p: Phrase, rng: random.Random, markers: float) -> SynthPair:
    src, tgt, links = list(p.src), list(p.tgt), list(p.links)
    spans = list(p.spans)
    src[0] = src[0][:1].upper() + src[0][1:]
    if spans and markers > 0 and rng.random() < markers:
        chosen = [s for s in spans if rng.random() < 0.8] or [rng.choice(spans)]
        src, si = _insert_markers(src, [(a, b) for a, b, _, _, _ in chosen])
        tgt, ti = _insert_markers(tgt, [(c, d) for _, _, c, d, _ in chosen])
        links = [(si[s], ti[t]) for s, t in links]
        for a, b, c, d, _ in chosen:
            links += [(si[a] - 1, ti[c] - 1), (si[b - 1] + 1, ti[d - 1] + 1)]
        spans = [(si[a], si[b - 1] + 1, ti[c], ti[d - 1] + 1, lab) for a, b, c, d, lab in spans]
    return SynthPair(
        src=" ".join(src),
        tgt=" ".join(tgt),
        alignment=tuple(sorted(links)),
        src_spans=_char_spans(src, [(a, b, lab) for a, b, _, _, lab in spans]),
        tgt_spans=_char_spans(tgt, [(c, d, lab) for _, _, c, d, lab in spans]),
    )


def generate(n: int, seed: int, markers: float = 0.0) -> list[SynthPair]:
    """``n`` sentence pairs drawn from ``seed``; the same arguments give the same pairs."""
    if not 0.0 <= markers <= 1.0:
        raise ValueError(f"markers must be a share in [0, 1], got {markers}")
    rng = random.Random(seed)
    gen = Generator(rng)
    return [_finish(gen.sentence(), rng, markers) for _ in range(n)]


def iob2_tags(text: str, spans: Iterable[Span]) -> list[tuple[str, str]]:
    """``(token, tag)`` for the whitespace tokens of ``text``, tagged B-/I-/O from ``spans``."""
    tokens = text.split(" ")
    _, offsets = join_tokens(tokens)
    return list(zip(tokens, char_spans_to_tags(spans, offsets), strict=True))


def write_conll(pairs: Iterable[SynthPair], path: str | Path, side: str = "src") -> None:
    """One ``token<TAB>IOB2-tag`` line per token, a blank line after each sentence."""
    if side not in ("src", "tgt"):
        raise ValueError(f"side must be 'src' or 'tgt', got {side!r}")
    with open(path, "w", encoding="utf-8") as fh:
        for p in pairs:
            text, spans = (p.src, p.src_spans) if side == "src" else (p.tgt, p.tgt_spans)
            fh.writelines(f"{tok}\t{tag}\n" for tok, tag in iob2_tags(text, spans))
            fh.write("\n")


def write_pharaoh(pairs: Iterable[SynthPair], path: str | Path) -> None:
    """One line per pair: ``i-j`` links separated by spaces (Pharaoh/Moses format)."""
    with open(path, "w", encoding="utf-8") as fh:
        fh.writelines(format_pharaoh(p.alignment) + "\n" for p in pairs)


def write_bitext(pairs: Iterable[SynthPair], src_path: str | Path, tgt_path: str | Path) -> None:
    """Line-aligned source and target text files (Moses style)."""
    pairs = list(pairs)
    Path(src_path).write_text("".join(p.src + "\n" for p in pairs), encoding="utf-8")
    Path(tgt_path).write_text("".join(p.tgt + "\n" for p in pairs), encoding="utf-8")
