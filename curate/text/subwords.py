"""Training a SentencePiece model in memory, with the options every caller here shares.

Token counting (:mod:`curate.trainsets.tokens`), the synthetic translation model
(:mod:`curate.synth.train`) and the random Marian model (:mod:`curate.mt.random_model`) train
their vocabularies through :func:`train_sentencepiece_model`; each passes only what it needs
differently (model type, special ids, normalisation).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

#: ``hard_vocab_limit=False``: a small corpus may have fewer pieces than ``vocab_size``, which is
#: then an upper bound instead of an error; every character is kept (``character_coverage=1``).
DEFAULTS: dict[str, Any] = {
    "model_type": "unigram",
    "hard_vocab_limit": False,
    "character_coverage": 1.0,
    "minloglevel": 2,
    "num_threads": 1,
}


def train_sentencepiece_model(texts: Iterable[str], vocab_size: int, **options: Any) -> bytes:
    """The serialised model (``.model`` file content) trained on ``texts``, one per sentence.

    ``options`` are ``SentencePieceTrainer`` options; they override :data:`DEFAULTS`.
    """
    import sentencepiece as spm

    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(texts),
        model_writer=buffer,
        vocab_size=vocab_size,
        **{**DEFAULTS, **options},
    )
    return buffer.getvalue()
