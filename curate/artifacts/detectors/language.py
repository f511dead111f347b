"""Wrong output language: language identification of the translation against the requested target.

Uses the batch language identifier of :mod:`curate.text.langid` (langid.py's model, vectorised).
Language codes may be ISO 639-1 (``de``), ISO 639-2/3 (``deu``, ``ger``), NLLB-style
(``deu_Latn``) or BCP 47 (``de-AT``); :mod:`curate.languages` reduces them to their base
language, which is langid's code for it (:func:`langid_code`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.artifacts.registry import Context, Scores, register
from curate.languages import base_language

#: Codes whose language langid.py's model names by another code (Filipino is its ``tl``,
#: Cantonese its ``zh``).
_LANGID_ALIASES = {"fil": "tl", "yue": "zh"}


#: Languages langid.py cannot tell apart reliably, or that are one written standard.
DEFAULT_EQUIVALENT = (("no", "nb", "nn"), ("hr", "bs", "sr"), ("ms", "id"))


def langid_code(code: str | None) -> str:
    """The code langid.py's model gives the language of ``code``: its base language
    (:func:`curate.languages.base_language`: ``deu_Latn``, ``de-AT``, ``ger``, ``DE`` -> ``de``,
    ``cmn`` -> ``zh``), with :data:`_LANGID_ALIASES` applied."""
    lang = base_language(code)
    return _LANGID_ALIASES.get(lang, lang)


@dataclass(frozen=True)
class WrongLanguageParams:
    #: Outputs with fewer letters than this are not judged: "too short to judge". Chosen on
    #: NTREX de/es/fr/ro fragments, where human text of 20-39 letters was falsely flagged 2.1%
    #: of the time and 0.3% from 40 letters on; held out (en, vi, uk, el): 0.5% from 40 on,
    #: 1.3% with the earlier 20 (``benchmarks/wrong_language_short.py``).
    min_letters: int = 40
    #: Groups of codes that count as the same language.
    equivalent: tuple[tuple[str, ...], ...] = DEFAULT_EQUIVALENT


def _limit_blas_threads() -> None:
    # numpy-heavy language id is many times slower with multi-threaded BLAS on small matrices.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn/scipy stacks
        pass


@register(
    "wrong_language",
    version="1",
    threshold=0.9,
    params=WrongLanguageParams,
    model="langid.py-1.1.6",
)
def wrong_language(pairs: pl.DataFrame, params: WrongLanguageParams, ctx: Context) -> Scores:
    """The output is in another language than the requested target.

    Score in [0, 1]: langid's probability of its best language when that is not the target (or
    an equivalent of it), 0 when it is. NaN for outputs with fewer than ``min_letters`` letters
    (detail: "too short to judge"; langid is confidently wrong on short questions and names)
    and for targets langid does not know.
    """
    _limit_blas_threads()
    from curate.text.langid import detect_batch, known_languages

    texts = pairs["text"].to_list()
    n_letters = pairs.select(pl.col("text").str.count_matches(r"\p{L}")).to_series().to_numpy()
    targets = [langid_code(c) for c in pairs["tgt_lang"].to_list()]
    known = known_languages() if (n_letters >= params.min_letters).any() else frozenset()
    group = {code: set(g) for g in params.equivalent for code in g}
    judged = [
        i for i in range(len(texts)) if n_letters[i] >= params.min_letters and targets[i] in known
    ]
    score = np.full(len(texts), np.nan)
    detail: list[str | None] = [
        f"too short to judge ({n} letters, fewer than {params.min_letters})"
        if n < params.min_letters
        else None
        for n in n_letters
    ]
    for i, (lang, prob) in zip(judged, detect_batch([texts[i] for i in judged]), strict=True):
        same = lang == targets[i] or lang in group.get(targets[i], ())
        score[i] = 0.0 if same else prob
        if not same:
            detail[i] = f"langid says {lang} ({prob:.2f}), expected {targets[i]}"
    return Scores(score, detail=detail)
