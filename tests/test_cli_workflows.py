"""Everyday workflows through the real CLI and a real store: labelled text ingested with its
translations and projected onto them, a bitext's files aligned to Pharaoh links, and machine
output judged against its human reference."""

from __future__ import annotations

import json
from pathlib import Path

from test_cli_ingest import ROOT, curate

PARALLEL = ROOT / "datasets" / "samples" / "parallel_ner"


def sql(store: Path, query: str) -> list[dict]:
    out = curate("sql", query, "--store", str(store), "--format", "json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def conll_sentences(path: Path) -> list[list[tuple[str, str]]]:
    sentences: list[list[tuple[str, str]]] = [[]]
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            word, tag = line.split()
            sentences[-1].append((word, tag))
        elif sentences[-1]:
            sentences.append([])
    return [s for s in sentences if s]


# -- labelled text with its translation -----------------------------------------------------------


def test_jsonl_spans_beside_a_target_field_give_examples_and_linked_translations(tmp_path):
    rows = []
    for k in range(40):
        text = f"Anna Berg met Tom Lind in Oslo on day {k}."
        row = {"id": f"r{k}", "text": text, "de": f"Anna Berg traf Tom Lind am Tag {k} in Oslo."}
        if k % 4:  # 30 of 40 records have spans, the others none
            row["entities"] = [
                {"start": 0, "end": 9, "label": "PER"},
                {"start": 26, "end": 30, "label": "LOC"},
            ]
        rows.append(row)
    data = tmp_path / "qa.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    store = tmp_path / "store"
    out = curate(
        *("ingest", str(data), "--store", str(store), "--lang", "en", "--target-lang", "de"),
        *("--spans-field", "entities", "--target-field", "de"),
    )
    assert "40 read, 40 written, 0 quarantined" in out.stderr
    (linked,) = sql(
        store,
        "SELECT count(*) AS n, count(DISTINCT e.id) AS examples, sum(len(e.spans))::INT AS spans "
        "FROM translations t JOIN examples e ON e.id = t.source_id "
        "WHERE t.source_kind = 'examples' AND t.origin = 'reference'",
    )
    assert linked == {"n": 30, "examples": 30, "spans": 60}
    (plain,) = sql(store, "SELECT count(*) AS n FROM translations WHERE source_kind = 'bitext'")
    assert plain["n"] == 10  # records without spans stay plain bitext: nothing lost


def test_projection_and_alignment_report_how_many_examples_were_aligned_by_sentence(tmp_path):
    rows = []
    for k in range(40):
        one = k % 4 == 0  # one sentence each: aligned whole
        unpaired = k % 4 == 3  # 2 sentences against 5: cannot be paired, the fallback
        text = f"Anna Berg met Tom Lind in Oslo on day {k}." + ("" if one else " They spoke.")
        de = f"Anna Berg traf Tom Lind am Tag {k} in Oslo." + ("" if one else " Sie sprachen.")
        if unpaired:
            de = f"Anna Berg traf Tom Lind. Es war Tag {k}. Sie waren in Oslo. Es regnete. Gut."
        spans = [{"start": 0, "end": 9, "label": "PER"}, {"start": 26, "end": 30, "label": "LOC"}]
        rows.append({"id": f"r{k}", "text": text, "de": de, "entities": spans})
    data = tmp_path / "paragraphs.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    store = tmp_path / "store"
    curate(
        *("ingest", str(data), "--store", str(store), "--lang", "en", "--target-lang", "de"),
        *("--spans-field", "entities", "--target-field", "de"),
    )
    out = curate("project", "--store", str(store), "--run-id", "p")
    expected = "aligned by sentence 20 (50.0%), paragraph fallback 10 (25.0%), whole 10"
    assert expected in out.stderr
    units = sql(store, "SELECT aligned_as, count(*) AS n FROM projections GROUP BY 1 ORDER BY 1")
    assert units == [
        {"aligned_as": "fallback", "n": 10},
        {"aligned_as": "sentences", "n": 20},
        {"aligned_as": "whole", "n": 10},
    ]
    (manifest,) = sql(store, "SELECT counts FROM runs WHERE run_id = 'p'")
    notes = json.loads(manifest["counts"])["project"]["notes"]
    assert notes == {"aligned_by_sentence": 20, "aligned_whole": 10, "sentence_fallback": 10}
    out = curate("align", "--store", str(store), "--run-id", "a")
    assert "40 alignments; " + expected in out.stderr


def test_conll_with_a_plain_target_file_is_projected_onto_the_human_translation(tmp_path):
    store = tmp_path / "store"
    out = curate(
        *("ingest", str(PARALLEL / "en.conll"), "--target-file", str(PARALLEL / "de.txt")),
        *("--store", str(store), "--lang", "en", "--target-lang", "de"),
    )
    assert "12 read, 12 written, 0 quarantined" in out.stderr
    out = curate("project", "--store", str(store), "--run-id", "onto-ref")
    assert "12 examples projected" in out.stderr
    rows = sql(
        store,
        "SELECT p.origin, p.text, t.text AS translation, p.n_source_spans, p.n_projected "
        "FROM projections p JOIN translations t ON t.id = p.translation_id ORDER BY p.id",
    )
    assert len(rows) == 12
    assert {r["origin"] for r in rows} == {"reference"}
    assert all(r["text"] == r["translation"] for r in rows)
    assert sum(r["n_source_spans"] for r in rows) == 25
    assert sum(r["n_projected"] for r in rows) >= 20


def test_two_conll_files_project_one_tag_per_given_target_word_and_score_against_them(tmp_path):
    store = tmp_path / "store"
    curate(
        *("ingest", str(PARALLEL / "en.conll"), "--target-file", str(PARALLEL / "de.conll")),
        *("--store", str(store), "--lang", "en", "--target-lang", "de"),
    )
    curate("project", "--store", str(store))
    gold = conll_sentences(PARALLEL / "de.conll")
    rows = sql(
        store,
        "SELECT p.tokens, p.tags FROM projections p JOIN examples e ON e.id = p.example_id "
        "ORDER BY e.source_line",
    )
    assert [r["tokens"] for r in rows] == [[w for w, _ in s] for s in gold]
    assert all(len(r["tags"]) == len(r["tokens"]) for r in rows)
    out = curate(
        *("eval", "projection", "--store", str(store), "--gold", str(PARALLEL / "de.conll")),
        *("--lang", "de", "--json"),
    ).stdout
    scores = json.loads(out)
    assert scores["micro"]["n_gold"] == 25
    assert scores["micro"]["f1"] >= 0.7  # names and anchors carry most spans across


def test_a_target_file_that_does_not_pair_up_is_refused_before_anything_is_written(tmp_path):
    short = tmp_path / "de.txt"
    short.write_text(
        "".join((PARALLEL / "de.txt").read_text(encoding="utf-8").splitlines(True)[:-1]),
        encoding="utf-8",
    )
    store = tmp_path / "store"
    out = curate(
        *("ingest", str(PARALLEL / "en.conll"), "--target-file", str(short)),
        *("--store", str(store), "--lang", "en"),
        check=False,
    )
    assert out.returncode == 2
    assert "has 12 sentences but" in out.stderr and "has 11 lines" in out.stderr
    assert not (store / "_runs").exists() or not list((store / "_runs").glob("*.json"))


# -- alignment files in, links out ------------------------------------------------------------


def _bitext(tmp_path: Path) -> tuple[Path, Path]:
    src, tgt = tmp_path / "corpus.en", tmp_path / "corpus.fr"
    en = ["I don't know the man .", "the man is here .", "I know the house ."] * 8
    fr = ["je ne connais pas l'homme .", "l'homme est ici .", "je connais la maison ."] * 8
    src.write_text("\n".join(en) + "\n", encoding="utf-8")
    tgt.write_text("\n".join(fr) + "\n", encoding="utf-8")
    return src, tgt


def _links(path: Path) -> list[list[tuple[int, int]]]:
    return [
        [tuple(int(x) for x in item.split("-")) for item in line.split()]
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_align_files_pretokenized_keeps_the_given_words_and_writes_zero_based_links(tmp_path):
    src, tgt = _bitext(tmp_path)
    links, words = tmp_path / "links.txt", tmp_path / "words.txt"
    out = curate(
        *("align", "--src", str(src), "--tgt", str(tgt), "--out", str(links)),
        *("--pretokenized", "--tokens-out", str(words)),
    )
    assert "24 pairs aligned" in out.stderr and "(0-based)" in out.stderr
    assert words.read_text(encoding="utf-8").splitlines()[0] == (
        "I don't know the man . ||| je ne connais pas l'homme ."
    )
    got = _links(links)
    assert len(got) == 24
    assert all(0 <= i < 6 and 0 <= j < 6 for i, j in got[0])
    assert any(i == 0 for pair in got for i, _ in pair)  # zero-based: the first word is 0
    # re-split by the tokenizer, "don't" becomes two words and every later index shifts
    curate(
        "align",
        "--src",
        str(src),
        "--tgt",
        str(tgt),
        "--out",
        str(links),
        "--tokens-out",
        str(words),
        "--src-lang",
        "en",
        "--tgt-lang",
        "fr",
    )
    assert words.read_text(encoding="utf-8").splitlines()[0].startswith("I don 't know")


def test_align_one_file_one_based_then_eval_with_separate_bases(tmp_path):
    src, tgt = _bitext(tmp_path)
    joined = tmp_path / "corpus.en-fr"
    joined.write_text(
        "".join(
            f"{a} ||| {b}\n"
            for a, b in zip(src.read_text().splitlines(), tgt.read_text().splitlines(), strict=True)
        ),
        encoding="utf-8",
    )
    zero, one = tmp_path / "zero.txt", tmp_path / "one.txt"
    curate("align", "--src", str(joined), "--out", str(zero), "--pretokenized")
    curate("align", "--src", str(joined), "--out", str(one), "--pretokenized", "--one-based")
    assert all(i >= 1 and j >= 1 for pair in _links(one) for i, j in pair)
    assert not any(i == 0 for pair in _links(one) for i, _ in pair)
    # one run's links written 1-based as gold and 0-based as prediction: each read in its base
    out = curate(
        *("eval", "align", "--pred", str(one), "--gold", str(one), "--json"),
        *("--pred-one-based", "--gold-one-based"),
    ).stdout
    assert json.loads(out)["aer"] == 0.0
    shifted = tmp_path / "shifted.txt"
    shifted.write_text(
        "\n".join(" ".join(f"{i - 1}-{j - 1}" for i, j in pair) for pair in _links(one)) + "\n"
    )
    out = curate(
        *("eval", "align", "--pred", str(shifted), "--gold", str(one), "--json"),
        *("--pred-zero-based", "--gold-one-based"),
    ).stdout
    assert json.loads(out)["aer"] == 0.0
    out = curate(
        *("eval", "align", "--pred", str(shifted), "--gold", str(one), "--one-based"),
        check=False,
    )
    assert out.returncode == 2 and "is below 1 but one_based=True" in out.stderr


def test_align_needs_either_a_store_or_files(tmp_path):
    src, _ = _bitext(tmp_path)
    both = curate(
        *("align", "--store", str(tmp_path / "s"), "--src", str(src), "--out", "x"), check=False
    )
    neither = curate("align", check=False)
    for out in (both, neither):
        assert out.returncode == 2
        assert "give either --store DIR" in out.stderr
    unequal = tmp_path / "short.fr"
    unequal.write_text("un\n", encoding="utf-8")
    out = curate(
        *("align", "--src", str(src), "--tgt", str(unequal), "--out", str(tmp_path / "l")),
        check=False,
    )
    assert out.returncode == 2 and "has 24 lines" in out.stderr


# -- machine output against its human reference -------------------------------------------------


def _wmt_like(tmp_path: Path, n: int = 40) -> tuple[Path, Path, Path]:
    """A source file, its human reference and a system's output, line by line (WMT layout)."""
    src, ref, hyp = (tmp_path / name for name in ("src.en", "ref.de", "sysA.de"))
    en = [f"The council met on day {k} and approved the budget for the town." for k in range(n)]
    de = [
        f"Der Rat trat am Tag {k} zusammen und billigte den Haushalt der Stadt." for k in range(n)
    ]
    out = [f"Der Rat traf sich am Tag {k} und genehmigte das Budget der Stadt." for k in range(n)]
    if n > 7:
        out[3] = en[3]  # one output left untranslated
        out[7] = "Der Rat."  # one cut short
    for path, lines in ((src, en), (ref, de), (hyp, out)):
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return src, ref, hyp


def test_system_output_and_reference_are_told_apart_and_compared(tmp_path):
    src, ref, hyp = _wmt_like(tmp_path)
    store = tmp_path / "store"
    common = ("--store", str(store), "--lang", "en", "--target-lang", "de")
    curate("ingest", str(src), "--target-file", str(ref), "--dataset", "wmt-ref", *common)
    # a store with references only: the detector says why it scored nothing
    out = curate("detect", "--store", str(store), "--only", "reference_disagreement")
    assert "reference_disagreement: 40 translations not scored: no human reference" in out.stderr
    curate(
        *("ingest", str(src), "--target-file", str(hyp), "--dataset", "wmt-sysA"),
        *("--origin", "system", "--system", "sysA", *common),
    )
    rows = sql(
        store, "SELECT origin, system, count(*) AS n FROM translations GROUP BY ALL ORDER BY 1"
    )
    assert rows == [
        {"origin": "reference", "system": None, "n": 40},
        {"origin": "system", "system": "sysA", "n": 40},
    ]
    out = curate("detect", "--store", str(store), "--only", "reference_disagreement")
    assert "80 translations checked" in out.stderr
    assert "40 translations not scored" in out.stderr  # the references themselves
    flagged = sql(
        store,
        "SELECT t.source_line FROM artifact_tags g JOIN translations t ON t.id = g.translation_id "
        "WHERE g.flag ORDER BY 1",
    )
    assert [r["source_line"] for r in flagged] == [4, 8]
    report = tmp_path / "report.html"
    data = tmp_path / "report.json"
    curate("report", "--store", str(store), "--out", str(report), "--json", str(data))
    summary = json.loads(data.read_text(encoding="utf-8"))
    assert summary["systems"] == ["reference", "sysA"]
    (det,) = summary["detectors"]
    by_system = {b["system"]: b for b in det["by_system"]}
    assert by_system["sysA"] == {"system": "sysA", "n": 40, "scored": 40, "flagged": 2}
    assert by_system["reference"]["scored"] == 0
    page = report.read_text(encoding="utf-8")
    assert "Flag rates per detector and system" in page
    assert 'data-system="reference" data-flagged="0" data-n="40" data-scored="0"' in page
    assert "wmt-sysA" in page  # the dataset is shown beside each example


def test_a_system_output_needs_its_system_name(tmp_path):
    src, _, hyp = _wmt_like(tmp_path, 3)
    out = curate(
        *("ingest", str(src), "--target-file", str(hyp), "--store", str(tmp_path / "s")),
        *("--origin", "system"),
        check=False,
    )
    assert out.returncode == 2 and "needs the name of its system" in out.stderr
