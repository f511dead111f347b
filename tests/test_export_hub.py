"""Hub export: a folder that `datasets` loads offline, a valid card, and a push that never leaks."""

from __future__ import annotations

import logging
import os
import re
import traceback
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from curate.errors import UserError
from curate.export.card import CardInfo, read_card_header, size_category
from curate.export.hub import export_folder
from curate.export.names import sanitize_name
from curate.export.push import push
from curate.trainsets.interleave import InterleaveConfig, build_interleaved
from curate.trainsets.pairing import DocPair
from curate.trainsets.parallel import ParallelConfig, build_parallel

SENTINEL = "hf_SentinelTokenDoNotLeak0123456789"


@pytest.fixture(autouse=True)
def offline_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf-datasets-cache"))


def samples() -> list[dict[str, Any]]:
    translations = [
        {
            "id": f"t{i}",
            "src_lang": "en",
            "tgt_lang": lang,
            "source_text": f"Sentence {i} about the {lang} river and its old bridge.",
            "text": f"Satz {i} über den Fluss {lang} und seine alte Brücke.",
            "origin": "reference",
            "dataset": "unit-bitext",
        }
        for i in range(30)
        for lang in ("de", "qsy")
    ]
    parallel = build_parallel(
        translations,
        ParallelConfig(name="parallel en/xx", validation_fraction=0.2, dedup_near=False),
        run_id="run-1",
    ).samples
    pairs = [
        DocPair(
            {
                "id": f"d{i}",
                "lang": "en",
                "sentences": [f"Line {k} of document {i}." for k in range(9)],
            },
            {
                "id": f"d{i}",
                "lang": "de",
                "sentences": [f"Zeile {k} von Dokument {i}." for k in range(9)],
            },
            "key:link",
        )
        for i in range(12)
    ]
    interleaved = build_interleaved(
        pairs,
        InterleaveConfig(name="interleaved", context_tokens=64, chunk_tokens=20),
        run_id="run-2",
    ).samples
    return parallel + interleaved


def test_every_config_loads_with_datasets_with_row_counts_and_features(tmp_path: Path) -> None:
    import datasets

    rows = samples()
    out = tmp_path / "export"
    result = export_folder(
        rows, out, CardInfo(pretty_name="Unit set", license="cc-by-sa-4.0"), max_shard_bytes=4_000
    )
    assert set(result.configs) == {"parallel_en_xx", "interleaved"}
    expected: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (sanitize_name(row["config"]), row["split"])
        expected[key] = expected.get(key, 0) + 1
    for config in result.configs:
        loaded = datasets.load_dataset(str(out), name=config)
        for split, ds in loaded.items():
            assert ds.num_rows == expected[(config, split)]
            assert ds.features["text"] == datasets.Value("string")
            assert ds.features["n_tokens"] == datasets.Value("int32")
            assert ds.features["langs"] == datasets.List(datasets.Value("string"))
            assert set(ds.features["sources"].feature) == {
                "record_id",
                "lang",
                "chunk_start",
                "chunk_end",
            }
        assert set(loaded) == {s for c, s in expected if c == config}
    first = datasets.load_dataset(str(out), name="interleaved", split="train")[0]
    assert first["kind"] == "interleaved" and first["sources"][0]["record_id"].startswith("d")


def test_shards_are_size_bounded_and_named_by_config_and_split(tmp_path: Path) -> None:
    result = export_folder(
        samples(), tmp_path / "e", CardInfo(pretty_name="x"), max_shard_bytes=3_000
    )
    files = result.files
    assert all(f.startswith("data/") and f.endswith(".parquet") for f in files)
    train = result.configs["interleaved"]["train"]["files"]
    assert len(train) > 1
    assert re.fullmatch(
        rf"data/interleaved/train-00000-of-{len(train):05d}-[0-9a-f]{{12}}\.parquet", train[0]
    )
    for f in train:
        table = pq.read_table(tmp_path / "e" / f)
        text_bytes = sum(len(t.encode()) for t in table.column("text").to_pylist())
        assert table.num_rows == 1 or text_bytes <= 3_000
    assert (
        sum(pq.read_metadata(tmp_path / "e" / f).num_rows for f in train)
        == (result.configs["interleaved"]["train"]["rows"])
    )


def test_card_yaml_is_valid_and_complete(tmp_path: Path) -> None:
    recipe = {"build": {"interleaved": {"context_tokens": 64}}, "source": "unit"}
    card = CardInfo(
        pretty_name="Unit set",
        license="cc-by-sa-4.0",
        description="Test data.",
        provenance="Made from generated text.",
        recipe=recipe,
    )
    export_folder(samples(), tmp_path / "c", card)
    header = read_card_header(tmp_path / "c")
    assert header["license"] == "cc-by-sa-4.0"
    assert header["language"] == ["de", "en", "qsy"]
    assert header["task_categories"] == ["translation", "text-generation"]
    assert header["size_categories"] == ["n<1K"]
    configs = {c["config_name"]: c for c in header["configs"]}
    assert set(configs) == {"interleaved", "parallel_en_xx"}
    splits = {d["split"]: d["path"] for d in configs["parallel_en_xx"]["data_files"]}
    assert set(splits) == {"train", "validation"}
    for split, paths in splits.items():  # every shard, named with its content's hash
        assert paths and all(p.startswith(f"data/parallel_en_xx/{split}-") for p in paths)
        assert all((tmp_path / "c" / p).is_file() for p in paths)
    body = (tmp_path / "c" / "README.md").read_text()
    assert "context_tokens: 64" in body  # the recipe
    assert "`unit-bitext`" in body and "`run-1`" in body  # provenance from lineage
    assert "| interleaved | train |" in body  # statistics
    assert "Made from generated text." in body


def test_names_are_sanitised_and_clashes_rejected(tmp_path: Path) -> None:
    assert sanitize_name("../../etc/passwd") == "etc_passwd"
    assert sanitize_name("de–en ünïcode") == "de_en_unicode"
    assert sanitize_name("val-2024", kind="split") == "val_2024"
    with pytest.raises(UserError):
        sanitize_name("///")
    rows = samples()[:2]
    rows[0] = {**rows[0], "config": "a/b"}
    rows[1] = {**rows[1], "config": "a b", "split": rows[0]["split"]}
    with pytest.raises(UserError, match="both become"):
        export_folder(rows, tmp_path / "clash", CardInfo(pretty_name="x"))


def test_refuses_to_overwrite_an_unrelated_folder_but_replaces_an_earlier_export(
    tmp_path: Path,
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    with pytest.raises(UserError, match="not an earlier export"):
        export_folder(samples(), other, CardInfo(pretty_name="x"))
    assert (other / "notes.txt").read_text() == "keep me"
    out = tmp_path / "out"
    export_folder(samples(), out, CardInfo(pretty_name="first"))
    export_folder(samples()[:5], out, CardInfo(pretty_name="second"))
    assert read_card_header(out)["pretty_name"] == "second"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_a_store_table_with_dictionary_partition_columns_exports_plain_strings(
    tmp_path: Path,
) -> None:
    import datasets
    import pyarrow as pa

    from curate.records import load_schema

    table = load_schema("training_samples").table(samples())
    index = table.schema.get_field_index("config")
    table = table.set_column(index, "config", table.column("config").dictionary_encode())
    export_folder(table, tmp_path / "t", CardInfo(pretty_name="x"))
    loaded = datasets.load_dataset(str(tmp_path / "t"), name="interleaved", split="train")
    assert loaded.features["config"] == datasets.Value("string")
    assert pa.types.is_string(
        pq.read_schema(next((tmp_path / "t").rglob("*.parquet"))).field("config").type
    )


def test_size_categories() -> None:
    assert size_category(999) == "n<1K"
    assert size_category(1_000) == "1K<n<10K"
    assert size_category(2_500_000) == "1M<n<10M"


def test_push_offline_is_one_line_and_never_leaks_the_token(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    out = tmp_path / "pushme"
    export_folder(samples(), out, CardInfo(pretty_name="x"))
    before = sorted((p.relative_to(out), p.stat().st_size) for p in out.rglob("*"))
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(UserError) as info:
        push(out, "someone/unit-set")
    error = info.value
    message = str(error)
    assert "\n" not in message and message.startswith("could not push")
    assert "complete" in (error.hint or "")
    rendered = "".join(traceback.format_exception(error))
    captured = capsys.readouterr()
    for text in (
        message,
        error.hint or "",
        repr(error),
        rendered,
        captured.out,
        captured.err,
        caplog.text,
    ):
        assert SENTINEL not in text
    assert error.__cause__ is None and error.__context__ is None
    # The folder is untouched and still complete; nothing on disk holds the token.
    assert sorted((p.relative_to(out), p.stat().st_size) for p in out.rglob("*")) == before
    for path in [*out.rglob("*"), *(tmp_path / "hf-home").rglob("*")]:
        if path.is_file():
            assert SENTINEL.encode() not in path.read_bytes()


def test_push_needs_a_token_and_a_valid_repo_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "p"
    export_folder(samples()[:3], out, CardInfo(pretty_name="x"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(UserError, match="HF_TOKEN is not set"):
        push(out, "someone/unit-set")
    monkeypatch.setenv("HF_TOKEN", SENTINEL)
    with pytest.raises(UserError, match="invalid Hub repository id"):
        push(out, "no namespace")
    with pytest.raises(UserError, match="not an exported dataset folder"):
        push(tmp_path, "someone/unit-set")
    assert os.environ["HF_TOKEN"] == SENTINEL
