"""A synthetic language pair, English -> Synthetic (``qsy``), for tests and the offline demo.

Sentences come from a small grammar over a WordNet-derived vocabulary; the rule-made
translation reorders words, adds and fuses words, copies names and numbers and rewrites dates,
and every pair carries its gold word alignment and entity spans. ``curate.synth.train`` trains
the small CTranslate2 model shipped in ``datasets/models/en-qsy``.
"""

from curate.synth.pairs import (
    LANG_CODE,
    LANG_NAME,
    SynthPair,
    generate,
    iob2_tags,
    write_bitext,
    write_conll,
    write_pharaoh,
)

__all__ = [
    "LANG_CODE",
    "LANG_NAME",
    "SynthPair",
    "generate",
    "iob2_tags",
    "write_bitext",
    "write_conll",
    "write_pharaoh",
]
