"""Shared fixtures. Tests run offline: the Hugging Face Hub is never contacted."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
# a fresh datasets cache per test session: a cached load of an earlier export with the same
# folder name must not stand in for what a test just wrote
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="curate-test-hf-cache-")

SAMPLES = Path(__file__).resolve().parent.parent / "datasets" / "samples"


WORDS = (
    "the a cat dog house red blue big small run runs ran el la gato perro casa rojo azul "
    "grande corre"
).split()
MAX_POSITIONS = 40


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """A randomly initialised 2-layer BERT with a small WordPiece vocabulary (for simalign:
    deterministic links without a download)."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    path = tmp_path_factory.mktemp("tiny-bert")
    letters = list("abcdefghijklmnopqrstuvwxyz.,!?")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters]
    vocab += [f"##{c}" for c in "abcdefghijklmnopqrstuvwxyz"] + WORDS + ["##s", "##ing"]
    (path / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(path / "vocab.txt"), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=MAX_POSITIONS,
    )
    BertModel(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return str(path)


@pytest.fixture(scope="session")
def random_model(tmp_path_factory) -> Path:
    """A random (untrained) en->de Marian model, converted to CTranslate2: fast and offline."""
    from curate.mt.random_model import random_ct2_model

    texts = [
        json.loads(line)["text"] for line in (SAMPLES / "news_en.jsonl").read_text().splitlines()
    ]
    return random_ct2_model(
        tmp_path_factory.mktemp("model") / "random-en-de", texts, src="en", tgt="de"
    )


@pytest.fixture(scope="session")
def translated_store(tmp_path_factory, random_model):
    """A store with the news sample ingested and its segments translated to German.

    Shared by the tests of later stages, which only add runs to it.
    """
    from beam_jobs.ingest import InputSpec, run_ingest
    from beam_jobs.translate import TranslateJob, run_translate
    from curate.ingest import IngestConfig
    from curate.mt.engine import TranslateConfig
    from curate.store import Store

    store = Store(tmp_path_factory.mktemp("translated") / "store")
    run_ingest(
        store,
        [InputSpec(str(SAMPLES / "news_en.jsonl"), "jsonl")],
        IngestConfig("news", "ingest", lang="en"),
    )
    config = TranslateConfig(beam_size=1, max_decoding_length=12)
    run_translate(
        store, TranslateJob(run_id="tr", targets=("de",), model=str(random_model), config=config)
    )
    return store


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory):
    """A real S3 server (SeaweedFS ``weed mini``) for the session, on 127.0.0.1 only.

    While it runs, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and ``AWS_ENDPOINT_URL``
    name it (test values); it is stopped by its process id at the end.
    """
    from tests.seaweed import SeaweedS3

    with SeaweedS3(tmp_path_factory.mktemp("seaweed")) as server:
        yield server


@pytest.fixture
def s3_store_uri(seaweed, request) -> str:
    """A fresh, empty store prefix in the server's bucket."""
    import re
    import uuid

    name = re.sub(r"[^A-Za-z0-9_-]", "-", request.node.name)[:40]
    return f"s3://{seaweed.bucket}/{name}-{uuid.uuid4().hex[:8]}"
