"""Subword tokenizers of translation models: text to the model's tokens and back, in batches.

Two kinds, chosen from the model directory (``curate_model.json`` "tokenizer", else by files):

* ``sentencepiece``: Marian/OPUS-MT style ``source.spm`` + ``target.spm``, used directly
  through the ``sentencepiece`` library (fast, no ``transformers`` import);
* ``huggingface``: any tokenizer ``transformers.AutoTokenizer`` can load from the directory
  (NLLB, M2M-100, MADLAD-400).

Both return pieces *without* special tokens; the model family adds language tokens and
``</s>`` (:mod:`curate.mt.families`).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol


class Tokenizer(Protocol):
    def encode(self, texts: list[str]) -> list[list[str]]: ...

    def decode(self, tokens: list[list[str]]) -> list[str]: ...


class SentencePieceTokenizer:
    """Source and target SentencePiece models (one file may serve both)."""

    def __init__(self, source_model: Path, target_model: Path | None = None) -> None:
        import sentencepiece as spm

        self.source = spm.SentencePieceProcessor(model_file=str(source_model))
        self.target = (
            spm.SentencePieceProcessor(model_file=str(target_model))
            if target_model and target_model != source_model
            else self.source
        )

    def encode(self, texts: list[str]) -> list[list[str]]:
        return self.source.encode(texts, out_type=str) if texts else []

    def decode(self, tokens: list[list[str]]) -> list[str]:
        return self.target.decode(tokens) if tokens else []  # one C++ call for the batch


class HuggingFaceTokenizer:
    """A ``transformers`` tokenizer saved in the model directory."""

    def __init__(self, path: Path) -> None:
        from transformers import AutoTokenizer

        self._tok = AutoTokenizer.from_pretrained(str(path))
        self._lock = threading.Lock()  # fast tokenizers refuse concurrent borrowing

    def encode(self, texts: list[str]) -> list[list[str]]:
        if not texts:
            return []
        with self._lock:
            ids = self._tok(texts, add_special_tokens=False)["input_ids"]
            return [self._tok.convert_ids_to_tokens(row) for row in ids]

    def decode(self, tokens: list[list[str]]) -> list[str]:
        with self._lock:
            ids = [self._tok.convert_tokens_to_ids(t) for t in tokens]
            return self._tok.batch_decode(ids, skip_special_tokens=True)


def load_tokenizer(path: Path, spec: dict[str, Any]) -> Tokenizer:
    """The tokenizer described by ``spec`` (see module docstring) for the model at ``path``."""
    if spec.get("type") == "sentencepiece":
        source = path / spec.get("source", "source.spm")
        target = path / spec.get("target", spec.get("source", "target.spm"))
        return SentencePieceTokenizer(source, target)
    return HuggingFaceTokenizer(path)
