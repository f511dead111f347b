"""``curate eval align`` and ``curate eval projection``: scores against human gold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from curate.errors import UserError
from curate.store import Store

eval_app = typer.Typer(help="Score alignments and projections against gold.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(eval_app, name="eval")


def _exists(path: Path) -> Path:
    if not path.exists():
        raise UserError(f"file not found: {path}")
    return path


@eval_app.command("align")
def eval_align(
    pred: Path = typer.Option(..., "--pred", help="Predicted links, Pharaoh format (i-j)."),
    gold: Path = typer.Option(..., "--gold", help="Gold links: sure i-j, possible ipj."),
    one_based: bool = typer.Option(
        False, "--one-based", help="Indices start at 1 in both files (unless said per file)."
    ),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    pred_one_based: Annotated[
        bool | None,
        typer.Option(
            "--pred-one-based/--pred-zero-based",
            help="The prediction's indices start at 1 / at 0 (curate align writes 0-based).",
        ),
    ] = None,
    gold_one_based: Annotated[
        bool | None,
        typer.Option(
            "--gold-one-based/--gold-zero-based",
            help="The gold's indices start at 1 / at 0 (awesome-align's gold sets are 1-based).",
        ),
    ] = None,
) -> None:
    """AER, precision, recall and F1 of predicted word alignments."""
    from curate.evaluate.alignment import evaluate_alignment_files

    gold_base = one_based if gold_one_based is None else gold_one_based
    pred_base = one_based if pred_one_based is None else pred_one_based
    try:
        scores = evaluate_alignment_files(
            _exists(pred), _exists(gold), one_based=gold_base, pred_one_based=pred_base
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print(json.dumps(scores.as_dict()))
        return
    s = scores
    print(f"pairs {s.n_pairs}  predicted {s.n_predicted}  sure {s.n_sure}  possible {s.n_possible}")
    print(f"precision {s.precision:.4f}  recall {s.recall:.4f}  f1 {s.f1:.4f}  aer {s.aer:.4f}")


@eval_app.command("projection")
def eval_projection(
    gold: Path = typer.Option(..., "--gold", help="Gold target labels, CoNLL (token, tag)."),
    pred: Path | None = typer.Option(None, "--pred", help="Projected labels, CoNLL."),
    store: Path | None = typer.Option(None, "--store", help="Or: projections in a store."),
    run_id: str | None = typer.Option(None, help="With --store: the projection run."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang", help="With --store: the language projected into (the gold's language)."
        ),
    ] = None,
) -> None:
    """Typed span precision/recall/F1 of projected labels, per label and micro.

    With ``--store``, the projections are matched to the gold sentences in the order of their
    examples in the source file and scored by position: a span is right only if its character
    offsets and label equal a gold span's on the gold tokens joined by spaces. Where a
    translation's text differs from the gold text, spans are carried over by a character
    alignment, and a span whose words are not in the gold text counts as wrong.
    """
    from curate.evaluate.spans import evaluate_projection_files, score_text_spans
    from curate.io.conll import read_conll_tags

    if (pred is None) == (store is None):
        raise UserError("give either --pred FILE or --store DIR")
    extra: dict[str, int] = {}
    try:
        if pred is not None:
            scores = evaluate_projection_files(_exists(pred), _exists(gold))
        else:
            gold_sentences = read_conll_tags(_exists(gold))
            rows = _store_projections(_exists(store), run_id, lang)
            if len(rows) != len(gold_sentences):
                raise UserError(f"{len(rows)} projections but {len(gold_sentences)} gold sentences")
            predicted = [
                (r["text"], [(s["start"], s["end"], s["label"]) for s in r["spans"]]) for r in rows
            ]
            result = score_text_spans(predicted, gold_sentences)
            scores = result.scores
            extra = {"sentences": result.n_sentences, "text_differs": result.n_text_differs}
    except ValueError as exc:
        raise UserError(str(exc)) from None
    if as_json:
        print(json.dumps(scores.as_dict() | extra))
        return
    print(scores.table())
    if extra:
        print(f"translations whose text differs from the gold tokens: {extra['text_differs']}")
    print(f"macro_f1 {scores.macro_f1:.4f}")


def _store_projections(store: Path, run_id: str | None, lang: str | None) -> list[dict]:
    """Projected texts and spans of a store (of one run, into one language, when given), in
    the order of their examples in the source."""
    where = {"p.run_id = $run": run_id, "p.tgt_lang = $lang": lang}
    params = {k.split("$")[1]: v for k, v in where.items() if v}
    conditions = " AND ".join(k for k, v in where.items() if v)
    query = (
        "SELECT p.text, p.spans FROM projections p JOIN examples e ON e.id = p.example_id"
        + (f" WHERE {conditions}" if conditions else "")
        + " ORDER BY e.source_file, e.source_line"
    )
    return Store(store).connect().execute(query, params).to_arrow_table().to_pylist()
