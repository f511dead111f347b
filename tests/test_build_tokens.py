"""Token counters: real tokenizers (SentencePiece file, local HF directory) and the fallback."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from curate.errors import UserError
from curate.trainsets.tokens import (
    FallbackCounter,
    HFTokenizerCounter,
    SentencePieceCounter,
    load_token_counter,
    train_sentencepiece,
)

VOCABULARY = (
    "the of and river city green house walked quickly under bright morning market "
    "Haus Stadt grün Fluss schnell Morgen Markt über Brücke national assembly members"
)
WORDS = VOCABULARY.split()


def corpus(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 15))).capitalize() + "."
        for _ in range(n)
    ]


@pytest.fixture(scope="module")
def spm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("spm") / "tiny.model"
    train_sentencepiece(corpus(400), vocab_size=120, output=path)
    return path


@pytest.fixture(scope="module")
def hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        corpus(400), trainers.WordPieceTrainer(vocab_size=150, special_tokens=["[UNK]", "[PAD]"])
    )
    path = tmp_path_factory.mktemp("hf") / "tiny-tokenizer"
    PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]"
    ).save_pretrained(path)
    return path


def test_fallback_counts_word_pieces_punctuation_and_cjk_characters() -> None:
    counter = FallbackCounter()
    # "Hello" -> Hell|o, "," , "world" -> worl|d, "!"; each CJK character is one token.
    assert counter.count_batch(["Hello, world!", "東京は首都", "", "   "]) == [6, 5, 0, 0]


@pytest.mark.parametrize("kind", ["fallback", "sentencepiece", "hf"])
def test_split_cuts_at_token_boundaries_and_keeps_the_text(
    kind: str, spm_file: Path, request: pytest.FixtureRequest
) -> None:
    hf_dir = request.getfixturevalue("hf_dir") if kind == "hf" else None
    makers = {
        "fallback": FallbackCounter,
        "sentencepiece": lambda: SentencePieceCounter(spm_file),
        "hf": lambda: HFTokenizerCounter(hf_dir),
    }
    counter = makers[kind]()
    text = " ".join(corpus(6, seed=3))
    (total,) = counter.count_batch([text])
    pieces = counter.split(text, 7)
    assert "".join(piece for piece, _ in pieces) == text
    # Counts are of each piece on its own, and every piece fits.
    assert [n for _, n in pieces] == counter.count_batch([piece for piece, _ in pieces])
    assert all(n <= 7 for _, n in pieces)
    assert sum(n for _, n in pieces) >= total
    assert len(pieces) >= -(-total // 7)
    assert len(pieces) <= 2 * -(-total // 7)


def test_sentencepiece_counts_match_the_model(spm_file: Path) -> None:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_file))
    texts = corpus(50, seed=1)
    counter = SentencePieceCounter(spm_file)
    assert counter.count_batch(texts) == [len(sp.encode(t)) for t in texts]
    assert counter.name.startswith("sentencepiece:tiny.model@")


def test_sentencepiece_counts_add_up_over_joined_sentences(spm_file: Path) -> None:
    # Builders count each sentence once and add; that must equal counting the joined text.
    counter = SentencePieceCounter(spm_file)
    sentences = corpus(30, seed=2)
    parts = counter.count_batch(sentences)
    for joiner in (" ", "\n"):
        (joined,) = counter.count_batch([joiner.join(sentences)])
        assert joined == sum(parts)


def test_hf_directory_counts_without_special_tokens(hf_dir: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(hf_dir))
    texts = corpus(20, seed=4)
    counter = load_token_counter(hf_dir)
    assert isinstance(counter, HFTokenizerCounter)
    assert counter.count_batch(texts) == [
        len(tok(t, add_special_tokens=False)["input_ids"]) for t in texts
    ]


def test_load_token_counter_picks_the_kind_and_rejects_missing_paths(
    spm_file: Path, tmp_path: Path
) -> None:
    assert isinstance(load_token_counter(None), FallbackCounter)
    assert isinstance(load_token_counter(spm_file), SentencePieceCounter)
    with pytest.raises(UserError, match="not found"):
        load_token_counter(tmp_path / "missing.model")
    bad = tmp_path / "bad.model"
    bad.write_bytes(b"not a model")
    with pytest.raises(UserError, match="not a SentencePiece model"):
        load_token_counter(bad)
