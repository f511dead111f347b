"""Typed span precision, recall and F1: projected labels against gold target labels.

A predicted span counts as correct only if its boundaries and its label both equal a gold span
(exact match, the CoNLL convention). Scores are given per label and micro-averaged over all
spans; the macro average over labels is there too. Input is either span lists per sentence
(token or character offsets, as long as both sides use the same) or tag sequences in any scheme
:mod:`curate.text.tags` reads (IOB1, IOB2, BIOES, BILOU), the rule ingest applies too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from curate.io.conll import read_conll_tags
from curate.text.tags import tagged_text, tags_to_spans

SpanTuple = tuple[int, int, str]


@dataclass(frozen=True)
class PRF:
    precision: float
    recall: float
    f1: float
    n_predicted: int
    n_gold: int
    n_correct: int

    @classmethod
    def from_counts(cls, n_correct: int, n_predicted: int, n_gold: int) -> PRF:
        p = n_correct / n_predicted if n_predicted else 0.0
        r = n_correct / n_gold if n_gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(p, r, f, n_predicted, n_gold, n_correct)


@dataclass(frozen=True)
class SpanScores:
    micro: PRF
    macro_f1: float
    per_label: dict[str, PRF] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "micro": vars(self.micro),
            "macro_f1": self.macro_f1,
            "per_label": {k: vars(v) for k, v in self.per_label.items()},
        }

    def table(self) -> str:
        """A plain-text table, one row per label and a micro row."""
        rows = [f"{'label':<10} {'P':>6} {'R':>6} {'F1':>6} {'pred':>6} {'gold':>6}"]
        for name, s in [*sorted(self.per_label.items()), ("micro", self.micro)]:
            rows.append(
                f"{name:<10} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} "
                f"{s.n_predicted:6d} {s.n_gold:6d}"
            )
        return "\n".join(rows)


def score_spans(
    predicted: Sequence[Iterable[SpanTuple]], gold: Sequence[Iterable[SpanTuple]]
) -> SpanScores:
    """Exact-match typed span scores; ``predicted`` and ``gold`` are sentence-parallel."""
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted sentences but {len(gold)} gold ones")
    n_pred: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_ok: Counter[str] = Counter()
    for pred, ref in zip(predicted, gold, strict=True):
        p = {tuple(s) for s in pred}
        g = {tuple(s) for s in ref}
        n_pred.update(s[2] for s in p)
        n_gold.update(s[2] for s in g)
        n_ok.update(s[2] for s in p & g)
    labels = sorted(set(n_pred) | set(n_gold))
    per_label = {lab: PRF.from_counts(n_ok[lab], n_pred[lab], n_gold[lab]) for lab in labels}
    micro = PRF.from_counts(sum(n_ok.values()), sum(n_pred.values()), sum(n_gold.values()))
    macro = sum(s.f1 for s in per_label.values()) / len(per_label) if per_label else 0.0
    return SpanScores(micro, macro, per_label)


def score_tags(predicted: Sequence[Sequence[str]], gold: Sequence[Sequence[str]]) -> SpanScores:
    """Span scores from IOB tag sequences (IOB1, IOB2 or BIOES; read leniently)."""
    for k, (p, g) in enumerate(zip(predicted, gold, strict=False)):
        if len(p) != len(g):
            raise ValueError(f"sentence {k}: {len(p)} predicted tags but {len(g)} gold tags")
    return score_spans([tags_to_spans(p) for p in predicted], [tags_to_spans(g) for g in gold])


def evaluate_projection_files(
    pred_path: str | Path, gold_path: str | Path, column: int = -1
) -> SpanScores:
    """Score a projected CoNLL file against a gold CoNLL file (``curate eval projection``).

    Both files must have the same sentences and tokens; a token mismatch raises ``ValueError``.
    """
    pred = read_conll_tags(pred_path, column)
    gold = read_conll_tags(gold_path, column)
    if len(pred) != len(gold):
        raise ValueError(f"{pred_path} has {len(pred)} sentences, {gold_path} has {len(gold)}")
    for k, ((pt, _), (gt, _)) in enumerate(zip(pred, gold, strict=True)):
        if pt != gt:
            raise ValueError(f"sentence {k + 1}: tokens differ between prediction and gold")
    return score_tags([t for _, t in pred], [t for _, t in gold])


@dataclass(frozen=True)
class TextSpanScores:
    """Span scores of projections onto free text, and how many texts differ from the gold's."""

    scores: SpanScores
    n_sentences: int
    n_text_differs: int


def _char_map(text: str, reference: str) -> dict[int, int]:
    """Each character of ``text`` that ``difflib`` matches to a character of ``reference``."""
    from difflib import SequenceMatcher

    mapping: dict[int, int] = {}
    matcher = SequenceMatcher(None, text, reference, autojunk=False)
    for a, b, size in matcher.get_matching_blocks():
        mapping.update((a + k, b + k) for k in range(size))
    return mapping


def score_text_spans(
    predicted: Sequence[tuple[str, Iterable[SpanTuple]]],
    gold: Sequence[tuple[Sequence[str], Sequence[str]]],
) -> TextSpanScores:
    """Exact-match typed span scores of character spans on texts against gold CoNLL sentences.

    ``predicted`` holds, per sentence, the text the spans were put on (a translation) and its
    ``(start, end, label)`` character spans; ``gold`` holds ``(tokens, tags)``. The gold text is
    the tokens joined by single spaces. Where a predicted text equals it, spans are compared
    by their offsets as they are. Where it differs, each predicted span is carried to the gold
    text through a character alignment (``difflib``) and counts as correct only if its first
    and last characters are aligned, its surface text equals the gold text there, and a gold
    span of the same label has exactly those offsets. Every occurrence counts: an entity named
    twice is two spans, and a label on the wrong occurrence is wrong.
    """
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predicted sentences but {len(gold)} gold ones")
    pred_spans: list[list[SpanTuple]] = []
    gold_spans: list[list[SpanTuple]] = []
    differs = 0
    for k, ((text, spans), (tokens, tags)) in enumerate(zip(predicted, gold, strict=True)):
        reference, _, gold_text_spans = tagged_text(tokens, tags)
        gold_spans.append([(s.start, s.end, s.label) for s in gold_text_spans])
        spans = [tuple(s) for s in spans]
        if text == reference:
            pred_spans.append(spans)  # type: ignore[arg-type]
            continue
        differs += 1
        mapping = _char_map(text, reference)
        carried: list[SpanTuple] = []
        for n, (start, end, label) in enumerate(spans):
            first, last = mapping.get(start), mapping.get(end - 1)
            if (
                first is not None
                and last is not None
                and reference[first : last + 1] == text[start:end]
            ):
                carried.append((first, last + 1, label))
            else:  # no place in the gold text: counted as predicted, never correct
                carried.append((-1 - k, -1 - n, label))
        pred_spans.append(carried)
    return TextSpanScores(score_spans(pred_spans, gold_spans), len(predicted), differs)
