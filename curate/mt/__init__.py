"""Machine translation with CTranslate2: engine, model families and registry, memory.

Typical use::

    from curate.mt import TranslationEngine, TranslationMemory

    engine = TranslationEngine.load("en-qsy")            # or a path, or "nllb-200-distilled-600M"
    with TranslationMemory("store/") as memory:
        results = engine.translate_texts(["Hello."], "en", "qsy", memory=memory)

:mod:`curate.mt.convert` (conversion and download) and :mod:`curate.mt.random_model` import
torch and transformers and are therefore not imported here.
"""

from curate.mt.device import DeviceChoice, choose_device
from curate.mt.documents import DocumentTranslation, translate_documents
from curate.mt.engine import EngineStats, TranslateConfig, Translation, TranslationEngine
from curate.mt.memory import MemoryEntry, TranslationMemory, normalize_text
from curate.mt.registry import (
    DEFAULT_MODEL,
    REGISTRY,
    ModelInfo,
    list_models,
    load_model_info,
    model_cache_dir,
    resolve_model,
)
from curate.mt.stage import TranslateResult, translate_rows

__all__ = [
    "DEFAULT_MODEL",
    "REGISTRY",
    "DeviceChoice",
    "DocumentTranslation",
    "EngineStats",
    "MemoryEntry",
    "ModelInfo",
    "TranslateConfig",
    "TranslateResult",
    "Translation",
    "TranslationEngine",
    "TranslationMemory",
    "choose_device",
    "list_models",
    "load_model_info",
    "model_cache_dir",
    "normalize_text",
    "resolve_model",
    "translate_documents",
    "translate_rows",
]
