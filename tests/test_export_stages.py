"""Exporting projected span labels: one config per language pair, translate-train as ``train``
and translate-test as ``test``, chosen statuses only, loadable by `datasets` or as CoNLL files;
clear errors."""

from __future__ import annotations

from pathlib import Path

import datasets
import pytest

from curate.cli.build import export
from curate.errors import UserError
from curate.export.card import read_card_header
from curate.export.stages import export_rows, export_runs
from curate.io.conll import read_conll_tags
from curate.records import load_schema
from curate.store import Store

WORDS = ["Ana", "visita", "Berlin", "mañana"]
TAGS = ["B-PER", "O", "B-LOC", "O"]


def projection(i: int, tgt: str, status: str, direction: str = "translate-train") -> dict:
    text = " ".join(WORDS)
    spans = [{"start": 0, "end": 3, "label": "PER"}, {"start": 11, "end": 17, "label": "LOC"}]
    return {
        "id": f"p{i}",
        "example_id": f"e{i}",
        "translation_id": f"t{i}",
        "src_lang": "en",
        "tgt_lang": tgt,
        "direction": direction,
        "method": "alignment/eflomal",
        "text": text,
        "spans": spans if status != "dropped" else [],
        "tokens": WORDS,
        "tags": TAGS if status != "dropped" else ["O"] * 4,
        "status": status,
        "reasons": [] if status == "complete" else ["span not aligned"],
        "n_source_spans": 2,
        "n_projected": {"complete": 2, "partial": 1, "dropped": 0}[status],
        "dataset": "unit",
        "source_id": f"s{i}",
        "run_id": "project-1",
        "stage": "project",
    }


@pytest.fixture
def store(tmp_path: Path) -> Store:
    rows = [
        *(projection(i, "es", "complete") for i in range(6)),
        *(projection(10 + i, "es", "partial") for i in range(3)),
        *(projection(20 + i, "es", "dropped") for i in range(2)),
        *(projection(30 + i, "de", "complete") for i in range(4)),
        *(projection(40 + i, "de", "complete", "translate-test") for i in range(2)),
    ]
    store = Store(tmp_path / "store")
    with store.open_run("project", "project-1") as run:
        run.write("projections", load_schema("projections").table(rows))
    return store


def run_export(store: Store, to: Path, **options: str) -> None:
    settings = {"stage": "projections", "status": "complete", "fmt": "hub", "run_id": None}
    settings.update(options)
    export(
        to=to,
        store=store.root,
        push=None,
        name="unit NER",
        license="cc-by-4.0",
        max_shard_mb=256,
        private=False,
        **settings,
    )


def test_complete_projections_load_per_language_pair_and_direction(store, tmp_path):
    run_export(store, tmp_path / "ner")
    es = datasets.load_dataset(str(tmp_path / "ner"), name="en-es")
    assert {split: part.num_rows for split, part in es.items()} == {"train": 6}
    de = datasets.load_dataset(str(tmp_path / "ner"), name="en-de")
    assert {split: part.num_rows for split, part in de.items()} == {"train": 4, "test": 2}
    row = es["train"][0]
    assert row["tokens"] == WORDS and row["tags"] == TAGS and row["status"] == "complete"
    # the tags as ClassLabel ids too, the form token-classification scripts train on
    names = es["train"].features["ner_tags"].feature.names
    assert names == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
    assert [names[i] for i in row["ner_tags"]] == TAGS
    assert [row["text"][s["start"] : s["end"]] for s in row["spans"]] == ["Ana", "Berlin"]
    header = read_card_header(tmp_path / "ner")
    assert header["task_categories"] == ["token-classification"]
    assert set(header["language"]) == {"en", "es", "de"}
    card = (tmp_path / "ner" / "README.md").read_text(encoding="utf-8")
    assert "IOB2 tags of the words" in card  # the column docs come from its schema


def test_partial_projections_are_exported_only_when_asked(store, tmp_path):
    run_export(store, tmp_path / "ner", status="complete,partial")
    es = datasets.load_dataset(str(tmp_path / "ner"), name="en-es", split="train")
    assert es.num_rows == 9
    assert sorted(set(es["status"])) == ["complete", "partial"]


def test_nothing_to_export_says_what_the_store_has(store):
    table = export_rows(store, "projections", ["partial"])
    assert table.num_rows == 3
    with pytest.raises(UserError, match="unknown projection status dropped"):
        export_rows(store, "projections", ["dropped"])
    with pytest.raises(UserError, match="cannot export the stage 'alignments'"):
        export_rows(store, "alignments")
    with pytest.raises(UserError, match="the store has no training samples"):
        export_rows(store, "training_samples")


def test_no_rows_of_the_chosen_status_lists_the_counts(tmp_path):
    store = Store(tmp_path / "store")
    with store.open_run("project", "project-1") as run:
        rows = [projection(i, "es", "partial") for i in range(2)]
        run.write("projections", load_schema("projections").table(rows))
    with pytest.raises(
        UserError, match=r"no projections with status complete \(the store has partial 2\)"
    ):
        export_rows(store, "projections")


def test_conll_export_writes_one_file_per_pair_and_split_that_reads_back(store, tmp_path):
    """`--format conll`: word<TAB>tag lines, a blank line after each sentence, read back by the
    CoNLL reader of `curate eval projection` with the same words and tags."""
    run_export(store, tmp_path / "conll", fmt="conll", status="complete,partial")
    files = sorted(
        p.relative_to(tmp_path / "conll").as_posix() for p in (tmp_path / "conll").rglob("*.conll")
    )
    assert files == ["en-de/test.conll", "en-de/train.conll", "en-es/train.conll"]
    sentences = read_conll_tags(tmp_path / "conll" / "en-es" / "train.conll")
    assert len(sentences) == 9 and sentences[0] == (WORDS, TAGS)
    assert "en-es/train.conll | 9" in (tmp_path / "conll" / "README.md").read_text()
    run_export(store, tmp_path / "conll", fmt="conll")  # an earlier export is replaced whole
    assert len(read_conll_tags(tmp_path / "conll" / "en-es" / "train.conll")) == 6


def test_two_projection_runs_export_one_run_the_latest_unless_named(store, tmp_path):
    """A marker run after an alignment run over the same examples: the export holds the later
    run only (not every sentence twice, with conflicting tags); --run-id picks the other."""
    rows = [
        {**projection(i, "es", "complete"), "id": f"m{i}", "run_id": "project-2"} for i in range(6)
    ]
    for row in rows:
        row["tags"] = ["B-ORG", "O", "B-LOC", "O"]
    with store.open_run("project", "project-2") as run:
        run.write("projections", load_schema("projections").table(rows))
    assert export_runs(store, "projections") == ["project-2"]
    run_export(store, tmp_path / "latest", fmt="conll")
    latest = read_conll_tags(tmp_path / "latest" / "en-es" / "train.conll")
    assert len(latest) == 6 and all(tags[0] == "B-ORG" for _, tags in latest)
    assert not (tmp_path / "latest" / "en-de").exists()
    run_export(store, tmp_path / "first", fmt="conll", run_id="project-1")
    first = read_conll_tags(tmp_path / "first" / "en-es" / "train.conll")
    assert len(first) == 6 and all(tags[0] == "B-PER" for _, tags in first)
    with pytest.raises(UserError, match="no projections of run 'nope'"):
        export_rows(store, "projections", run_ids=["nope"])


def test_conll_export_is_for_projections_only(store, tmp_path):
    with pytest.raises(UserError, match="--format conll"):
        run_export(store, tmp_path / "x", fmt="conll", stage="training_samples")
    with pytest.raises(UserError, match="unknown export format 'xml'"):
        run_export(store, tmp_path / "x", fmt="xml")
