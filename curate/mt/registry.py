"""Known translation models by name, local CTranslate2 model directories, and the model cache.

A model is given either as a path to a CTranslate2 directory (``model.bin``, ``config.json``,
vocabulary, tokenizer files and, when written by us, ``curate_model.json``) or as a registry
name. Names resolve to the project's shipped model, to a converted copy in the cache
(``~/.cache/curate/models``, or ``$CURATE_MODEL_CACHE``), or are downloaded from the Hugging
Face Hub and converted once (:func:`curate.mt.convert.fetch`).

``curate_model.json`` (written by :func:`curate.mt.convert.convert`)::

    {"format": 1, "name": "opus-mt-en-de", "family": "marian", "version": "<hash of model.bin>",
     "source_languages": ["en"], "target_languages": ["de"],   # Marian only; others: vocabulary
     "max_input_tokens": 512, "quantization": "int8", "hub_id": "Helsinki-NLP/opus-mt-en-de",
     "tokenizer": {"type": "sentencepiece", "source": "source.spm", "target": "target.spm"}}

``source_langs``/``target_langs``, or ``src``/``tgt`` (``src_lang``/``tgt_lang``) strings, are
accepted for the language lists; a "tokenizer" with "source"/"target" but no "type" is
SentencePiece.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from curate.errors import UserError
from curate.mt.families import Family, get_family, guess_family
from curate.mt.languages import LanguageTable

METADATA_FILE = "curate_model.json"
REPO_ROOT = Path(__file__).resolve().parents[2]
SHIPPED_MODELS_DIR = REPO_ROOT / "datasets" / "models"
DEFAULT_MODEL = "nllb-200-distilled-600M"
#: Longest input (in tokens, special tokens included) per family when the metadata is silent.
DEFAULT_MAX_INPUT_TOKENS = {"marian": 512, "nllb": 1024, "m2m100": 1024, "madlad": 512}


@dataclass(frozen=True)
class ModelEntry:
    """A model known by name."""

    name: str
    family: str
    description: str
    hub_id: str | None = None
    source_languages: tuple[str, ...] = ()
    target_languages: tuple[str, ...] = ()
    local_path: Path | None = None  # shipped with the project: no download, no conversion


REGISTRY: dict[str, ModelEntry] = {
    e.name: e
    for e in (
        ModelEntry(
            "nllb-200-distilled-600M",
            "nllb",
            "NLLB-200 distilled, 600M parameters, 202 languages (default)",
            "facebook/nllb-200-distilled-600M",
        ),
        ModelEntry(
            "nllb-200-distilled-1.3B",
            "nllb",
            "NLLB-200 distilled, 1.3B parameters, 202 languages",
            "facebook/nllb-200-distilled-1.3B",
        ),
        ModelEntry("nllb-200-3.3B", "nllb", "NLLB-200, 3.3B parameters", "facebook/nllb-200-3.3B"),
        ModelEntry(
            "m2m100_418M",
            "m2m100",
            "M2M-100, 418M parameters, 100 languages",
            "facebook/m2m100_418M",
        ),
        ModelEntry(
            "m2m100_1.2B",
            "m2m100",
            "M2M-100, 1.2B parameters, 100 languages",
            "facebook/m2m100_1.2B",
        ),
        ModelEntry(
            "madlad400-3b-mt",
            "madlad",
            "MADLAD-400 MT, 3B parameters, 400+ languages",
            "google/madlad400-3b-mt",
        ),
        ModelEntry(
            "opus-mt-en-de",
            "marian",
            "OPUS-MT English to German (any opus-mt-SRC-TGT name works)",
            "Helsinki-NLP/opus-mt-en-de",
            ("en",),
            ("de",),
        ),
        ModelEntry(
            "en-qsy",
            "marian",
            "small model shipped with the project: English to the synthetic language qsy",
            None,
            ("en",),
            ("qsy",),
            SHIPPED_MODELS_DIR / "en-qsy",
        ),
    )
}

_OPUS = re.compile(r"^opus-mt-([a-z]{2,3})-([a-z]{2,3})$")


def lookup_entry(name: str) -> ModelEntry:
    """The registry entry for ``name`` (``opus-mt-SRC-TGT`` names are made up on the fly)."""
    if name in REGISTRY:
        return REGISTRY[name]
    if m := _OPUS.match(name):
        return ModelEntry(
            name,
            "marian",
            f"OPUS-MT {m.group(1)} to {m.group(2)}",
            f"Helsinki-NLP/{name}",
            (m.group(1),),
            (m.group(2),),
        )
    raise UserError(
        f"unknown model {name!r}: not a directory and not a known model name",
        hint=f"known: {', '.join(REGISTRY)}, opus-mt-SRC-TGT; or give a CTranslate2 directory",
    )


def model_cache_dir() -> Path:
    """Where fetched models are converted to: ``$CURATE_MODEL_CACHE`` or ~/.cache/curate/models."""
    env = os.environ.get("CURATE_MODEL_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "curate" / "models"


def cached_model_dir(name: str, quantization: str = "int8", cache_dir: Path | None = None) -> Path:
    return (cache_dir or model_cache_dir()) / f"{name}-{quantization}"


# --------------------------------------------------------------------------------------------
# A CTranslate2 model directory
# --------------------------------------------------------------------------------------------


def read_vocabulary(path: Path, side: str = "target") -> list[str]:
    """Tokens of a CTranslate2 model's vocabulary (shared, or the given side's)."""
    for stem in ("shared_vocabulary", f"{side}_vocabulary"):
        json_file, txt_file = path / f"{stem}.json", path / f"{stem}.txt"
        if json_file.exists():
            return list(json.loads(json_file.read_text(encoding="utf-8")))
        if txt_file.exists():
            return txt_file.read_text(encoding="utf-8").split("\n")
    raise UserError(f"{path} has no CTranslate2 vocabulary file")


@cache
def _file_hash(path: Path, size: int, mtime_ns: int) -> str:
    h = hashlib.blake2b(digest_size=8)
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def model_version(path: Path) -> str:
    """Content hash of ``model.bin`` (16 hex digits): the model version recorded in lineage."""
    model_bin = path / "model.bin"
    st = model_bin.stat()
    return _file_hash(model_bin, st.st_size, st.st_mtime_ns)


def _languages(meta: dict[str, Any], *keys: str) -> list[str]:
    for key in keys:
        value = meta.get(key)
        if value:
            return [value] if isinstance(value, str) else list(value)
    return []


@dataclass(frozen=True)
class ModelInfo:
    """Everything the engine needs to know about a CTranslate2 model directory."""

    path: Path
    name: str
    family_name: str
    version: str
    max_input_tokens: int
    metadata: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    vocabulary: tuple[str, ...] = field(default=(), compare=False, repr=False)

    @property
    def family(self) -> Family:
        return _family(self)

    @property
    def model_id(self) -> str:
        return self.name

    def language_tables(self) -> tuple[LanguageTable, LanguageTable]:
        return _tables(self)

    @property
    def tokenizer_spec(self) -> dict[str, Any]:
        spec = self.metadata.get("tokenizer")
        if isinstance(spec, dict):
            if "type" not in spec and "source" in spec:
                return {"type": "sentencepiece", **spec}
            return spec
        if (self.path / "source.spm").exists() and (self.path / "target.spm").exists():
            return {"type": "sentencepiece", "source": "source.spm", "target": "target.spm"}
        return {"type": "huggingface"}


@cache
def _family(info: ModelInfo) -> Family:
    return get_family(info.family_name, info.vocabulary)


@cache
def _tables(info: ModelInfo) -> tuple[LanguageTable, LanguageTable]:
    return info.family.tables(info.name, info.vocabulary, info.metadata)


def load_model_info(path: str | Path, name: str | None = None) -> ModelInfo:
    """Read a CTranslate2 model directory; :class:`UserError` if it is not one."""
    p = Path(path).expanduser().resolve()
    if not p.is_dir():
        raise UserError(f"model directory {p} does not exist")
    if not (p / "model.bin").exists():
        if (p / "config.json").exists():
            raise UserError(
                f"{p} looks like a Hugging Face model, not a CTranslate2 one",
                hint=f"convert it first: curate models convert {p} OUT_DIR",
            )
        raise UserError(f"{p} is not a CTranslate2 model directory (no model.bin)")
    meta_file = p / METADATA_FILE
    meta: dict[str, Any] = {}
    if meta_file.exists():
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    meta = dict(meta)
    meta["source_languages"] = _languages(
        meta, "source_languages", "source_langs", "src_lang", "src"
    )
    meta["target_languages"] = _languages(
        meta, "target_languages", "target_langs", "tgt_lang", "tgt"
    )
    vocabulary = tuple(read_vocabulary(p))
    family = meta.get("family") or guess_family(_ct2_model_type(p), vocabulary)
    if family is None:
        raise UserError(
            f"cannot tell the model family of {p}",
            hint=f"write a {METADATA_FILE} with a 'family' (nllb, m2m100, madlad, marian)",
        )
    max_tokens = meta.get("max_input_tokens") or DEFAULT_MAX_INPUT_TOKENS.get(family, 512)
    return ModelInfo(
        path=p,
        name=name or meta.get("name") or p.name,
        family_name=family,
        version=str(meta.get("version") or model_version(p)),
        max_input_tokens=int(max_tokens),
        metadata=meta,
        vocabulary=vocabulary,
    )


def _ct2_model_type(path: Path) -> str:
    """Guess a Hugging Face ``model_type`` for a CTranslate2 directory without metadata."""
    vocab = read_vocabulary(path)
    if any(t.startswith("<2") and t.endswith(">") for t in vocab[:2000] + vocab[-2000:]):
        return "t5"
    return "m2m_100" if any(t.startswith("__") and t.endswith("__") for t in vocab) else ""


def resolve_model(
    spec: str | Path | None = None, *, cache_dir: Path | None = None, download: bool = True
) -> ModelInfo:
    """A model from a path or a name (default :data:`DEFAULT_MODEL`).

    A name resolves to the shipped copy, then the cache, then (``download=True``) the Hub,
    converted once into the cache. Offline, that last step is a one-line :class:`UserError`.
    """
    spec = spec or DEFAULT_MODEL
    as_path = Path(spec).expanduser()
    if as_path.exists() or os.sep in str(spec) or str(spec).startswith("."):
        return load_model_info(as_path)
    entry = lookup_entry(str(spec))
    if entry.local_path is not None:
        if not (entry.local_path / "model.bin").exists():
            raise UserError(f"the shipped model {entry.name} is missing from {entry.local_path}")
        return load_model_info(entry.local_path)
    cached = cached_model_dir(entry.name, cache_dir=cache_dir)
    if (cached / "model.bin").exists():
        return load_model_info(cached, name=entry.name)
    if not download:
        raise UserError(
            f"model {entry.name} is not in the cache {cached.parent}",
            hint="run `curate models fetch NAME`, or give a local path with --model PATH",
        )
    from curate.mt.convert import fetch

    return fetch(entry.name, cache_dir=cache_dir)


def list_models(cache_dir: Path | None = None) -> list[dict[str, Any]]:
    """Rows for ``curate models list``: every known model and where it is on this machine."""
    rows = []
    for entry in REGISTRY.values():
        if entry.local_path is not None:
            where = entry.local_path if (entry.local_path / "model.bin").exists() else None
        else:
            cached = cached_model_dir(entry.name, cache_dir=cache_dir)
            where = cached if (cached / "model.bin").exists() else None
        rows.append(
            {
                "name": entry.name,
                "family": entry.family,
                "hub_id": entry.hub_id,
                "description": entry.description,
                "default": entry.name == DEFAULT_MODEL,
                "path": str(where) if where else None,
            }
        )
    return rows
