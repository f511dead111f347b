"""Align plain bitext files and write Pharaoh links (what ``curate align`` does on files).

Input is either two line-aligned files or one file of ``source ||| target`` lines (the
fast_align/eflomal convention). Lines are tokenised with :func:`curate.align.tokenize.tokenize`
unless ``pretokenized`` says the words are already separated by spaces. Output has one line of
``i-j`` links per input line (0-based unless ``one_based``), and optionally the tokens used,
as ``source ||| target`` lines, so the indices can be read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from curate.align.languages import alignment_forms
from curate.align.pharaoh import format_pharaoh
from curate.align.registry import WordAligner, for_languages
from curate.align.tokenize import tokenize
from curate.errors import UserError


@dataclass(frozen=True)
class BitextAlignment:
    pairs: int
    links: int
    method: str


def _lines(path: str | Path) -> list[str]:
    """A file's lines, split at ``\n`` only (a stray ``\r`` or U+2028 inside a sentence does
    not start a new line, as it does not for eflomal and fast_align)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        return [line.rstrip("\r\n") for line in f]


def read_bitext(src_path: str | Path, tgt_path: str | Path | None = None) -> list[tuple[str, str]]:
    """``(source, target)`` lines from two line-aligned files or one ``src ||| tgt`` file."""
    if tgt_path is None:
        out = []
        for lineno, line in enumerate(_lines(src_path), 1):
            if "|||" not in line:
                raise ValueError(f"{src_path}:{lineno}: no ' ||| ' separator")
            src, tgt = line.split("|||", 1)
            out.append((src.strip(), tgt.strip()))
        return out
    src_lines, tgt_lines = _lines(src_path), _lines(tgt_path)
    if len(src_lines) != len(tgt_lines):
        raise ValueError(f"{src_path} has {len(src_lines)} lines, {tgt_path} has {len(tgt_lines)}")
    return list(zip(src_lines, tgt_lines, strict=True))


def read_bitext_pairs(path: str) -> list[tuple[str, str]]:
    """The ``src ||| tgt`` pairs of an extra bitext file to train the aligner on.

    Lines end at ``\n`` only (a ``\r`` left inside a line by ``paste`` of CRLF files is
    whitespace, not a line break); blank lines and pairs with an empty side are skipped, and a
    line without the separator is an error, not silently dropped."""
    pairs = []
    with open(path, encoding="utf-8", errors="replace", newline="\n") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            if "|||" not in line:
                raise UserError(
                    f"{path}:{number}: no ' ||| ' between source and target",
                    hint="--extra-bitext takes 'SRC ||| TGT' lines",
                )
            src, tgt = line.split("|||", 1)
            if src.strip() and tgt.strip():
                pairs.append((src.strip(), tgt.strip()))
    return pairs


def align_bitext_files(
    aligner: WordAligner,
    src_path: str | Path,
    out_path: str | Path,
    tgt_path: str | Path | None = None,
    *,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    pretokenized: bool = False,
    one_based: bool = False,
    tokens_path: str | Path | None = None,
) -> BitextAlignment:
    """Align a bitext and write Pharaoh links to ``out_path``."""
    lines = read_bitext(src_path, tgt_path)
    if pretokenized:
        pairs = [(s.split(), t.split()) for s, t in lines]
    else:
        pairs = [(tokenize(s, src_lang).tokens, tokenize(t, tgt_lang).tokens) for s, t in lines]
    aligner = for_languages(aligner, src_lang, tgt_lang)
    links = aligner.align(
        [(alignment_forms(s, src_lang), alignment_forms(t, tgt_lang)) for s, t in pairs]
    )
    with open(out_path, "w", encoding="utf-8") as f:
        for pair_links in links:
            f.write(format_pharaoh(pair_links, one_based) + "\n")
    if tokens_path is not None:
        with open(tokens_path, "w", encoding="utf-8") as f:
            for s, t in pairs:
                f.write(f"{' '.join(s)} ||| {' '.join(t)}\n")
    return BitextAlignment(len(pairs), sum(len(x) for x in links), aligner.method)
