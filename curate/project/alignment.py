"""Alignment-based span projection: carry labelled spans across a translation via word links.

For each labelled span on the *labelled side*, the words of the *other side* linked to any of
its words are collected; words made only of punctuation are dropped; the remaining positions are
split into contiguous groups, groups separated by at most ``max_gap`` words are merged, and the
largest group becomes the projected span. Where projected spans overlap, the one with the
stronger alignment support keeps the contested words and the other is trimmed (or dropped if
nothing is left). Results are character offsets into the other side's text plus IOB2 tags of its
words, with a status per example (``complete``, ``partial``, ``dropped``) and a reason for every
span that was not carried over or was changed.

Refinements on top of that recipe, each measured on Europarl NER (see
``benchmarks/projection_europarl.py``) and each switchable in :class:`ProjectionConfig`:
anchor links for words that reappear verbatim or nearly so (names, numbers, compound parts);
trimming of the other side's frequent function words (learnt from the batch) off span edges;
closing brackets that a span opened; an optional relabelling of names that land on lower-case
words (CoNLL's nationality-adjective rule); and a batch-level consistency pass
(:mod:`curate.project.consistency`) that moves outlier projections to the usual translation
of the same source span.

The same function serves both directions:

- translate-train: the labelled side is the source text, the other side its translation
  (:func:`project_translate_train`);
- translate-test: a model labelled the English translation; the labels go back onto the
  original text (:func:`project_translate_test`).

Links are always ``(labelled word, other word)`` here; the direction helpers swap an aligner's
``(source, target)`` links when the labelled side is the target.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

import regex

from curate.align import sentences
from curate.align.anchors import add_anchor_links
from curate.align.languages import alignment_forms
from curate.align.registry import Link, WordAligner, for_languages
from curate.align.tokenize import NO_SPACE_SCRIPTS, Tokens, tokenize
from curate.project.consistency import (
    ConsistencyConfig,
    Example,
    Table,
    harmonize,
    projection_counts,
)
from curate.records import Span
from curate.text.tags import TokenSpan, char_spans_to_token, spans_to_tags, token_spans_to_char

COMPLETE, PARTIAL, DROPPED = "complete", "partial", "dropped"
#: ``ProjectionConfig.adjective_label`` default: MISC for label sets that have MISC
ADJECTIVE_AUTO, ADJECTIVE_LABEL = "auto", "MISC"
NER, QA, GENERIC, AUTO = "ner", "qa", "generic", "auto"
CONVENTIONS = (AUTO, NER, QA, GENERIC)
#: entity types of the common NER schemes (CoNLL, OntoNotes, WikiANN, MasakhaNER)
NER_LABELS = frozenset(
    "PER PERSON LOC ORG MISC GPE NORP FAC EVENT PRODUCT WORK_OF_ART LAW LANGUAGE DATE TIME "
    "NUM MONEY PERCENT QUANTITY ORDINAL CARDINAL".split()
)
QA_LABELS = frozenset({"ANSWER", "ANS"})


def convention_for_labels(labels: Iterable[str]) -> str:
    """``ner`` when every label is an entity type, ``qa`` for answers, else ``generic``."""
    found = {label.upper() for label in labels}
    if found and found <= NER_LABELS:
        return NER
    if found and found <= QA_LABELS:
        return QA
    return GENERIC


TRANSLATE_TRAIN, TRANSLATE_TEST = "translate-train", "translate-test"

_HAS_WORD_CHAR = regex.compile(r"[\p{L}\p{N}]")


@dataclass(frozen=True)
class ProjectionConfig:
    """Options of alignment-based projection (defaults: what scored best on Europarl NER)."""

    #: merge groups of linked words separated by at most this many words
    max_gap: int = 3
    #: do not fill a gap with words linked to words outside the span
    respect_other_links: bool = False
    #: drop words without a letter or digit (punctuation, symbols) when choosing the words of a
    #: projection; punctuation linked to the span at its edges and closing brackets come back
    drop_punctuation: bool = True
    #: link look-alike words (names, numbers) first, overriding the aligner for them
    #: (:mod:`curate.align.anchors`); needs the labelled side's words
    anchors: bool = True
    #: in batches of at least ``min_texts_for_function_words`` texts, learn the other side's
    #: frequent short words (articles, prepositions) and trim them off projection edges
    trim_function_words: bool = True
    min_texts_for_function_words: int = 50
    #: more words (lower-case) to trim off the edges unless the labelled span has them too
    trim_words: frozenset[str] = frozenset()
    #: e.g. "MISC": a span labelled with one of ``name_labels`` that lands on lower-case words
    #: only (of a script with case) is relabelled (CoNLL guidelines: "finnischen" from
    #: "Finland" is MISC, not LOC). ``auto`` (the default): "MISC" where the labels in use
    #: include MISC (a CoNLL-style label set: a batch's labels in :func:`project_batch`, the
    #: spans' own labels in :func:`project_token_spans`), off otherwise; None: off
    adjective_label: str | None = ADJECTIVE_AUTO
    name_labels: tuple[str, ...] = ("PER", "LOC")
    #: extend a projection over capitalised neighbours that are linked to nothing (names in
    #: languages that do not capitalise nouns; hurts German)
    extend_names: bool = False
    #: span convention: ``ner`` (CoNLL rules: learnt function words trimmed off the edges,
    #: names on lower-case words relabelled when ``adjective_label`` is set, brackets kept
    #: only when opened inside), ``qa`` (answers: the edges mirror the labelled span, so an
    #: answer that starts with an article or is a quoted title keeps them), ``generic`` (the
    #: aligned words and the gaps between them, quotes and brackets mirrored, nothing trimmed
    #: or relabelled), or ``auto``: ``ner`` when every label is an entity type, ``qa`` for
    #: answer labels, ``generic`` otherwise (:func:`convention_for_labels`)
    convention: str = "auto"
    #: function words of the labelled side (learnt from the batch like ``trim_words``); with
    #: ``qa`` an edge word of the other side is trimmed only if the labelled edge is not one
    labelled_function_words: frozenset[str] = frozenset()
    #: align multi-sentence examples sentence pair by sentence pair
    #: (:mod:`curate.align.sentences`), the whole example where sentences cannot be paired
    by_sentence: bool = True
    #: batch-level consistency pass (:mod:`curate.project.consistency`); None turns it off
    consistency: ConsistencyConfig | None = field(default_factory=ConsistencyConfig)

    def __post_init__(self) -> None:
        if self.max_gap < 0:
            raise ValueError("max_gap must be >= 0")
        if self.convention not in CONVENTIONS:
            raise ValueError(
                f"unknown convention {self.convention!r}; choose from {', '.join(CONVENTIONS)}"
            )


_NO_SPACE_CHAR = regex.compile("[" + "".join(rf"\p{{{s}}}" for s in NO_SPACE_SCRIPTS) + "]")
_HANGUL = regex.compile(r"\p{Hangul}")


def _function_word_shape(token: str, max_length: int) -> bool:
    """Lower-case letters, at most ``max_length`` of them, maybe elided (``dell'``, ``l'``).

    Scripts without case count too, with shorter words: at most 3 letters (Arabic ``في``,
    Hebrew ``של``), 1 in Hangul (particles are split off nouns, and two-syllable words are
    often nouns). Words of no-space scripts never count: there the most frequent characters
    and short words belong inside names and phrases.
    """
    core = token.rstrip("'\u2019")
    if not core.isalpha() or len(core) > max_length or any(c.isupper() for c in core):
        return False
    if core.islower():
        return True
    if _NO_SPACE_CHAR.search(core):
        return False
    return len(core) <= (1 if _HANGUL.search(core) else 3)


def function_word_counts(texts: Sequence[Sequence[str]], max_length: int = 5) -> Counter[str]:
    """For each function-word-shaped word (see :func:`frequent_function_words`), the number of
    ``texts`` (tokenised) it occurs in; counts of several batches add up."""
    counts: Counter[str] = Counter()
    for tokens in texts:
        counts.update({t for t in tokens if _function_word_shape(t, max_length)})
    return counts


def function_words_from_counts(
    counts: Counter[str], n_texts: int, min_share: float = 0.05
) -> frozenset[str]:
    """The words of :func:`function_word_counts` over ``n_texts`` texts that occur in at least
    ``min_share`` of them (and at least twice)."""
    need = max(2, min_share * n_texts)
    return frozenset(w for w, c in counts.items() if c >= need)


def frequent_function_words(
    texts: Sequence[Sequence[str]], min_share: float = 0.05, max_length: int = 5
) -> frozenset[str]:
    """Lower-case alphabetic words of at most ``max_length`` letters (elided forms such as
    ``dell'`` included) that occur in at least ``min_share`` of ``texts`` (tokenised): in
    practice articles, prepositions, conjunctions."""
    return function_words_from_counts(
        function_word_counts(texts, max_length), len(texts), min_share
    )


@dataclass
class ProjectionResult:
    """Projected spans of one example on the other side's text."""

    spans: list[Span]
    token_spans: list[TokenSpan]
    tags: list[str]
    status: str
    reasons: list[str] = field(default_factory=list)
    n_source_spans: int = 0
    #: for each projected span, the index of the labelled span it came from
    source_index: list[int] = field(default_factory=list)
    #: the text the spans label, its words (what ``tags`` label) and their character ranges
    text: str = ""
    tokens: list[str] = field(default_factory=list)
    offsets: list[tuple[int, int]] = field(default_factory=list)
    #: the ``(labelled word, other word)`` links used, and the aligner's method string
    links: list[Link] = field(default_factory=list)
    method: str = ""
    #: how many sentence pairs the example was aligned as (1: whole), and whether it had
    #: several sentences but was aligned whole because they could not be paired
    sentence_pairs: int = 1
    sentence_fallback: bool = False
    #: ``sentences``, ``whole`` or ``fallback`` (:mod:`curate.align.sentences`); None where no
    #: word aligner was used (markers)
    aligned_as: str | None = None

    @property
    def n_projected(self) -> int:
        return len(self.spans)


def _is_word(token: str) -> bool:
    return _HAS_WORD_CHAR.search(token) is not None


def _groups(positions: list[int]) -> list[list[int]]:
    groups: list[list[int]] = []
    for p in positions:
        if groups and p == groups[-1][-1] + 1:
            groups[-1].append(p)
        else:
            groups.append([p])
    return groups


# Brackets and quotes of several scripts (CJK corner brackets, full-width forms, guillemets).
_OPENING, _CLOSING = "([{«“‘„「『【《〈（［｛‹", ")]}»”’“」』】》〉）］｝›"


def _refine_edges(
    start: int,
    end: int,
    span_words: set[str],
    other_tokens: Sequence[str],
    all_linked: set[int],
    config: ProjectionConfig,
    edges: tuple[str | None, str | None] = (None, None),
) -> tuple[int, int]:
    """Trim function words off the edges, close brackets, optionally extend names (``ner``);
    mirror the labelled span's edges (``qa``, ``generic``)."""
    first, last = edges
    if config.trim_words and config.convention in (NER, QA):
        mirror = config.convention == QA
        keep_first = mirror and first is not None and first in config.labelled_function_words
        keep_last = mirror and last is not None and last in config.labelled_function_words
        while (
            not keep_first
            and end - start > 1
            and _trimmable(other_tokens[start], span_words, config)
        ):
            start += 1
        while (
            not keep_last
            and end - start > 1
            and _trimmable(other_tokens[end - 1], span_words, config)
        ):
            end -= 1
    if config.convention in (QA, GENERIC):
        # A labelled span that starts or ends with a quote or bracket keeps the other side's.
        if first and _is_opening(first) and start > 0 and _is_opening(other_tokens[start - 1]):
            start -= 1
        if (
            last
            and _is_closing(last)
            and end < len(other_tokens)
            and _is_closing(other_tokens[end])
        ):
            end += 1
    if config.drop_punctuation:
        # A bracket opened inside the projection and closed right after it belongs to it
        # ("( CEN )"), and so does an opening bracket right before a closed one.
        for o, c in zip(_OPENING, _CLOSING, strict=True):
            inside = "".join(other_tokens[start:end])
            missing = inside.count(o) - inside.count(c)
            while missing > 0 and end < len(other_tokens) and other_tokens[end] == c:
                end += 1
                missing -= 1
            while missing < 0 and start > 0 and other_tokens[start - 1] == o:
                start -= 1
                missing += 1
    if config.extend_names:
        # Capitalised neighbours that no word is linked to continue a name ("Sri Lanka").
        while start > 0 and start - 1 not in all_linked and other_tokens[start - 1][:1].isupper():
            start -= 1
        while end < len(other_tokens) and end not in all_linked and other_tokens[end][:1].isupper():
            end += 1
    return start, end


_QUOTES = "\"'\u05f4"


def _is_opening(token: str) -> bool:
    return len(token) == 1 and (token in _OPENING or token in _QUOTES)


def _is_closing(token: str) -> bool:
    return len(token) == 1 and (token in _CLOSING or token in _QUOTES)


def _lower_case_only(words: Sequence[str]) -> bool:
    """Some cased letters and none upper-case: false for scripts without case (Han, Arabic,
    Hangul...), where the CoNLL adjective rule cannot be read off the words."""
    letters = "".join(words)
    return any(c.islower() for c in letters) and not any(c.isupper() for c in letters)


def _trimmable(token: str, span_words: set[str], config: ProjectionConfig) -> bool:
    low = token.casefold()
    return low in config.trim_words and low not in span_words


def _candidate(
    span: TokenSpan,
    links_by_src: dict[int, list[int]],
    other_tokens: Sequence[str],
    linked_from_outside: set[int],
    span_words: set[str],
    config: ProjectionConfig,
    edges: tuple[str | None, str | None] = (None, None),
) -> tuple[tuple[int, int] | None, int, str | None]:
    """``((start, end), support, reason)`` for one labelled token span."""
    linked = {t for s in range(span.start, span.end) for t in links_by_src.get(s, ())}
    positions = sorted(linked)
    if not positions:
        return None, 0, "no aligned words"
    if config.drop_punctuation:
        kept = [t for t in positions if _is_word(other_tokens[t])]
        if not kept:
            return None, 0, "aligned only to punctuation"
        positions = kept
    groups = _groups(positions)
    merged = [groups[0]]
    for g in groups[1:]:
        gap = range(merged[-1][-1] + 1, g[0])
        blocked = config.respect_other_links and any(t in linked_from_outside for t in gap)
        if len(gap) <= config.max_gap and not blocked:
            merged[-1] = merged[-1] + list(gap) + g
        else:
            merged.append(g)
    support = {id(g): sum(1 for t in g if t in linked) for g in merged}
    best = max(merged, key=lambda g: (support[id(g)], len(g), -g[0]))
    all_linked = linked | linked_from_outside
    start, end = _refine_edges(
        best[0], best[-1] + 1, span_words, other_tokens, all_linked, config, edges
    )
    return (start, end), support[id(best)], None


def _resolve_adjective(config: ProjectionConfig, labels: Iterable[str]) -> ProjectionConfig:
    """``adjective_label="auto"`` made "MISC" or None from the labels in use."""
    if config.adjective_label != ADJECTIVE_AUTO:
        return config
    found = ADJECTIVE_LABEL if ADJECTIVE_LABEL in set(labels) else None
    return replace(config, adjective_label=found)


def _share_joined(
    candidates: list[tuple[int, int, int, str, int]],
    spans: Sequence[TokenSpan],
    split: frozenset[tuple[int, int]] = frozenset(),
) -> list[tuple[int, int, int, str, int]]:
    """Labelled spans projected onto exactly the same words (``China and the US`` -> one
    segment ``中美``) share them in the labelled order, in proportion to their lengths, where
    there are enough words to share; otherwise they are left to the overlap rule. On the
    characters of a word split back into characters (``split``: their ranges), each span takes
    one character per labelled word where there are enough (``中美关系`` for ``China`` and
    ``US``: ``中``, ``美``, the rest is not labelled), as names are abbreviated in compounds."""
    by_range: dict[tuple[int, int], list[tuple[int, int, int, str, int]]] = {}
    for c in candidates:
        by_range.setdefault((c[0], c[1]), []).append(c)
    out = []
    for (start, end), group in by_range.items():
        if len(group) < 2 or end - start < len(group):
            out += group
            continue
        group.sort(key=lambda c: spans[c[4]].start)
        sizes = [spans[c[4]].end - spans[c[4]].start for c in group]
        total, pos, acc = sum(sizes), start, 0
        exact = (start, end) in split and total <= end - start
        for i, (c, size) in enumerate(zip(group, sizes, strict=True)):
            acc += size
            if exact:
                stop = pos + size
            else:
                stop = end if i == len(group) - 1 else start + round((end - start) * acc / total)
                stop = min(max(stop, pos + 1), end - (len(group) - 1 - i))
            out.append((pos, stop, c[2], c[3], c[4]))
            pos = stop
    return out


def project_token_spans(
    spans: Sequence[TokenSpan],
    links: Sequence[Link],
    other_tokens: Sequence[str],
    config: ProjectionConfig = ProjectionConfig(),
    labelled_tokens: Sequence[str] | None = None,
) -> tuple[list[tuple[int, TokenSpan]], list[tuple[int, str]]]:
    """Project labelled token spans over ``(labelled word, other word)`` links.

    Returns ``(index of the labelled span, projected token span)`` pairs in text order of the
    other side, and ``(index of the labelled span, reason)`` for every span that was dropped
    or changed. ``labelled_tokens`` enables anchors (with ``config.anchors``) and keeps edge
    trimming from removing words that the labelled span has too. Spans whose only word is
    the projection of another span too are dropped here, with the reason; with character
    offsets, :func:`project_spans` and :func:`project_batch` split such a word of a no-space
    script back into its characters and share them instead.
    """
    kept, reasons, _ = _project(spans, links, other_tokens, config, labelled_tokens)
    return kept, reasons


def _project(
    spans: Sequence[TokenSpan],
    links: Sequence[Link],
    other_tokens: Sequence[str],
    config: ProjectionConfig,
    labelled_tokens: Sequence[str] | None,
    split: frozenset[tuple[int, int]] = frozenset(),
) -> tuple[list[tuple[int, TokenSpan]], list[tuple[int, str]], set[int]]:
    """:func:`project_token_spans`, plus the other side's words that were the only word of
    two spans or more (``split``: ranges of words already split into characters)."""
    config = _resolve_adjective(config, (s.label for s in spans))
    if config.convention == AUTO:
        config = replace(config, convention=convention_for_labels(s.label for s in spans))
    if config.anchors and labelled_tokens is not None:
        links = add_anchor_links(labelled_tokens, other_tokens, links)
    links_by_src: dict[int, list[int]] = {}
    for s, t in links:
        if 0 <= t < len(other_tokens):
            links_by_src.setdefault(s, []).append(t)
    reasons: list[tuple[int, str]] = []
    candidates: list[tuple[int, int, int, str, int]] = []  # start, end, support, label, index
    for k, span in enumerate(spans):
        outside = {
            t for s, ts in links_by_src.items() if not span.start <= s < span.end for t in ts
        }
        words = (
            {w.casefold() for w in labelled_tokens[span.start : span.end]}
            if labelled_tokens is not None
            else set()
        )
        edges = (
            (
                labelled_tokens[span.start].casefold(),
                labelled_tokens[span.end - 1].casefold(),
            )
            if labelled_tokens is not None
            else (None, None)
        )
        found, support, why = _candidate(
            span, links_by_src, other_tokens, outside, words, config, edges
        )
        if found is None:
            reasons.append((k, why or "not projected"))
            continue
        candidates.append((found[0], found[1], support, span.label, k))
    candidates = _share_joined(candidates, spans, split)
    # Overlaps: the strongest support claims its words first; later ones keep what is left.
    taken: dict[int, int] = {}
    joined: set[int] = set()
    kept: list[tuple[int, TokenSpan]] = []
    for start, end, _, label, k in sorted(candidates, key=lambda c: (-c[2], c[0] - c[1], c[4])):
        free = [t for t in range(start, end) if t not in taken]
        if not free:
            owner = spans[taken[start]].label
            if end - start == 1:
                joined.add(start)
                why = (
                    f"its only word {other_tokens[start]!r} is the projection of another span "
                    f"({owner}) too: the two were written or segmented as one word"
                )
            else:
                why = f"overlaps a span ({owner}) with stronger alignment support"
            reasons.append((k, why))
            continue
        best = max(_groups(free), key=len)
        if len(best) < end - start:
            reasons.append((k, "trimmed where it overlapped another projected span"))
        taken.update(dict.fromkeys(best, k))
        words = other_tokens[best[0] : best[-1] + 1]
        if (
            config.adjective_label
            and config.convention == NER
            and label in config.name_labels
            and _lower_case_only(words)
        ):
            reasons.append((k, f"relabelled {config.adjective_label}: lands on lower-case words"))
            label = config.adjective_label
        kept.append((k, TokenSpan(best[0], best[-1] + 1, label)))
    kept.sort(key=lambda item: item[1].start)
    return kept, reasons, joined


@dataclass
class _Draft:
    """One example between projection and the batch-level consistency pass."""

    spans: Sequence[Span]  # labelled character spans
    token_spans: list[TokenSpan]  # labelled token spans of those covering words
    origin: list[int]  # index in ``spans`` of each token span
    projected: dict[int, TokenSpan]  # index in ``token_spans`` -> projection
    reasons: dict[int, list[str]]  # index in ``spans`` -> reasons
    #: the other side's words and the links, with joined words split into characters
    other: Tokens = field(default_factory=lambda: Tokens([], []))
    links: list[Link] = field(default_factory=list)


_GRAPHEME = regex.compile(r"\X")


def _characters(word: str) -> list[str]:
    """The grapheme clusters of a word of a no-space script, or [] for other words."""
    return _GRAPHEME.findall(word) if _NO_SPACE_CHAR.search(word) else []


def split_words(
    other: Tokens, links: Sequence[Link], positions: Iterable[int]
) -> tuple[Tokens, list[Link], frozenset[tuple[int, int]]]:
    """``other`` with the words at ``positions`` (of no-space scripts, two characters or
    more) split into their characters, each character linked to what its word was linked to;
    also the word index ranges of the split words."""
    tokens, offsets = list(other.tokens), list(other.offsets)
    found = sorted(p for p in set(positions) if len(_characters(tokens[p])) > 1)
    shift = {}  # old index -> (new start, new end)
    new_tokens: list[str] = []
    new_offsets: list[tuple[int, int]] = []
    for p, (word, (start, _)) in enumerate(zip(tokens, offsets, strict=True)):
        begin = len(new_tokens)
        if p in found:
            pos = start
            for ch in _characters(word):
                new_tokens.append(ch)
                new_offsets.append((pos, pos + len(ch)))
                pos += len(ch)
        else:
            new_tokens.append(word)
            new_offsets.append(offsets[p])
        shift[p] = (begin, len(new_tokens))
    new_links = sorted({(s, t) for s, old in links if old in shift for t in range(*shift[old])})
    ranges = frozenset(shift[p] for p in found)
    return Tokens(new_tokens, new_offsets), new_links, ranges


def _draft(
    spans: Sequence[Span],
    labelled_offsets: Sequence[tuple[int, int]],
    other: Tokens,
    links: Sequence[Link],
    config: ProjectionConfig,
    labelled_tokens: Sequence[str] | None,
) -> _Draft:
    draft = _Draft(spans, [], [], {}, {}, other, list(links))
    for k, tok in enumerate(char_spans_to_token(spans, labelled_offsets)):
        if tok is None:
            draft.reasons.setdefault(k, []).append("covers no word of the labelled text")
            continue
        draft.token_spans.append(tok)
        draft.origin.append(k)
    if not other.tokens:
        for k in draft.origin:
            draft.reasons.setdefault(k, []).append("the other text has no words")
        return draft
    projected, why, joined = _project(
        draft.token_spans, links, other.tokens, config, labelled_tokens
    )
    notes: list[tuple[int, str]] = []
    if joined:
        # A segmenter made one word of two names (``中美`` for "China" and "the US"): the
        # word is split back into its characters and the spans share them.
        split, split_links, ranges = split_words(other, links, joined)
        if ranges:
            projected, why, _ = _project(
                draft.token_spans, split_links, split.tokens, config, labelled_tokens, ranges
            )
            draft.other, draft.links = split, split_links
            notes = [
                (
                    k,
                    f"shares the word {''.join(split.tokens[a:b])!r} with another span "
                    "(segmented as one word): projected onto its characters",
                )
                for k, ts in projected
                for a, b in ranges
                if a <= ts.start and ts.end <= b and ts.end - ts.start < b - a
            ]
    draft.projected = dict(projected)
    for k, msg in [*why, *notes]:
        draft.reasons.setdefault(draft.origin[k], []).append(msg)
    return draft


def _finish(draft: _Draft) -> ProjectionResult:
    other_tokens, other_offsets = draft.other
    projected = sorted(draft.projected.items(), key=lambda item: item[1].start)
    tok_out = [ts for _, ts in projected]
    n = len(draft.spans)
    status = COMPLETE if len(tok_out) == n else (DROPPED if not tok_out else PARTIAL)
    return ProjectionResult(
        spans=token_spans_to_char(tok_out, other_offsets),
        token_spans=tok_out,
        tags=spans_to_tags(len(other_tokens), tok_out),
        status=status,
        reasons=[
            f"span {k} ({draft.spans[k].label}): {msg}"
            for k in sorted(draft.reasons)
            for msg in draft.reasons[k]
        ],
        n_source_spans=n,
        source_index=[draft.origin[k] for k, _ in projected],
        text="",
        tokens=list(other_tokens),
        offsets=list(other_offsets),
        links=list(draft.links),
    )


def project_spans(
    spans: Sequence[Span],
    labelled_offsets: Sequence[tuple[int, int]],
    other_tokens: Sequence[str],
    other_offsets: Sequence[tuple[int, int]],
    links: Sequence[Link],
    config: ProjectionConfig = ProjectionConfig(),
    labelled_tokens: Sequence[str] | None = None,
) -> ProjectionResult:
    """Project character spans of the labelled text onto the other text (one example).

    ``labelled_offsets``/``other_offsets`` are the character ranges of the words that the
    ``links`` index as ``(labelled word, other word)``, e.g. from
    :func:`curate.align.tokenize.tokenize`. The batch-level consistency pass needs a batch:
    see :func:`project_batch`.
    """
    other = Tokens(list(other_tokens), list(other_offsets))
    return _finish(_draft(spans, labelled_offsets, other, links, config, labelled_tokens))


def _harmonize(batch: DraftBatch, config: ConsistencyConfig, table: Table | None = None) -> None:
    for n, notes in harmonize(batch.examples(), config, table).items():
        draft = batch.drafts[n]
        for k, note in notes:
            origin = draft.origin[k]
            if note.startswith("recovered"):
                draft.reasons.pop(origin, None)
            draft.reasons.setdefault(origin, []).append(note)


def swap_links(links: Sequence[Link]) -> list[Link]:
    """``(source, target)`` links as ``(target, source)``."""
    return sorted((t, s) for s, t in links)


Tokenizer = Callable[[str, str | None], Tokens]


@dataclass(frozen=True)
class LabelledText:
    """A text with labelled character spans (``text[start:end]`` is each span's surface)."""

    text: str
    spans: Sequence[Span]


@dataclass
class DraftBatch:
    """A batch tokenised, aligned and projected, before the consistency pass and the results
    (:func:`draft_batch`, then :func:`finish_batch`)."""

    others: list[str]
    labelled_tokens: list[Tokens]
    other_tokens: list[Tokens]
    links: list[list[Link]]
    drafts: list[_Draft]
    method: str
    #: the sentence pairs each example was aligned as (None: examples aligned whole)
    plan: sentences.SentencePlan | None = None

    def examples(self) -> list[Example]:
        """The batch as the consistency pass sees it (projections edited in place)."""
        return [
            Example(lt.tokens, d.token_spans, ot.tokens, d.projected)
            for d, lt, ot in zip(self.drafts, self.labelled_tokens, self.other_tokens, strict=True)
        ]

    def projection_counts(self) -> Table:
        """What the consistency pass learns from this batch; add up the counts of several
        batches (:func:`curate.project.consistency.add_tables`) to learn from all of them."""
        return projection_counts(self.examples())


def draft_batch(
    labelled: Sequence[LabelledText],
    others: Sequence[str],
    aligner: WordAligner,
    *,
    labelled_is_source: bool,
    labelled_lang: str | None = None,
    other_lang: str | None = None,
    config: ProjectionConfig = ProjectionConfig(),
    tokenizer: Tokenizer = tokenize,
) -> DraftBatch:
    """The first half of :func:`project_batch`: everything before the consistency pass."""
    if len(labelled) != len(others):
        raise ValueError(f"{len(labelled)} labelled texts but {len(others)} other texts")
    config = _resolve_adjective(config, (s.label for item in labelled for s in item.spans))
    lab_tok = [tokenizer(item.text, labelled_lang) for item in labelled]
    oth_tok = [tokenizer(text, other_lang) for text in others]
    if config.convention == AUTO:
        labels = {span.label for item in labelled for span in item.spans}
        config = replace(config, convention=convention_for_labels(labels))
    if config.trim_function_words and len(others) >= config.min_texts_for_function_words:
        learnt = frequent_function_words([t.tokens for t in oth_tok])
        config = replace(config, trim_words=config.trim_words | learnt)
        if config.convention == QA:
            own = frequent_function_words([t.tokens for t in lab_tok])
            config = replace(config, labelled_function_words=config.labelled_function_words | own)
    lab_forms = [alignment_forms(t.tokens, labelled_lang) for t in lab_tok]
    oth_forms = [alignment_forms(t.tokens, other_lang) for t in oth_tok]
    texts = [(item.text, other) for item, other in zip(labelled, others, strict=True)]
    toks = list(zip(lab_tok, oth_tok, strict=True))
    if labelled_is_source:
        pairs = list(zip(lab_forms, oth_forms, strict=True))
        aligner = for_languages(aligner, labelled_lang, other_lang)
        langs = (labelled_lang, other_lang)
    else:
        pairs = list(zip(oth_forms, lab_forms, strict=True))
        aligner = for_languages(aligner, other_lang, labelled_lang)
        texts = [(b, a) for a, b in texts]
        toks = [(b, a) for a, b in toks]
        langs = (other_lang, labelled_lang)
    plan = None
    if config.by_sentence:
        plan = sentences.plan(texts, toks, langs)
        found = sentences.merge_links(aligner.align(sentences.split_pairs(pairs, plan)), plan)
    else:
        found = aligner.align(pairs)
    all_links = [list(links) if labelled_is_source else swap_links(links) for links in found]
    drafts = [
        _draft(item.spans, lt.offsets, ot, links, config, lt.tokens)
        for item, lt, ot, links in zip(labelled, lab_tok, oth_tok, all_links, strict=True)
    ]
    return DraftBatch(
        list(others),
        lab_tok,
        [d.other for d in drafts],
        [d.links for d in drafts],
        drafts,
        aligner.method,
        plan,
    )


def finish_batch(
    batch: DraftBatch, config: ProjectionConfig = ProjectionConfig(), table: Table | None = None
) -> list[ProjectionResult]:
    """The second half of :func:`project_batch`: the consistency pass (usual translations from
    ``table`` when given, else from the batch) and the results."""
    if config.consistency is not None:
        _harmonize(batch, config.consistency, table)
    results = []
    for k, (draft, other, ot, links) in enumerate(
        zip(batch.drafts, batch.others, batch.other_tokens, batch.links, strict=True)
    ):
        result = _finish(draft)
        result.aligned_as = sentences.WHOLE
        if batch.plan is not None:
            result.sentence_pairs = len(batch.plan.ranges[k])
            result.sentence_fallback = batch.plan.fallback[k]
            result.aligned_as = batch.plan.aligned_as(k)
        results.append(
            replace(
                result,
                text=other,
                tokens=list(ot.tokens),
                offsets=list(ot.offsets),
                links=links,
                method=f"alignment/{batch.method}",
            )
        )
    return results


def project_batch(
    labelled: Sequence[LabelledText],
    others: Sequence[str],
    aligner: WordAligner,
    *,
    labelled_is_source: bool,
    labelled_lang: str | None = None,
    other_lang: str | None = None,
    config: ProjectionConfig = ProjectionConfig(),
    tokenizer: Tokenizer = tokenize,
) -> list[ProjectionResult]:
    """Tokenise, align (one aligner call for the whole batch) and project every example.

    ``labelled_is_source`` says which side is the translation's source: the aligner always
    gets ``(source, target)`` pairs, so its links match the alignments records of the same
    translations, and they are swapped here when the labelled side is the target.
    """
    batch = draft_batch(
        labelled,
        others,
        aligner,
        labelled_is_source=labelled_is_source,
        labelled_lang=labelled_lang,
        other_lang=other_lang,
        config=config,
        tokenizer=tokenizer,
    )
    return finish_batch(batch, config)


def project_translate_train(
    examples: Sequence[LabelledText],
    translations: Sequence[str],
    aligner: WordAligner,
    *,
    src_lang: str | None = None,
    tgt_lang: str | None = None,
    config: ProjectionConfig = ProjectionConfig(),
    tokenizer: Tokenizer = tokenize,
) -> list[ProjectionResult]:
    """translate-train: labelled source examples, their translations; spans land on the
    translations."""
    return project_batch(
        examples,
        translations,
        aligner,
        labelled_is_source=True,
        labelled_lang=src_lang,
        other_lang=tgt_lang,
        config=config,
        tokenizer=tokenizer,
    )


def project_translate_test(
    originals: Sequence[str],
    labelled_translations: Sequence[LabelledText],
    aligner: WordAligner,
    *,
    src_lang: str | None = None,
    tgt_lang: str | None = "en",
    config: ProjectionConfig = ProjectionConfig(),
    tokenizer: Tokenizer = tokenize,
) -> list[ProjectionResult]:
    """translate-test: original texts (``src_lang``), their translations (``tgt_lang``, usually
    English) with spans predicted on them; spans land back on the originals."""
    return project_batch(
        labelled_translations,
        originals,
        aligner,
        labelled_is_source=False,
        labelled_lang=tgt_lang,
        other_lang=src_lang,
        config=config,
        tokenizer=tokenizer,
    )
