"""Alignment-based projection: hand-made cases for each rule, and synthetic pairs end to end."""

from __future__ import annotations

from dataclasses import replace

import pytest

from curate.align.eflomal import EflomalAligner, EflomalConfig
from curate.evaluate.spans import score_spans
from curate.project.alignment import (
    COMPLETE,
    DROPPED,
    PARTIAL,
    LabelledText,
    ProjectionConfig,
    frequent_function_words,
    project_spans,
    project_token_spans,
    project_translate_test,
    project_translate_train,
)
from curate.records import Span
from curate.synth import generate
from curate.text.tags import TokenSpan

PLAIN = ProjectionConfig(anchors=False, trim_function_words=False)


def test_punctuation_only_words_are_not_projected() -> None:
    other = ["Er", "sah", "Berlin", ",", "gestern"]
    kept, _ = project_token_spans([TokenSpan(0, 1, "LOC")], [(0, 2), (0, 3)], other, PLAIN)
    assert kept == [(0, TokenSpan(2, 3, "LOC"))]
    _, why = project_token_spans([TokenSpan(0, 1, "LOC")], [(0, 3)], other, PLAIN)
    assert why == [(0, "aligned only to punctuation")]


def test_groups_are_merged_across_small_gaps_and_the_largest_is_kept() -> None:
    other = [f"w{k}" for k in range(12)]
    span = [TokenSpan(0, 2, "ORG")]
    links = [(0, 2), (1, 4), (1, 10)]  # 2 and 4 have a one-word gap; 10 is far away
    kept, _ = project_token_spans(span, links, other, ProjectionConfig(max_gap=1, anchors=False))
    assert kept == [(0, TokenSpan(2, 5, "ORG"))]
    kept, _ = project_token_spans(span, links, other, ProjectionConfig(max_gap=0, anchors=False))
    assert len(kept) == 1 and kept[0][1].end - kept[0][1].start == 1


def test_gap_words_linked_elsewhere_can_block_the_merge() -> None:
    other = ["a", "b", "c"]
    span = [TokenSpan(0, 1, "PER")]
    links = [(0, 0), (0, 2), (5, 1)]  # "b" belongs to word 5, outside the span
    strict = ProjectionConfig(max_gap=1, respect_other_links=True, anchors=False)
    loose = ProjectionConfig(max_gap=1, respect_other_links=False, anchors=False)
    assert project_token_spans(span, links, other, strict)[0][0][1] == TokenSpan(0, 1, "PER")
    assert project_token_spans(span, links, other, loose)[0][0][1] == TokenSpan(0, 3, "PER")


def test_overlapping_projections_are_resolved_by_support() -> None:
    other = ["x", "y", "z", "w"]
    spans = [TokenSpan(0, 2, "ORG"), TokenSpan(2, 3, "PER")]
    links = [(0, 0), (1, 1), (2, 1), (2, 2)]  # the ORG has two links, the PER two as well
    kept, why = project_token_spans(spans, links, other, ProjectionConfig(max_gap=0, anchors=False))
    labels = {ts.label: ts for _, ts in kept}
    assert labels["ORG"] == TokenSpan(0, 2, "ORG")
    assert labels["PER"] == TokenSpan(2, 3, "PER")  # trimmed to the word left to it
    assert (1, "trimmed where it overlapped another projected span") in why


def test_function_words_and_brackets_at_the_edges() -> None:
    other = ["los", "Estados", "miembros", "(", "UE", ")", "votan"]
    span = [TokenSpan(0, 4, "ORG")]
    labelled = ["Member", "States", "(", "EU", ")"]
    links = [(0, 0), (0, 2), (1, 1), (3, 4)]
    config = ProjectionConfig(trim_words=frozenset({"los"}), max_gap=2, anchors=False)
    kept, _ = project_token_spans(span, links, other, config, labelled)
    assert kept == [(0, TokenSpan(1, 6, "ORG"))]  # "los" trimmed, ")" closes the bracket


def test_anchors_carry_names_the_aligner_missed() -> None:
    labelled = ["Mr", "Nikitin", "left"]
    other = ["Herr", "Nikitin", "ging"]
    span = [TokenSpan(1, 2, "PER")]
    kept, _ = project_token_spans(span, [(1, 2)], other, ProjectionConfig(), labelled)
    assert kept == [(0, TokenSpan(1, 2, "PER"))]
    kept, _ = project_token_spans(span, [(1, 2)], other, PLAIN, labelled)
    assert kept == [(0, TokenSpan(2, 3, "PER"))]  # without anchors the wrong link wins


def test_adjective_relabelling_follows_the_label_set() -> None:
    """By default a name on lower-case words only becomes MISC where the labels in use have
    MISC (CoNLL style), and never on words of a script without case."""
    other = ["die", "finnischen", "Behörden"]
    span = [TokenSpan(0, 1, "LOC")]
    conll = [*span, TokenSpan(2, 3, "MISC")]
    config = ProjectionConfig(anchors=False)

    def labels(spans, words, cfg=config):
        return [ts.label for _, ts in project_token_spans(spans, [(0, 1), (1, 2)], words, cfg)[0]]

    assert labels(conll, other)[0] == "MISC"
    assert labels(span, other) == ["LOC"]  # no MISC among the labels: off
    assert labels(span, other, ProjectionConfig(adjective_label="MISC", anchors=False)) == ["MISC"]
    assert labels(conll, other, PLAIN)[0] == "MISC"
    assert labels(conll, other, ProjectionConfig(adjective_label=None, anchors=False))[0] == "LOC"
    assert labels(conll, ["フィンランド", "の", "当局"])[0] == "LOC"  # no case, no rule
    assert labels(conll, ["die", "Finnland", "Behörden"])[0] == "LOC"


def test_adjective_default_is_decided_per_batch() -> None:
    """In a batch, the label set of the whole batch decides: a sentence whose only span is a
    LOC is relabelled when other sentences use MISC."""
    texts = ["Finland is cold", "the EU met"]
    labelled = [
        LabelledText(texts[0], [Span(0, 7, "LOC")]),
        LabelledText(texts[1], [Span(4, 6, "MISC")]),
    ]
    others = ["finnische Kälte", "die EU tagte"]

    class Diagonal:
        name, version, method = "diagonal", "v1", "diagonal"

        def align(self, pairs):
            return [[(i, i) for i in range(min(len(a), len(b)))] for a, b in pairs]

    config = replace(PLAIN, consistency=None)
    results = project_translate_train(labelled, others, Diagonal(), config=config)
    assert [s.label for s in results[0].spans] == ["MISC"]
    alone = project_translate_train(labelled[:1], others[:1], Diagonal(), config=config)
    assert [s.label for s in alone[0].spans] == ["LOC"]


def test_character_offsets_tags_and_status() -> None:
    src_offsets = [(0, 4), (5, 8), (9, 13), (14, 16), (17, 22), (23, 24)]
    tgt_text = "Jean a vu Marie à Paris ."
    tgt_tokens = tgt_text.split()
    tgt_offsets = [(0, 4), (5, 6), (7, 9), (10, 15), (16, 17), (18, 23), (24, 25)]
    spans = [Span(0, 4, "PER"), Span(9, 13, "PER"), Span(17, 22, "LOC")]
    links = [(0, 0), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]
    result = project_spans(spans, src_offsets, tgt_tokens, tgt_offsets, links, PLAIN)
    assert result.status == COMPLETE and result.n_projected == 3
    assert [s.surface(tgt_text) for s in result.spans] == ["Jean", "Marie", "Paris"]
    assert result.tags == ["B-PER", "O", "O", "B-PER", "O", "B-LOC", "O"]

    partial = project_spans(spans, src_offsets, tgt_tokens, tgt_offsets, links[1:], PLAIN)
    assert partial.status == PARTIAL
    assert partial.reasons == ["span 0 (PER): no aligned words"]
    assert partial.source_index == [1, 2]

    dropped = project_spans(spans, src_offsets, [], [], [], PLAIN)
    assert dropped.status == DROPPED and len(dropped.reasons) == 3


def test_frequent_function_words() -> None:
    texts = [["la", "casa", "de", "Juan"], ["la", "mesa"], ["el", "perro", "de", "Ana"]] * 10
    assert frequent_function_words(texts, min_share=0.5) == frozenset({"la", "de"})


@pytest.fixture(scope="module")
def synth():
    pairs = generate(400, seed=5)
    aligner = EflomalAligner(EflomalConfig(rel_iterations=0.3, n_samplers=1, prefix_lengths=(4,)))
    return pairs, aligner


def test_translate_train_on_synthetic_pairs(synth) -> None:
    pairs, aligner = synth
    examples = [LabelledText(p.src, list(p.src_spans)) for p in pairs]
    results = project_translate_train(
        examples, [p.tgt for p in pairs], aligner, src_lang="en", tgt_lang="qsy"
    )
    assert all(r.text == p.tgt for r, p in zip(results, pairs, strict=True))
    scores = score_spans(
        [[tuple(s) for s in r.spans] for r in results],
        [[tuple(s) for s in p.tgt_spans] for p in pairs],
    )
    assert scores.micro.f1 > 0.9, scores.table()
    assert {r.status for r in results} <= {COMPLETE, PARTIAL, DROPPED}
    assert sum(r.n_projected for r in results) == scores.micro.n_predicted


def test_translate_test_on_synthetic_pairs(synth) -> None:
    # Spans "predicted" on the translation (here the Synthetic side's gold) go back onto the
    # original English text.
    pairs, aligner = synth
    labelled = [LabelledText(p.tgt, list(p.tgt_spans)) for p in pairs]
    results = project_translate_test(
        [p.src for p in pairs], labelled, aligner, src_lang="en", tgt_lang="qsy"
    )
    assert all(r.text == p.src for r, p in zip(results, pairs, strict=True))
    scores = score_spans(
        [[tuple(s) for s in r.spans] for r in results],
        [[tuple(s) for s in p.src_spans] for p in pairs],
    )
    assert scores.micro.f1 > 0.9, scores.table()


def test_consistency_moves_outliers_to_the_batch_usual_translation() -> None:
    from curate.project.consistency import Example, harmonize

    labelled = ["the", "Member", "States", "agree"]
    spans = [TokenSpan(1, 3, "ORG")]
    usual = ["gli", "Stati", "membri", "concordano"]
    examples = [Example(labelled, spans, usual, {0: TokenSpan(1, 3, "ORG")}) for _ in range(3)]
    # An outlier: only "membri" was projected; another sentence lost the span altogether.
    examples.append(Example(labelled, spans, usual, {0: TokenSpan(2, 3, "ORG")}))
    examples.append(Example(labelled, spans, ["Stati", "membri", "sì"], {}))
    # A sentence where the usual words are absent keeps its projection.
    examples.append(Example(labelled, spans, ["i", "paesi", "membri"], {0: TokenSpan(1, 3, "ORG")}))
    notes = harmonize(examples)
    assert examples[3].projected[0] == TokenSpan(1, 3, "ORG")
    assert examples[4].projected[0] == TokenSpan(0, 2, "ORG")
    assert examples[5].projected[0] == TokenSpan(1, 3, "ORG")
    assert notes[3] == [(0, "moved to the batch's usual translation")]
    assert notes[4] == [(0, "recovered from the batch's usual translation")]
    assert set(notes) == {3, 4}


def test_nested_brackets_are_closed_and_elided_articles_trimmed() -> None:
    other = ["dell'", "Unione", "(", "COM", "(", "1999", ")", ")", "fine"]
    span = [TokenSpan(0, 4, "MISC")]
    links = [(0, 1), (1, 3), (2, 5)]
    config = ProjectionConfig(trim_words=frozenset({"dell'"}), anchors=False, max_gap=1)
    kept, _ = project_token_spans(span, links, other, config, ["the", "Union", "COM", "1999"])
    assert kept == [(0, TokenSpan(1, 8, "MISC"))]
    assert "dell'" in frequent_function_words([["dell'", "x"], ["dell'", "y"]], min_share=0.5)


def test_consistency_learns_from_a_table_of_other_batches() -> None:
    """A batch split in two, each half given the summed counts of both, is corrected like
    the whole batch (how a job projects one language pair in chunks)."""
    from curate.project.consistency import Example, add_tables, harmonize, projection_counts

    labelled = ["the", "Member", "States", "agree"]
    spans = [TokenSpan(1, 3, "ORG")]
    usual = ["gli", "Stati", "membri", "concordano"]

    def batch() -> list[Example]:
        examples = [Example(labelled, spans, usual, {0: TokenSpan(1, 3, "ORG")}) for _ in range(3)]
        examples.append(Example(labelled, spans, usual, {0: TokenSpan(2, 3, "ORG")}))
        examples.append(Example(labelled, spans, ["Stati", "membri", "sì"], {}))
        return examples

    whole = batch()
    harmonize(whole)
    first, second = batch()[:3], batch()[3:]
    assert harmonize(batch()[3:]) == {}  # alone, the second half has no usual translation
    table = add_tables([projection_counts(first), projection_counts(second)])
    notes = harmonize(second, table=table)
    assert [e.projected for e in second] == [e.projected for e in whole[3:]]
    assert notes == {0: [(0, "moved to the batch's usual translation")],
                     1: [(0, "recovered from the batch's usual translation")]}  # fmt: skip
