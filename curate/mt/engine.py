"""The translation engine: a CTranslate2 translator loaded once, fed in token-sized batches.

``TranslationEngine.load(model)`` resolves the model (path or registry name), picks device,
precision and threads (:mod:`curate.mt.device`), loads the translator and its tokenizer once.
The engine is thread-safe: the Beam job loads one per worker process and calls it from any
thread. :meth:`TranslationEngine.submit_texts` starts a batch and returns a
:class:`PendingTranslations` whose ``result()`` waits for it (``translate_texts`` is both at
once): a caller that submits its next batch before collecting the last keeps the model busy,
and gets the same results as one call after the other.

What ``translate_texts`` guarantees, for every input, in input order:

* empty or whitespace-only inputs come back unchanged, without a model call (``passthrough``);
* with a :class:`~curate.mt.memory.TranslationMemory`, remembered segments are not translated
  again (``from_memory``) and repeats inside the call are translated once;
* inputs are translated length-sorted in calls of about ``batch_call_tokens`` tokens,
  CTranslate2 cutting each call into batches of ``max_batch_tokens`` (``batch_type="tokens"``)
  that run in parallel on its ``inter_threads`` replicas; all calls are submitted at once
  (``asynchronous=True``) so the replicas stay busy while results are decoded;
* an input longer than the model's limit is split at punctuation or whitespace, translated in
  pieces and joined (``pieces > 1``), or, when it cannot be split, truncated and flagged
  (``truncated`` and ``input_truncated``); an output that reaches ``max_decoding_length`` is
  flagged ``truncated`` too;
* a call that raises is split in halves until the input that raises is isolated; that input
  comes back as a failure (``error`` holds the exception text, for the quarantine), the
  others are translated;
* ``score`` is the length-normalised log-probability of the output (mean per-token log-prob,
  ``</s>`` included): the cheap hallucination signal used by artifact detection.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Protocol

from curate.allocator import keep_large_buffers_on_heap
from curate.errors import UserError
from curate.mt.batching import Outcome, Unit, input_units, outcomes, token_calls
from curate.mt.dedup import distinct_inputs
from curate.mt.device import DeviceChoice, choose_device
from curate.mt.families import LanguageFraming
from curate.mt.isolation import collect_isolating
from curate.mt.languages import ResolvedLanguage
from curate.mt.memory import TranslationMemory
from curate.mt.registry import ModelInfo, resolve_model
from curate.mt.reuse import InFlight, MemoryScope
from curate.mt.tokenizers import Tokenizer, load_tokenizer
from curate.mt.translation import Translation, remembered_translation, translation_of

__all__ = [
    "EngineStats",
    "PendingTranslations",
    "TranslateConfig",
    "Translation",
    "TranslationEngine",
    "remembered_translation",
]

log = logging.getLogger(__name__)


class Backend(Protocol):
    """What the engine needs from ``ctranslate2.Translator`` (a wrapper may stand in for it)."""

    def translate_batch(self, source: list[list[str]], **kwargs: Any) -> list[Any]: ...


#: Options that change what the model outputs, hence part of the translation-memory key.
_OUTPUT_OPTIONS = (
    "beam_size",
    "length_penalty",
    "max_decoding_length",
    "min_decoding_length",
    "repetition_penalty",
    "no_repeat_ngram_size",
    "sampling_topk",
    "sampling_topp",
    "sampling_temperature",
    "max_input_tokens",
    "long_inputs",
)


@dataclass(frozen=True)
class TranslateConfig:
    """Decoding and batching options (the ``translate`` section of a recipe)."""

    beam_size: int = 4
    length_penalty: float = 1.0
    max_decoding_length: int = 256
    min_decoding_length: int = 0
    repetition_penalty: float = 1.0
    no_repeat_ngram_size: int = 0
    sampling_topk: int = 1  # 1 = no sampling
    sampling_topp: float = 1.0
    sampling_temperature: float = 1.0
    max_input_tokens: int | None = None  # None: the model's own limit
    long_inputs: str = "split"  # "split" at punctuation/whitespace, or "truncate" (flagged)
    max_batch_tokens: int = 1024  # CTranslate2 max_batch_size, batch_type="tokens"
    batch_call_tokens: int | None = None  # tokens per translate_batch call; None: automatic

    def __post_init__(self) -> None:
        positive = ("beam_size", "max_decoding_length", "max_batch_tokens", "sampling_topk")
        for name in positive:
            if getattr(self, name) < 1:
                raise UserError(f"translate option {name} must be at least 1")
        if self.long_inputs not in ("split", "truncate"):
            raise UserError("translate option long_inputs must be 'split' or 'truncate'")
        if not 0 < self.sampling_topp <= 1:
            raise UserError("translate option sampling_topp must be in (0, 1]")
        if self.max_input_tokens is not None and self.max_input_tokens < 4:
            raise UserError("translate option max_input_tokens must be at least 4")

    @classmethod
    def from_dict(cls, options: dict[str, Any]) -> TranslateConfig:
        """Build from a recipe mapping; unknown options are an error, not silently ignored."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UserError(
                f"unknown translate option(s): {', '.join(unknown)}",
                hint=f"known: {', '.join(sorted(known))}",
            )
        return cls(**options)

    def decoding_key(self) -> str:
        """Short hash of the options that change the output (translation-memory key part)."""
        values = {k: v for k, v in asdict(self).items() if k in _OUTPUT_OPTIONS}
        blob = json.dumps(values, sort_keys=True).encode()
        return hashlib.blake2b(blob, digest_size=6).hexdigest()


@dataclass
class EngineStats:
    """Counters over the engine's life (``model_segments`` is what the model translated)."""

    inputs: int = 0
    passthrough: int = 0
    memory_hits: int = 0
    duplicates: int = 0
    model_segments: int = 0
    model_tokens: int = 0
    batch_calls: int = 0
    failed_calls: int = 0
    failures: int = 0
    split_inputs: int = 0
    truncated: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class _Submission:
    """Calls submitted to the model for ``inputs`` distinct texts, not yet collected."""

    inputs: int
    units: list[Unit]
    calls: list[tuple[list[Unit], list[Any] | BaseException]]
    framing: LanguageFraming
    cfg: TranslateConfig


class PendingTranslations:
    """Translations the model is working on; :meth:`result` waits for them (once, any thread)."""

    def __init__(self) -> None:
        self._finish: Callable[[], list[Translation]] | None = None
        self._result: list[Translation] | None = None
        self._error: BaseException | None = None
        self._lock = threading.Lock()
        self.outcomes: dict[str, Outcome] = {}

    def start(self, finish: Callable[[], list[Translation]]) -> None:
        self._finish = finish

    def result(self) -> list[Translation]:
        with self._lock:
            if self._error is not None:
                raise self._error
            if self._result is None:
                if self._finish is None:
                    raise RuntimeError("nothing was submitted")
                finish, self._finish = self._finish, None
                try:
                    self._result = finish()
                except BaseException as exc:
                    self._error = exc
                    raise
            return self._result


def _translation(source: str, outcome: Outcome, from_memory: bool = False) -> Translation:
    return translation_of(source, outcome, from_memory=from_memory, error=outcome.error)


class TranslationEngine:
    """A loaded model, ready to translate; see the module docstring for the guarantees."""

    def __init__(
        self,
        model: ModelInfo,
        backend: Backend,
        tokenizer: Tokenizer,
        *,
        device: DeviceChoice | None = None,
        config: TranslateConfig | None = None,
    ) -> None:
        self.model = model
        self.backend = backend
        self.tokenizer = tokenizer
        self.device = device
        self.config = config or TranslateConfig()
        self.stats = EngineStats()
        self._lock = threading.Lock()
        self._pairs: dict[tuple[str, str], tuple[ResolvedLanguage, ResolvedLanguage]] = {}
        self._in_flight = InFlight()

    # ---------------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        model: str | Path | ModelInfo | None = None,
        *,
        device: str = "auto",
        compute_type: str = "auto",
        strict_device: bool = False,
        inter_threads: int | None = None,
        intra_threads: int | None = None,
        cores: int | None = None,
        config: TranslateConfig | None = None,
        wrap_backend: Callable[[Any], Backend] | None = None,
        download: bool = True,
    ) -> TranslationEngine:
        """Load ``model`` (path, registry name, or :class:`ModelInfo`; default NLLB-200 600M).

        ``strict_device``: the user named the device (``--device cuda``); no CPU fallback.
        ``cores``: this worker's share of the CPU cores (default: all it may use).
        ``wrap_backend``: receives the ``ctranslate2.Translator`` and returns what the engine
        calls instead; for instrumentation and fault injection (a wrapper that raises on
        chosen inputs is how poison-record handling is tested).
        """
        import ctranslate2

        keep_large_buffers_on_heap()
        info = model if isinstance(model, ModelInfo) else resolve_model(model, download=download)
        choice = choose_device(
            device,
            compute_type,
            strict=strict_device,
            inter_threads=inter_threads,
            intra_threads=intra_threads,
            cores=cores,
        )
        try:
            translator = ctranslate2.Translator(str(info.path), **choice.translator_kwargs())
        except RuntimeError as exc:
            if choice.device != "cuda" or strict_device:
                raise
            log.warning("loading on CUDA failed (%s); loading on the CPU instead", exc)
            choice = choose_device("cpu", "auto", cores=cores, intra_threads=intra_threads)
            translator = ctranslate2.Translator(str(info.path), **choice.translator_kwargs())
        tokenizer = load_tokenizer(info.path, info.tokenizer_spec)
        backend = wrap_backend(translator) if wrap_backend else translator
        return cls(info, backend, tokenizer, device=choice, config=config)

    @property
    def replicas(self) -> int:
        if self.device is None:
            return 1
        return self.device.inter_threads * len(self.device.device_index)

    def languages(self, src: str, tgt: str) -> tuple[ResolvedLanguage, ResolvedLanguage]:
        """Resolve a user's language pair for this model (cached); :class:`UserError` if not."""
        key = (src, tgt)
        if key not in self._pairs:
            sources, targets = self.model.language_tables()
            self._pairs[key] = (sources.resolve(src, "source"), targets.resolve(tgt, "target"))
        return self._pairs[key]

    # ---------------------------------------------------------------------------------------
    def translate_texts(
        self,
        texts: Sequence[str],
        src: str,
        tgt: str,
        *,
        memory: TranslationMemory | None = None,
        config: TranslateConfig | None = None,
    ) -> list[Translation]:
        """Translate ``texts`` from ``src`` to ``tgt``; one :class:`Translation` per input."""
        return self.submit_texts(texts, src, tgt, memory=memory, config=config).result()

    def submit_texts(
        self,
        texts: Sequence[str],
        src: str,
        tgt: str,
        *,
        memory: TranslationMemory | None = None,
        config: TranslateConfig | None = None,
    ) -> PendingTranslations:
        """Start translating ``texts``; ``result()`` of the returned object waits for them.

        The model starts on these inputs at once, so a caller can submit its next batch before
        collecting this one and the translator's replicas never idle between batches. Results
        are the same as :meth:`translate_texts`: with a memory, an input that an earlier
        submission (not yet collected) is translating is not translated again, but taken from
        that submission's result when it comes (``from_memory``), as if it had been collected.
        """
        cfg = config or self.config
        src_lang, tgt_lang = self.languages(src, tgt)
        inputs = distinct_inputs(texts, merge_repeats=memory is not None)
        todo = inputs.todo
        results: list[Translation | None] = [None] * len(texts)
        for i in inputs.blank:
            results[i] = Translation(texts[i], texts[i], passthrough=True)
        pending = PendingTranslations()
        scope = None
        hits = 0
        borrowed: dict[str, tuple[PendingTranslations, list[int]]] = {}
        claims: list[tuple[Any, ...]] = []
        if memory is not None and todo:
            scope = MemoryScope(
                memory,
                self.model.model_id,
                self.model.version,
                src_lang.tag,
                tgt_lang.tag,
                cfg.decoding_key(),
            )
            for key, entry in scope.recall(list(todo)).items():
                for i in todo.pop(key):
                    results[i] = remembered_translation(texts[i], entry)
                    hits += 1
            borrowed, claims = self._in_flight.claim(scope, todo, pending)

        keys = list(todo)
        try:
            distinct = self._submit_distinct(
                [inputs.text_of(k) for k in keys], src_lang, tgt_lang, cfg
            )
        except BaseException:
            self._in_flight.release(claims, pending)
            raise

        def finish() -> list[Translation]:
            retry: dict[str, list[int]] = {}
            try:
                for key, (earlier, positions) in borrowed.items():
                    # submitted before this one, so the model finished it first; if it failed
                    # as a whole, its inputs are translated here instead
                    with contextlib.suppress(Exception):
                        earlier.result()
                    outcome = earlier.outcomes.get(key)
                    if outcome is None or outcome.error is not None:
                        retry[key] = positions  # it failed there: translate it here
                        continue
                    for i in positions:
                        results[i] = _translation(texts[i], outcome, from_memory=True)
                done = self._finish_distinct(distinct)
                if retry:
                    again = self._submit_distinct(list(retry), src_lang, tgt_lang, cfg)
                    done += self._finish_distinct(again)
                    keys.extend(retry)
                    todo.update(retry)
                pending.outcomes = dict(zip(keys, done, strict=True))
                for key, outcome in pending.outcomes.items():
                    for i in todo[key]:
                        results[i] = _translation(texts[i], outcome)
                if scope is not None:
                    scope.learn(pending.outcomes)
            finally:
                self._in_flight.release(claims, pending)
            with self._lock:
                s = self.stats
                s.inputs += len(texts)
                s.passthrough += len(inputs.blank)
                s.memory_hits += hits + sum(
                    len(p) for k, (_, p) in borrowed.items() if k not in retry
                )
                s.duplicates += inputs.repeats
                s.failures += sum(1 for o in done if o.error is not None)
                s.split_inputs += sum(1 for o in done if o.pieces > 1)
                s.truncated += sum(1 for o in done if o.truncated)
            return [r for r in results if r is not None]

        pending.start(finish)
        return pending

    # ---------------------------------------------------------------------------------------
    def _submit_distinct(
        self,
        texts: list[str],
        src: ResolvedLanguage,
        tgt: ResolvedLanguage,
        cfg: TranslateConfig,
    ) -> _Submission:
        """Tokenise, split what is too long, and submit every call (``asynchronous=True``)."""
        if not texts:
            return _Submission(0, [], [], LanguageFraming(), cfg)
        framing = self.model.family.framing(src.native, tgt.native)
        limit = (cfg.max_input_tokens or self.model.max_input_tokens) - framing.extra_tokens
        units = input_units(
            texts,
            self.tokenizer.encode(texts),
            limit,
            cfg.long_inputs,
            lambda t: self.tokenizer.encode([t])[0],
        )
        with self._lock:
            self.stats.model_segments += len(units)
            self.stats.model_tokens += sum(len(u.tokens) + framing.extra_tokens for u in units)
        call_tokens = cfg.batch_call_tokens or cfg.max_batch_tokens * max(2, 2 * self.replicas)
        # Submit every call before waiting for any: the translator's replicas then never idle
        # between calls while Python decodes. A call that fails is redone by bisection.
        submitted = [
            (chunk, self._submit(chunk, framing, cfg, asynchronous=True))
            for chunk in token_calls(units, call_tokens, framing.extra_tokens)
        ]
        return _Submission(len(texts), units, submitted, framing, cfg)

    def _finish_distinct(self, submission: _Submission) -> list[Outcome]:
        """Wait for a submission's calls and combine each input's pieces, in input order."""
        framing, cfg = submission.framing, submission.cfg

        def call(units: list[Unit]) -> list[Any] | BaseException:
            return self._submit(units, framing, cfg)

        def failed_call() -> None:
            with self._lock:
                self.stats.failed_calls += 1

        for chunk, handle in submission.calls:
            if chunk:
                collect_isolating(
                    chunk,
                    handle,
                    call,
                    lambda h: self._read(h, framing),
                    lambda units, read: _fill(units, read, len(framing.target_prefix), cfg),
                    failed_call,
                )
        return outcomes(submission.units, submission.inputs)

    def _submit(
        self,
        units: list[Unit],
        framing: LanguageFraming,
        cfg: TranslateConfig,
        *,
        asynchronous: bool = False,
    ) -> list[Any] | BaseException:
        """Start translating ``units``: the backend's results, or the exception it raised."""
        if not units:
            return []
        source = [[*framing.before, *u.tokens, *framing.after] for u in units]
        prefix = [list(framing.target_prefix)] * len(units) if framing.target_prefix else None
        with self._lock:
            self.stats.batch_calls += 1
        try:
            return self.backend.translate_batch(
                source,
                target_prefix=prefix,
                max_batch_size=cfg.max_batch_tokens,
                batch_type="tokens",
                asynchronous=asynchronous,
                beam_size=cfg.beam_size,
                length_penalty=cfg.length_penalty,
                max_decoding_length=cfg.max_decoding_length,
                min_decoding_length=cfg.min_decoding_length,
                repetition_penalty=cfg.repetition_penalty,
                no_repeat_ngram_size=cfg.no_repeat_ngram_size,
                sampling_topk=cfg.sampling_topk,
                sampling_topp=cfg.sampling_topp,
                sampling_temperature=cfg.sampling_temperature,
                max_input_length=0,  # we enforce the limit ourselves: never cut silently
                return_scores=True,
            )
        except Exception as exc:
            return exc

    def _read(
        self, handle: list[Any], framing: LanguageFraming
    ) -> tuple[list[list[str]], list[float], list[str]]:
        """Wait for a call's results: output tokens (framing stripped), scores, texts."""
        results = [r.result() if hasattr(r, "result") else r for r in handle]
        hypotheses = [self.model.family.strip_output(r.hypotheses[0], framing) for r in results]
        scores = [float(r.scores[0]) for r in results]
        return hypotheses, scores, self.tokenizer.decode(hypotheses)


def _fill(
    units: list[Unit],
    read: tuple[list[list[str]], list[float], list[str]],
    n_prefix: int,
    cfg: TranslateConfig,
) -> None:
    """Put a call's results into its units: text, length, cumulative log-prob, truncation."""
    hypotheses, scores, texts = read
    for unit, hyp, score, text in zip(units, hypotheses, scores, texts, strict=True):
        hit_limit = len(hyp) + n_prefix >= cfg.max_decoding_length
        length = len(hyp) + (0 if hit_limit else 1)  # + </s> when the model ended
        unit.text = text
        unit.length = max(length, 1)
        unit.cum_logprob = score * unit.length**cfg.length_penalty
        unit.truncated = unit.truncated or hit_limit
