"""The synthetic language pair: deterministic, with valid gold alignments, spans and markers."""

from __future__ import annotations

import pytest

from curate.synth import SynthPair, generate, iob2_tags, write_conll, write_pharaoh
from curate.synth.lexicon import load_lexicon
from curate.synth.names import MONTHS

ISO_DATE = r"^\d{4}-\d{2}-\d{2}$"


@pytest.fixture(scope="module")
def pairs() -> list[SynthPair]:
    return generate(2000, seed=11, markers=0.3)


def _crossing(alignment: tuple[tuple[int, int], ...]) -> bool:
    return any(s1 < s2 and t1 > t2 for s1, t1 in alignment for s2, t2 in alignment)


def test_same_seed_same_pairs_and_other_seed_other_pairs() -> None:
    assert generate(300, seed=5, markers=0.5) == generate(300, seed=5, markers=0.5)
    assert [p.src for p in generate(50, seed=5)] != [p.src for p in generate(50, seed=6)]


def test_alignment_indices_cover_every_token(pairs: list[SynthPair]) -> None:
    for p in pairs:
        n_src, n_tgt = len(p.src.split(" ")), len(p.tgt.split(" "))
        assert all(0 <= s < n_src and 0 <= t < n_tgt for s, t in p.alignment), p
        assert {s for s, _ in p.alignment} == set(range(n_src)), p
        assert {t for _, t in p.alignment} == set(range(n_tgt)), p
        assert len(set(p.alignment)) == len(p.alignment)


def test_alignment_is_not_monotone_and_not_one_to_one(pairs: list[SynthPair]) -> None:
    crossing = sum(_crossing(p.alignment) for p in pairs)
    assert crossing / len(pairs) > 0.8
    one_to_many = many_to_one = 0
    for p in pairs:
        src_links = [s for s, _ in p.alignment]
        tgt_links = [t for _, t in p.alignment]
        one_to_many += any(src_links.count(s) > 1 for s in set(src_links))
        many_to_one += any(tgt_links.count(t) > 1 for t in set(tgt_links))
    assert one_to_many / len(pairs) > 0.3
    assert many_to_one / len(pairs) > 0.2


def test_spans_slice_the_entity_text_on_both_sides(pairs: list[SynthPair]) -> None:
    labels = set()
    for p in pairs:
        assert len(p.src_spans) == len(p.tgt_spans)
        for s, t in zip(p.src_spans, p.tgt_spans, strict=True):
            assert s.label == t.label
            labels.add(s.label)
            src_text, tgt_text = s.surface(p.src), t.surface(p.tgt)
            assert src_text == src_text.strip() and tgt_text == tgt_text.strip()
            assert "[" not in src_text + tgt_text and "]" not in src_text + tgt_text
            if s.label == "DATE" and " " in src_text:
                day, month, year = src_text.split(" ")
                assert tgt_text == f"{year}-{MONTHS.index(month) + 1:02d}-{int(day):02d}"
            else:
                assert tgt_text == src_text  # names and numbers are copied
    assert labels == {"PER", "LOC", "ORG", "DATE", "NUM"}


def test_markers_are_balanced_and_wrap_the_same_spans_on_both_sides() -> None:
    marked = generate(500, seed=12, markers=1.0)
    with_spans = [p for p in marked if p.src_spans]
    assert with_spans
    for p in with_spans:
        for text in (p.src, p.tgt):
            depth = 0
            for tok in text.split(" "):
                depth += {"[": 1, "]": -1}.get(tok, 0)
                assert depth in (0, 1), text
            assert depth == 0
        assert p.src.count("[") == p.tgt.count("[") >= 1
        for s, t in zip(p.src_spans, p.tgt_spans, strict=True):
            src_wrapped = p.src[: s.start].endswith("[ ") and p.src[s.end :].startswith(" ]")
            tgt_wrapped = p.tgt[: t.start].endswith("[ ") and p.tgt[t.end :].startswith(" ]")
            assert src_wrapped == tgt_wrapped, p
    plain = generate(200, seed=12, markers=0.0)
    assert not any("[" in p.src or "[" in p.tgt for p in plain)


def test_marker_share_is_respected() -> None:
    pairs = generate(1000, seed=13, markers=0.25)
    marked = sum("[" in p.src for p in pairs) / sum(bool(p.src_spans) for p in pairs)
    assert 0.18 < marked < 0.32
    with pytest.raises(ValueError):
        generate(1, seed=1, markers=1.5)


def test_every_english_form_has_one_translation() -> None:
    lex = load_lexicon()
    forms = [f for e in lex.entries() if e.pos != "compound" for f in e.forms]
    assert len(forms) == len(set(forms))
    targets = [e.target for e in lex.entries()]
    assert len(targets) == len(set(targets))
    assert len(lex.english_words()) > 2000


def test_conll_and_pharaoh_files_round_trip(tmp_path, pairs: list[SynthPair]) -> None:
    sample = pairs[:50]
    write_conll(sample, tmp_path / "src.conll", side="src")
    write_conll(sample, tmp_path / "tgt.conll", side="tgt")
    write_pharaoh(sample, tmp_path / "gold.align")
    for side, attr in (("src", "src"), ("tgt", "tgt")):
        blocks = (tmp_path / f"{side}.conll").read_text(encoding="utf-8").split("\n\n")
        blocks = [b for b in blocks if b.strip()]
        assert len(blocks) == len(sample)
        for block, p in zip(blocks, sample, strict=True):
            rows = [line.split("\t") for line in block.splitlines()]
            assert " ".join(tok for tok, _ in rows) == getattr(p, attr)
            spans = p.src_spans if side == "src" else p.tgt_spans
            assert sum(tag.startswith("B-") for _, tag in rows) == len(spans)
    lines = (tmp_path / "gold.align").read_text(encoding="utf-8").splitlines()
    parsed = [tuple(tuple(map(int, link.split("-"))) for link in line.split()) for line in lines]
    assert parsed == [p.alignment for p in sample]


def test_iob2_tags_mark_multiword_entities() -> None:
    def multiword(p: SynthPair) -> bool:
        return any(" " in s.surface(p.src) for s in p.src_spans)

    pair = next(p for p in generate(500, seed=14) if multiword(p))
    span = next(s for s in pair.src_spans if " " in s.surface(pair.src))
    first = pair.src[: span.start].count(" ")
    n_words = span.surface(pair.src).count(" ") + 1
    tags = [tag for _, tag in iob2_tags(pair.src, pair.src_spans)]
    assert tags[first] == f"B-{span.label}"
    assert tags[first + 1 : first + n_words] == [f"I-{span.label}"] * (n_words - 1)
    assert tags.count("O") == len(tags) - sum(
        s.surface(pair.src).count(" ") + 1 for s in pair.src_spans
    )
