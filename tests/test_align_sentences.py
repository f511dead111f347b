"""Long texts are aligned sentence by sentence and the links come back to the whole text."""

from __future__ import annotations

from curate.align import sentences
from curate.align.registry import get_aligner
from curate.align.tokenize import tokenize
from curate.project.alignment import LabelledText, ProjectionConfig, project_translate_train
from curate.records import Span
from curate.synth import generate


def test_sentences_become_word_ranges_covering_every_word() -> None:
    text = "Anna lives in Rome. She works for Reuters! Does she?"
    ranges = sentences.sentence_ranges(text, tokenize(text, "en"), "en")
    assert ranges == [(0, 5), (5, 10), (10, 13)]


def test_unequal_counts_are_paired_by_length_and_shared_names() -> None:
    a = [(0, 10), (10, 14), (14, 30)]  # the 4-word sentence was merged into the next one
    b = [(0, 11), (11, 30)]
    a_tokens = ["w"] * 14 + ["Reuters"] + ["w"] * 15
    b_tokens = ["v"] * 11 + ["Reuters"] + ["v"] * 18
    paired = sentences.pair_sentences(a, b, a_tokens, b_tokens)
    assert paired == [((0, 10), (0, 11)), ((10, 30), (11, 30))]
    assert sentences.pair_sentences([(0, 5)], [(0, 2), (2, 5)], ["w"] * 5, ["v"] * 5) is None


def test_links_are_mapped_back_to_the_paragraph() -> None:
    texts = [("Anna sings. Tom dances.", "Anna singt. Tom tanzt.")]
    toks = [(tokenize(a, "en"), tokenize(b, "de")) for a, b in texts]
    plan = sentences.plan(texts, toks, ("en", "de"))
    assert plan.ranges == [[((0, 3), (0, 3)), ((3, 6), (3, 6))]]
    pairs = [(toks[0][0].tokens, toks[0][1].tokens)]
    assert sentences.split_pairs(pairs, plan)[1] == (["Tom", "dances", "."], ["Tom", "tanzt", "."])
    assert sentences.merge_links([[(0, 0)], [(1, 1)]], plan) == [[(0, 0), (4, 4)]]


def test_paragraph_projection_is_aligned_per_sentence_and_counts_fallbacks() -> None:
    pairs = generate(240, seed=5)
    examples, others = [], []
    for k in range(0, 240, 3):  # paragraphs of three sentences
        group = pairs[k : k + 3]
        src, tgt, spans, gold = "", "", [], []
        for p in group:
            s_off, t_off = len(src) + bool(src), len(tgt) + bool(tgt)
            src, tgt = f"{src} {p.src}".strip(), f"{tgt} {p.tgt}".strip()
            spans += [Span(s.start + s_off, s.end + s_off, s.label) for s in p.src_spans]
            gold += [Span(s.start + t_off, s.end + t_off, s.label) for s in p.tgt_spans]
        examples.append(LabelledText(src, spans))
        others.append((tgt, gold))
    aligner = get_aligner("eflomal", prefix_lengths=(4,), n_samplers=1)
    results = project_translate_train(
        examples, [t for t, _ in others], aligner, src_lang="en", tgt_lang="qsy"
    )
    assert all(r.sentence_pairs == 3 and not r.sentence_fallback for r in results)
    found = sum(len(set(r.spans) & set(gold)) for r, (_, gold) in zip(results, others, strict=True))
    assert found / sum(len(g) for _, g in others) > 0.9
    whole = project_translate_train(
        examples[:3],
        [t for t, _ in others[:3]],
        aligner,
        config=ProjectionConfig(by_sentence=False),
    )
    assert all(r.sentence_pairs == 1 for r in whole)
