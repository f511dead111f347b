"""How many sentence pairs a corpus-level aligner (eflomal) learns from and aligns at once.

eflomal learns its lexical and distortion statistics from the text it aligns, so the more text
one call sees the better, up to a point; its memory and the time of one call grow with the
text, and one call runs on one worker. The jobs therefore split a language pair into chunks of
at most :data:`CHUNK_PAIRS` sentence pairs, aligned each on its own (every chunk trained along
with the same extra parallel text). What that costs in alignment error against one call over
the whole corpus is measured by ``benchmarks/align_chunks.py`` (figures in
``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

#: The default of ``align.chunk_pairs`` (recipe) and ``--chunk-pairs`` (command line).
CHUNK_PAIRS = 50_000
