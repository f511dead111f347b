"""Batching for the model: inputs cut into units that fit, grouped into token-sized calls, and
the units' results joined back into one outcome per input.

A unit is one piece of one input as the model sees it. An input longer than the model's limit
is split at punctuation or whitespace (:func:`~curate.mt.splitting.split_to_fit`) or, with
``long_inputs="truncate"``, cut and flagged. Units are sorted by length and grouped into calls
of about ``call_tokens`` tokens, so that each call holds inputs of similar length.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from curate.mt.splitting import Piece, split_to_fit


@dataclass
class Unit:
    """One piece of one distinct input, as sent to the model, and what came back for it."""

    owner: int  # position of the input among those submitted
    index: int  # position of the piece within its input
    tokens: list[str]
    input_truncated: bool = False
    text: str | None = None
    cum_logprob: float = 0.0
    length: int = 0
    truncated: bool = False
    error: str | None = None


@dataclass
class Outcome:
    """The model's translation of one distinct input (its pieces joined)."""

    text: str | None
    score: float | None
    truncated: bool
    pieces: int
    error: str | None = None
    input_truncated: bool = False


def input_units(
    texts: Sequence[str],
    encoded: Sequence[list[str]],
    limit: int,
    long_inputs: str,
    encode: Callable[[str], list[str]],
) -> list[Unit]:
    """The units of ``texts`` (tokenised as ``encoded``) for a model taking ``limit`` tokens."""
    units: list[Unit] = []
    for owner, (text, tokens) in enumerate(zip(texts, encoded, strict=True)):
        if len(tokens) <= limit:
            pieces = [Piece(text, tokens)]
        elif long_inputs == "truncate":
            pieces = [Piece(text, tokens[:limit], truncated=True)]
        else:
            pieces = split_to_fit(text, tokens, limit, encode)
        units.extend(
            Unit(owner, k, p.tokens, p.truncated, truncated=p.truncated)
            for k, p in enumerate(pieces)
        )
    return units


def token_calls(units: list[Unit], call_tokens: int, extra_tokens: int) -> list[list[Unit]]:
    """``units`` sorted by length (in place) and cut into calls of about ``call_tokens`` tokens
    (each unit counting its tokens plus ``extra_tokens`` of language framing)."""
    units.sort(key=lambda u: len(u.tokens))
    calls: list[list[Unit]] = [[]]
    size = 0
    for unit in units:
        calls[-1].append(unit)
        size += len(unit.tokens) + extra_tokens
        if size >= call_tokens:
            calls.append([])
            size = 0
    return calls


def outcomes(units: Sequence[Unit], n_inputs: int) -> list[Outcome]:
    """One outcome per input, in input order, from its units in any order."""
    by_owner: list[list[Unit]] = [[] for _ in range(n_inputs)]
    for unit in units:
        by_owner[unit.owner].append(unit)
    return [combine(sorted(owner_units, key=lambda u: u.index)) for owner_units in by_owner]


def combine(units: list[Unit]) -> Outcome:
    """The outcome of one input from its units in text order: their texts joined, the score
    length-normalised over all of them, failed if any failed."""
    errors = [u.error for u in units if u.error]
    input_truncated = any(u.input_truncated for u in units)
    truncated = any(u.truncated for u in units)
    if errors:
        return Outcome(None, None, truncated, len(units), errors[0], input_truncated)
    length = sum(u.length for u in units)
    return Outcome(
        text=" ".join(u.text or "" for u in units).strip(),
        score=sum(u.cum_logprob for u in units) / length if length else None,
        truncated=truncated,
        pieces=len(units),
        input_truncated=input_truncated,
    )
