"""Write the sample corpora that ship in ``datasets/samples`` (English, generated, seeded).

The samples are made by the synthetic grammar, so the shipped ``en-qsy`` model translates them
well and the demo's projections can be checked against the generator's gold:

* ``news_en.jsonl``: documents (``id``, ``text``, ``link``) of two paragraphs each;
* ``ner_en.conll``: labelled sentences (token<TAB>IOB2 tag; PER, LOC, ORG, DATE, NUM);
* ``ner_qsy.conll``: the gold labels of their Synthetic translations, for ``curate eval``.

    python -m curate.synth.samples datasets/samples
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from curate.synth.pairs import generate, write_conll

DOCUMENT_SEED, NER_SEED = 2026, 7


def write_samples(folder: str | Path, documents: int = 12, sentences: int = 120) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    pairs = generate(documents * 6, DOCUMENT_SEED)
    with open(folder / "news_en.jsonl", "w", encoding="utf-8") as fh:
        for d in range(documents):
            doc = pairs[d * 6 : (d + 1) * 6]
            split = 2 + d % 3
            paragraphs = [
                " ".join(p.src for p in doc[:split]),
                " ".join(p.src for p in doc[split:]),
            ]
            record = {
                "id": f"news-{d + 1:03d}",
                "text": "\n\n".join(paragraphs),
                "link": f"story-{d + 1}",
            }
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    labelled = generate(sentences, NER_SEED)
    write_conll(labelled, folder / "ner_en.conll", side="src")
    write_conll(labelled, folder / "ner_qsy.conll", side="tgt")


if __name__ == "__main__":
    write_samples(sys.argv[1] if len(sys.argv) > 1 else "datasets/samples")
