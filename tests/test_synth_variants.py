"""Synthetic variants in other families keep exact gold spans and alignments."""

from __future__ import annotations

import pytest

from curate.align.languages import family
from curate.align.tokenize import tokenize
from curate.synth import generate
from curate.synth.variants import VARIANTS, generate_variant


@pytest.mark.parametrize("variant", VARIANTS)
def test_gold_spans_and_alignment_carry_over_exactly(variant: str) -> None:
    base = generate(60, seed=3)
    pairs = generate_variant(variant, 60, seed=3)
    for b, p in zip(base, pairs, strict=True):
        assert p.src == b.src and len(p.tgt_spans) == len(b.tgt_spans)
        src_words = p.src.split(" ")
        assert {s for s, _ in p.alignment} == {s for s, _ in b.alignment}
        assert all(0 <= t < len(p.tgt_words) for _, t in p.alignment)
        assert all(s < len(src_words) for s, _ in p.alignment)
        for gold, span in zip(b.tgt_spans, p.tgt_spans, strict=True):
            assert span.label == gold.label
            text = p.tgt[span.start : span.end]
            if variant in ("qsp", "qsa"):  # same letters, clitics glued on (qsp) or not (qsa)
                assert b.tgt[gold.start : gold.end].replace(" ", "") in text.replace(" ", "")
            if variant == "qsa":
                assert text == b.tgt[gold.start : gold.end]


def test_variants_look_like_their_family() -> None:
    nospace = generate_variant("qsc", 20, seed=1)
    assert all(" " not in p.tgt for p in nospace)
    georgian = generate_variant("qsn", 20, seed=1)
    assert not any(c.isascii() and c.isalpha() for p in georgian for c in p.tgt)
    assert (family("qsc"), family("qsp"), family("qsa")) == (
        "no-space",
        "prefixing",
        "agglutinating",
    )


def test_agglutinated_particles_are_split_off_names() -> None:
    for p in generate_variant("qsa", 80, seed=2):
        tokens = tokenize(p.tgt, "qsa")
        starts = {s for s, _ in tokens.offsets}
        ends = {e for _, e in tokens.offsets}
        for span in p.tgt_spans:
            assert span.start in starts and span.end in ends, (p.tgt, span)
