"""How many sentence pairs a corpus-level aligner (eflomal) learns from and aligns at once.

eflomal learns its lexical and distortion statistics from the text it aligns, so the more text
one call sees the better, up to a point; its memory and the time of one call grow with the
text, and one call runs on one worker. The jobs therefore split a language pair into chunks of
at most :data:`CHUNK_PAIRS` sentence pairs, aligned each on its own (every chunk trained along
with the same extra parallel text). What that costs in alignment error against one call over
the whole corpus is measured by ``benchmarks/align_chunks.py`` (figures in
``benchmarks/RESULTS.md``).

The default was chosen on a 200,000-pair synthetic en-qsy corpus (seed 1; the held-out figure
is on seed 2): AER 0.0728 unchunked, 0.0731 in chunks of 100,000, 0.0784 in chunks of 50,000
(precision drops as chunks shrink). Chunks of 100,000 keep alignment within run-to-run noise
of one call, hold a few hundred MB of rows per worker, and still spread a large pair over
workers (a million pairs are ten chunks). On the held-out corpus (seed 2) chunks of 100,000
gave AER 0.0735 against 0.0737 for one run. Smaller chunks also cost more work per pair:
eflomal chooses more sampling iterations for a smaller corpus.
"""

from __future__ import annotations

#: The default of ``align.chunk_pairs`` (recipe) and ``--chunk-pairs`` (command line).
CHUNK_PAIRS = 100_000
