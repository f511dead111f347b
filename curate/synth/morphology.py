"""Regular English inflection (plural / third person singular, past tense) for the word list."""

from __future__ import annotations

VOWELS = set("aeiou")


def plural(word: str) -> str:
    """``dog -> dogs``, ``box -> boxes``, ``city -> cities``; also the ``-s`` of verbs."""
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2] not in VOWELS:
        return word[:-1] + "ies"
    return word + "s"


def _syllables(word: str) -> int:
    groups, previous = 0, False
    for ch in word:
        vowel = ch in VOWELS or ch == "y"
        if vowel and not previous:
            groups += 1
        previous = vowel
    if word.endswith("e") and groups > 1 and not word.endswith(("le", "ee")):
        groups -= 1
    return groups


def past_tense(verb: str) -> str | None:
    """Past tense of a regular verb, or ``None`` when the doubling rule would be a guess."""
    if verb.endswith("e"):
        return verb + "d"
    if verb.endswith("y") and verb[-2] not in VOWELS:
        return verb[:-1] + "ied"
    cvc = (
        len(verb) >= 3
        and verb[-1] not in VOWELS | set("wxy")
        and verb[-2] in VOWELS
        and verb[-3] not in VOWELS
    )
    if cvc:
        if _syllables(verb) == 1:
            return verb + verb[-1] + "ed"
        if verb.endswith(("en", "er", "on", "ow", "isit", "ut")) and not verb.endswith("fer"):
            return verb + "ed"
        return None
    return verb + "ed"
