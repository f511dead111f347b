"""`curate project` and `curate align` on a real store: every labelled example gets a projection
row (complete, partial or dropped, with reasons), spans slice the text they label."""

from __future__ import annotations

from pathlib import Path

import pytest

from beam_jobs.ingest import InputSpec, run_ingest
from beam_jobs.project import ProjectJob, run_align, run_project
from beam_jobs.translate import TranslateJob, run_translate
from curate.errors import UserError
from curate.ingest import IngestConfig
from curate.mt.engine import TranslateConfig
from curate.store import Store

SAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "samples"


@pytest.fixture(scope="module")
def store(tmp_path_factory, random_model) -> Store:
    store = Store(tmp_path_factory.mktemp("project") / "store")
    run_ingest(
        store,
        [InputSpec(str(SAMPLES / "ner_en.conll"), "conll")],
        IngestConfig("ner", "ingest", lang="en"),
    )
    config = TranslateConfig(beam_size=1, max_decoding_length=20)
    job = TranslateJob(
        run_id="tr",
        targets=("de",),
        model=str(random_model),
        source_stage="examples",
        config=config,
    )
    run_translate(store, job)
    return store


def check_projections(store: Store, run_id: str) -> list[dict]:
    rows = store.sql(f"SELECT * FROM projections WHERE run_id = '{run_id}'").to_pylist()
    n_examples = store.sql("SELECT count(*) FROM examples").column(0)[0].as_py()
    assert len(rows) == n_examples
    for row in rows:
        assert row["status"] in ("complete", "partial", "dropped")
        assert row["n_projected"] == len(row["spans"]) <= row["n_source_spans"]
        if row["status"] != "complete":
            assert row["reasons"], row
        for span in row["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(row["text"])
    return rows


def test_alignment_projection_gives_every_example_a_row(store):
    manifest = run_project(store, ProjectJob(run_id="proj"))
    rows = check_projections(store, "proj")
    assert manifest["counts"]["project"]["in"] == len(rows)
    assert {r["method"].split("/")[0] for r in rows} == {"alignment"}


def test_align_job_aligns_every_translation(store):
    manifest = run_align(store, ProjectJob(run_id="al"))
    n = store.sql("SELECT count(*) FROM translations").column(0)[0].as_py()
    assert manifest["counts"]["align"]["in"] == n == manifest["rows"]["alignments"]
    links = store.sql("SELECT src_tokens, tgt_tokens, links, method FROM alignments").to_pylist()
    for row in links:
        assert row["method"].startswith("eflomal")
        assert all(
            0 <= ln["src"] < len(row["src_tokens"]) and 0 <= ln["tgt"] < len(row["tgt_tokens"])
            for ln in row["links"]
        )


def test_marker_projection_with_the_engine(store, random_model):
    run_project(store, ProjectJob(run_id="mark", method="marker", model=str(random_model)))
    rows = check_projections(store, "mark")
    assert {r["method"] for r in rows} == {"marker"}
    # an untrained model does not keep markers: those examples are dropped with the reason
    dropped = [r for r in rows if r["status"] == "dropped"]
    assert all(r["reasons"] for r in dropped)


def test_bad_options_are_refused_before_work(store):
    with pytest.raises(UserError):
        run_project(store, ProjectJob(run_id="bad", options={"max_gap": -1}))
    with pytest.raises(UserError):
        run_project(store, ProjectJob(run_id="bad", aligner="nope"))
    assert store.manifest("bad") is None


SHIPPED = Path(__file__).resolve().parent.parent / "datasets" / "models" / "en-qsy"


@pytest.mark.slow
def test_marker_projection_end_to_end_with_the_shipped_model(tmp_path):
    """The shipped model keeps [ ] markers, so marker projection is checked against gold."""
    from curate.evaluate.spans import score_text_spans
    from curate.io.conll import read_conll_tags

    store = Store(tmp_path / "store")
    conll = SAMPLES / "ner_en.conll"
    run_ingest(store, [InputSpec(str(conll), "conll")], IngestConfig("ner", "ingest", lang="en"))
    config = TranslateConfig(beam_size=2, max_decoding_length=128)
    job = TranslateJob("tr", ("qsy",), model=str(SHIPPED), source_stage="examples", config=config)
    run_translate(store, job)
    run_project(store, ProjectJob(run_id="mark", method="marker", model=str(SHIPPED)))
    rows = store.sql(
        "SELECT p.text, p.spans, p.status FROM projections p "
        "JOIN examples e ON e.id = p.example_id ORDER BY e.source_line"
    ).to_pylist()
    assert sum(r["status"] == "complete" for r in rows) >= 0.9 * len(rows)
    predicted = [
        (r["text"], [(s["start"], s["end"], s["label"]) for s in r["spans"]]) for r in rows
    ]
    result = score_text_spans(predicted, read_conll_tags(SAMPLES / "ner_qsy.conll"))
    assert result.scores.micro.f1 >= 0.9, result.scores.table()
