"""curate: cross-lingual data curation and translation.

The library is runner-agnostic: every stage is a plain function over a batch of records.
Beam pipelines that compose these stages live in the separate ``beam_jobs`` package.
"""

__version__ = "0.1.0"
