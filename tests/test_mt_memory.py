"""Translation memory files and keys, and the splitting of over-long inputs (no model needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.mt.memory import (
    MemoryEntry,
    TranslationMemory,
    hash_prefixes,
    normalize_text,
    text_hash,
)
from curate.mt.splitting import split_to_fit
from curate.records import load_schema

KEY = ("model-a", "v1", "en", "de")


def test_entries_survive_a_flush_and_are_found_by_a_new_instance(tmp_path: Path) -> None:
    with TranslationMemory(tmp_path) as memory:
        memory.add(*KEY, {"Hello  world.": MemoryEntry("Hallo Welt.", -0.5)}, decoding="d1")
        # visible before the flush, under any whitespace variant
        assert memory.lookup(*KEY, [" Hello world. "], decoding="d1")[" Hello world. "].text == (
            "Hallo Welt."
        )
    found = TranslationMemory(tmp_path).lookup(*KEY, ["Hello world.", "Unknown."], decoding="d1")
    assert set(found) == {"Hello world."}
    assert found["Hello world."] == MemoryEntry("Hallo Welt.", -0.5, False, 1, False)


def test_keys_separate_models_versions_decoding_and_languages(tmp_path: Path) -> None:
    with TranslationMemory(tmp_path) as memory:
        memory.add(*KEY, {"Hi.": MemoryEntry("Hallo.")}, decoding="d1")
    memory = TranslationMemory(tmp_path)
    assert memory.lookup(*KEY, ["Hi."], decoding="d1")
    assert not memory.lookup(*KEY, ["Hi."], decoding="d2")
    assert not memory.lookup("model-a", "v2", "en", "de", ["Hi."], decoding="d1")
    assert not memory.lookup("model-b", "v1", "en", "de", ["Hi."], decoding="d1")
    assert not memory.lookup("model-a", "v1", "en", "fr", ["Hi."], decoding="d1")


def test_files_are_zstd_parquet_in_language_partitions_with_the_schema(tmp_path: Path) -> None:
    memory = TranslationMemory(tmp_path)
    memory.add(*KEY, {"A.": MemoryEntry("A.")})
    memory.flush()
    memory.add(*KEY, {"B.": MemoryEntry("B.")})
    memory.flush()
    directory = tmp_path / "memory" / "src_lang=en" / "tgt_lang=de"
    files = sorted(directory.iterdir())
    assert len(files) == 2 and all(f.suffix == ".parquet" for f in files)  # one per flush
    meta = pq.ParquetFile(files[0]).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    schema = load_schema("translation_memory").file_schema
    assert pq.read_schema(files[0]).names == schema.names

    merged = memory.compact("en", "de")
    assert merged is not None and [p.name for p in directory.iterdir()] == [merged.name]
    assert pq.ParquetFile(merged).metadata.num_row_groups == 1  # not one per merged file
    assert set(TranslationMemory(tmp_path).lookup(*KEY, ["A.", "B."])) == {"A.", "B."}


def test_shards_cut_files_at_row_groups_and_read_only_the_wanted_hashes(tmp_path: Path) -> None:
    memory = TranslationMemory(tmp_path)
    texts = [f"Sentence {i}." for i in range(10)]
    for i in range(0, 10, 5):  # two files of five entries
        memory.add(*KEY, {t: MemoryEntry(t.upper()) for t in texts[i : i + 5]}, decoding="d")
        memory.flush()
    memory.add(*KEY, {"Other decoding.": MemoryEntry("x")}, decoding="e")
    memory.flush()
    shards = memory.shards("en", "de", max_rows=1)
    assert len(shards) == 3 and sum(s.rows for s in shards) == 11
    everything = dict(kv for s in shards for kv in memory.read_shard(s, "model-a", "v1", "d"))
    assert {MemoryEntry(*e).text for e in everything.values()} == {t.upper() for t in texts}
    asked = [text_hash(normalize_text(t)) for t in (texts[1], texts[7], "Not remembered.")]
    wanted = np.unique(hash_prefixes(asked))
    found = dict(
        kv for s in shards for kv in memory.read_shard(s, "model-a", "v1", "d", wanted=wanted)
    )
    assert set(found) == set(asked[:2])
    empty = np.array([], dtype=np.uint64)
    assert not [kv for s in shards for kv in memory.read_shard(s, *KEY[:2], "d", wanted=empty)]


def test_normalisation_collapses_whitespace_and_composes_unicode() -> None:
    assert normalize_text("  Cafe\u0301 \n au  lait ") == "Café au lait"


def test_long_text_splits_at_sentence_punctuation_first() -> None:
    text = "one two three. four five six seven eight nine"
    pieces = split_to_fit(text, text.split(), 6, str.split)
    assert [p.text for p in pieces] == ["one two three.", "four five six seven eight nine"]
    assert not any(p.truncated for p in pieces)


def test_long_text_without_punctuation_splits_at_whitespace_until_it_fits() -> None:
    text = " ".join(f"w{i}" for i in range(20))
    pieces = split_to_fit(text, text.split(), 4, str.split)
    assert all(len(p.tokens) <= 4 for p in pieces)
    assert " ".join(p.text for p in pieces) == text


def test_unsplittable_text_is_truncated_and_flagged() -> None:
    pieces = split_to_fit("abcdefghij", list("abcdefghij"), 4, list)
    assert len(pieces) == 1 and pieces[0].truncated and pieces[0].tokens == list("abcd")
