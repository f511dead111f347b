"""The default word aligner: eflomal (Östling & Tiedemann 2016), both directions, symmetrised.

eflomal is a Bayesian IBM/HMM/fertility aligner sampled with Gibbs sampling; it needs no model
and trains on the text it aligns. Small jobs align badly on their own, so extra parallel text
(e.g. a news bitext of the same language pair) can be given: it is aligned along with the
requested pairs to sharpen the statistics, and only the requested pairs are returned.

Notes for users:

- eflomal lowercases; ``src_prefix_len``/``tgt_prefix_len`` cut every word to its first
  characters (a cheap stemmer that helps morphologically rich languages on small data).
- Sentences of 1,024 tokens or more are not aligned by eflomal; they get no links here and are
  counted in :attr:`EflomalAligner.last_stats` (``too_long``).
- Sampling is random: two runs can differ slightly. ``n_samplers`` independent samplers are
  averaged, which makes results steadier.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from curate.align.registry import Link, TokenPair, register_aligner
from curate.align.symmetrize import SYMMETRIZERS, symmetrize

#: eflomal's fixed sentence buffer (MAX_SENT_LEN in eflomal.c); longer sentences are skipped.
EFLOMAL_MAX_TOKENS = 1023
VERSION = "v1"


@dataclass(frozen=True)
class EflomalConfig:
    """Options of the eflomal aligner (all optional)."""

    symmetrize: str = "grow-diag-final-and"
    n_samplers: int = 3
    rel_iterations: float = 1.0
    null_prior: float = 0.2
    model: int = 3
    src_prefix_len: int = 0
    tgt_prefix_len: int = 0
    #: extra parallel text, already tokenised, aligned along to train on (not returned)
    extra: Sequence[TokenPair] = field(default=(), repr=False)

    def __post_init__(self) -> None:
        if self.symmetrize not in SYMMETRIZERS:
            raise ValueError(
                f"unknown symmetrisation {self.symmetrize!r}; choose from {list(SYMMETRIZERS)}"
            )
        if self.model not in (1, 2, 3):
            raise ValueError("model must be 1 (IBM1), 2 (HMM) or 3 (HMM+fertility)")
        if self.n_samplers < 1:
            raise ValueError("n_samplers must be at least 1")


def _line(tokens: Sequence[str]) -> str:
    """One eflomal input line: tokens may not contain whitespace or be empty."""
    if len(tokens) > EFLOMAL_MAX_TOKENS:
        return ""
    return " ".join("".join("_" if c.isspace() else c for c in t) or "_" for t in tokens)


def _read_links(path: str) -> list[set[Link]]:
    out: list[set[Link]] = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            links = set()
            for item in line.split():
                i, j = item.split("-")
                links.add((int(i), int(j)))
            out.append(links)
    return out


def run_eflomal(
    pairs: Sequence[TokenPair], config: EflomalConfig = EflomalConfig()
) -> tuple[list[set[Link]], list[set[Link]]]:
    """Forward and reverse links (both as ``(src, tgt)``) for ``pairs`` + ``config.extra``.

    Only the links of ``pairs`` are returned. A pair with an empty side gets no links.
    """
    import eflomal

    all_pairs = list(pairs) + list(config.extra)
    src_lines = [_line(s) if len(t) else "" for s, t in all_pairs]
    tgt_lines = [_line(t) if len(s) else "" for s, t in all_pairs]
    n = len(pairs)
    if n == 0:
        return [], []
    if not any(src_lines[:n]):
        return [set() for _ in pairs], [set() for _ in pairs]
    aligner = eflomal.Aligner(
        model=config.model,
        n_samplers=config.n_samplers,
        rel_iterations=config.rel_iterations,
        null_prior=config.null_prior,
        source_prefix_len=config.src_prefix_len,
        target_prefix_len=config.tgt_prefix_len,
    )
    with tempfile.TemporaryDirectory(prefix="curate-eflomal-") as tmp:
        fwd_path = str(Path(tmp) / "fwd")
        rev_path = str(Path(tmp) / "rev")
        aligner.align(
            src_lines,
            tgt_lines,
            links_filename_fwd=fwd_path,
            links_filename_rev=rev_path,
            quiet=True,
        )
        if not (os.path.exists(fwd_path) and os.path.exists(rev_path)):
            raise RuntimeError("eflomal wrote no links (is the eflomal binary installed?)")
        fwd = _read_links(fwd_path)
        rev = _read_links(rev_path)
    if len(fwd) != len(all_pairs) or len(rev) != len(all_pairs):
        raise RuntimeError(f"eflomal returned {len(fwd)} lines for {len(all_pairs)} pairs")
    return fwd[:n], rev[:n]


@register_aligner("eflomal", VERSION, EflomalConfig)
class EflomalAligner:
    """eflomal in both directions, symmetrised (see :mod:`curate.align.symmetrize`)."""

    name = "eflomal"
    version = VERSION

    def __init__(self, config: EflomalConfig = EflomalConfig()) -> None:
        self.config = config
        self.last_stats: dict[str, int] = {}

    @property
    def method(self) -> str:
        return f"{self.name}-{self.version}/{self.config.symmetrize}"

    def align(self, pairs: Sequence[TokenPair]) -> list[list[Link]]:
        fwd, rev = run_eflomal(pairs, self.config)
        self.last_stats = {
            "pairs": len(pairs),
            "too_long": sum(max(len(s), len(t)) > EFLOMAL_MAX_TOKENS for s, t in pairs),
            "empty": sum(not len(s) or not len(t) for s, t in pairs),
        }
        return [symmetrize(f, r, self.config.symmetrize) for f, r in zip(fwd, rev, strict=True)]
