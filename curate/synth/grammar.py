"""Generate English sentences and their Synthetic translations, word alignments and entities.

A sentence is one or two clauses ``Subject Verb Object [PP] [Time]``. The Synthetic translation
is verb-final (``Subject [Time] [PP] Object [Adverb] Verb [tense particle]``), puts adjectives
after the noun (mirrored), determiners and numbers at the end of the noun phrase and turns
prepositions into postpositions. Past and future tense and noun plural add a particle (one
word to two); ``in the`` and the other contractions, ``will chase`` and compound nouns such as
``bus stop`` become one word (two words to one); names, places, organisations and numbers are
copied; dates are rewritten as ``YYYY-MM-DD``. Text is tokenised by single spaces, punctuation
included, and alignments index those tokens.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from curate.synth import lexicon as lx
from curate.synth.names import FIRST_NAMES, MONTHS, ORG_SUFFIXES, ORGANISATIONS, PLACES, SURNAMES

_PLACES = tuple(tuple(p.split()) for p in PLACES)
_ORGS = tuple(tuple(o.split()) for o in ORGANISATIONS)
_SG_DETS = tuple(d for d, (_, n) in lx.DETERMINERS.items() if n in ("sg", "any"))
_PL_DETS = tuple(d for d, (_, n) in lx.DETERMINERS.items() if n in ("pl", "any"))
_PREPS = tuple(lx.PREPOSITIONS)
_AN_EXCEPTIONS = ("uni", "use", "usu", "eu", "one")


@dataclass(slots=True)
class Phrase:
    """Source and target tokens, links between them and entity spans, all local to the phrase.

    ``spans`` are ``(src_start, src_end, tgt_start, tgt_end, label)`` token ranges (end exclusive).
    """

    src: list[str]
    tgt: list[str]
    links: list[tuple[int, int]] = field(default_factory=list)
    spans: list[tuple[int, int, int, int, str]] = field(default_factory=list)


def word(src: str, *tgt: str) -> Phrase:
    """One source word translated by one or more target words, all linked to it."""
    if len(tgt) == 1:
        return Phrase([src], [tgt[0]], [(0, 0)], [])
    return Phrase([src], list(tgt), [(0, j) for j in range(len(tgt))], [])


def copied(tokens: tuple[str, ...] | list[str], label: str | None = None) -> Phrase:
    n = len(tokens)
    spans = [(0, n, 0, n, label)] if label else []
    return Phrase(list(tokens), list(tokens), [(i, i) for i in range(n)], spans)


def join(parts: list[Phrase], order: list[int] | None = None) -> Phrase:
    """Concatenate ``parts`` in source order, their targets in ``order`` (indices into parts)."""
    src: list[str] = []
    tgt: list[str] = []
    links: list[tuple[int, int]] = []
    spans: list[tuple[int, int, int, int, str]] = []
    if order is None:
        offsets = []
        for p in parts:
            offsets.append((len(src), len(tgt)))
            src += p.src
            tgt += p.tgt
    else:
        tgt_off = [0] * len(parts)
        for i in order:
            tgt_off[i] = len(tgt)
            tgt += parts[i].tgt
        offsets = []
        for i, p in enumerate(parts):
            offsets.append((len(src), tgt_off[i]))
            src += p.src
    for p, (so, to) in zip(parts, offsets):  # noqa: B905 - same length by construction
        if so or to:
            links += [(s + so, t + to) for s, t in p.links]
        else:
            links += p.links
        if p.spans:
            spans += [(a + so, b + so, c + to, d + to, lab) for a, b, c, d, lab in p.spans]
    return Phrase(src, tgt, links, spans)


class Generator:
    """Draws sentence pairs from the grammar with one :class:`random.Random`."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.lex = lx.load_lexicon()

    # -- entities ---------------------------------------------------------------------------
    def person(self) -> Phrase:
        r = self.rng
        if r.random() < 0.7:
            return copied((r.choice(FIRST_NAMES), r.choice(SURNAMES)), "PER")
        return copied((r.choice(FIRST_NAMES if r.random() < 0.5 else SURNAMES),), "PER")

    def place(self) -> Phrase:
        return copied(self.rng.choice(_PLACES), "LOC")

    def organisation(self) -> Phrase:
        r = self.rng
        if r.random() < 0.4:
            return copied(r.choice(_ORGS), "ORG")
        head = r.choice(SURNAMES) if r.random() < 0.6 else r.choice(PLACES)
        return copied((*head.split(), r.choice(ORG_SUFFIXES)), "ORG")

    def entity(self, weights: tuple[float, float, float]) -> Phrase:
        x = self.rng.random() * sum(weights)
        if x < weights[0]:
            return self.person()
        if x < weights[0] + weights[1]:
            return self.place()
        return self.organisation()

    def number(self) -> str:
        r = self.rng
        x = r.random()
        if x < 0.4:
            return str(r.randint(2, 20))
        if x < 0.8:
            return str(r.randint(21, 999))
        return f"{r.randint(1000, 99999):,}"

    # -- noun phrases -----------------------------------------------------------------------
    def common_np(self, role: str, prep: str | None = None) -> tuple[Phrase, bool]:
        """``[prep] [det|num] [intensifier] adj* noun`` -> ``noun adj* [ri] [det|num] [postp]``.

        Returns the phrase and whether it is plural.
        """
        r = self.rng
        lex = self.lex
        x = r.random()
        if role == "subj":
            kind = "num" if x < 0.12 else "det"
        else:
            kind = "num" if x < 0.1 else "bare" if x < 0.3 else "det"
        plural = kind in ("num", "bare") or r.random() < 0.35
        if r.random() < 0.06:
            entry = r.choice(lex.compounds)
            head = Phrase(
                [entry.forms[0], entry.forms[2] if plural else entry.forms[1]],
                list(entry.target),
                [(0, 0), (1, 0)],
            )
        else:
            entry = r.choice(lex.nouns)
            head = Phrase(
                [entry.forms[1] if plural else entry.forms[0]],
                list(entry.target),
                [(0, j) for j in range(len(entry.target))],
            )
        y = r.random()
        n_adj = 0 if y < 0.5 else 1 if y < 0.85 else 2
        adjs = [r.choice(lex.adjectives) for _ in range(n_adj)]
        mods: list[Phrase] = []
        for k, adj in enumerate(adjs):
            if k == 0 and r.random() < 0.15:
                intens = r.choice(tuple(lx.INTENSIFIERS))
                adj_word = word(adj.forms[0], *adj.target)
                mods.append(join([word(intens, lx.INTENSIFIERS[intens]), adj_word], [1, 0]))
            else:
                mods.append(word(adj.forms[0], *adj.target))
        # English: mods in order then head; target: head then mods mirrored.
        parts = [*mods, head]
        order = [len(mods), *range(len(mods) - 1, -1, -1)]
        if plural and kind != "num":
            parts.append(Phrase([], [lx.PLURAL]))
            order.append(len(parts) - 1)
        np = join(parts, order)
        if plural and kind != "num":  # the plural particle belongs to the noun's last word
            np.links.append((len(np.src) - 1, len(np.tgt) - 1))
        first = np.src[0]
        if kind == "num":
            num = self.number()
            det = copied((num,), "NUM")
        elif kind == "det":
            d = r.choice(_PL_DETS if plural else _SG_DETS)
            if d == "a" and first[0] in "aeiou" and not first.startswith(_AN_EXCEPTIONS):
                det = Phrase(["an"], [lx.DETERMINERS["a"][0]], [(0, 0)])
            else:
                det = word(d, lx.DETERMINERS[d][0])
        else:
            det = Phrase([], [])
        if prep is not None and kind == "det" and det.src == ["the"] and prep in lx.CONTRACTIONS:
            fused = Phrase([prep, "the"], [lx.CONTRACTIONS[prep]], [(0, 0), (1, 0)])
            return join([fused, np], [1, 0]), plural
        parts = [det, np]
        if prep is not None:
            parts.insert(0, word(prep, lx.PREPOSITIONS[prep]))
            return join(parts, [2, 1, 0]), plural
        return join(parts, [1, 0]), plural

    def np(self, role: str, prep: str | None = None) -> tuple[Phrase, bool]:
        r = self.rng
        p_entity = {"subj": 0.3, "obj": 0.2, "pp": 0.35}[role]
        if r.random() < p_entity:
            weights = (0.2, 0.6, 0.2) if role == "pp" else (0.6, 0.1, 0.3)
            ent = self.entity(weights)
            if prep is None:
                return ent, False
            return join([word(prep, lx.PREPOSITIONS[prep]), ent], [1, 0]), False
        return self.common_np(role, prep)

    # -- clauses ----------------------------------------------------------------------------
    def time(self) -> Phrase:
        r = self.rng
        x = r.random()
        if x < 0.3:
            adverb = r.choice(tuple(lx.TIME_ADVERBS))
            return word(adverb, lx.TIME_ADVERBS[adverb])
        year = r.randint(1950, 2030)
        if x < 0.7:
            day, month = r.randint(1, 28), r.randint(1, 12)
            src = [str(day), MONTHS[month - 1], str(year)]
            date = Phrase(src, [f"{year}-{month:02d}-{day:02d}"], [(0, 0), (1, 0), (2, 0)])
            date.spans.append((0, 3, 0, 1, "DATE"))
            return join([word("on", lx.TIME_PREPOSITIONS["on"]), date], [1, 0])
        prep = r.choice(("in", "after", "before"))
        return join([word(prep, lx.TIME_PREPOSITIONS[prep]), copied((str(year),), "DATE")], [1, 0])

    def clause(self) -> Phrase:
        r = self.rng
        lex = self.lex
        subj, subj_plural = self.np("subj")
        obj, _ = self.np("obj")
        verb = r.choice(lex.verbs)
        tense = r.choice(("present", "past", "future"))
        stem = verb.target
        if tense == "present":
            v = word(verb.forms[1] if not subj_plural else verb.forms[0], *stem)
        elif tense == "past":
            v = word(verb.forms[2], *stem, lx.PAST)
        else:
            v = join([word("will", lx.FUTURE), word(verb.forms[0], *stem)], [1, 0])
        parts = [subj]
        adv = r.choice(lex.adverbs) if r.random() < 0.25 else None
        adv_first = adv is not None and tense != "future" and r.random() < 0.5
        if adv is not None and adv_first:
            parts.append(word(adv.forms[0], *adv.target))
        parts.extend([v, obj])
        pp = None
        if r.random() < 0.45:
            pp, _ = self.np("pp", r.choice(_PREPS))
            parts.append(pp)
        tm = self.time() if r.random() < 0.35 else None
        if tm is not None:
            parts.append(tm)
        if adv is not None and not adv_first:
            parts.append(word(adv.forms[0], *adv.target))
        # target order: subject, time, pp, object, adverb, verb
        index = {id(p): i for i, p in enumerate(parts)}
        order = [0]
        if tm is not None:
            order.append(index[id(tm)])
        if pp is not None:
            order.append(index[id(pp)])
        order.append(index[id(obj)])
        if adv is not None:
            order.append(1 if adv_first else len(parts) - 1)
        order.append(index[id(v)])
        return join(parts, order)

    def sentence(self) -> Phrase:
        r = self.rng
        parts = [self.clause()]
        if r.random() < 0.15:
            conj = r.choice(tuple(lx.CONJUNCTIONS))
            parts += [word(conj, lx.CONJUNCTIONS[conj]), self.clause()]
        parts.append(word(".", "."))
        return join(parts)
