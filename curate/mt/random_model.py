"""Build a randomly initialised Marian model, in Hugging Face format, from nothing but text.

No model can be downloaded in tests or on an offline machine, yet the conversion path, the
engine and the benchmarks need a real Hugging Face directory to work on. This module trains a
small SentencePiece vocabulary on the given texts and saves a ``MarianMTModel`` with random
weights plus its ``MarianTokenizer`` files, ready for :func:`curate.mt.convert.convert`.

The outputs are meaningless, but deterministic for a given seed, so they exercise every code
path (tokenisation, batching, scores, length limits) exactly as a trained model would.
Imports torch and transformers: only call it from tests, benchmarks and model-building scripts.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from curate.text.subwords import train_sentencepiece_model


@dataclass(frozen=True)
class RandomMarianConfig:
    """Size of the random model; the defaults make a tiny model that converts in a second."""

    vocab_size: int = 400
    d_model: int = 32
    encoder_layers: int = 1
    decoder_layers: int = 1
    attention_heads: int = 2
    ffn_dim: int = 64
    max_position_embeddings: int = 128
    init_std: float = 0.5  # large enough that the output depends on the input tokens
    seed: int = 0


def build_random_marian(
    out_dir: str | Path, texts: list[str], config: RandomMarianConfig | None = None
) -> Path:
    """Write a random ``MarianMTModel`` and its tokenizer to ``out_dir``; return the path.

    One SentencePiece model trained on ``texts`` serves as both source and target vocabulary.
    The ``<pad>`` embedding row is zeroed: Marian starts the decoder from that row while
    CTranslate2 starts it from a zero vector, so a non-zero row would make the two disagree.
    """
    import sentencepiece as spm
    import torch
    from transformers import MarianConfig, MarianMTModel, MarianTokenizer

    cfg = config or RandomMarianConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "spm"
        model = train_sentencepiece_model(
            (t.replace("\n", " ") for t in texts),
            cfg.vocab_size,
            unk_id=0,
            bos_id=-1,
            eos_id=-1,
            pad_id=-1,
        )
        Path(f"{prefix}.model").write_bytes(model)
        sp = spm.SentencePieceProcessor(model_file=f"{prefix}.model")
        pieces = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
        vocab = {"</s>": 0, "<unk>": 1}
        for piece in pieces:
            vocab.setdefault(piece, len(vocab))
        vocab["<pad>"] = len(vocab)
        vocab_file = Path(tmp) / "vocab.json"
        vocab_file.write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
        # Saved through the tokenizer class (not copied) so its files agree with each other.
        tokenizer = MarianTokenizer(
            source_spm=f"{prefix}.model",
            target_spm=f"{prefix}.model",
            vocab=str(vocab_file),
            model_max_length=cfg.max_position_embeddings,
        )
        tokenizer.save_pretrained(out)

    torch.manual_seed(cfg.seed)
    model_config = MarianConfig(
        vocab_size=len(vocab),
        decoder_vocab_size=len(vocab),
        d_model=cfg.d_model,
        encoder_layers=cfg.encoder_layers,
        decoder_layers=cfg.decoder_layers,
        encoder_attention_heads=cfg.attention_heads,
        decoder_attention_heads=cfg.attention_heads,
        encoder_ffn_dim=cfg.ffn_dim,
        decoder_ffn_dim=cfg.ffn_dim,
        max_position_embeddings=cfg.max_position_embeddings,
        pad_token_id=vocab["<pad>"],
        eos_token_id=vocab["</s>"],
        decoder_start_token_id=vocab["<pad>"],
        forced_eos_token_id=vocab["</s>"],
        share_encoder_decoder_embeddings=True,
        scale_embedding=True,
        num_beams=1,
        init_std=cfg.init_std,
    )
    model = MarianMTModel(model_config)
    with torch.no_grad():
        model.get_input_embeddings().weight[vocab["<pad>"]].zero_()
    model.eval()
    model.save_pretrained(out)
    return out


def build_random_nllb(
    out_dir: str | Path, texts: list[str], config: RandomMarianConfig | None = None
) -> Path:
    """Write a random NLLB-style ``M2M100ForConditionalGeneration`` with an ``NllbTokenizer``.

    The tokenizer carries the FLORES-200 language codes, so the converted model exercises the
    NLLB family (source language token, forced target prefix) and the Hugging Face tokenizer.
    """
    import torch
    from transformers import (
        AutoTokenizer,
        M2M100Config,
        M2M100ForConditionalGeneration,
        NllbTokenizer,
    )

    cfg = config or RandomMarianConfig()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # A character-level BPE vocabulary (no merges), in fairseq's order of special tokens.
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "▁": 4}
    for char in sorted({c for t in texts for c in t if not c.isspace()}):
        vocab.setdefault(char, len(vocab))
    NllbTokenizer(vocab=vocab, merges=[]).save_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    torch.manual_seed(cfg.seed)
    model_config = M2M100Config(
        vocab_size=len(tokenizer),
        d_model=cfg.d_model,
        encoder_layers=cfg.encoder_layers,
        decoder_layers=cfg.decoder_layers,
        encoder_attention_heads=cfg.attention_heads,
        decoder_attention_heads=cfg.attention_heads,
        encoder_ffn_dim=cfg.ffn_dim,
        decoder_ffn_dim=cfg.ffn_dim,
        max_position_embeddings=cfg.max_position_embeddings,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.eos_token_id,
        init_std=cfg.init_std,
    )
    M2M100ForConditionalGeneration(model_config).eval().save_pretrained(out)
    return out


def random_ct2_model(
    out_dir: str | Path,
    texts: list[str],
    config: RandomMarianConfig | None = None,
    *,
    src: str = "en",
    tgt: str = "de",
    name: str = "random-marian",
) -> Path:
    """A converted (CTranslate2 int8) random Marian model at ``out_dir``, built once.

    When ``out_dir`` already holds a converted model it is returned as it is, so tests and
    benchmarks can keep one in a cache directory.
    """
    from curate.mt.convert import convert

    out = Path(out_dir)
    if (out / "model.bin").exists() and (out / "curate_model.json").exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        hf = build_random_marian(Path(tmp) / "hf", texts, config)
        convert(hf, out, name=name, source_languages=[src], target_languages=[tgt], force=True)
    return out
