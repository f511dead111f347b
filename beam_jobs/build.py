"""Training-set building as Beam pipelines, then mixing.

Parallel sets are built over shards of ``translations``: each bucket of translations (by id)
meets its ``artifact_tags`` through GroupByKey and goes through the per-row filters; exact
duplicates meet in buckets of their dedup key (GroupByKey) and the first in store order is
kept; near duplicates meet in buckets of their MinHash LSH band keys (GroupByKey), and a row
whose estimated Jaccard similarity with an earlier row (store order) of the same band reaches
the threshold is dropped; the survivors are rendered per bucket. Interleaved sets are built from
document pairs made by curate's pairing: documents are rebuilt from shards of segments in
buckets of document ids (GroupByKey), where translated documents (their segments' translations,
joined by segment id first) are paired with their document of origin; pairing by a shared link
groups the documents again by link. Each bucket's pairs are built (and packed) together.
Retrieval over pivot translations reads each language pair whole. Mixing works in buckets of
sample ids: the tokens per bucket and language group are combined first and reach each bucket
as a side input, from which the bucket takes its share of each group's quota
(:mod:`curate.trainsets.mixing`).
Filter decisions are counted by reason in the manifest.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import apache_beam as beam
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from beam_jobs.common import (
    Execution,
    Expected,
    WriteStagesFn,
    parallelism,
    run_job,
    translation_pairs,
    upstream_fingerprints,
)
from beam_jobs.shards import (
    bucket_count,
    buckets_of,
    concat,
    even_shards,
    join_tables,
    read_shards,
    sides,
    tag_side,
)
from beam_jobs.spill import SpilledGroupByKey, restore, spill
from curate.errors import UserError
from curate.progress import ProgressCallback
from curate.records import content_id, load_schema
from curate.store import StageCounts, Store
from curate.store.shards import Shard, store_shards
from curate.trainsets.common import BuildReport
from curate.trainsets.interleave import InterleaveConfig, build_interleaved
from curate.trainsets.mixing import MixConfig, available_tokens, mix, plan_mix, shard_plan
from curate.trainsets.pairing import documents_from_segments, pair_by_key, pair_by_retrieval
from curate.trainsets.parallel import (
    ParallelConfig,
    build_parallel,
    dedup_key,
    filter_reason,
    lsh_bands,
    near_signatures,
)
from curate.trainsets.tokens import load_token_counter

PAIRINGS = ("origin", "link", "retrieval")


@dataclass(frozen=True)
class BuildJob:
    run_id: str
    kind: str  # parallel | interleaved
    config: dict[str, Any] = field(default_factory=dict)  # the builder's recipe section
    mix: dict[str, Any] | None = None  # the mixing section; None: no mixing
    tokenizer: str | None = None  # SentencePiece file or HF tokenizer directory
    pair_by: str = "origin"  # interleaved: origin | link | retrieval
    link_field: str = "link"
    pivot: str = "en"
    retrieval_method: str = "tfidf"
    threshold: float = 0.3


def _report_counts(stage: str, report: BuildReport) -> dict[str, StageCounts]:
    c = report.to_counts()
    return {stage: StageCounts(c["in"], c["out"], filtered=c["filtered"])}


def _samples_table(samples: list[dict[str, Any]]) -> pa.Table:
    return load_schema("training_samples").table(samples)


# -- parallel ---------------------------------------------------------------------------------
SHARD_ROWS = 20_000  # translations per shard, and rows per join or dedup bucket
_TAG_COLUMNS = ["translation_id", "detector", "flag", "score"]
_ORDER = "_order"  # a row's place in the store (shard, row): "first" among duplicates
_KEY = "_key"  # what duplicates are judged on (curate.trainsets.parallel.dedup_key)


def with_order(item: tuple[Shard, pa.Table]) -> pa.Table:
    shard, table = item
    order = pa.array(range(table.num_rows), pa.int64())
    return table.append_column(_ORDER, pc.add(order, shard.index << 32))


def filter_bucket(bucket: tuple[int, Any], job: BuildJob) -> Iterator[tuple[str, Any]]:
    """Per-row filters over one bucket of translations and their tags: ``("rows", survivors
    with their dedup key)`` and ``("counts", counts)``."""
    _, grouped = bucket
    parts = sides(grouped, ("translations", "tags"))
    if not parts["translations"]:
        return
    config = ParallelConfig.from_dict(job.config)
    rows = concat(parts["translations"]).sort_by(_ORDER)
    tags: dict[str, list[dict[str, Any]]] = {}
    for tag in concat(parts["tags"], _tag_schema()).to_pylist():
        tags.setdefault(tag["translation_id"], []).append(tag)
    keep, keys, filtered = [], [], Counter()
    for i, row in enumerate(rows.to_pylist()):
        reason = filter_reason(row, tags.get(row["id"], []), config)
        if reason:
            filtered[reason] += 1
        else:
            keep.append(i)
            keys.append(dedup_key(row))
    survivors = rows.take(pa.array(keep, pa.int64())).append_column(
        _KEY, pa.array(keys, pa.string())
    )
    yield "counts", StageCounts(records_in=rows.num_rows, filtered=dict(filtered))
    yield "rows", survivors


def _tag_schema() -> pa.Schema:
    schema = load_schema("artifact_tags").arrow
    return pa.schema([schema.field(c) for c in _TAG_COLUMNS])


def exact_bucket(bucket: tuple[int, Any]) -> Iterator[tuple[str, Any]]:
    """One bucket by dedup key: the first row of each key (in store order) is kept."""
    _, grouped = bucket
    rows = concat(sides(grouped, ("rows",))["rows"]).sort_by(_ORDER)
    seen: set[str] = set()
    keep = []
    for i, key in enumerate(rows.column(_KEY).to_pylist()):
        if key not in seen:
            seen.add(key)
            keep.append(i)
    dropped = rows.num_rows - len(keep)
    if dropped:
        yield "counts", StageCounts(filtered={"duplicate_exact": dropped})
    yield "rows", rows.take(pa.array(keep, pa.int64()))


def band_keys(table: pa.Table, job: BuildJob) -> Iterator[pa.Table]:
    """One record per row and LSH band: ``(band hash, id, order, signature)``, in one table
    (the band is part of the hash), so that the bucketing after it cuts one table, not one per
    band."""
    if table.num_rows == 0:
        return
    config = ParallelConfig.from_dict(job.config)
    bands, width = lsh_bands(config)
    signatures = near_signatures(
        table.column(_KEY).to_pylist(), config.near_ngram, config.near_num_perm
    )
    # hash values come from xxh32 (curate.trainsets.parallel.near_signatures): 4 bytes each
    values = np.stack([s.hashvalues for s in signatures]).astype(np.uint32)
    blobs = pa.array([v.tobytes() for v in values], pa.binary())
    hashes = []
    for band in range(bands):
        part = values[:, band * width : (band + 1) * width]
        hashes += [f"{xxhash.xxh64_intdigest(row.tobytes() + bytes([band])):016x}" for row in part]
    rows = pa.table({"id": table.column("id"), _ORDER: table.column(_ORDER), "signature": blobs})
    yield pa.concat_tables([rows] * bands).add_column(0, "band_hash", pa.array(hashes, pa.string()))


def near_bucket(bucket: tuple[int, Any], threshold: float) -> Iterator[tuple[str, Any]]:
    """One bucket of band keys: in each band group, a row whose estimated Jaccard similarity
    with an earlier row (store order) reaches ``threshold`` is a near duplicate. Yields
    ``(id, None)`` per duplicate found."""
    _, grouped = bucket
    records = concat(sides(grouped, ("bands",))["bands"]).sort_by(
        [("band_hash", "ascending"), (_ORDER, "ascending")]
    )
    hashes = records.column("band_hash").to_pylist()
    ids = records.column("id").to_pylist()
    blobs = records.column("signature").to_pylist()
    start = 0
    for end in range(1, len(hashes) + 1):
        if end < len(hashes) and hashes[end] == hashes[start]:
            continue
        if end - start > 1:
            sigs = [np.frombuffer(b, dtype=np.uint32) for b in blobs[start:end]]
            for j in range(1, end - start):
                if any(np.mean(sigs[j] == sigs[k]) >= threshold for k in range(j)):
                    yield ids[start + j], None
        start = end


def drop_near(bucket: tuple[int, Any]) -> Iterator[tuple[str, Any]]:
    """One bucket by id: the rows that are no near duplicate."""
    _, grouped = bucket
    parts = sides(grouped, ("rows", "duplicates"))
    if not parts["rows"]:
        return
    rows = concat(parts["rows"])
    duplicates = {i for t in parts["duplicates"] for i in t.column("id").to_pylist()}
    keep = pc.invert(pc.is_in(rows.column("id"), pa.array(sorted(duplicates), pa.string())))
    if duplicates:
        yield "counts", StageCounts(filtered={"duplicate_near": len(duplicates)})
    yield "rows", rows.filter(keep)


def render_rows(table: pa.Table, job: BuildJob) -> Any:
    """Samples of deduplicated rows (templates, token counts, ``too_long``, splits)."""
    config = ParallelConfig.from_dict(job.config)
    config = dataclasses.replace(config, dedup_exact=False, dedup_near=False)
    rows = table.sort_by(_ORDER).drop_columns([_ORDER, _KEY]).to_pylist()
    result = build_parallel(
        rows, config, counter=load_token_counter(job.tokenizer), run_id=job.run_id
    )
    counts = _report_counts("build.parallel", result.report)["build.parallel"]
    counts.records_in = 0  # counted where the rows were read
    return result.samples, {"build.parallel": counts}


def _rows_and_counts(items: beam.PCollection, label: str) -> tuple[Any, Any]:
    """Split a step's ``("rows", table)`` and ``("counts", counts)`` outputs."""
    rows = items | f"{label}Rows" >> beam.FlatMap(lambda i: [i[1]] if i[0] == "rows" else [])
    counts = items | f"{label}Counts" >> beam.FlatMap(
        lambda i: [([], {"build.parallel": i[1]})] if i[0] == "counts" else []
    )
    return rows, counts


def bucketed(rows: beam.PCollection, label: str, side: str, key: str, buckets: int) -> Any:
    return rows | f"{label}Bucket" >> beam.FlatMap(tag_side(side, key, buckets))


def parallel_samples(
    p: beam.Pipeline, store: Store, job: BuildJob, staging: str
) -> beam.PCollection:
    """``(samples, counts)`` elements of the parallel builder over shards of the store (the
    samples maybe spilled: :func:`beam_jobs.spill.restore` reads them back)."""
    config = ParallelConfig.from_dict(job.config)
    workers = parallelism(p.options)  # every step's buckets (and shards) a multiple of it
    translations = even_shards(store, "translations", SHARD_ROWS, workers)
    tags = even_shards(store, "artifact_tags", SHARD_ROWS, workers)
    rows_in = sum(s.rows for s in translations)
    buckets = bucket_count(rows_in, SHARD_ROWS, workers)
    rows = read_shards(p, "Translations", translations) | "Order" >> beam.Map(with_order)
    tagged = read_shards(p, "Tags", tags, _TAG_COLUMNS)
    filtered = (
        (
            bucketed(rows, "Rows", "translations", "id", buckets),
            bucketed(tagged, "Tags", "tags", "translation_id", buckets),
        )
        | "JoinTags" >> SpilledGroupByKey(staging)
        | "Filter" >> beam.FlatMap(filter_bucket, job=job)
    )
    survivors, counts = _rows_and_counts(filtered, "Filtered")
    all_counts = [counts]
    if config.dedup_exact:
        exact = (
            bucketed(survivors, "Exact", "rows", _KEY, buckets)
            | "ExactGroups" >> SpilledGroupByKey(staging)
            | "ExactFirst" >> beam.FlatMap(exact_bucket)
        )
        survivors, counts = _rows_and_counts(exact, "Exact")
        all_counts.append(counts)
    if config.dedup_near:
        # one record per row and LSH band: buckets of about SHARD_ROWS records
        band_buckets = bucket_count(rows_in * lsh_bands(config)[0], SHARD_ROWS, workers)
        duplicates = (
            survivors
            | "BandKeys" >> beam.FlatMap(band_keys, job=job)
            | "BandBucket" >> beam.FlatMap(tag_side("bands", "band_hash", band_buckets))
            | "BandGroups" >> SpilledGroupByKey(staging)
            | "NearPairs" >> beam.FlatMap(near_bucket, threshold=config.near_threshold)
            | "DuplicateBucket"
            >> beam.Map(
                lambda item: (
                    int(buckets_of(pa.array([item[0]]), buckets)[0]),
                    ("duplicates", pa.table({"id": [item[0]]})),
                )
            )
        )
        near = (
            (bucketed(survivors, "Near", "rows", "id", buckets), duplicates)
            | "JoinDuplicates" >> SpilledGroupByKey(staging)
            | "DropNear" >> beam.FlatMap(drop_near)
        )
        survivors, counts = _rows_and_counts(near, "Near")
        all_counts.append(counts)
    # every step's counts and the samples meet in one flatten, which the runner holds
    samples = (
        survivors
        | "Render" >> beam.Map(render_rows, job=job)
        | "SpillSamples" >> beam.Map(spill, staging=staging)
    )
    return (*all_counts, samples) | "Parts" >> beam.Flatten()


# -- interleaved ------------------------------------------------------------------------------
_SEGMENT_COLUMNS = ["id", "doc_id", "seg_index", "text", "lang", "dataset"]
_TRANSLATED_COLUMNS = ["source_id", "source_kind", "tgt_lang", "text", "dataset"]


def translated_documents(rows: list[dict[str, Any]], tgt: str) -> dict[str, dict[str, Any]]:
    """Documents rebuilt from the translations of their segments into ``tgt`` (``rows``:
    ``doc_id``, ``seg_index``, ``text``, ``dataset``, ordered by document and segment), by
    origin id."""
    docs: dict[str, dict[str, Any]] = {}
    for row in rows:
        doc = docs.setdefault(
            row["doc_id"],
            {
                "id": content_id(row["doc_id"], tgt),
                "source_id": row["doc_id"],
                "lang": tgt,
                "sentences": [],
                "dataset": row["dataset"],
            },
        )
        doc["sentences"].append(row["text"])
    return docs


def _translated_documents(store: Store, tgt: str) -> dict[str, dict[str, Any]]:
    rows = store.sql(
        "SELECT s.doc_id, s.seg_index, t.text, t.dataset FROM translations t "
        "JOIN segments s ON s.id = t.source_id "
        f"WHERE t.source_kind = 'segments' AND t.tgt_lang = '{tgt}' ORDER BY s.doc_id, s.seg_index"
    ).to_pylist()
    return translated_documents(rows, tgt)


def _with_links(docs: list[dict[str, Any]], meta: dict[str, str | None], field: str) -> None:
    for doc in docs:
        doc[field] = (json.loads(meta[doc["id"]]) if meta.get(doc["id"]) else {}).get(field)


def _documents(store: Store, link_field: str) -> list[dict[str, Any]]:
    docs = documents_from_segments(
        store.sql("SELECT doc_id, seg_index, text, lang, dataset FROM segments").to_pylist()
    )
    meta = {r["id"]: r["meta"] for r in store.sql("SELECT id, meta FROM documents").to_pylist()}
    _with_links(docs, meta, link_field)
    return docs


def build_pairs(pairing: Any, job: BuildJob) -> Any:
    """``(samples, counts)`` of the interleaved builder over one pairing's document pairs."""
    result = build_interleaved(
        pairing.pairs,
        InterleaveConfig.from_dict(job.config),
        counter=load_token_counter(job.tokenizer),
        run_id=job.run_id,
    )
    counts = _report_counts("build.pairing", pairing.report)
    counts.update(_report_counts("build.interleaved", result.report))
    return result.samples, counts


def build_interleaved_pair(pair: tuple[str, str], store_root: str, job: BuildJob) -> Any:
    """Retrieval pairing of one language pair, read whole: its TF-IDF (or MinHash) index and
    its one-to-one linking need every document of the pair."""
    src, tgt = pair
    store = Store(store_root)
    docs = _documents(store, job.link_field)
    pivots = {
        origin: " ".join(doc["sentences"])
        for origin, doc in _translated_documents(store, src).items()
    }
    pairing = pair_by_retrieval(
        [d for d in docs if d["lang"] == src],
        [d for d in docs if d["lang"] == tgt],
        pivot_texts=pivots,
        method=job.retrieval_method,
        threshold=job.threshold,
    )
    return build_pairs(pairing, job)


def join_translated(bucket: tuple[int, Any]) -> Iterator[pa.Table]:
    """One bucket by segment id: translations of segments with their document and position."""
    _, grouped = bucket
    parts = sides(grouped, ("segments", "translations"))
    if not parts["segments"] or not parts["translations"]:
        return
    segments = concat(parts["segments"]).select(["id", "doc_id", "seg_index"])
    translations = concat(parts["translations"]).select(
        ["source_id", "tgt_lang", "text", "dataset"]
    )
    joined = join_tables(translations, segments, "source_id", "id")
    yield joined.select(["doc_id", "seg_index", "tgt_lang", "text", "dataset"])


def _keep_translated(item: tuple[Shard, pa.Table]) -> pa.Table:
    table = item[1]
    return table.filter(pc.equal(table.column("source_kind"), "segments"))


def origin_bucket(
    bucket: tuple[int, Any], job: BuildJob, pairs: list[tuple[str, str]]
) -> Iterator[Any]:
    """One bucket of documents (by id) with their translations: each language pair's documents
    paired with their own translation, then built."""
    _, grouped = bucket
    parts = sides(grouped, ("segments", "translated"))
    segments = concat(parts["segments"], None) if parts["segments"] else None
    docs = [] if segments is None else documents_from_segments(segments.sort_by(_ORDER).to_pylist())
    translated = (
        concat(parts["translated"]).sort_by([("doc_id", "ascending"), ("seg_index", "ascending")])
        if parts["translated"]
        else None
    )
    for src, tgt in pairs:
        rows = []
        if translated is not None:
            rows = translated.filter(pc.equal(translated.column("tgt_lang"), tgt)).to_pylist()
        pairing = pair_by_key(
            [d for d in docs if d["lang"] == src],
            list(translated_documents(rows, tgt).values()),
            src_key="id",
            tgt_key="source_id",
            method="origin",
        )
        yield build_pairs(pairing, job)


def link_documents(
    bucket: tuple[int, Any], job: BuildJob, pairs: list[tuple[str, str]], buckets: int
) -> Iterator[Any]:
    """One bucket of documents (by id): ``("docs", (link bucket, documents))`` for documents
    with a link, and ``("counts", counts)`` for those without (filtered ``no_key`` in every
    language pair they belong to, as pairing counts them)."""
    _, grouped = bucket
    parts = sides(grouped, ("segments", "documents"))
    if not parts["segments"]:
        return
    segments = concat(parts["segments"]).sort_by(_ORDER)
    orders: dict[tuple[str, str], int] = {}
    for doc_id, lang, order in zip(
        *(segments.column(c).to_pylist() for c in ("doc_id", "lang", _ORDER)), strict=True
    ):
        orders.setdefault((doc_id, lang), order)
    docs = documents_from_segments(segments.to_pylist())
    meta: dict[str, str | None] = {}
    for table in parts["documents"]:
        meta.update(zip(*(table.column(c).to_pylist() for c in ("id", "meta")), strict=True))
    _with_links(docs, meta, job.link_field)
    linked: dict[int, list[dict[str, Any]]] = {}
    no_key = Counter()
    for doc in docs:
        link = doc[job.link_field]
        if link is None or link == "":
            no_key[doc["lang"]] += 1
            continue
        doc[_ORDER] = orders[(doc["id"], doc["lang"])]
        number = int(buckets_of(pa.array([str(link)]), buckets)[0])
        linked.setdefault(number, []).append(doc)
    for number, members in linked.items():
        yield "docs", (number, members)
    n = sum(no_key[lang] for pair in pairs for lang in pair)
    if n:
        counts = StageCounts(n, 0, filtered={"no_key": n})
        yield "counts", {"build.pairing": counts}


def link_bucket(
    bucket: tuple[int, Any], job: BuildJob, pairs: list[tuple[str, str]]
) -> Iterator[Any]:
    """One bucket of documents by link: each language pair's documents paired by their link
    (the first in store order wins a link), then built."""
    _, grouped = bucket
    docs = [
        {k: v for k, v in d.items() if k != _ORDER}
        for d in sorted((d for part in grouped for d in part), key=lambda d: d[_ORDER])
    ]
    for src, tgt in pairs:
        pairing = pair_by_key(
            [d for d in docs if d["lang"] == src],
            [d for d in docs if d["lang"] == tgt],
            src_key=job.link_field,
            tgt_key=job.link_field,
        )
        yield build_pairs(pairing, job)


def interleaved_samples(
    p: beam.Pipeline, store: Store, job: BuildJob, pairs: list[tuple[str, str]], staging: str
) -> beam.PCollection:
    """``(samples, counts)`` elements of the interleaved builder over shards of the store.

    Documents are rebuilt in buckets of document ids (segments, with the translations of their
    segments joined by segment id first, or with their documents' links); pairing by origin
    happens there, pairing by link in buckets of links. A bucket's pairs are built together
    (packed within the bucket). Retrieval pairing reads each language pair whole.
    """
    if job.pair_by == "retrieval":
        return (
            p
            | "Pairs" >> beam.Create(pairs)
            | "Build" >> beam.Map(build_interleaved_pair, store_root=store.uri, job=job)
        )
    segments = store_shards(store, "segments", SHARD_ROWS)
    buckets = bucket_count(sum(s.rows for s in segments), SHARD_ROWS)
    rows = read_shards(p, "Segments", segments, [*_SEGMENT_COLUMNS]) | "SegmentOrder" >> beam.Map(
        with_order
    )
    by_doc = bucketed(rows, "SegmentsByDoc", "segments", "doc_id", buckets)
    if job.pair_by == "origin":
        translations = store_shards(store, "translations", SHARD_ROWS)
        join = bucket_count(sum(s.rows for s in translations), SHARD_ROWS)
        translated = (
            (
                bucketed(rows, "SegmentsById", "segments", "id", join),
                read_shards(p, "Translations", translations, _TRANSLATED_COLUMNS)
                | "OfSegments" >> beam.Map(_keep_translated)
                | "TranslationsBySegment"
                >> beam.FlatMap(tag_side("translations", "source_id", join)),
            )
            | "JoinSegments" >> SpilledGroupByKey(staging)
            | "Translated" >> beam.FlatMap(join_translated)
        )
        return (
            (by_doc, bucketed(translated, "TranslatedByDoc", "translated", "doc_id", buckets))
            | "Documents" >> SpilledGroupByKey(staging)
            | "PairByOrigin" >> beam.FlatMap(origin_bucket, job=job, pairs=pairs)
        )
    documents = store_shards(store, "documents", SHARD_ROWS)
    linked = (
        (
            by_doc,
            bucketed(
                read_shards(p, "Documents", documents, ["id", "meta"]),
                "DocumentsById",
                "documents",
                "id",
                buckets,
            ),
        )
        | "Documents" >> SpilledGroupByKey(staging)
        | "Links" >> beam.FlatMap(link_documents, job=job, pairs=pairs, buckets=buckets)
    )
    no_key = linked | "NoKey" >> beam.FlatMap(lambda i: [([], i[1])] if i[0] == "counts" else [])
    built = (
        linked
        | "Linked" >> beam.FlatMap(lambda i: [i[1]] if i[0] == "docs" else [])
        | "ByLink" >> SpilledGroupByKey(staging)
        | "PairByLink" >> beam.FlatMap(link_bucket, job=job, pairs=pairs)
        | "SpillSamples" >> beam.Map(spill, staging=staging)  # the flatten below holds them
    )
    return (no_key, built) | "Pairings" >> beam.Flatten()


# -- shared -----------------------------------------------------------------------------------
def to_tables(item: Any) -> tuple[dict[str, pa.Table], dict[str, StageCounts]]:
    samples, counts = restore(item)
    return {"training_samples": _samples_table(samples)}, counts


MIX_ROWS = 20_000  # samples per mixing shard (a bucket of sample ids)


def _mix_buckets(total: int) -> int:
    return bucket_count(total, MIX_ROWS)


def spilled_part(item: Any, staging: str) -> Iterator[tuple[int, Any]]:
    """``(samples, spilled samples)`` of a builder's output that has samples."""
    samples = restore(item[0])
    if samples:
        yield len(samples), spill(samples, staging)


def key_samples(part: tuple[int, Any], total: int) -> Iterator[tuple[int, list]]:
    """``(bucket, samples)`` per mixing bucket (a stable hash of the sample id) of a part."""
    samples = restore(part[1])
    numbers = buckets_of(pa.array([s["id"] for s in samples], pa.string()), _mix_buckets(total))
    by_bucket: dict[int, list[dict[str, Any]]] = {}
    for number, sample in zip(numbers.tolist(), samples, strict=True):
        by_bucket.setdefault(number, []).append(sample)
    yield from by_bucket.items()


def bucket_tokens(item: tuple[int, list], config: dict[str, Any]) -> dict[int, dict[str, int]]:
    """``{bucket: {group: tokens}}`` of one part of a bucket: what mixing plans from."""
    bucket, samples = item
    return {bucket: available_tokens(samples, MixConfig.from_dict(config))}


def merge_tokens(parts: Iterable[dict[int, dict[str, int]]]) -> dict[int, dict[str, int]]:
    """Add up ``{bucket: {group: tokens}}`` (a combiner: partial sums merge the same way)."""
    out: dict[int, dict[str, int]] = {}
    for part in parts:
        for bucket, groups in part.items():
            mine = out.setdefault(bucket, {})
            for g, n in groups.items():
                mine[g] = mine.get(g, 0) + n
    return out


def mix_bucket(
    item: tuple[int, Iterable[list]], config: dict[str, Any], tokens: dict[int, dict[str, int]]
) -> Any:
    """Mix one bucket of samples (in id order) to its share of every group's quota."""
    bucket, parts = item
    samples = sorted((s for part in parts for s in part), key=lambda s: s["id"])
    mix_config = MixConfig.from_dict(config)
    whole = merge_tokens([{0: groups} for groups in tokens.values()]).get(0, {})
    whole = dict(sorted(whole.items()))  # the same plan whatever order the parts came in
    plan = shard_plan(plan_mix(whole, mix_config), tokens, bucket)
    result = mix(samples, mix_config, plan=plan, shard=bucket)
    return result.samples, _report_counts("build.mix", result.report)


def mix_samples(built: beam.PCollection, config: dict[str, Any], staging: str) -> beam.PCollection:
    """Mixing in buckets of sample ids: the tokens per bucket and group are combined first
    (``CombineGlobally``) and reach every bucket as a side input, from which each bucket takes
    its share of every group's quota; no step holds more than one bucket of samples."""
    counts = built | "MixBuilderCounts" >> beam.Map(lambda item: ([], item[1]))
    # keying needs the total of every part: the parts wait as spill files
    parts = built | "MixParts" >> beam.FlatMap(spilled_part, staging=staging)
    total = (
        parts
        | "MixSize" >> beam.Map(lambda part: part[0])
        | "MixTotal" >> beam.CombineGlobally(sum)
    )
    keyed = parts | "MixKey" >> beam.FlatMap(key_samples, total=beam.pvalue.AsSingleton(total))
    tokens = (
        keyed
        | "MixTokens" >> beam.Map(bucket_tokens, config=config)
        | "MixPlan" >> beam.CombineGlobally(merge_tokens)
    )
    mixed = (
        keyed
        | "MixBuckets" >> SpilledGroupByKey(staging)
        | "Mix" >> beam.Map(mix_bucket, config=config, tokens=beam.pvalue.AsSingleton(tokens))
    )
    return (counts, mixed) | "MixParts+Counts" >> beam.Flatten()


def language_pairs(store: Store, job: BuildJob) -> list[tuple[str, str]]:
    if job.kind == "parallel":
        return translation_pairs(store)
    if job.pair_by not in PAIRINGS:
        raise UserError(f"unknown pairing {job.pair_by!r}", hint=f"one of {', '.join(PAIRINGS)}")
    if job.pair_by == "origin":
        rows = store.sql(
            "SELECT DISTINCT s.lang AS src, t.tgt_lang AS tgt FROM translations t "
            "JOIN segments s ON s.id = t.source_id WHERE t.source_kind = 'segments' ORDER BY 1, 2"
        )
        return [(r["src"], r["tgt"]) for r in rows.to_pylist()]
    langs = [
        r["lang"] for r in store.sql("SELECT DISTINCT lang FROM segments ORDER BY 1").to_pylist()
    ]
    return [(job.pivot, lang) for lang in langs if lang != job.pivot]


def run_build(
    store: Store,
    job: BuildJob,
    beam_args: list[str] | None = None,
    workers: int = 1,
    force: bool = True,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Build training samples from ``store``; returns the run manifest.

    With ``force=False`` an earlier run with the same options over the same upstream runs is
    kept as it is.
    """
    if job.kind not in ("parallel", "interleaved"):
        raise UserError(f"unknown builder {job.kind!r}", hint="parallel or interleaved")
    # validate every option before any work starts
    (ParallelConfig if job.kind == "parallel" else InterleaveConfig).from_dict(job.config)
    if job.mix is not None:
        MixConfig.from_dict(job.mix)
    load_token_counter(job.tokenizer)
    pairs = language_pairs(store, job)
    if not pairs:
        source = "translations" if job.kind == "parallel" else "documents to pair"
        raise UserError(f"the store has no {source}", hint="run `curate translate` first")
    options = asdict(job)
    fingerprint = content_id(
        repr(options), *upstream_fingerprints(store, ("ingest", "translate", "project", "detect"))
    )

    def build(p: beam.Pipeline, staging: str) -> beam.PCollection:
        if job.kind == "parallel":
            built = parallel_samples(p, store, job, staging)
        else:
            built = interleaved_samples(p, store, job, pairs, staging)
        if job.mix is not None:
            built = mix_samples(built, job.mix, staging)
        return built | "Write" >> beam.ParDo(WriteStagesFn(to_tables, staging, job.run_id))

    execution = Execution(tuple(beam_args or ()), workers, force, progress)
    expected = None  # interleaved: documents are paired inside the job, no cheap count
    if job.kind == "parallel":
        rows = store.sql("SELECT count(*) FROM translations").column(0)[0].as_py()
        expected = Expected(int(rows))
    return run_job(
        store,
        f"build-{job.kind}",
        job.run_id,
        options,
        fingerprint,
        build,
        execution,
        expected=expected,
    )
