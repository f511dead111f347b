"""One SentencePiece trainer: a model trained in memory loads, and callers' options win."""

from __future__ import annotations

import sentencepiece as spm

from curate.text.subwords import train_sentencepiece_model

TEXTS = [
    f"the river {w} runs past the old stone market number {i}"
    for i, w in enumerate("alpha beta gamma delta light garden paper".split() * 20)
]


def test_a_model_trained_in_memory_loads_and_round_trips_text() -> None:
    sp = spm.SentencePieceProcessor(model_proto=train_sentencepiece_model(TEXTS, 80))
    assert 0 < sp.get_piece_size() <= 80  # a soft limit: a small corpus may have fewer pieces
    ids = sp.encode("the old stone market")
    assert sp.decode(ids) == "the old stone market"


def test_caller_options_override_the_defaults() -> None:
    model = train_sentencepiece_model(
        TEXTS, 80, model_type="bpe", eos_id=0, unk_id=1, bos_id=-1, pad_id=-1, split_digits=True
    )
    sp = spm.SentencePieceProcessor(model_proto=model)
    assert sp.id_to_piece(0) == "</s>" and sp.id_to_piece(1) == "<unk>"
    assert sp.bos_id() == -1 and sp.pad_id() == -1
    assert "1" in sp.encode("number 12", out_type=str)[-2:]  # digits split one by one
