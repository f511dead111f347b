"""Turn Hugging Face translation models into CTranslate2 model directories the engine loads.

* :func:`convert` works from a local Hugging Face directory (``curate models convert``):
  CTranslate2's ``TransformersConverter`` writes the quantised model, the tokenizer is loaded
  and saved again next to it (re-saved, not copied: a stale special-token id in copied files
  breaks conversion), and ``curate_model.json`` records family, languages, length limit and
  version (see :mod:`curate.mt.registry`). The directory appears atomically.
* :func:`fetch` downloads a registry model from the Hub (``huggingface_hub.snapshot_download``)
  and converts it once into the model cache (``curate models fetch``). Without a network it
  fails with one line naming the model and the ways to give it locally.

Imports ``transformers`` (and torch): only the conversion commands pay for it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from curate.errors import UserError
from curate.mt.families import get_family, guess_family
from curate.mt.registry import (
    DEFAULT_MAX_INPUT_TOKENS,
    METADATA_FILE,
    ModelInfo,
    cached_model_dir,
    load_model_info,
    lookup_entry,
    model_version,
)

QUANTIZATIONS = ("int8", "int8_float16", "int8_float32", "float16", "bfloat16", "float32", "none")
_OPUS_NAME = re.compile(r"opus-mt-([a-z]{2,3})-([a-z]{2,3})$")
_LOCAL_HINT = (
    "give a local CTranslate2 model with --model PATH, or convert a local Hugging Face copy "
    "with `curate models convert HF_DIR OUT`"
)


def convert(
    hf_dir: str | Path,
    out_dir: str | Path,
    quantization: str = "int8",
    *,
    name: str | None = None,
    family: str | None = None,
    source_languages: list[str] | tuple[str, ...] | None = None,
    target_languages: list[str] | tuple[str, ...] | None = None,
    hub_id: str | None = None,
    force: bool = False,
) -> ModelInfo:
    """Convert the Hugging Face model in ``hf_dir`` into a CTranslate2 model at ``out_dir``.

    ``family`` is guessed from the model type and vocabulary when not given. A Marian model
    translates one pair: give ``source_languages``/``target_languages`` unless the directory is
    named ``opus-mt-SRC-TGT`` (or its vocabulary has ``>>xxx<<`` target tags).
    """
    from ctranslate2.converters import TransformersConverter
    from transformers import AutoTokenizer

    hf = Path(hf_dir).expanduser()
    out = Path(out_dir).expanduser()
    config_file = hf / "config.json"
    if not config_file.exists():
        raise UserError(f"{hf} is not a Hugging Face model directory (no config.json)")
    if quantization not in QUANTIZATIONS:
        raise UserError(
            f"unknown quantization {quantization!r} (choose one of {', '.join(QUANTIZATIONS)})"
        )
    if out.exists() and not force:
        raise UserError(f"{out} already exists", hint="remove it or pass --force")
    hf_config = json.loads(config_file.read_text(encoding="utf-8"))
    tokenizer = AutoTokenizer.from_pretrained(str(hf))
    vocabulary = list(tokenizer.get_vocab())
    family = family or guess_family(str(hf_config.get("model_type", "")), vocabulary)
    if family is None:
        raise UserError(
            f"cannot tell the model family of {hf} (model_type {hf_config.get('model_type')!r})",
            hint="pass --family nllb|m2m100|madlad|marian",
        )
    get_family(family)  # validates the name
    meta: dict[str, Any] = {
        "format": 1,
        "name": name or out.name,
        "family": family,
        "quantization": quantization,
        "max_input_tokens": int(
            hf_config.get("max_position_embeddings") or DEFAULT_MAX_INPUT_TOKENS[family]
        ),
        "hub_id": hub_id,
        "converted_from": str(hf.resolve()),
    }
    if family == "marian":
        src, tgt = list(source_languages or []), list(target_languages or [])
        guessed = _OPUS_NAME.search(hub_id or name or hf.resolve().name)
        if guessed and not src:
            src = [guessed.group(1)]
        if guessed and not tgt:
            tgt = [guessed.group(2)]
        multi_target = any(t.startswith(">>") and t.endswith("<<") for t in vocabulary)
        if not src or not (tgt or multi_target):
            raise UserError(
                f"Marian model {hf} translates one language pair: say which",
                hint="pass --src and --tgt (ISO 639 codes), e.g. --src en --tgt de",
            )
        meta["source_languages"] = src
        meta["target_languages"] = tgt

    import ctranslate2

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        converter = TransformersConverter(str(hf), low_cpu_mem_usage=True)
        converter.convert(
            str(tmp), quantization=None if quantization == "none" else quantization, force=True
        )
        tokenizer.save_pretrained(str(tmp))
        if (tmp / "source.spm").exists() and (tmp / "target.spm").exists():
            meta["tokenizer"] = {
                "type": "sentencepiece",
                "source": "source.spm",
                "target": "target.spm",
            }
        else:
            meta["tokenizer"] = {"type": "huggingface"}
        meta["version"] = model_version(tmp)
        meta["ctranslate2_version"] = ctranslate2.__version__
        meta["created_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        (tmp / METADATA_FILE).write_text(
            json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return load_model_info(out)


def _offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def fetch(
    name: str,
    cache_dir: str | Path | None = None,
    quantization: str = "int8",
    *,
    revision: str | None = None,
) -> ModelInfo:
    """Download registry model ``name`` from the Hub and convert it once into the cache.

    Returns the cached model when it is already there. With ``HF_HUB_OFFLINE=1`` only the
    local Hugging Face cache is consulted (no network wait).
    """
    entry = lookup_entry(name)
    if entry.local_path is not None:
        return load_model_info(entry.local_path)
    cache = Path(cache_dir).expanduser() if cache_dir else None
    dest = cached_model_dir(entry.name, quantization, cache)
    if (dest / "model.bin").exists():
        return load_model_info(dest, name=entry.name)
    if entry.hub_id is None:
        raise UserError(f"model {name} has no Hub id to download from", hint=_LOCAL_HINT)
    try:
        from huggingface_hub import snapshot_download

        snapshot = snapshot_download(
            entry.hub_id,
            revision=revision,
            local_files_only=_offline(),
            ignore_patterns=["*.h5", "*.msgpack", "*.onnx", "*.ot", "*.tflite", "onnx/*"],
        )
    except Exception as exc:  # any network or Hub failure means "not available here"
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(
            f"model {name} ({entry.hub_id}) is not cached and cannot be downloaded: "
            f"{type(exc).__name__}: {reason[:160]}",
            hint=_LOCAL_HINT,
        ) from None
    return convert(
        snapshot,
        dest,
        quantization,
        name=entry.name,
        family=entry.family,
        source_languages=list(entry.source_languages) or None,
        target_languages=list(entry.target_languages) or None,
        hub_id=entry.hub_id,
        force=True,
    )
