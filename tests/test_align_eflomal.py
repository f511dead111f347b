"""eflomal aligns a synthetic language pair close to its known gold alignment."""

from __future__ import annotations

import pytest

from curate.align.eflomal import EFLOMAL_MAX_TOKENS, EflomalAligner, EflomalConfig
from curate.align.pharaoh import GoldAlignment
from curate.align.registry import available_aligners, get_aligner
from curate.errors import UserError
from curate.evaluate.alignment import score_alignments
from curate.synth import generate

FAST = {"rel_iterations": 0.3, "n_samplers": 1, "prefix_lengths": (4,)}


@pytest.fixture(scope="module")
def synth_pairs():
    return generate(400, seed=11)


def _gold(pairs) -> list[GoldAlignment]:
    return [GoldAlignment(frozenset(p.alignment), frozenset(p.alignment)) for p in pairs]


def _tokens(pairs):
    return [(p.src.split(), p.tgt.split()) for p in pairs]


def test_alignment_of_synthetic_pairs_is_close_to_gold(synth_pairs) -> None:
    aligner = get_aligner("eflomal", symmetrize="grow-diag-final-and", **FAST)
    links = aligner.align(_tokens(synth_pairs))
    scores = score_alignments(links, _gold(synth_pairs))
    assert scores.aer < 0.2, scores
    assert aligner.method == "eflomal-v1/p4/grow-diag-final-and"


def test_extra_text_is_trained_on_but_not_returned(synth_pairs) -> None:
    asked, extra = synth_pairs[:40], synth_pairs[40:]
    alone = EflomalAligner(EflomalConfig(**FAST)).align(_tokens(asked))
    helped = EflomalAligner(EflomalConfig(extra=_tokens(extra), **FAST)).align(_tokens(asked))
    assert len(helped) == len(asked)
    gold = _gold(asked)
    # 40 pairs alone are too few to learn from; the extra 360 pairs make a clear difference.
    assert score_alignments(helped, gold).aer < score_alignments(alone, gold).aer - 0.05


def test_links_stay_inside_the_sentences_and_odd_pairs_get_none(synth_pairs) -> None:
    pairs = _tokens(synth_pairs[:60])
    long_pair = (["w"] * (EFLOMAL_MAX_TOKENS + 5), ["v"] * 10)
    pairs += [([], ["a", "b"]), (["a"], []), long_pair, (["x y", ""], ["z"])]
    aligner = EflomalAligner(EflomalConfig(**FAST))
    links = aligner.align(pairs)
    assert len(links) == len(pairs)
    for (src, tgt), pair_links in zip(pairs, links, strict=True):
        assert all(0 <= i < len(src) and 0 <= j < len(tgt) for i, j in pair_links)
    assert links[-4] == links[-3] == links[-2] == []
    assert aligner.last_stats["too_long"] == 1
    assert aligner.last_stats["empty"] == 2


def test_registry_knows_both_aligners_and_rejects_unknown_options() -> None:
    assert {"eflomal", "simalign"} <= set(available_aligners())
    with pytest.raises(UserError, match="unknown option"):
        get_aligner("eflomal", symmetrise="union")
    with pytest.raises(UserError, match="unknown aligner"):
        get_aligner("giza")
    with pytest.raises(ValueError, match="unknown symmetrisation"):
        get_aligner("eflomal", symmetrize="diagonal")


def test_vote_keeps_links_most_runs_agree_on() -> None:
    from curate.align.eflomal import vote

    runs = [[{(0, 0), (1, 1)}], [{(0, 0), (1, 2)}], [{(0, 0), (1, 1), (2, 2)}]]
    assert vote(runs) == [{(0, 0), (1, 1)}]


def test_cognate_priors_link_look_alike_words_of_a_pair() -> None:
    from curate.align.eflomal import cognate_priors

    pair = (
        "the Member States of the European Parliament in 1999".split(),
        "gli Stati membri del Parlamento europeo nel 1999".split(),
    )
    lines = cognate_priors([pair], alpha=2.0, src_prefix_len=4, tgt_prefix_len=4)
    found = {tuple(line.split("\t")[1:3]) for line in lines}
    assert {("1999", "1999"), ("parliament", "parlamento"), ("european", "europeo")} <= found
    assert ("member", "membri") in found and ("states", "stati") in found  # same 4-prefix
    assert all(line.startswith("LEX\t") and line.endswith("\t2") for line in lines)
    assert ("the", "gli") not in found


def test_ensemble_of_prefix_lengths_is_recorded_in_the_method(synth_pairs) -> None:
    aligner = get_aligner(
        "eflomal", prefix_lengths=(3, 4, 5), rel_iterations=0.2, n_samplers=1, cognate_prior=1.0
    )
    links = aligner.align(_tokens(synth_pairs[:200]))
    assert aligner.method == "eflomal-v1/p3,4,5/grow-diag-final-and"
    assert score_alignments(links, _gold(synth_pairs[:200])).aer < 0.3


def test_align_bitext_files_round_trip_through_the_evaluator(tmp_path, synth_pairs) -> None:
    from curate.align.bitext import align_bitext_files
    from curate.evaluate.alignment import evaluate_alignment_files
    from curate.synth import write_pharaoh

    joint = tmp_path / "pairs.txt"
    joint.write_text("".join(f"{p.src} ||| {p.tgt}\n" for p in synth_pairs), encoding="utf-8")
    gold = tmp_path / "gold.txt"
    write_pharaoh(synth_pairs, gold)
    out = tmp_path / "pred.txt"
    aligner = get_aligner("eflomal", **FAST)
    summary = align_bitext_files(aligner, joint, out, pretokenized=True, one_based=True)
    assert summary.pairs == len(synth_pairs)
    assert len(out.read_text(encoding="utf-8").splitlines()) == len(synth_pairs)
    scores = evaluate_alignment_files(out, gold, one_based=False, pred_one_based=True)
    assert scores.aer < 0.2
