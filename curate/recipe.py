"""Recipes: one YAML file naming inputs, languages, model, aligner, projection, detectors,
builders, mixing and export. Validated in full before anything runs.

The schema is a tree of pydantic models that forbid unknown keys, so a misspelt or misplaced
option is an error naming its path (``translate.beam_sise: unknown key``). Sections that hold a
stage's own options (``translate.options``, ``build.parallel``, ``detect.thresholds``, ...) are
checked again by that stage's typed config before the run starts. Paths in a recipe are
relative to the recipe's folder and may not leave it unless ``allow_absolute_paths`` is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from curate.align.chunks import CHUNK_PAIRS
from curate.errors import UserError

T, R = TypeVar("T"), TypeVar("R")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")


def _validated(check: Callable[[T], R], value: T) -> R:
    """A library check's one-line UserError as the ValueError pydantic reports under its key."""
    try:
        return check(value)
    except UserError as exc:
        raise ValueError(f"{exc} ({exc.hint})" if exc.hint else str(exc)) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class InputSection(_Strict):
    path: str
    dataset: str | None = None
    format: str | None = None
    kind: Literal["auto", "documents", "examples"] = "auto"
    lang: str | None = None
    target_lang: str | None = None
    target_file: str | None = None
    #: conll or text (default: from the target file's extension)
    target_format: Literal["conll", "text"] | None = None
    #: who wrote the target side: reference (a human; also "human") or system (machine output)
    origin: Literal["reference", "human", "system"] = "reference"
    #: the system that wrote a system output
    system: str | None = None
    fields: dict[str, str] = Field(default_factory=dict)
    split: str | None = None
    encoding: str | None = None  # of the file's text (default UTF-8)
    on_misaligned: Literal["error", "quarantine"] = "error"  # bitext of unequal line counts

    @field_validator("lang", "target_lang")
    @classmethod
    def _language_code(cls, value: str | None) -> str | None:
        from curate.languages import store_language

        return (
            None if value is None else _validated(lambda code: store_language(code, "lang"), value)
        )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        from curate.io.encoding import check_encoding_name

        return None if value is None else _validated(check_encoding_name, value)

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        known = {"text", "id", "lang", "spans", "text_b", "task", "target"}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown field mapping {unknown}; known: {sorted(known)}")
        return value


class TranslateSection(_Strict):
    model: str | None = None
    targets: list[str]
    stages: list[Literal["segments", "examples"]] = Field(default_factory=lambda: ["segments"])
    device: Literal["auto", "cpu", "cuda"] = "auto"
    memory: bool = True
    batch_tokens: int = Field(16384, ge=16)
    options: dict[str, Any] = Field(default_factory=dict)


class AlignSection(_Strict):
    method: str = "eflomal"
    options: dict[str, Any] = Field(default_factory=dict)
    extra_bitext: list[str] = Field(default_factory=list)
    chunk_pairs: int = Field(CHUNK_PAIRS, ge=1)  # sentence pairs aligned together at most


class ProjectSection(_Strict):
    method: Literal["alignment", "marker"] = "alignment"
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _known_options(cls, value: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        """The method's own options: unknown keys, wrong types and refused values."""
        from curate.project.options import projection_config

        method = info.data.get("method")
        if method is not None:
            _validated(lambda options: projection_config(method, options), value)
        return value


class InterleavedSection(_Strict):
    pair_by: Literal["origin", "link", "retrieval"] = "origin"
    link_field: str = "link"
    pivot: str = "en"
    method: Literal["tfidf", "minhash"] = "tfidf"
    threshold: float = 0.3
    options: dict[str, Any] = Field(default_factory=dict)


class BuildSection(_Strict):
    tokenizer: str | None = None
    parallel: dict[str, Any] | None = None
    interleaved: InterleavedSection | None = None


class ExportSection(_Strict):
    to: str
    stage: Literal["training_samples", "projections"] = "training_samples"
    status: list[Literal["complete", "partial"]] = Field(
        default_factory=lambda: ["complete"], min_length=1
    )  # projections only
    name: str = "curate dataset"
    license: str = "other"
    push: str | None = None
    max_shard_mb: int = Field(256, ge=1)
    max_shard_rows: int = Field(100_000, ge=1)
    #: runs to export (default: the latest run of each job that wrote the stage)
    run_ids: list[str] = Field(default_factory=list)


class RunnerSection(_Strict):
    workers: int = Field(1, ge=1)
    beam_args: list[str] = Field(default_factory=list)


class Recipe(_Strict):
    name: str
    store: str = "store"
    allow_absolute_paths: bool = False
    inputs: list[InputSection] = Field(min_length=1)
    translate: TranslateSection | None = None
    align: AlignSection | None = None
    project: ProjectSection | None = None
    detect: dict[str, Any] | None = None  # curate.artifacts.config.DetectConfig options
    build: BuildSection | None = None
    mix: dict[str, Any] | None = None
    export: ExportSection | None = None
    runner: RunnerSection = Field(default_factory=RunnerSection)

    @field_validator("name")
    @classmethod
    def _safe_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use letters, digits, '.', '_' or '-' (it names runs and files)")
        return value


def load_recipe(path: str | Path) -> tuple[Recipe, Path]:
    """Parse and validate a recipe; returns it with the folder its relative paths start from."""
    path = Path(path)
    if not path.exists():
        raise UserError(f"recipe not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise UserError(f"{path}: a recipe is a mapping of sections")
    try:
        recipe = Recipe.model_validate(data)
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        raise UserError(
            f"{path}: {len(problems)} problem(s): " + "; ".join(problems),
            hint="see datasets/recipes/ for complete examples",
        ) from None
    base = path.resolve().parent
    _check_paths(recipe, base)
    _check_stage_options(recipe, path)
    return recipe, base


def _check_stage_options(recipe: Recipe, path: Path) -> None:
    """Each stage's own options, checked by that stage's typed config (unknown keys refused)."""
    from curate.artifacts.config import DetectConfig
    from curate.mt.engine import TranslateConfig
    from curate.trainsets.interleave import InterleaveConfig
    from curate.trainsets.mixing import MixConfig
    from curate.trainsets.parallel import ParallelConfig

    checks: list[tuple[str, Any]] = []
    if recipe.translate:
        checks.append(
            ("translate.options", lambda: TranslateConfig.from_dict(recipe.translate.options))
        )
    if recipe.detect is not None:
        checks.append(("detect", lambda: DetectConfig.from_dict(recipe.detect)))
    if recipe.build and recipe.build.parallel is not None:
        checks.append(("build.parallel", lambda: ParallelConfig.from_dict(recipe.build.parallel)))
    if recipe.build and recipe.build.interleaved is not None:
        options = recipe.build.interleaved.options
        checks.append(("build.interleaved.options", lambda: InterleaveConfig.from_dict(options)))
    if recipe.mix is not None:
        checks.append(("mix", lambda: MixConfig.from_dict(recipe.mix)))
    for where, check in checks:
        try:
            check()
        except UserError as exc:
            raise UserError(f"{path}: {where}: {exc}", hint=exc.hint) from None


def _describe(error: Any) -> str:
    where = ".".join(str(p) for p in error["loc"]) or "(top level)"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    if error["type"] == "missing":
        return f"{where}: required key is missing"
    return f"{where}: {error['msg']}"


def recipe_paths(recipe: Recipe) -> list[tuple[str, str]]:
    """``(key path, value)`` of every file or folder the recipe names."""
    found = [("store", recipe.store)]
    for i, item in enumerate(recipe.inputs):
        found.append((f"inputs.{i}.path", item.path))
        if item.target_file:
            found.append((f"inputs.{i}.target_file", item.target_file))
    if recipe.translate and recipe.translate.model and _looks_like_path(recipe.translate.model):
        found.append(("translate.model", recipe.translate.model))
    if recipe.align:
        found += [(f"align.extra_bitext.{i}", p) for i, p in enumerate(recipe.align.extra_bitext)]
    if recipe.build and recipe.build.tokenizer:
        found.append(("build.tokenizer", recipe.build.tokenizer))
    if recipe.export:
        found.append(("export.to", recipe.export.to))
    return found


def _looks_like_path(value: str) -> bool:
    return "/" in value or value.startswith(".")


def _check_paths(recipe: Recipe, base: Path) -> None:
    for key, value in recipe_paths(recipe):
        if recipe.allow_absolute_paths:
            continue
        if Path(value).is_absolute():
            raise UserError(
                f"{key}: absolute path {value!r} is not allowed",
                hint="use a path relative to the recipe, or set allow_absolute_paths: true",
            )
        resolved = (base / value).resolve()
        if not resolved.is_relative_to(base) and not resolved.is_relative_to(Path.cwd().resolve()):
            raise UserError(
                f"{key}: {value!r} leaves the recipe's folder and the working directory",
                hint="set allow_absolute_paths: true to allow it",
            )


def resolve(base: Path, value: str) -> str:
    """A recipe path as an absolute, normalised path (relative paths start at the recipe); a URI
    (``s3://bucket/prefix``, a store on object storage) stays as it is."""
    if "://" in value:
        return value
    return os.path.normpath(value if Path(value).is_absolute() else base / value)
