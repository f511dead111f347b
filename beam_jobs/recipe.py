"""Run a whole recipe: every stage in order, each as its Beam job, skipping unchanged ones.

Stage run ids are ``<recipe name>-<stage>``; a stage whose inputs and settings match its last
committed run is skipped (``force`` redoes it). ``steps(recipe)`` lists what would run, which
``curate plan`` prints and ``curate run`` executes, reporting each step through a callback
and the progress within each step's pipeline through another.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from beam_jobs.build import BuildJob, run_build
from beam_jobs.detect import DetectJob, run_detect
from beam_jobs.ingest import InputSpec, run_ingest
from beam_jobs.project import ProjectJob, run_align, run_project
from beam_jobs.translate import TranslateJob, run_translate
from curate.ingest import IngestConfig
from curate.io import FieldMap, default_dataset, format_with_target
from curate.mt.engine import TranslateConfig
from curate.progress import ProgressCallback, ProgressUpdate
from curate.recipe import AlignSection, Recipe, resolve
from curate.store import StageCounts, Store


@dataclass
class Step:
    name: str  # e.g. "ingest news", "translate segments"
    run_id: str
    action: Callable[[bool, ProgressCallback | None], dict[str, Any]]  # force, progress -> manifest


@dataclass
class StepResult:
    step: str
    run_id: str
    skipped: bool
    seconds: float
    manifest: dict[str, Any] = field(default_factory=dict)


def store_of(recipe: Recipe, base: Path) -> Store:
    return Store(resolve(base, recipe.store))


def steps(recipe: Recipe, base: Path) -> list[Step]:
    """The recipe's stages, in order, ready to run."""
    store = store_of(recipe, base)
    runner = recipe.runner
    out: list[Step] = []

    def ingest_step(i: int) -> Step:
        item = recipe.inputs[i]
        dataset = item.dataset or default_dataset([resolve(base, item.path)])
        run_id = f"{recipe.name}-ingest-{dataset}"
        options: dict[str, Any] = {}
        if item.target_file:
            options["target_file"] = resolve(base, item.target_file)
            options["on_misaligned"] = item.on_misaligned
        if item.split:
            options["split"] = item.split
        if item.encoding:
            options["encoding"] = item.encoding
        if item.target_format:
            options["target_format"] = item.target_format
        path = resolve(base, item.path)
        fmt = format_with_target(path, item.format, item.target_file)
        spec = InputSpec(path, fmt, FieldMap(**item.fields), options)
        config = IngestConfig(
            dataset=dataset,
            run_id=run_id,
            kind=item.kind,
            lang=item.lang,
            target_lang=item.target_lang,
            origin=item.origin,
            system=item.system,
        )
        return Step(
            f"ingest {dataset}",
            run_id,
            lambda force, progress: run_ingest(
                store, [spec], config, runner.beam_args, runner.workers, force, progress
            ),
        )

    out += [ingest_step(i) for i in range(len(recipe.inputs))]
    if recipe.translate:
        section = recipe.translate
        model = (
            resolve(base, section.model)
            if section.model and "/" in section.model
            else section.model
        )
        config = TranslateConfig.from_dict(section.options)
        for stage in section.stages:
            job = TranslateJob(
                run_id=f"{recipe.name}-translate-{stage}",
                targets=tuple(section.targets),
                model=model,
                source_stage=stage,
                device=section.device,
                strict_device=section.device == "cuda",
                use_memory=section.memory,
                batch_tokens=section.batch_tokens,
                config=config,
            )
            out.append(
                Step(
                    f"translate {stage}",
                    job.run_id,
                    lambda force, progress, job=job: run_translate(
                        store, job, runner.beam_args, runner.workers, force, progress
                    ),
                )
            )
    if recipe.align is not None:
        align_job = ProjectJob(
            run_id=f"{recipe.name}-align",
            aligner=recipe.align.method,
            aligner_options=recipe.align.options,
            extra_bitext=tuple(resolve(base, p) for p in recipe.align.extra_bitext),
            chunk_pairs=recipe.align.chunk_pairs,
        )
        out.append(
            Step(
                "align",
                align_job.run_id,
                lambda force, progress: run_align(
                    store, align_job, runner.beam_args, runner.workers, force, progress
                ),
            )
        )
    if recipe.project is not None:
        aligner = recipe.align or AlignSection()
        model = recipe.translate.model if recipe.translate else None
        project_job = ProjectJob(
            run_id=f"{recipe.name}-project",
            method=recipe.project.method,
            aligner=aligner.method,
            aligner_options=aligner.options,
            options=recipe.project.options,
            extra_bitext=tuple(resolve(base, p) for p in aligner.extra_bitext),
            model=resolve(base, model) if model and "/" in model else model,
            chunk_pairs=aligner.chunk_pairs,
        )
        out.append(
            Step(
                "project",
                project_job.run_id,
                lambda force, progress: run_project(
                    store, project_job, runner.beam_args, runner.workers, force, progress
                ),
            )
        )
    if recipe.detect is not None:
        detect_job = DetectJob(run_id=f"{recipe.name}-detect", config=recipe.detect)
        out.append(
            Step(
                "detect",
                detect_job.run_id,
                lambda force, progress: run_detect(
                    store, detect_job, runner.beam_args, runner.workers, force, progress
                ),
            )
        )
    if recipe.build:
        tokenizer = resolve(base, recipe.build.tokenizer) if recipe.build.tokenizer else None
        if recipe.build.parallel is not None:
            job = BuildJob(
                run_id=f"{recipe.name}-build-parallel",
                kind="parallel",
                config=recipe.build.parallel,
                mix=recipe.mix,
                tokenizer=tokenizer,
            )
            out.append(Step("build parallel", job.run_id, _build_action(store, job, recipe)))
        if recipe.build.interleaved is not None:
            section_i = recipe.build.interleaved
            job = BuildJob(
                run_id=f"{recipe.name}-build-interleaved",
                kind="interleaved",
                config=section_i.options,
                mix=recipe.mix,
                tokenizer=tokenizer,
                pair_by=section_i.pair_by,
                link_field=section_i.link_field,
                pivot=section_i.pivot,
                retrieval_method=section_i.method,
                threshold=section_i.threshold,
            )
            out.append(Step("build interleaved", job.run_id, _build_action(store, job, recipe)))
    if recipe.export:
        out.append(Step("export", f"{recipe.name}-export", _export_action(store, recipe, base)))
    return out


def _build_action(
    store: Store, job: BuildJob, recipe: Recipe
) -> Callable[[bool, ProgressCallback | None], dict[str, Any]]:
    runner = recipe.runner
    return lambda force, progress: run_build(
        store, job, runner.beam_args, runner.workers, force, progress
    )


def _export_action(
    store: Store, recipe: Recipe, base: Path
) -> Callable[[bool, ProgressCallback | None], dict[str, Any]]:
    from curate.export.hub import export_folder
    from curate.export.push import push
    from curate.export.stages import EXPORTABLE, export_card, export_reader, export_runs

    section = recipe.export
    assert section is not None

    def action(force: bool, progress: ProgressCallback | None = None) -> dict[str, Any]:
        from beam_jobs.common import unchanged_run, upstream_fingerprints
        from curate.records import content_id

        run_id = f"{recipe.name}-export"
        options = section.model_dump()
        upstream = EXPORTABLE[section.stage].upstream_jobs
        fingerprint = content_id(repr(options), *upstream_fingerprints(store, upstream))
        previous = unchanged_run(store, run_id, fingerprint, force)
        if previous is not None and Path(resolve(base, section.to)).exists():
            return previous
        runs = export_runs(store, section.stage, section.run_ids)
        rows = export_reader(store, section.stage, section.status, runs)
        card = export_card(
            section.stage,
            pretty_name=section.name,
            license=section.license,
            provenance=f"Built by curate from recipe {recipe.name!r}, run {', '.join(runs)}.",
            recipe=recipe.model_dump(mode="json"),
        )
        with store.open_run("export", run_id, options, fingerprint) as run:
            result = export_folder(
                rows,
                resolve(base, section.to),
                card,
                max_shard_bytes=section.max_shard_mb * 1_000_000,
                max_shard_rows=section.max_shard_rows,
            )
            run.extra["export"] = {
                "folder": str(result.folder),
                "configs": result.configs,
                "runs": runs,
            }
            exported = sum(s["rows"] for c in result.configs.values() for s in c.values())
            run.count("export", StageCounts(exported, exported))
        if section.push:
            push(resolve(base, section.to), section.push)
        manifest = store.manifest(run_id)
        assert manifest is not None
        return manifest

    return action


def run_recipe(
    recipe: Recipe,
    base: Path,
    force: bool = False,
    on_step: Callable[[str, Step, StepResult | None], None] | None = None,
    on_progress: Callable[[Step, ProgressUpdate], None] | None = None,
) -> list[StepResult]:
    """Run every step; ``on_step("start"|"done", step, result)`` reports each step and
    ``on_progress(step, update)`` the progress within its pipeline (from a thread)."""
    results = []
    for step in steps(recipe, base):
        if on_step:
            on_step("start", step, None)
        started = time.perf_counter()
        progress = None if on_progress is None else (lambda u, step=step: on_progress(step, u))
        manifest = step.action(force, progress)
        result = StepResult(
            step.name,
            step.run_id,
            bool(manifest.get("skipped")),
            time.perf_counter() - started,
            manifest,
        )
        results.append(result)
        if on_step:
            on_step("done", step, result)
    return results


def estimate(recipe: Recipe, base: Path, probe_segments: int = 16) -> dict[str, Any]:
    """What ``curate plan`` reports: the work each step would do and a time estimate.

    Inputs are read and segmented in-process (no language identification) to count what would
    be translated; texts already in the translation memory are subtracted; a short probe of
    the model on this machine gives tokens per second.
    """
    from curate.ingest import ingest_batch
    from curate.io import expand_input, read_input
    from curate.mt.engine import TranslationEngine
    from curate.mt.memory import TranslationMemory

    texts: dict[str, list[tuple[str, str]]] = {"segments": [], "examples": []}
    records = 0
    for item in recipe.inputs:
        path = resolve(base, item.path)
        paired = format_with_target(path, item.format, item.target_file)
        files = [(path, paired)] if item.target_file else expand_input(path, item.format or None)
        options: dict[str, Any] = {"encoding": item.encoding, "on_misaligned": "quarantine"}
        if item.target_file:
            options["target_file"] = resolve(base, item.target_file)
        if item.target_format:
            options["target_format"] = item.target_format
        config = IngestConfig(
            dataset="plan", run_id="plan", kind=item.kind, lang=item.lang, identify_language=False
        )
        batches = (
            batch
            for file, fmt in files
            for batch in read_input(file, fmt, FieldMap(**item.fields), options)
        )
        for batch in batches:
            result = ingest_batch(batch, config)
            records += result.counts.records_in
            for stage in texts:
                if stage in result.tables:
                    table = result.tables[stage].select(["text", "lang"]).to_pylist()
                    texts[stage] += [(r["text"], r["lang"]) for r in table]
    plan: dict[str, Any] = {"records": records, "steps": [s.name for s in steps(recipe, base)]}
    if not recipe.translate:
        return plan
    section = recipe.translate
    model = (
        resolve(base, section.model) if section.model and "/" in section.model else section.model
    )
    config = TranslateConfig.from_dict(section.options)
    engine = TranslationEngine.load(model, device=section.device, download=False, config=config)
    memory = TranslationMemory(resolve(base, recipe.store)) if section.memory else None
    todo: list[str] = []
    total = 0
    for stage in section.stages:
        for target in section.targets:
            by_lang: dict[str, list[str]] = {}
            for text, lang in texts[stage]:
                if lang != target:
                    by_lang.setdefault(lang, []).append(text)
            for lang, items in by_lang.items():
                total += len(items)
                if memory is None:
                    todo += items
                    continue
                src_lang, tgt_lang = engine.languages(lang, target)
                known = memory.lookup(
                    engine.model.model_id,
                    engine.model.version,
                    src_lang.tag,
                    tgt_lang.tag,
                    items,
                    decoding=config.decoding_key(),
                )
                todo += [t for t in items if t not in known]
    tokens = sum(len(pieces) for pieces in engine.tokenizer.encode(todo)) if todo else 0
    probe = todo[:probe_segments] or [t for t, _ in texts["segments"][:probe_segments]]
    rate = 0.0
    if probe:
        lang = (texts["segments"] or texts["examples"])[0][1]
        started = time.perf_counter()
        engine.translate_texts(probe, lang, section.targets[0], config=config)
        seconds = time.perf_counter() - started
        rate = sum(len(p) for p in engine.tokenizer.encode(probe)) / max(seconds, 1e-6)
    plan.update(
        {
            "segments_total": total,
            "segments_to_translate": len(todo),
            "from_memory": total - len(todo),
            "source_tokens_to_translate": tokens,
            "probe_source_tokens_per_s": round(rate, 1),
            "translate_seconds_estimate": round(tokens / rate, 1) if rate else None,
        }
    )
    return plan
