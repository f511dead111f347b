"""A CoNLL file read with its translations: paired unit by unit, nothing lost on either side."""

from __future__ import annotations

from curate.ingest import IngestConfig, ingest_batch
from curate.io import FieldMap
from curate.io.parallel import read_conll_with_target

SOURCE = "Anna B-PER\nsings O\n\nTom B-PER\nsleeps O\n\nBerlin B-LOC\nwaits O\n"


def test_a_bad_target_sentence_quarantines_its_pair_and_the_others_stay_paired(tmp_path):
    src, tgt = tmp_path / "en.conll", tmp_path / "de.conll"
    src.write_text(SOURCE, encoding="utf-8")
    tgt.write_text("Anna B-PER\nsingt O\n\nTom X-PER\nschläft O\n\nBerlin B-LOC\nwartet O\n")
    (batch,) = read_conll_with_target(str(src), FieldMap(), {"target_file": str(tgt)})
    assert [r.target_tokens for r in batch.records] == [["Anna", "singt"], ["Berlin", "wartet"]]
    (bad,) = batch.quarantined
    assert bad.reason == "bad_tag" and bad.detail.startswith(f"target {tgt}:4:")
    assert bad.source_line == 4 and b"Tom" in bad.payload and b"X-PER" in bad.payload


def test_a_blank_target_line_is_an_empty_translation_sent_to_quarantine(tmp_path):
    src, tgt = tmp_path / "en.conll", tmp_path / "de.txt"
    src.write_text(SOURCE, encoding="utf-8")
    tgt.write_text("Anna singt.\n\nBerlin wartet.\n", encoding="utf-8")
    (batch,) = read_conll_with_target(str(src), FieldMap(), {"target_file": str(tgt)})
    result = ingest_batch(batch, IngestConfig("d", "r", lang="en", target_lang="de"))
    assert result.counts.records_in == 3 and result.counts.records_out == 2
    assert dict(result.counts.quarantined) == {"empty_text": 1}
    assert result.tables["examples"].num_rows == 2
    translations = result.tables["translations"].to_pylist()
    assert [t["source_kind"] for t in translations] == ["examples", "examples"]
    assert {t["source_id"] for t in translations} == set(
        result.tables["examples"].column("id").to_pylist()
    )
