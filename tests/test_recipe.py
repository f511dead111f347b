"""Recipes: validated up front with the key's path; `curate run` runs all and re-runs as a no-op."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from beam_jobs.recipe import run_recipe, store_of
from curate.errors import UserError
from curate.mt.random_model import random_ct2_model
from curate.recipe import load_recipe
from curate.store import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "datasets" / "samples"


def write_recipe(folder: Path, data: dict) -> Path:
    path = folder / "recipe.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def minimal(**extra) -> dict:
    return {
        "name": "t",
        "store": "store",
        "inputs": [{"path": "news.jsonl", "lang": "en"}],
        **extra,
    }


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            minimal(translate={"targets": ["de"], "beam_sise": 2}),
            "translate.beam_sise: unknown key",
        ),
        (minimal(colour="blue"), "colour: unknown key"),
        ({"name": "t", "inputs": [{"lang": "en"}]}, "inputs.0.path: required key is missing"),
        (minimal(inputs=[{"path": "a.jsonl", "fields": {"body": "x"}}]), "inputs.0.fields"),
        (minimal(translate={"targets": ["de"], "stages": ["paragraphs"]}), "translate.stages.0"),
        (minimal(name="../evil"), "name"),
        (minimal(store="/etc/curate"), "store: absolute path"),
        (minimal(store="../../../../elsewhere"), "store: '../../../../elsewhere' leaves"),
        (minimal(inputs=[{"path": "a.jsonl", "lang": "english"}]), "inputs.0.lang: Value error"),
        (minimal(inputs=[{"path": "a.jsonl", "encoding": "klingon"}]), "inputs.0.encoding"),
        (minimal(inputs=[{"path": "a.txt", "on_misaligned": "pair"}]), "inputs.0.on_misaligned"),
        (minimal(export={"to": "hub", "run_id": "x"}), "export.run_id: unknown key"),
        (minimal(inputs=[{"path": "a.txt", "origin": "machine"}]), "inputs.0.origin"),
        (
            minimal(project={"options": {"max_gapp": 2}}),
            "project.options: Value error, alignment projection options: max_gapp: unknown option",
        ),
        (
            minimal(project={"options": {"max_gap": "three"}}),
            "project.options: Value error, alignment projection options: max_gap: Input should "
            "be a valid integer",
        ),
        (
            minimal(project={"options": {"consistency": {"min_cnt": 2}}}),
            "alignment projection options: consistency.min_cnt",
        ),
        (minimal(project={"options": {"convention": "qaa"}}), "unknown convention 'qaa'"),
        (
            minimal(project={"method": "marker", "options": {"max_gap": 1}}),
            "project.options: Value error, marker projection options: max_gap: unknown option",
        ),
    ],
)
def test_invalid_recipes_name_the_key(tmp_path, data, message):
    with pytest.raises(UserError) as info:
        load_recipe(write_recipe(tmp_path, data))
    assert message in str(info.value)


def test_projection_options_are_checked_and_typed_before_anything_runs(tmp_path):
    options = {"max_gap": 2, "trim_words": ["de", "la"], "consistency": {"min_count": 3}}
    recipe, _ = load_recipe(write_recipe(tmp_path, minimal(project={"options": options})))
    assert recipe.project is not None and recipe.project.options == options
    with pytest.raises(UserError) as info:
        load_recipe(write_recipe(tmp_path, minimal(project={"options": {"max_gapp": 2}})))
    assert "\n" not in str(info.value) and "1 problem(s)" in str(info.value)
    assert "known options: max_gap," in str(info.value)  # the misspelt key's right name


def test_yaml_is_parsed_safely(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: !!python/object/apply:os.system ['echo pwned']\ninputs: []\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_recipe(path)


def test_the_shipped_demo_recipe_is_valid():
    recipe, _ = load_recipe(ROOT / "datasets" / "recipes" / "demo.yaml")
    assert recipe.translate is not None and recipe.translate.targets == ["qsy"]


def test_run_then_rerun_is_a_no_op(tmp_path):
    texts = [
        json.loads(line)["text"] for line in (SAMPLES / "news_en.jsonl").read_text().splitlines()
    ]
    random_ct2_model(tmp_path / "model", texts, src="en", tgt="de")
    (tmp_path / "news.jsonl").write_text((SAMPLES / "news_en.jsonl").read_text())
    data = minimal(
        translate={
            "model": "./model",
            "targets": ["de"],
            "options": {"beam_size": 1, "max_decoding_length": 8},
        },
        build={"parallel": {"drop_truncated": False, "dedup_near": False}},
        export={"to": "hub"},
    )
    recipe, base = load_recipe(write_recipe(tmp_path, data))
    first = run_recipe(recipe, base)
    assert [r.step for r in first] == [
        "ingest news",
        "translate segments",
        "build parallel",
        "export",
    ]
    assert not any(r.skipped for r in first)
    second = run_recipe(recipe, base)
    assert all(r.skipped for r in second)
    assert (tmp_path / "hub" / "README.md").exists()
    forced = run_recipe(recipe, base, force=True)
    assert not any(r.skipped for r in forced)


def test_recipe_inputs_take_an_encoding_and_split_files_keep_their_folder(tmp_path):
    """Two ``test.txt`` of two languages are two datasets (not one run replaced by the other),
    and a Latin-1 file is read whole with ``encoding``; ``deu`` is stored as ``de``."""
    for lang, word in (("yor", "Èkó"), ("swa", "Dodoma")):
        (tmp_path / lang).mkdir()
        (tmp_path / lang / "test.txt").write_text(f"{word} B-LOC\n. O\n", encoding="utf-8")
    (tmp_path / "deu.testb").write_bytes("München B-LOC\nist O\nschön O\n".encode("latin-1"))
    data = {
        "name": "t",
        "store": "store",
        "inputs": [
            {"path": "yor/test.txt", "format": "conll", "lang": "yor"},
            {"path": "swa/test.txt", "format": "conll", "lang": "sw"},
            {"path": "deu.testb", "format": "conll", "lang": "deu", "encoding": "latin-1"},
        ],
    }
    recipe, base = load_recipe(write_recipe(tmp_path, data))
    results = run_recipe(recipe, base)
    assert [r.run_id for r in results] == [
        "t-ingest-yor-test",
        "t-ingest-swa-test",
        "t-ingest-deu.testb",
    ]
    rows = Store(tmp_path / "store").sql("SELECT lang, text FROM examples ORDER BY lang")
    assert rows.to_pylist() == [
        {"lang": "de", "text": "München ist schön"},
        {"lang": "sw", "text": "Dodoma ."},
        {"lang": "yo", "text": "Èkó ."},
    ]


def test_recipe_inputs_say_who_translated(tmp_path):
    parallel = SAMPLES / "parallel_ner"
    for name in ("en.conll", "de.conll", "de.txt"):
        (tmp_path / name).write_text((parallel / name).read_text(encoding="utf-8"))
    (tmp_path / "src.en").write_text("The vote is tomorrow.\nThe session is closed.\n")
    (tmp_path / "sysA.de").write_text("Die Abstimmung ist morgen.\nDie Sitzung ist zu.\n")
    data = minimal(
        inputs=[
            {"path": "en.conll", "lang": "en", "target_lang": "de", "target_file": "de.conll"},
            {
                "path": "src.en",
                "format": "bitext",
                "lang": "en",
                "target_lang": "de",
                "target_file": "sysA.de",
                "origin": "system",
                "system": "sysA",
            },
        ]
    )
    recipe, base = load_recipe(write_recipe(tmp_path, data))
    run_recipe(recipe, base)
    rows = (
        store_of(recipe, base)
        .sql(
            "SELECT source_kind, origin, system, count(*) AS n, count(tokens) AS words "
            "FROM translations GROUP BY ALL ORDER BY 1"
        )
        .to_pylist()
    )
    assert rows == [
        {"source_kind": "bitext", "origin": "system", "system": "sysA", "n": 2, "words": 0},
        {
            "source_kind": "examples",
            "origin": "reference",
            "system": None,
            "n": 12,
            "words": 12,
        },
    ]


def test_plan_counts_work_left_after_the_memory(tmp_path, random_model):
    from beam_jobs.recipe import estimate

    (tmp_path / "news.jsonl").write_text((SAMPLES / "news_en.jsonl").read_text())
    translate = {
        "model": str(random_model),
        "targets": ["de"],
        "options": {"beam_size": 1, "max_decoding_length": 8},
    }
    data = minimal(translate=translate, allow_absolute_paths=True)
    recipe, base = load_recipe(write_recipe(tmp_path, data))
    before = estimate(recipe, base)
    assert before["steps"] == ["ingest news", "translate segments"]
    assert before["segments_total"] == before["segments_to_translate"] == 72
    assert before["source_tokens_to_translate"] > 0 and before["probe_source_tokens_per_s"] > 0
    run_recipe(recipe, base)
    after = estimate(recipe, base)
    assert after["segments_to_translate"] == 0 and after["from_memory"] == 72
