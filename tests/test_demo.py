"""The demo recipe end to end with the shipped model: every stage runs, a second run is a no-op,
the projected labels score well against the generator's gold, the export loads."""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
import pytest
import yaml

from beam_jobs.recipe import run_recipe, store_of
from curate.cli.build import export
from curate.cli.evaluate import eval_projection
from curate.io.conll import read_conll_tags
from curate.recipe import load_recipe

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    recipe = yaml.safe_load((ROOT / "datasets" / "recipes" / "demo.yaml").read_text())
    recipe["store"] = "store"
    recipe["export"]["to"] = "hub"
    recipe["translate"]["model"] = str(ROOT / "datasets" / "models" / "en-qsy")
    recipe["allow_absolute_paths"] = True
    shutil.copytree(ROOT / "datasets" / "samples", folder / "samples")
    recipe["inputs"][0]["path"] = "samples/news_en.jsonl"
    recipe["inputs"][1]["path"] = "samples/ner_en.conll"
    path = folder / "demo.yaml"
    path.write_text(yaml.safe_dump(recipe))
    loaded, base = load_recipe(path)
    first = run_recipe(loaded, base)
    return loaded, base, first


@pytest.mark.slow
def test_every_stage_runs_and_a_rerun_is_a_no_op(demo):
    recipe, base, first = demo
    assert [r.step for r in first] == [
        "ingest news",
        "ingest ner",
        "translate segments",
        "translate examples",
        "align",
        "project",
        "detect",
        "build parallel",
        "build interleaved",
        "export",
    ]
    assert not any(r.skipped for r in first)
    again = run_recipe(recipe, base)
    assert all(r.skipped for r in again)


@pytest.mark.slow
def test_projected_labels_match_the_gold(demo, capsys):
    recipe, base, _ = demo
    store = store_of(recipe, base)
    eval_projection(
        gold=base / "samples" / "ner_qsy.conll",
        pred=None,
        store=store.root,
        run_id=None,
        as_json=False,
    )
    macro = float(capsys.readouterr().out.splitlines()[-1].split()[1])
    assert macro >= 0.8


@pytest.mark.slow
def test_the_export_loads(demo):
    _, base, _ = demo
    for config in ("parallel", "interleaved"):
        loaded = datasets.load_dataset(str(base / "hub"), name=config)
        assert sum(split.num_rows for split in loaded.values()) > 0


def export_projections(store: Path, to: Path, status: str, fmt: str) -> None:
    """`curate export --stage projections` of the demo store."""
    export(
        to=to,
        store=store,
        stage="projections",
        status=status,
        fmt=fmt,
        push=None,
        name="demo NER",
        license="apache-2.0",
        max_shard_mb=256,
        private=False,
    )


@pytest.mark.slow
def test_projected_ner_exports_and_loads(demo, tmp_path):
    """The demo's projections onto its translations export as token-classification data: as
    many rows as SQL counts complete translate-train projections, tags word by word."""
    recipe, base, _ = demo
    store = store_of(recipe, base)
    export_projections(store.root, tmp_path / "ner", status="complete", fmt="hub")
    expected = store.sql(
        "SELECT count(*) FROM projections "
        "WHERE status = 'complete' AND direction = 'translate-train' AND tgt_lang = 'qsy'"
    )
    loaded = datasets.load_dataset(str(tmp_path / "ner"), name="en-qsy", split="train")
    assert loaded.num_rows == expected.column(0)[0].as_py() > 0
    names = loaded.features["ner_tags"].feature.names
    for row in loaded:
        assert len(row["tokens"]) == len(row["tags"])
        assert [names[i] for i in row["ner_tags"]] == row["tags"]
        assert all(0 <= s["start"] < s["end"] <= len(row["text"]) for s in row["spans"])


@pytest.mark.slow
def test_projected_ner_exports_as_conll_in_corpus_order(demo, tmp_path):
    """The CoNLL export lists the demo's projections in the order of the labelled corpus: its
    sentences are the gold file's sentences, word for word."""
    recipe, base, _ = demo
    export_projections(store_of(recipe, base).root, tmp_path / "conll", "complete,partial", "conll")
    exported = read_conll_tags(tmp_path / "conll" / "en-qsy" / "train.conll")
    gold = read_conll_tags(base / "samples" / "ner_qsy.conll")
    assert [words for words, _ in exported] == [words for words, _ in gold]
