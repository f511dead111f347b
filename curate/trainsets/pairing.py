"""Document pairing for interleaved sets: which source document goes with which target document.

A *document* here is a dict with ``id``, ``lang`` and ``sentences`` (a list of sentence strings,
as the ``segments`` stage makes them; :func:`documents_from_segments` groups segment rows), plus
whatever keys pairing needs. Three ways to pair, each returning :class:`PairingResult`:

- :func:`pair_by_key`: a shared id or link in the data, e.g. a Wikipedia interlanguage link
  (``src_key="link", tgt_key="link"``), or the document of origin of a translated document
  (``src_key="id", tgt_key="source_id"``: the translation's lineage points at its original).
- :func:`pair_by_retrieval`: each target document's translation into the pivot language (its
  ``pivot_text``, or a ``pivot_texts`` mapping) is matched against the source documents (written
  in the pivot language) by lexical similarity: TF-IDF cosine (scikit-learn) or MinHash Jaccard
  (datasketch). Pairs at or above ``threshold`` are linked one-to-one, best score first
  (competitive linking); the score is recorded on the pair.

Every input document ends in a pair or is counted as filtered by reason: ``no_key``,
``duplicate_key``, ``unpaired``, ``no_pivot_text``, ``below_threshold``, ``lost_to_better_match``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from curate.errors import UserError
from curate.records import content_id
from curate.trainsets.common import BuildReport

STAGE = "build.pairing"


@dataclass(frozen=True)
class DocPair:
    """Two related documents; ``score`` is the retrieval similarity (``None`` for key pairing)."""

    src: dict[str, Any]
    tgt: dict[str, Any]
    method: str
    score: float | None = None

    @property
    def pair_id(self) -> str:
        return content_id(self.src["id"], self.src["lang"], self.tgt["id"], self.tgt["lang"])


@dataclass
class PairingResult:
    pairs: list[DocPair]
    filtered: list[dict[str, Any]]
    report: BuildReport


def documents_from_segments(segments: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Group ``segments`` rows into documents (``id``, ``lang``, ``sentences``, ``dataset``).

    Sentences are ordered by ``seg_index``; documents come out in order of first appearance.
    """
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for row in segments:
        grouped.setdefault((row["doc_id"], row["lang"]), []).append(row)
    documents = []
    for (doc_id, lang), rows in grouped.items():
        rows.sort(key=lambda r: r["seg_index"])
        documents.append(
            {
                "id": doc_id,
                "lang": lang,
                "sentences": [r["text"] for r in rows],
                "dataset": rows[0].get("dataset"),
            }
        )
    return documents


def _filtered(report: BuildReport, out: list[dict[str, Any]], doc: dict[str, Any], reason: str):
    report.filter(reason)
    out.append({"id": doc["id"], "lang": doc.get("lang"), "reason": reason})


def pair_by_key(
    src_docs: Iterable[dict[str, Any]],
    tgt_docs: Iterable[dict[str, Any]],
    *,
    src_key: str = "link",
    tgt_key: str = "link",
    method: str | None = None,
) -> PairingResult:
    """Pair documents whose ``src[src_key] == tgt[tgt_key]`` (first document per key wins)."""
    src_list, tgt_list = list(src_docs), list(tgt_docs)
    report = BuildReport(stage=STAGE, n_in=len(src_list) + len(tgt_list))
    filtered: list[dict[str, Any]] = []
    by_key: dict[Any, dict[str, Any]] = {}
    for doc in src_list:
        key = doc.get(src_key)
        if key is None or key == "":
            _filtered(report, filtered, doc, "no_key")
        elif key in by_key:
            _filtered(report, filtered, doc, "duplicate_key")
        else:
            by_key[key] = doc
    pairs: list[DocPair] = []
    used: set[Any] = set()
    for doc in tgt_list:
        key = doc.get(tgt_key)
        if key is None or key == "":
            _filtered(report, filtered, doc, "no_key")
        elif key in used:
            _filtered(report, filtered, doc, "duplicate_key")
        elif key not in by_key:
            _filtered(report, filtered, doc, "unpaired")
        else:
            used.add(key)
            pairs.append(DocPair(by_key[key], doc, method or f"key:{src_key}={tgt_key}"))
    for key, doc in by_key.items():
        if key not in used:
            _filtered(report, filtered, doc, "unpaired")
    report.n_kept = 2 * len(pairs)
    report.n_out = len(pairs)
    report.check()
    return PairingResult(pairs, filtered, report)


def _doc_text(doc: dict[str, Any]) -> str:
    return doc.get("text") or " ".join(doc["sentences"])


def _tfidf_candidates(queries: list[str], corpus: list[str], top_k: int) -> list[list[tuple]]:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    vectorizer.fit(corpus + queries)
    q, c = vectorizer.transform(queries), vectorizer.transform(corpus)
    out: list[list[tuple]] = []
    for start in range(0, q.shape[0], 1024):
        block = (q[start : start + 1024] @ c.T).toarray()
        k = min(top_k, block.shape[1])
        best = np.argpartition(-block, k - 1, axis=1)[:, :k]
        for row, cols in enumerate(best):
            out.append([(float(block[row, j]), int(j)) for j in cols])
    return out


def _minhash_candidates(
    queries: list[str], corpus: list[str], top_k: int, threshold: float
) -> list[list[tuple]]:
    from datasketch import MinHash, MinHashLSH

    def shingles(text: str) -> set[bytes]:
        words = text.casefold().split()
        grams = {" ".join(words[i : i + 2]).encode() for i in range(max(1, len(words) - 1))}
        return grams or {b""}

    num_perm = 128
    corpus_mh = MinHash.bulk([shingles(t) for t in corpus], num_perm=num_perm)
    query_mh = MinHash.bulk([shingles(t) for t in queries], num_perm=num_perm)
    lsh = MinHashLSH(threshold=max(threshold, 0.05), num_perm=num_perm)
    for j, mh in enumerate(corpus_mh):
        lsh.insert(j, mh)
    out = []
    for mh in query_mh:
        scored = sorted(((mh.jaccard(corpus_mh[j]), j) for j in lsh.query(mh)), reverse=True)
        out.append(scored[:top_k])
    return out


def pair_by_retrieval(
    src_docs: Iterable[dict[str, Any]],
    tgt_docs: Iterable[dict[str, Any]],
    *,
    pivot_texts: dict[str, str] | None = None,
    method: str = "tfidf",
    threshold: float = 0.3,
    top_k: int = 5,
) -> PairingResult:
    """Pair target documents with source documents by similarity of the target's pivot text.

    ``src_docs`` are in the pivot language. A target's pivot text is ``pivot_texts[tgt["id"]]``,
    else ``tgt["pivot_text"]``. ``method`` is ``tfidf`` (cosine) or ``minhash`` (Jaccard of word
    bigrams). Scores at or above ``threshold`` are linked one-to-one, best first.
    """
    if method not in {"tfidf", "minhash"}:
        raise UserError(f"retrieval method must be tfidf or minhash, not {method!r}")
    src_list, tgt_list = list(src_docs), list(tgt_docs)
    report = BuildReport(stage=STAGE, n_in=len(src_list) + len(tgt_list))
    filtered: list[dict[str, Any]] = []
    pivot_texts = pivot_texts or {}
    queries: list[tuple[int, str]] = []
    for t, doc in enumerate(tgt_list):
        text = pivot_texts.get(doc["id"]) or doc.get("pivot_text")
        if not text:
            _filtered(report, filtered, doc, "no_pivot_text")
        else:
            queries.append((t, text))
    candidates: list[list[tuple]] = []
    if queries and src_list:
        texts = [text for _, text in queries]
        corpus = [_doc_text(d) for d in src_list]
        if method == "tfidf":
            candidates = _tfidf_candidates(texts, corpus, top_k)
        else:
            candidates = _minhash_candidates(texts, corpus, top_k, threshold)
    else:
        candidates = [[] for _ in queries]

    # Competitive linking: every (score, target, source) at or above threshold, best first.
    links = sorted(
        (
            (score, t, s)
            for (t, _), cands in zip(queries, candidates, strict=True)
            for score, s in cands
            if score >= threshold
        ),
        key=lambda x: (-x[0], x[1], x[2]),
    )
    best_of_target: dict[int, float] = {}
    for (t, _), cands in zip(queries, candidates, strict=True):
        best_of_target[t] = max((score for score, _ in cands), default=0.0)
    src_taken: dict[int, int] = {}
    tgt_taken: dict[int, int] = {}
    pairs_by_target: dict[int, DocPair] = {}
    for score, t, s in links:
        if t in tgt_taken or s in src_taken:
            continue
        tgt_taken[t], src_taken[s] = s, t
        pairs_by_target[t] = DocPair(src_list[s], tgt_list[t], f"retrieval:{method}", score)
    for t, _ in queries:
        if t in pairs_by_target:
            continue
        reason = "below_threshold" if best_of_target[t] < threshold else "lost_to_better_match"
        _filtered(report, filtered, tgt_list[t], reason)
    for s, doc in enumerate(src_list):
        if s not in src_taken:
            _filtered(report, filtered, doc, "unpaired")
    pairs = [pairs_by_target[t] for t in sorted(pairs_by_target)]
    report.n_kept = 2 * len(pairs)
    report.n_out = len(pairs)
    report.check()
    return PairingResult(pairs, filtered, report)
