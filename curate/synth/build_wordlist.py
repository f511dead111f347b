"""Rebuild ``data/words.tsv``, the English word list of the synthetic language pair, from WordNet.

The committed ``words.tsv`` is what the generator reads; this script only documents and repeats
how it was made. It needs Debian's ``wordnet-base`` (``apt-get install wordnet-base``) and reads
``/usr/share/wordnet``. Words are ranked by their sense-tagged frequency in WordNet's index,
kept only when they are short, alphabetic, inflect regularly and no inflected form collides with
a word of another lemma, so that every English surface form has exactly one translation.

    python -m curate.synth.build_wordlist [--wordnet /usr/share/wordnet]
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from curate.synth.morphology import past_tense, plural

OUT = Path(__file__).resolve().parent / "data" / "words.tsv"

#: How many lemmas of each part of speech the list keeps.
QUOTAS = {"noun": 500, "verb": 250, "adj": 250, "adv": 60}

#: WordNet lexicographer files whose nouns are countable, concrete enough to pluralise.
NOUN_LEXFILES = {5, 6, 8, 13, 17, 18, 20}  # animal, artifact, body, food, object, person, plant
#: Verb frames meaning "Somebody ----s something/somebody" (transitive).
TRANSITIVE_FRAMES = {8, 9, 10, 11}
#: Function words and grammar words the generator uses; lexicon words must not collide.
RESERVED = {
    "the",
    "a",
    "an",
    "this",
    "that",
    "these",
    "those",
    "every",
    "some",
    "no",
    "my",
    "his",
    "her",
    "our",
    "their",
    "in",
    "on",
    "at",
    "to",
    "of",
    "with",
    "for",
    "from",
    "near",
    "behind",
    "under",
    "after",
    "before",
    "during",
    "without",
    "and",
    "but",
    "because",
    "while",
    "will",
    "very",
    "quite",
    "yesterday",
    "today",
    "tomorrow",
    "also",
    "not",
    "ice",
    "cream",
    "post",
    "office",
    "high",
    "school",
    "bus",
    "stop",
    "car",
    "park",
    "police",
    "station",
    "living",
    "room",
    "swimming",
    "pool",
    "tennis",
    "court",
    "train",
    "city",
    "hall",
    "parking",
    "lot",
}
SKIP = {
    "person",
    "man",
    "woman",
    "people",
    "thing",
    "one",
    "first",
    "last",
    "other",
    "same",
    "such",
    "only",
    "like",
    "gay",
    "bound",
    "set",
    "gone",
    "headed",
    "fit",
    "even",
    "ill",
}
WORD = re.compile(r"^[a-z]{3,10}$")


def _index(path: Path) -> list[tuple[str, int, list[str]]]:
    """(lemma, tagged sense count, synset offsets) for each line of an index file."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith(" "):
            continue
        parts = line.split()
        lemma, n_synsets, n_ptrs = parts[0], int(parts[2]), int(parts[3])
        tagged = int(parts[5 + n_ptrs])
        offsets = parts[6 + n_ptrs : 6 + n_ptrs + n_synsets]
        rows.append((lemma, tagged, offsets))
    rows.sort(key=lambda r: (-r[1], r[0]))
    return rows


def _data(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith(" "):
            out[line[:8]] = line
    return out


def _lexfile(line: str) -> int:
    return int(line.split()[1])


def _frames(line: str) -> set[int]:
    head = line.split("|")[0].split()
    n_words = int(head[3], 16)
    pos = 4 + 2 * n_words
    n_ptrs = int(head[pos])
    pos += 1 + 4 * n_ptrs
    if pos >= len(head):
        return set()
    n_frames = int(head[pos])
    return {int(head[pos + 2 + 3 * i]) for i in range(n_frames)}


def _exceptions(path: Path) -> set[str]:
    return {line.split()[-1] for line in path.read_text(encoding="utf-8").splitlines()}


def build(wordnet: Path) -> list[tuple[str, ...]]:
    used: set[str] = set(RESERVED) | SKIP
    rows: list[tuple[str, ...]] = []
    irregular = _exceptions(wordnet / "noun.exc") | _exceptions(wordnet / "verb.exc")

    def take(pos: str, candidates, forms_of) -> None:
        count = 0
        for lemma, _, offsets, data in candidates:
            if count >= QUOTAS[pos]:
                break
            if not WORD.match(lemma) or (lemma in irregular and pos in ("noun", "verb")):
                continue
            if not offsets or not data.get(offsets[0]):
                continue
            first = data[offsets[0]]
            if pos == "noun" and _lexfile(first) not in NOUN_LEXFILES:
                continue
            if pos == "verb" and not (_frames(first) & TRANSITIVE_FRAMES):
                continue
            if pos == "adv" and not lemma.endswith("ly"):
                continue
            forms = forms_of(lemma)
            if forms is None or any(f in used for f in forms):
                continue
            used.update(forms)
            rows.append((pos, *forms))
            count += 1

    for pos, fname, forms_of in (
        ("verb", "verb", lambda w: _verb_forms(w)),
        ("noun", "noun", lambda w: (w, plural(w)) if not w.endswith("s") else None),
        ("adj", "adj", lambda w: (w,)),
        ("adv", "adv", lambda w: (w,)),
    ):
        data = _data(wordnet / f"data.{fname}")
        index = _index(wordnet / f"index.{fname}")
        candidates = [(lemma, n, offs, data) for lemma, n, offs in index]
        take(pos, candidates, forms_of)
    return rows


def _verb_forms(lemma: str) -> tuple[str, ...] | None:
    past = past_tense(lemma)
    if past is None:
        return None
    return (lemma, plural(lemma), past)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wordnet", type=Path, default=Path("/usr/share/wordnet"))
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    rows = build(args.wordnet)
    args.out.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} lemmas -> {args.out}")


if __name__ == "__main__":
    main()
