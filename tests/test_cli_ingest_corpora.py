"""Real corpora through `curate ingest`, as distributed: per-language folders of split files
(MasakhaNER's layout), a Latin-1 CoNLL-2002 file, a bitext off by one line, files that hold no
records. Nothing may be lost, overwritten or shifted while the command exits 0.

Every file is written here, shaped like the real one (no real test split is read).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli_ingest import curate

SENTENCES = {
    "yor": [
        [("Adébáyọ̀", "B-PER"), ("lọ", "O"), ("sí", "O"), ("Èkó", "B-LOC"), (".", "O")],
        [("NNPC", "B-ORG"), ("kéde", "O"), ("ní", "O"), ("ọjọ́", "O"), ("Ajé", "B-DATE")],
        [("Wọ́n", "O"), ("ti", "O"), ("dé", "O"), (".", "O")],
    ],
    "swa": [
        [("Samia", "B-PER"), ("Suluhu", "I-PER"), ("alitembelea", "O"), ("Dodoma", "B-LOC")],
        [("Benki", "B-ORG"), ("Kuu", "I-ORG"), ("ilitangaza", "O"), ("jana", "B-DATE")],
        [("Mvua", "O"), ("ilinyesha", "O"), ("sana", "O"), (".", "O")],
    ],
    "hau": [
        [("Muhammadu", "B-PER"), ("Buhari", "I-PER"), ("ya", "O"), ("isa", "O"), ("Kano", "B-LOC")],
        [("Kamfanin", "O"), ("Dangote", "B-ORG"), ("ya", "O"), ("sanar", "O"), (".", "O")],
        [("Ruwan", "O"), ("sama", "O"), ("ya", "O"), ("sauka", "O"), (".", "O")],
    ],
}


def masakhaner_like(root: Path) -> Path:
    """``root/<lang>/dev.txt`` (2 sentences) and ``test.txt`` (3), ``word TAG`` lines."""
    for lang, sentences in SENTENCES.items():
        (root / lang).mkdir(parents=True)
        for split, chosen in (("dev", sentences[:2]), ("test", sentences)):
            text = "".join("".join(f"{w} {t}\n" for w, t in s) + "\n" for s in chosen)
            (root / lang / f"{split}.txt").write_text(text, encoding="utf-8")
    return root


def sql(store: Path, query: str) -> list[dict]:
    out = curate("sql", query, "--store", str(store), "--format", "json").stdout
    return [json.loads(line) for line in out.splitlines()]


def test_split_files_of_three_languages_are_three_runs_and_a_clash_is_refused(tmp_path):
    corpus = masakhaner_like(tmp_path / "masakhaner")
    store = tmp_path / "store"
    for lang in SENTENCES:
        curate(
            "ingest", str(corpus / lang / "test.txt"), "--format", "conll", "--store", str(store)
        )
    rows = sql(store, "SELECT dataset, count(*) AS n FROM examples GROUP BY 1 ORDER BY 1")
    assert rows == [
        {"dataset": "hau-test", "n": 3},
        {"dataset": "swa-test", "n": 3},
        {"dataset": "yor-test", "n": 3},
    ]
    # another file under a run id that holds one: refused, with the options that avoid it
    clash = curate(
        "ingest",
        str(corpus / "swa" / "test.txt"),
        "--store",
        str(store),
        "--run-id",
        "ingest-yor-test",
        check=False,
    )
    assert clash.returncode == 2 and "Traceback" not in clash.stderr
    assert "already holds other input" in clash.stderr
    assert "--dataset" in clash.stderr and "--run-id" in clash.stderr
    # the same file again replaces its own run
    curate("ingest", str(corpus / "yor" / "test.txt"), "--store", str(store), "-q")
    assert sql(store, "SELECT count(*) AS n FROM examples") == [{"n": 9}]


def test_a_folder_of_conll_split_files_is_read_file_by_file_with_labels_and_splits(tmp_path):
    corpus = masakhaner_like(tmp_path / "masakhaner")
    store = tmp_path / "store"
    proc = curate("ingest", str(corpus / "yor"), "--store", str(store), "--lang", "yor")
    assert "ingest-yor: 5 read, 5 written" in proc.stderr
    assert "dev.txt as conll" in proc.stderr and "test.txt as conll" in proc.stderr
    rows = sql(
        store,
        "SELECT json_extract_string(meta, '$.split') AS split, lang, count(*) AS n, "
        "sum(len(spans))::INT AS spans FROM examples GROUP BY ALL ORDER BY 1",
    )
    assert rows == [
        {"split": "dev", "lang": "yo", "n": 2, "spans": 4},
        {"split": "test", "lang": "yo", "n": 3, "spans": 4},
    ]
    # with --format conll a folder is its files too, not an IsADirectoryError
    again = curate("ingest", str(corpus / "swa"), "--format", "conll", "--store", str(store))
    assert "ingest-swa: 5 read, 5 written" in again.stderr
    # a folder of files of no known format is a clear error
    other = tmp_path / "notes"
    other.mkdir()
    (other / "a.txt").write_text("just some words\n")
    proc = curate("ingest", str(other), "--store", str(store), check=False)
    assert proc.returncode == 2 and "cannot tell the format" in proc.stderr


def test_a_saved_hugging_face_folder_is_still_one_dataset(tmp_path):
    import datasets

    folder = tmp_path / "saved"
    datasets.Dataset.from_dict(
        {"text": ["One small example.", "Two small examples."]}
    ).save_to_disk(str(folder))
    proc = curate("ingest", str(folder), "--store", str(tmp_path / "store"), "--lang", "en")
    assert "2 read, 2 written" in proc.stderr


#: CoNLL-2002 Spanish as distributed: ISO-8859-1, ``word TAG`` lines, IOB2, -DOCSTART- lines
CONLL_2002_ES = """-DOCSTART- O

La B-LOC
Coruña I-LOC
, O
23 O
may O
( O
EFECOM B-ORG
) O
. O

El O
Abogado B-PER
General I-PER
del I-PER
Estado I-PER
, O
Daniel B-PER
Zarzalejos I-PER
, O
informó O
hoy O
de O
que O
el O
Gobierno O
está O
en O
contra O
de O
la O
acción O
popular O
. O

-DOCSTART- O

El O
niño O
habló O
con O
la O
señora O
Muñoz B-PER
en O
Logroño B-LOC
. O

Según O
fuentes O
de O
la O
Comisión B-ORG
Europea I-ORG
, O
también O
en O
España B-LOC
. O
"""


def test_a_latin1_conll_file_is_refused_before_anything_then_read_whole_with_encoding(tmp_path):
    path = tmp_path / "esp.testb"
    path.write_bytes(CONLL_2002_ES.encode("latin-1"))
    store = tmp_path / "store"
    args = ("ingest", str(path), "--format", "conll", "--store", str(store), "--lang", "es")
    proc = curate(*args, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "is not UTF-8" in proc.stderr and "--encoding cp1252" in proc.stderr
    assert not (store / "_runs").exists()  # nothing was written
    proc = curate(*args, "--encoding", "latin-1")
    assert "ingest-esp.testb: 8 read, 4 written, 0 quarantined" in proc.stderr
    assert "docstart=2" in proc.stderr
    rows = sql(store, "SELECT text, tag_scheme FROM examples ORDER BY source_line")
    assert rows[0] == {"text": "La Coruña , 23 may ( EFECOM ) .", "tag_scheme": "iob2"}
    assert "Logroño" in rows[2]["text"] and "España" in rows[3]["text"]
    counts = sql(store, "SELECT counts FROM runs")[0]["counts"]
    assert json.loads(counts)["ingest"]["filtered"] == {"blank_line": 2, "docstart": 2}


def test_a_bitext_off_by_one_line_is_an_error_or_quarantined_whole(tmp_path):
    src, tgt = tmp_path / "news.en", tmp_path / "news.de"
    english = [f"This is sentence number {i} of the news." for i in range(10)]
    german = [f"Das ist Satz Nummer {i} der Nachrichten." for i in range(10)]
    src.write_text("\n".join(english) + "\n")
    tgt.write_text("\n".join(german[:4] + german[5:]) + "\n")  # one line deleted
    store = tmp_path / "store"
    args = ("ingest", str(src), "--target-file", str(tgt), "--store", str(store))
    proc = curate(*args, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "news.en has 10 lines" in proc.stderr and "news.de has 9" in proc.stderr
    assert not (store / "_runs").exists()
    proc = curate(*args, "--on-misaligned", "quarantine")
    assert "19 read, 0 written, 19 quarantined (bitext_length_mismatch=19)" in proc.stderr
    assert sql(store, "SELECT count(*) AS n FROM translations") == [{"n": 0}]


def test_runs_that_write_nothing_fail_with_their_counts(tmp_path):
    conll = tmp_path / "ner.jsonl"  # a CoNLL file read as JSON Lines
    conll.write_text("Ana B-PER\nvisita O\nBerlin B-LOC\n\nHola O\n")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    binary = tmp_path / "blob.jsonl"
    binary.write_bytes(bytes(range(256)) * 8 + b"\n" + bytes(range(128, 256)) * 8 + b"\n" * 3)
    store = tmp_path / "store"
    proc = curate("ingest", str(conll), "--store", str(store), check=False)
    assert proc.returncode == 2
    assert (
        "nothing ingested" in proc.stderr
        and "5 read as jsonl, 0 written, 4 quarantined" in proc.stderr
    )
    assert "malformed_json=4" in proc.stderr and "nothing was committed" in proc.stderr
    proc = curate("ingest", str(empty), "--store", str(store), check=False)
    assert proc.returncode == 2 and "holds no records" in proc.stderr
    proc = curate("ingest", str(binary), "--store", str(store), check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert not (store / "_runs").exists() or not list((store / "_runs").glob("*.json"))


def test_language_codes_are_checked_and_one_language_is_one_code(tmp_path):
    store = tmp_path / "store"
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps({"text": "Mo fẹ́ràn ìwé yìí gan-an."}) + "\n")
    b.write_text(json.dumps({"text": "Ọjọ́ náà dára púpọ̀."}) + "\n")
    proc = curate("ingest", str(a), "--store", str(store), "--lang", "english", check=False)
    assert proc.returncode == 2 and "--lang: 'english' is not an ISO 639" in proc.stderr
    assert "'en' for English" in proc.stderr and not (store / "_runs").exists()
    curate("ingest", str(a), "--store", str(store), "--lang", "yo", "-q")
    curate("ingest", str(b), "--store", str(store), "--lang", "yor", "-q")
    assert sql(store, "SELECT DISTINCT lang FROM documents") == [{"lang": "yo"}]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("name: r\ninputs:\n  - path: a.jsonl\n    lang: english\n")
    proc = curate("run", str(recipe), check=False)
    assert proc.returncode == 2 and "inputs.0.lang" in proc.stderr and "'english'" in proc.stderr


def test_an_undeclared_bitext_target_is_one_language_for_the_file(tmp_path):
    """langid calls "Ich bin in Amsterdam." English; the file's German decides."""
    src, tgt = tmp_path / "a.en", tmp_path / "a.de"
    english = [
        "Where is the station?",
        "I am hungry.",
        "The weather is nice today.",
        "We are going to the cinema tomorrow.",
        "The children are playing in the garden.",
        "I am in Amsterdam.",
    ]
    german = [
        "Wo ist der Bahnhof?",
        "Ich habe Hunger.",
        "Das Wetter ist heute schön.",
        "Wir gehen morgen ins Kino.",
        "Die Kinder spielen im Garten.",
        "Ich bin in Amsterdam.",
    ]
    src.write_text("\n".join(english) + "\n")
    tgt.write_text("\n".join(german) + "\n")
    store = tmp_path / "store"
    curate("ingest", str(src), "--target-file", str(tgt), "--store", str(store), "-q")
    assert sql(
        store, "SELECT src_lang, tgt_lang, count(*) AS n FROM translations GROUP BY ALL"
    ) == [{"src_lang": "en", "tgt_lang": "de", "n": 6}]
