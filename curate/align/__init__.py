"""Word alignment: tokenisation reversible to offsets, aligners by name, symmetrisation.

``get_aligner("eflomal")`` (default; statistical, trains on the batch) or
``get_aligner("simalign", model=PATH)`` (encoder-based, batched); every aligner has
``align(pairs) -> links`` and a ``method`` string recorded with its output.
"""

from curate.align.registry import WordAligner, available_aligners, get_aligner, register_aligner
from curate.align.tokenize import Tokens, tokenize

__all__ = [
    "Tokens",
    "WordAligner",
    "available_aligners",
    "get_aligner",
    "register_aligner",
    "tokenize",
]
