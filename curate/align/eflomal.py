"""The default word aligner: eflomal (Östling & Tiedemann 2016), both directions, symmetrised.

eflomal is a Bayesian IBM/HMM/fertility aligner sampled with Gibbs sampling; it needs no model
and trains on the text it aligns. Small jobs align badly on their own, so extra parallel text
(e.g. a news bitext of the same language pair) can be given: it is aligned along with the
requested pairs to sharpen the statistics, and only the requested pairs are returned.

Notes for users:

- eflomal lowercases; ``prefix_lengths`` cut every word to its first characters, a cheap
  stemmer that helps morphologically rich languages on small data (0 keeps whole words).
- Sampling is random: two runs differ, by a few points of projection F1 on a few hundred
  sentences. One eflomal run is made per entry of ``prefix_lengths`` (e.g. ``(4, 5, 4)``) and
  a directional link is kept when more than half of the runs have it; this vote removes most
  of the run-to-run noise and is the main reason the ensemble beats any single run.
- ``cognate_prior`` gives eflomal a prior for linking look-alike words of a sentence pair
  (``Parliament``/``Parlamento``, names, numbers).
- Sentences of 1,024 tokens or more are not aligned by eflomal; they get no links here and are
  counted in :attr:`EflomalAligner.last_stats` (``too_long``).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from curate.align.registry import Link, TokenPair, register_aligner
from curate.align.symmetrize import SYMMETRIZERS, symmetrize

#: eflomal's fixed sentence buffer (MAX_SENT_LEN in eflomal.c); longer sentences are skipped.
EFLOMAL_MAX_TOKENS = 1023
VERSION = "v1"
STEMS = ("prefix", "suffix", "whole")


@dataclass(frozen=True)
class EflomalConfig:
    """Options of the eflomal aligner (all optional)."""

    symmetrize: str = "grow-diag-final-and"
    n_samplers: int = 3
    rel_iterations: float = 1.0
    null_prior: float = 0.2
    model: int = 3
    #: one eflomal run per entry; words cut to this many characters (0: whole words)
    prefix_lengths: tuple[int, ...] = (4, 4, 5)
    #: extra parallel text, already tokenised, aligned along to train on (not returned)
    extra: Sequence[TokenPair] = field(default=(), repr=False)
    #: Dirichlet prior (pseudo-count) for linking look-alike words (cognates, names, numbers)
    #: that occur in the same sentence pair; 0 turns it off
    cognate_prior: float = 0.0
    #: what counts as look-alike: rapidfuzz ratio (0-100) of the lower-cased words
    cognate_similarity: float = 80.0
    cognate_min_length: int = 4
    #: how each side's words are stemmed with the run's length: ``prefix`` (first characters),
    #: ``suffix`` (last characters) or ``whole``; :meth:`EflomalAligner.for_languages` sets
    #: them from the language codes (:mod:`curate.align.languages`)
    src_stem: str = "prefix"
    tgt_stem: str = "prefix"

    def __post_init__(self) -> None:
        if self.symmetrize not in SYMMETRIZERS:
            raise ValueError(
                f"unknown symmetrisation {self.symmetrize!r}; choose from {list(SYMMETRIZERS)}"
            )
        if not self.prefix_lengths or any(p < 0 for p in self.prefix_lengths):
            raise ValueError("prefix_lengths needs at least one length >= 0")
        if self.model not in (1, 2, 3):
            raise ValueError("model must be 1 (IBM1), 2 (HMM) or 3 (HMM+fertility)")
        if self.n_samplers < 1:
            raise ValueError("n_samplers must be at least 1")
        for stem in (self.src_stem, self.tgt_stem):
            if stem not in STEMS:
                raise ValueError(f"unknown stem {stem!r}; choose from {list(STEMS)}")


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


def cognate_priors(
    pairs: Sequence[TokenPair],
    alpha: float,
    min_similarity: float = 80.0,
    min_length: int = 4,
    src_prefix_len: int = 0,
    tgt_prefix_len: int = 0,
) -> list[str]:
    """eflomal ``LEX`` prior lines for look-alike word pairs co-occurring in ``pairs``.

    Words are compared lower-cased. A pair qualifies when the words are equal (and contain a
    letter or digit), or both have at least ``min_length`` characters and either their
    rapidfuzz ratio reaches ``min_similarity`` or, with prefix truncation on, their truncated
    forms are equal (``states``/``stati`` at 4 characters).
    """
    from rapidfuzz import fuzz
    from rapidfuzz.process import cdist

    found: set[tuple[str, str]] = set()
    for src, tgt in pairs:
        s_types = sorted({w.lower() for w in src})
        t_types = sorted({w.lower() for w in tgt})
        if not s_types or not t_types:
            continue
        for w in set(s_types) & set(t_types):
            if any(c.isalnum() for c in w):
                found.add((w, w))
        s_long = [w for w in s_types if len(w) >= min_length]
        t_long = [w for w in t_types if len(w) >= min_length]
        if not s_long or not t_long:
            continue
        scores = cdist(s_long, t_long, scorer=fuzz.ratio, score_cutoff=min_similarity)
        for i, j in zip(*scores.nonzero(), strict=True):
            found.add((s_long[i], t_long[j]))
        if src_prefix_len and tgt_prefix_len:
            by_prefix: dict[str, list[str]] = {}
            for w in t_long:
                by_prefix.setdefault(w[:tgt_prefix_len], []).append(w)
            for w in s_long:
                for v in by_prefix.get(w[:src_prefix_len], ()):
                    found.add((w, v))
    return [f"LEX\t{a}\t{b}\t{alpha:g}" for a, b in sorted(found) if " " not in a + b]


def _prepare(
    tmp: Path,
    src_lines: list[str],
    tgt_lines: list[str],
    config: EflomalConfig,
    prefix_len: int,
    priors: list[str] | None,
) -> tuple[str, str, str | None]:
    """eflomal's binary input files for one prefix length (source, target, priors)."""
    import eflomal

    aligner = eflomal.Aligner(
        source_prefix_len=prefix_len if config.src_stem == "prefix" else 0,
        source_suffix_len=prefix_len if config.src_stem == "suffix" else 0,
        target_prefix_len=prefix_len if config.tgt_stem == "prefix" else 0,
        target_suffix_len=prefix_len if config.tgt_stem == "suffix" else 0,
    )
    src, tgt, pri = (str(tmp / f"{name}-{prefix_len}") for name in ("src", "tgt", "priors"))
    with open(src, "wb") as fs, open(tgt, "wb") as ft, open(pri, "w", encoding="utf-8") as fp:
        aligner.prepare_files(src_lines, fs, tgt_lines, ft, priors, fp)
    return src, tgt, (pri if priors else None)


def _eflomal_run(
    files: tuple[str, str, str | None], config: EflomalConfig, out: str, n: int
) -> tuple[list[set[Link]], list[set[Link]]]:
    """One run of the eflomal binary (both directions) on prepared files."""
    from eflomal.cython import align

    src, tgt, priors = files
    fwd_path, rev_path = f"{out}.fwd", f"{out}.rev"
    align(
        src,
        tgt,
        links_filename_fwd=fwd_path,
        links_filename_rev=rev_path,
        priors_filename=priors,
        model=config.model,
        n_samplers=config.n_samplers,
        quiet=True,
        rel_iterations=config.rel_iterations,
        null_prior=config.null_prior,
    )
    if not (os.path.exists(fwd_path) and os.path.exists(rev_path)):
        raise RuntimeError("eflomal wrote no links (is the eflomal binary installed?)")
    fwd, rev = _read_links(fwd_path), _read_links(rev_path)
    if len(fwd) != n or len(rev) != n:
        raise RuntimeError(f"eflomal returned {len(fwd)} lines for {n} pairs")
    return fwd, rev


def _eflomal_runs(
    src_lines: list[str],
    tgt_lines: list[str],
    config: EflomalConfig,
    priors_of: Callable[[int], list[str] | None],
) -> list[tuple[list[set[Link]], list[set[Link]]]]:
    """One eflomal run per entry of ``config.prefix_lengths``, all at once.

    Input files are written once per distinct prefix length (runs with the same length share
    them), and the runs, each a process of eflomal's binary, run in parallel.
    """
    with tempfile.TemporaryDirectory(prefix="curate-eflomal-") as name:
        tmp = Path(name)
        files = {
            p: _prepare(tmp, src_lines, tgt_lines, config, p, priors_of(p))
            for p in dict.fromkeys(config.prefix_lengths)
        }
        with ThreadPoolExecutor(max_workers=len(config.prefix_lengths)) as pool:
            futures = [
                pool.submit(_eflomal_run, files[p], config, str(tmp / f"run{k}"), len(src_lines))
                for k, p in enumerate(config.prefix_lengths)
            ]
            return [f.result() for f in futures]


def vote(runs: Sequence[list[set[Link]]]) -> list[set[Link]]:
    """Per sentence pair, the links found by more than half of the runs."""
    need = len(runs) // 2 + 1
    out = []
    for per_pair in zip(*runs, strict=True):
        counts = Counter(link for links in per_pair for link in links)
        out.append({link for link, c in counts.items() if c >= need})
    return out


def run_eflomal(
    pairs: Sequence[TokenPair], config: EflomalConfig = EflomalConfig()
) -> tuple[list[set[Link]], list[set[Link]]]:
    """Forward and reverse links (both as ``(src, tgt)``) for ``pairs`` + ``config.extra``.

    Only the links of ``pairs`` are returned. A pair with an empty side gets no links. With
    several ``prefix_lengths`` each direction's links are the majority vote of the runs.
    """
    n = len(pairs)
    if n == 0:
        return [], []
    all_pairs = list(pairs) + list(config.extra)
    src_lines = [_line(s) if len(t) else "" for s, t in all_pairs]
    tgt_lines = [_line(t) if len(s) else "" for s, t in all_pairs]
    if not any(src_lines[:n]):
        return [set() for _ in pairs], [set() for _ in pairs]
    split = [(s.split(), t.split()) for s, t in zip(src_lines, tgt_lines, strict=True)]

    def priors_of(prefix_len: int) -> list[str] | None:
        if config.cognate_prior <= 0:
            return None
        return (
            cognate_priors(
                split,
                config.cognate_prior,
                config.cognate_similarity,
                config.cognate_min_length,
                prefix_len if config.src_stem == "prefix" else 0,
                prefix_len if config.tgt_stem == "prefix" else 0,
            )
            or None
        )

    runs = _eflomal_runs(src_lines, tgt_lines, config, priors_of)
    fwd_runs = [fwd[:n] for fwd, _ in runs]
    rev_runs = [rev[:n] for _, rev in runs]
    if len(fwd_runs) == 1:
        return fwd_runs[0], rev_runs[0]
    return vote(fwd_runs), vote(rev_runs)


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
        prefixes = ",".join(str(p) for p in self.config.prefix_lengths)
        stems = "".join(
            f"/{side}-{stem}"
            for side, stem in (("src", self.config.src_stem), ("tgt", self.config.tgt_stem))
            if stem != "prefix"
        )
        return f"{self.name}-{self.version}/p{prefixes}{stems}/{self.config.symmetrize}"

    def for_languages(self, src_lang: str | None, tgt_lang: str | None) -> EflomalAligner:
        """This aligner with each side stemmed as its language needs (whole words for
        no-space and isolating languages, suffixes for Bantu languages, prefixes otherwise)."""
        from curate.align.languages import stem_mode

        config = replace(self.config, src_stem=stem_mode(src_lang), tgt_stem=stem_mode(tgt_lang))
        return self if config == self.config else EflomalAligner(config)

    def align(self, pairs: Sequence[TokenPair]) -> list[list[Link]]:
        fwd, rev = run_eflomal(pairs, self.config)
        self.last_stats = {
            "pairs": len(pairs),
            "too_long": sum(max(len(s), len(t)) > EFLOMAL_MAX_TOKENS for s, t in pairs),
            "empty": sum(not len(s) or not len(t) for s, t in pairs),
        }
        return [symmetrize(f, r, self.config.symmetrize) for f, r in zip(fwd, rev, strict=True)]
