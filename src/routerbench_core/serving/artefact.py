"""The router artefact: a versioned directory that holds a fitted router and what was measured.

Layout::

    DIR/artefact.json   format + version, router name and parameters, the pool with prices,
                        the embedder (name, options, cache id), the bench (name, fingerprint),
                        the seed and split it was fitted on, the sweep, the operating points
                        (with validation and test metrics) and the default one
    DIR/state.json      the router's fitted choices (RouterState.config)
    DIR/arrays.npz      the router's arrays and weights (RouterState.arrays), read with
                        allow_pickle=False

Why a directory of JSON + npz: it can be read and diffed by hand, and loading it never runs code
from the file. The router that is served is the one that was measured: ``load_artefact`` builds
the registered router with the saved context and parameters and restores its state; the
conformance kit proves, per router, that decisions are then identical.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from routerbench_core.routing.artefact import RouterState, StateError
from routerbench_core.routing.router import Router, RouterContext, RouterError
from routerbench_core.schema import ModelSpec

if TYPE_CHECKING:
    from routerbench_core.data.matrix import OutcomeMatrix

ARTEFACT_JSON = "artefact.json"
FORMAT = "rbench-router-artefact"
#: Bumped when the layout changes; a newer artefact is refused with an upgrade hint.
FORMAT_VERSION = 1


class ArtefactError(RuntimeError):
    """An artefact cannot be written or read; the message names the file and what to do."""


class EmbedderInfo(BaseModel):
    """How queries were embedded when the router was fitted (the server does the same)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    options: dict[str, Any] = Field(default_factory=dict)
    cache_id: str
    text_view: Literal["query", "full"] = "query"


class BenchInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    fingerprint: str
    n_queries: int
    datasets: list[str]


class PointMetrics(BaseModel):
    """One routing of a split: dataset-averaged accuracy, cost, model shares."""

    model_config = ConfigDict(extra="forbid")

    avg_acc: float | None
    cost: float
    cost_per_query: float
    n_queries: int
    distribution: dict[str, float]


class OperatingPoint(BaseModel):
    """A router configuration (``config``: one of its sweep entries, or None for its default)
    with its metrics on validation (used to choose) and on test (reported, never used)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    config: dict[str, Any] | None
    valid: PointMetrics | None = None
    test: PointMetrics | None = None


class Calibration(BaseModel):
    """What ``--target-share`` / ``--target-cost`` asked for and which point met it."""

    model_config = ConfigDict(extra="forbid")

    target: Literal["share", "cost"]
    value: float
    model: str | None = None  # the model whose share is targeted
    point: str
    achieved_valid: float
    note: str = ""


class ArtefactMeta(BaseModel):
    """``artefact.json``."""

    model_config = ConfigDict(extra="forbid")

    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    rbench_version: str
    created_at: float = Field(default_factory=time.time)
    router: str
    router_class: str
    params: dict[str, Any] = Field(default_factory=dict)
    setting: Literal["perf", "perf-cost"] = "perf"
    seed: int
    fitted_on: str
    models: list[ModelSpec]
    embedder: EmbedderInfo | None = None
    bench: BenchInfo
    sweep: list[dict[str, Any]] = Field(default_factory=list)
    points: list[OperatingPoint] = Field(default_factory=list)
    default_point: str = "default"
    calibration: Calibration | None = None
    fallback_order: list[str] = Field(default_factory=list)
    describe: dict[str, Any] = Field(default_factory=dict)

    @property
    def model_names(self) -> list[str]:
        return [m.name for m in self.models]

    def point(self, name: str) -> OperatingPoint:
        for p in self.points:
            if p.name == name:
                return p
        raise ArtefactError(
            f"artefact has no operating point {name!r}; it has: "
            f"{', '.join(p.name for p in self.points) or 'none'}"
        )

    @property
    def artefact_id(self) -> str:
        """Short id of this artefact (router, bench fingerprint, seed, creation time)."""
        raw = f"{self.router}|{self.bench.fingerprint}|{self.seed}|{self.created_at!r}"
        return hashlib.sha256(raw.encode()).hexdigest()[:12]


def bench_fingerprint(matrix: OutcomeMatrix) -> str:
    """sha256 over what a router learns from: the models, query keys, texts, scores and costs.

    Two stores holding the same bench give the same fingerprint; a re-grade or a new model
    changes it, so an artefact says exactly which outcomes it was fitted on.
    """
    h = hashlib.sha256()
    h.update(json.dumps(list(matrix.models)).encode())
    for key, text in zip(matrix.keys.tolist(), matrix.texts, strict=True):
        h.update(str(key).encode())
        h.update(b"\0")
        h.update(hashlib.sha256(text.encode("utf-8")).digest())
    for arr in (matrix.score, matrix.cost):
        a = np.ascontiguousarray(np.asarray(arr, dtype=np.float64))
        h.update(np.nan_to_num(a, nan=-1.0).tobytes())
        h.update(np.isnan(a).tobytes())
    return h.hexdigest()


def make_router(cls: type[Router], ctx: RouterContext, params: dict[str, Any]) -> Router:
    """Build a router the way the evaluator does (one place to adapt if that changes)."""
    return cls(ctx, **params)


def save_artefact(folder: str | Path, meta: ArtefactMeta, router: Router, *,
                  overwrite: bool = False) -> Path:
    """Write ``router``'s state and ``meta`` into ``folder`` (created; refused if it holds an
    artefact already, unless ``overwrite``)."""
    folder = Path(folder)
    if (folder / ARTEFACT_JSON).exists() and not overwrite:
        raise ArtefactError(f"{folder} already holds an artefact; choose another --save "
                            "folder or pass --overwrite")
    if folder.exists() and not folder.is_dir():
        raise ArtefactError(f"--save {folder}: exists and is not a folder")
    state = router.save_state()  # raises RouterError for a router that cannot be saved
    if not isinstance(state, RouterState):
        raise ArtefactError(f"{type(router).__name__}.save_state() returned "
                            f"{type(state).__name__}, not a RouterState")
    folder.mkdir(parents=True, exist_ok=True)
    state.write(folder)
    (folder / ARTEFACT_JSON).write_text(meta.model_dump_json(indent=1) + "\n", encoding="utf-8")
    return folder


def read_meta(folder: str | Path) -> ArtefactMeta:
    """Read and validate ``artefact.json`` (a clear error for a missing, newer or bad file)."""
    path = Path(folder) / ARTEFACT_JSON
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtefactError(f"{path} not found: {folder} is not a router artefact (write one "
                            "with `rbench train ... --save DIR`)") from None
    except ValueError as exc:
        raise ArtefactError(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise ArtefactError(f"{path}: not an rbench router artefact (format field "
                            f"{raw.get('format') if isinstance(raw, dict) else None!r})")
    version = raw.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ArtefactError(f"{path}: artefact format version {version!r} is newer than this "
                            f"rbench reads ({FORMAT_VERSION}); upgrade rbench")
    try:
        return ArtefactMeta.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ArtefactError(f"{path}: field {where!r}: {first['msg']}") from None


@dataclass
class LoadedArtefact:
    meta: ArtefactMeta
    router: Router
    path: Path

    @property
    def models(self) -> list[str]:
        return self.meta.model_names


def load_artefact(folder: str | Path, host: Any, *, device: str = "cpu") -> LoadedArtefact:
    """Rebuild the saved router through the plugin host and restore its state."""
    folder = Path(folder)
    meta = read_meta(folder)
    cls = host.load("router", meta.router)
    ctx = RouterContext(
        models=meta.model_names, model_specs={m.name: m for m in meta.models},
        setting=meta.setting, seed=meta.seed, device=device, bench=meta.bench.name,
    )
    router = make_router(cls, ctx, dict(meta.params))
    try:
        state = RouterState.read(folder)
        router.load_state(state)
    except StateError as exc:
        raise ArtefactError(f"{folder}: {exc}") from None
    except RouterError:
        raise
    return LoadedArtefact(meta=meta, router=router, path=folder)
