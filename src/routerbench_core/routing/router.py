"""The router interface: what a router sees, what it returns, and how cost-aware routers sweep.

The evaluator (``routerbench_core.routing.evaluate``) hands a router labelled train and validation sets
(:class:`LabeledSet`: queries plus their outcomes) and, at test time, bare queries
(:class:`QuerySet`: texts, datasets, keys, embeddings, stored answer texts on request). A
``QuerySet`` holds no reference to any score or cost, and its two callables (embeddings by
text, answers by key) hold precomputed data and the embedder only — no store, evaluator or
outcome matrix — so a router cannot reach test outcomes by walking what it is handed.

A router returns a :class:`Routing`: the chosen model per query and, for cascades, every model
it called (each call is charged). Cost-aware routers list configurations in :meth:`Router.sweep`
(α values, thresholds, budgets); the evaluator routes once per configuration and each gives one
(cost, accuracy) point.
"""

from __future__ import annotations

import types
import typing
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from routerbench_core.schema import ModelSpec
from routerbench_core.words import did_you_mean, parse_flag

if TYPE_CHECKING:
    from routerbench_core.routing.artefact import RouterState

Setting = Literal["perf", "perf-cost"]

#: ``embed(texts) -> (n, d) float32``, L2-normalised, cached in the store by the evaluator.
EmbedFn = Callable[[Sequence[str]], np.ndarray]
#: ``outputs(model, keys) -> stored answer texts`` (None where missing).
OutputsFn = Callable[[str, Sequence[str]], list[str | None]]


class RouterError(RuntimeError):
    """A router cannot run on this bench/setting; the message says why and what to do."""


# -- parameters ---------------------------------------------------------------------------


class RouterParams(BaseModel):
    """Base of a router's typed parameters (``--param ROUTER.KEY=VALUE``), as llm's ``Options``.

    A router declares ``class Params(RouterParams)`` with typed fields, constraints and
    descriptions (``k: int = Field(10, ge=1, description="neighbours")``). The core validates
    and coerces the command line's values through it before the router is built, so a wrong
    value fails with the router, the parameter, the value and the expected type, and an
    unknown key with the parameters that exist. Values arrive as YAML scalars (``5``, ``0.5``,
    ``true``, ``[1, 2]``) and are coerced (``"5"`` → 5); booleans take true/false, 1/0, yes/no,
    on/off.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _flags(cls, value: Any, info: ValidationInfo) -> Any:
        """Booleans follow rbench's one rule (:func:`routerbench_core.words.parse_flag`)."""
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and field.annotation is bool and not isinstance(value, bool):
            return parse_flag(value, "a flag")  # a ValueError: reported with router and key
        return value

    @classmethod
    def parse(cls, values: Mapping[str, Any], router: str) -> RouterParams:
        """Validated parameters, or a :class:`RouterError` naming ``router``, each bad key, its
        value and the type it should have."""
        try:
            return cls(**dict(values))
        except ValidationError as exc:
            raise RouterError(_params_error(cls, exc, router, values)) from None

    @classmethod
    def describe_fields(cls) -> list[dict[str, Any]]:
        """One row per parameter (name, type, default, description), for docs and listings."""
        return [
            {"name": name, "type": type_name(f.annotation), "default": f.get_default(),
             "description": f.description or ""}
            for name, f in cls.model_fields.items()
        ]


def type_name(annotation: Any) -> str:
    """A short readable name of a parameter's type (``int``, ``float or None``, ``list of int``)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin in (list, tuple, Sequence):
        args = typing.get_args(annotation)
        return f"list of {type_name(args[0])}" if args else "list"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _params_error(cls: type[RouterParams], exc: ValidationError, router: str,
                  values: Mapping[str, Any]) -> str:
    fields = cls.model_fields
    lines = []
    for err in exc.errors():
        key = str(err["loc"][0]) if err["loc"] else ""
        if err["type"] == "extra_forbidden":
            hint = did_you_mean(key, list(fields))
            known = ", ".join(fields) or "none"
            lines.append(f"router {router!r} has no parameter {key!r}.{hint} Its parameters: {known}")
            continue
        expected = type_name(fields[key].annotation) if key in fields else "?"
        lines.append(
            f"router {router!r}: parameter {key}={values.get(key)!r} is invalid: {err['msg']} "
            f"(expected {expected})"
        )
    return "; ".join(lines)


T = TypeVar("T")


def _as_list(value: Any) -> Any:
    if value is None or isinstance(value, list | tuple):
        return value
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [value]


#: A parameter that takes one value or a grid to choose from on validation: ``k=30``,
#: ``k=10,20,30`` or ``k=[10, 20]`` all give a list.
Grid = Annotated[list[T], BeforeValidator(_as_list)]


@dataclass(frozen=True, eq=False)
class QuerySet:
    """Queries a router must route: no outcomes in here."""

    keys: np.ndarray
    datasets: np.ndarray
    texts: list[str]
    models: list[str]
    _embed: EmbedFn | None = field(default=None, repr=False)
    _outputs: OutputsFn | None = field(default=None, repr=False)
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def __len__(self) -> int:
        return len(self.keys)

    def embeddings(self) -> np.ndarray:
        """(n, d) float32 L2-normalised embeddings of :attr:`texts` (computed once, cached)."""
        if "emb" not in self._cache:
            if self._embed is None:
                raise RouterError("no embedder is configured for this run (use --embedder)")
            emb = np.asarray(self._embed(self.texts), dtype=np.float32)
            self._cache["emb"] = emb
        return self._cache["emb"]

    def embed_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Embed other texts (model descriptions, task names) in the same space as the queries,
        through the run's cached embedder; (len(texts), d) float32."""
        if self._embed is None:
            raise RouterError("no embedder is configured for this run (use --embedder)")
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.asarray(self._embed(list(texts)), dtype=np.float32)

    def outputs(self, model: str) -> list[str | None]:
        """Stored answer texts of ``model`` for these queries, as a cascade would receive them.

        Reading an answer means the model was called: a router that reads it must mark the
        call in :attr:`Routing.called` so it is charged.
        """
        if self._outputs is None:
            raise RouterError("this bench has no stored answer texts")
        return self._outputs(model, list(self.keys))

    def has_outputs(self) -> bool:
        return self._outputs is not None


@dataclass(frozen=True, eq=False)
class LabeledSet(QuerySet):
    """Train or validation queries with their outcomes (``score``/``cost``: n × models, NaN =
    missing)."""

    score: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    cost: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    prompt_tokens: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    completion_tokens: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    #: The run's rule for a missing score (``wrong``: counts 0; ``skip``: left out), the one
    #: the evaluator scores test with; :meth:`avg_acc` and the ml helpers apply it.
    missing: str = "wrong"

    def avg_acc(self) -> np.ndarray:
        """Each model's AvgAcc on this set, by the run's missing-score rule
        (:func:`routerbench_core.routing.accuracy.avg_acc`)."""
        from routerbench_core.routing.accuracy import avg_acc

        return avg_acc(self.score, self.datasets, self.missing)  # type: ignore[arg-type]

    def concat(self, other: LabeledSet) -> LabeledSet:
        """These rows followed by ``other``'s: train + valid as one set, e.g. to refit once the
        hyper-parameters are chosen. Outcomes and tokens are stacked (an array one side lacks
        is NaN there); embeddings come along (computed now if an embedder is configured)."""
        if len(other) == 0:
            return self
        if len(self) == 0:
            return other
        m = len(self.models)

        def stack(a: np.ndarray, b: np.ndarray) -> np.ndarray:
            a = a if a.shape == (len(self), m) else np.full((len(self), m), np.nan)
            b = b if b.shape == (len(other), m) else np.full((len(other), m), np.nan)
            return np.vstack([a, b])

        cache: dict[str, Any] = {}
        if ("emb" in self._cache and "emb" in other._cache) or self._embed is not None:
            cache["emb"] = np.vstack([self.embeddings(), other.embeddings()])
        return LabeledSet(
            keys=np.concatenate([self.keys, other.keys]),
            datasets=np.concatenate([self.datasets, other.datasets]),
            texts=list(self.texts) + list(other.texts), models=self.models,
            _embed=self._embed, _outputs=self._outputs, _cache=cache,
            score=stack(self.score, other.score), cost=stack(self.cost, other.cost),
            prompt_tokens=stack(self.prompt_tokens, other.prompt_tokens),
            completion_tokens=stack(self.completion_tokens, other.completion_tokens),
            missing=self.missing,
        )

    def queries(self) -> QuerySet:
        """The same queries with the outcomes stripped (for routing a validation set)."""
        return QuerySet(
            keys=self.keys, datasets=self.datasets, texts=self.texts, models=self.models,
            _embed=self._embed, _outputs=self._outputs, _cache=self._cache,
        )

    def filled_score(self, fill: float = 0.0) -> np.ndarray:
        """Scores with missing cells replaced (for learners that cannot take NaN)."""
        return np.where(np.isnan(self.score), fill, self.score)

    def mean_cost(self) -> np.ndarray:
        """Per-model mean cost per query over the known cells (NaN where none known)."""
        from routerbench_core.routing.accuracy import mean_cost

        if self.cost.shape != (len(self), len(self.models)):
            return np.full(len(self.models), np.nan)
        return mean_cost(self.cost)


@dataclass
class Routing:
    """A router's decision for a :class:`QuerySet`.

    ``choice[i]`` is the index (into ``models``) of the model whose answer query ``i`` gets.
    ``called`` (n × models, bool) marks every model called for query ``i``; if omitted, only the
    chosen one. The evaluator charges the cost of every call and scores the chosen answer.

    Routers whose answers come from outside the pool (e.g. a commercial router queried online)
    give ``score``/``cost`` directly, with ``external_model`` naming what answered.
    """

    choice: np.ndarray
    called: np.ndarray | None = None
    score: np.ndarray | None = None
    cost: np.ndarray | None = None
    external_model: list[str] | None = None
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class RouterContext:
    """What the evaluator tells a router about the run."""

    models: list[str]
    model_specs: dict[str, ModelSpec]
    setting: Setting = "perf"
    seed: int = 42
    device: str = "cpu"
    bench: str = ""
    progress: Callable[[str, float], None] | None = None
    workdir: str | None = None
    #: The run's missing-score rule (see :mod:`routerbench_core.routing.accuracy`).
    missing: str = "wrong"

    def report(self, message: str, fraction: float) -> None:
        """Report training progress (0..1) to the CLI's progress display."""
        if self.progress is not None:
            self.progress(message, fraction)

    def rng(self, salt: str = "") -> np.random.Generator:
        """A generator seeded from the run seed (and a salt), for reproducible training."""
        from routerbench_core.routing.protocol import stable_seed

        return np.random.default_rng(stable_seed(self.seed, salt))


class Router(ABC):
    """Base class of every router. Subclasses implement fit/route and declare their parameters.

    Parameters come from ``--param key=value`` on the command line and arrive as keyword
    arguments; declare them once, as a nested ``class Params(RouterParams)``; the validated
    values are ``self.params``. The router's settings and whether it needs embeddings are
    written once, in its ``plugin.py`` capabilities, and read from there::

        class KnnRouter(Router, capabilities=CAPABILITIES):   # from .plugin import CAPABILITIES
            class Params(RouterParams):
                k: int | None = Field(None, ge=1, description="neighbours (None: chosen on valid)")
    """

    #: Settings this router supports (from ``capabilities["settings"]``).
    settings: ClassVar[tuple[Setting, ...]] = ("perf",)
    #: Whether the router needs query embeddings (``capabilities["embeddings"]``, default true).
    needs_embeddings: ClassVar[bool] = True
    #: Whether the router reads stored answer texts (``capabilities["reads_answers"]``): only
    #: then does the evaluator load them and hand them over (``QuerySet.outputs``).
    reads_answers: ClassVar[bool] = False
    #: The router's parameters; the base accepts none.
    Params: ClassVar[type[RouterParams]] = RouterParams

    def __init_subclass__(cls, capabilities: Mapping[str, Any] | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if capabilities is not None:
            if "settings" in capabilities:
                cls.settings = tuple(capabilities["settings"])
            cls.needs_embeddings = bool(capabilities.get("embeddings", True))
            cls.reads_answers = bool(capabilities.get("reads_answers", False))

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        self.params = type(self).validate_params(params)
        self.ctx = ctx

    @classmethod
    def validate_params(cls, params: Mapping[str, Any], name: str | None = None) -> Any:
        """``params`` validated by :attr:`Params` (a :class:`RouterError` naming the router,
        the parameter, the value and the expected type otherwise)."""
        return cls.Params.parse(params, name or cls.__name__)

    @abstractmethod
    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        """Learn from train; calibrate and choose defaults on valid (never on test)."""

    @abstractmethod
    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        """Route ``queries``. ``config`` is one of :meth:`sweep`'s entries, or None for the
        router's own default (the one used in the performance setting)."""

    def sweep(self) -> list[dict[str, Any]]:
        """Configurations that trace the cost–accuracy curve (one point each)."""
        return [{}]

    def describe(self) -> dict[str, Any]:
        """Hyper-parameters and fitted choices worth reporting."""
        return {}

    # -- artefacts (``rbench train`` / ``rbench serve``) ---------------------------------------

    def save_state(self) -> RouterState:
        """The fitted router as JSON config + arrays (see :mod:`routerbench_core.routing.artefact`).

        A router that cannot be saved keeps this default, which says so.
        """
        raise RouterError(
            f"{type(self).__name__} cannot be saved as an artefact: it implements no "
            "save_state()/load_state() (see docs/serving.md, 'Saving a third-party router')"
        )

    def load_state(self, state: RouterState) -> None:
        """Restore what :meth:`save_state` wrote, on a router built with the same context and
        parameters; routing must then decide exactly as before."""
        raise RouterError(
            f"{type(self).__name__} cannot be loaded from an artefact: it implements no "
            "load_state()"
        )
