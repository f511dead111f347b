"""The bilingual lexicon of the synthetic pair English -> Synthetic (ISO 639 private use ``qsy``).

English content words come from ``data/words.tsv`` (built from WordNet by ``build_wordlist``);
each lemma gets an invented, pronounceable Synthetic word from a generator seeded with
:data:`LEXICON_SEED`, so the lexicon is the same on every machine and in every run. A few nouns
translate as two words, a few English two-word compounds as one word, and the function words
(determiners, prepositions, particles) have hand-made translations, including contractions of a
preposition with ``the`` (``in the`` -> ``nal``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

#: Seed of the invented vocabulary; changing it changes the language (and invalidates models).
LEXICON_SEED = 639
#: Share of nouns that translate as two words.
TWO_WORD_NOUN_RATE = 0.06

WORDS_FILE = Path(__file__).resolve().parent / "data" / "words.tsv"

#: English determiner -> (Synthetic word, grammatical number it goes with: "sg", "pl", "any").
DETERMINERS: dict[str, tuple[str, str]] = {
    "the": ("le", "any"),
    "a": ("un", "sg"),
    "this": ("esi", "sg"),
    "that": ("aso", "sg"),
    "every": ("kadu", "sg"),
    "these": ("esir", "pl"),
    "those": ("asor", "pl"),
    "some": ("polo", "pl"),
    "no": ("nul", "any"),
    "my": ("mo", "any"),
    "his": ("lus", "any"),
    "her": ("las", "any"),
    "our": ("nos", "any"),
    "their": ("los", "any"),
}

#: English preposition -> Synthetic postposition.
PREPOSITIONS: dict[str, str] = {
    "in": "na",
    "on": "su",
    "at": "zo",
    "to": "ad",
    "with": "kon",
    "for": "per",
    "from": "ab",
    "near": "pres",
    "behind": "dor",
    "under": "sob",
    "without": "sin",
}
#: ``preposition the`` -> one Synthetic word (two words to one).
CONTRACTIONS: dict[str, str] = {
    "in": "nal",
    "on": "sul",
    "at": "zol",
    "to": "al",
    "with": "kol",
    "from": "abl",
}
#: Prepositions of time expressions (``on 5 March 2021``, ``before 1998``).
TIME_PREPOSITIONS: dict[str, str] = {"on": "su", "in": "na", "after": "pos", "before": "ante"}
TIME_ADVERBS: dict[str, str] = {"yesterday": "bilo", "today": "sego", "tomorrow": "mana"}
CONJUNCTIONS: dict[str, str] = {"and": "e", "but": "mas", "because": "porke", "while": "kwan"}
INTENSIFIERS: dict[str, str] = {"very": "tre", "quite": "bas"}
PLURAL = "ri"
PAST = "ta"
FUTURE = "ko"

#: English two-word compound nouns that translate as one word (plural: ``bus stops``).
COMPOUNDS: tuple[tuple[str, str], ...] = (
    ("ice", "cream"),
    ("post", "office"),
    ("high", "school"),
    ("bus", "stop"),
    ("car", "park"),
    ("police", "station"),
    ("living", "room"),
    ("swimming", "pool"),
    ("tennis", "court"),
    ("train", "station"),
    ("city", "hall"),
    ("parking", "lot"),
)

_ONSETS = [
    "b",
    "d",
    "f",
    "g",
    "k",
    "l",
    "m",
    "n",
    "p",
    "r",
    "s",
    "t",
    "v",
    "z",
    "ch",
    "sh",
    "br",
    "dr",
    "kr",
    "pl",
    "tr",
]
_VOWELS = ["a", "e", "i", "o", "u", "a", "e", "i", "o"]
_CODAS = ["", "", "", "", "n", "r", "l", "s"]


@dataclass(frozen=True)
class Entry:
    """One English lemma and its translation (one or two Synthetic words)."""

    pos: str  # noun | verb | adj | adv | compound
    forms: tuple[str, ...]  # noun: (sg, pl); verb: (base, -s, past); compound: (w1, w2, w2-pl)
    target: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    nouns: tuple[Entry, ...]
    verbs: tuple[Entry, ...]
    adjectives: tuple[Entry, ...]
    adverbs: tuple[Entry, ...]
    compounds: tuple[Entry, ...]

    def entries(self) -> tuple[Entry, ...]:
        return self.nouns + self.verbs + self.adjectives + self.adverbs + self.compounds

    def english_words(self) -> set[str]:
        """Every English surface form of the content words and the function words."""
        words = {f for e in self.entries() for f in e.forms}
        words |= set(DETERMINERS) | set(PREPOSITIONS) | set(TIME_PREPOSITIONS)
        words |= set(TIME_ADVERBS) | set(CONJUNCTIONS) | set(INTENSIFIERS) | {"an", "will"}
        return words


def _function_targets() -> set[str]:
    words = {t for t, _ in DETERMINERS.values()}
    for table in (PREPOSITIONS, CONTRACTIONS, TIME_PREPOSITIONS, TIME_ADVERBS, CONJUNCTIONS):
        words |= set(table.values())
    return words | set(INTENSIFIERS.values()) | {PLURAL, PAST, FUTURE}


def _plural(word: str) -> str:
    from curate.synth.morphology import plural

    return plural(word)


@cache
def load_lexicon() -> Lexicon:
    """The lexicon, identical on every call and every machine."""
    rows = [line.split("\t") for line in WORDS_FILE.read_text(encoding="utf-8").splitlines()]
    rng = random.Random(LEXICON_SEED)
    english = {w for row in rows for w in row[1:]}
    english |= {w for pair in COMPOUNDS for w in pair}
    taken = _function_targets() | english

    def invent() -> str:
        while True:
            n = rng.choice((2, 2, 3))
            syllables = []
            for i in range(n):
                syllable = rng.choice(_ONSETS) + rng.choice(_VOWELS)
                syllables.append(syllable + (rng.choice(_CODAS) if i == n - 1 else ""))
            word = "".join(syllables)
            if word not in taken and 4 <= len(word) <= 10:
                taken.add(word)
                return word

    by_pos: dict[str, list[Entry]] = {"noun": [], "verb": [], "adj": [], "adv": []}
    for pos, *forms in rows:
        two = pos == "noun" and rng.random() < TWO_WORD_NOUN_RATE
        target = (invent(), invent()) if two else (invent(),)
        by_pos[pos].append(Entry(pos, tuple(forms), target))
    compounds = tuple(Entry("compound", (w1, w2, _plural(w2)), (invent(),)) for w1, w2 in COMPOUNDS)
    return Lexicon(
        nouns=tuple(by_pos["noun"]),
        verbs=tuple(by_pos["verb"]),
        adjectives=tuple(by_pos["adj"]),
        adverbs=tuple(by_pos["adv"]),
        compounds=compounds,
    )
