"""The router interface: what a router sees, what it returns, and how cost-aware routers sweep.

The evaluator (``routerbench_core.routing.evaluate``) hands a router labelled train and validation sets
(:class:`LabeledSet`: queries plus their outcomes) and, at test time, bare queries
(:class:`QuerySet`: texts, datasets, keys, embeddings, stored answer texts on request). A
``QuerySet`` holds no reference to any score or cost, so a router cannot peek at test outcomes.

A router returns a :class:`Routing`: the chosen model per query and, for cascades, every model
it called (each call is charged). Cost-aware routers list configurations in :meth:`Router.sweep`
(α values, thresholds, budgets); the evaluator routes once per configuration and each gives one
(cost, accuracy) point.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np

from routerbench_core.schema import ModelSpec

if TYPE_CHECKING:
    from routerbench_core.routing.artefact import RouterState

Setting = Literal["perf", "perf-cost"]

#: ``embed(texts) -> (n, d) float32``, L2-normalised, cached in the store by the evaluator.
EmbedFn = Callable[[Sequence[str]], np.ndarray]
#: ``outputs(model, keys) -> stored answer texts`` (None where missing).
OutputsFn = Callable[[str, Sequence[str]], list[str | None]]


class RouterError(RuntimeError):
    """A router cannot run on this bench/setting; the message says why and what to do."""


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
        with np.errstate(invalid="ignore"):
            return np.nanmean(np.where(np.isnan(self.cost), np.nan, self.cost), axis=0)


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

    def report(self, message: str, fraction: float) -> None:
        """Report training progress (0..1) to the CLI's progress display."""
        if self.progress is not None:
            self.progress(message, fraction)

    def rng(self, salt: str = "") -> np.random.Generator:
        """A generator seeded from the run seed (and a salt), for reproducible training."""
        from routerbench_core.routing.protocol import stable_seed

        return np.random.default_rng(stable_seed(self.seed, salt))


class Router(ABC):
    """Base class of every router. Subclasses set ``settings`` and implement fit/route.

    Parameters come from ``--param key=value`` on the command line and arrive as keyword
    arguments; declare them as constructor keyword arguments with defaults.
    """

    #: Settings this router supports.
    settings: ClassVar[tuple[Setting, ...]] = ("perf",)
    #: Whether the router needs query embeddings (the evaluator computes them once).
    needs_embeddings: ClassVar[bool] = True

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        if params:
            raise RouterError(
                f"{type(self).__name__} got unknown parameter(s): {', '.join(sorted(params))}"
            )
        self.ctx = ctx

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
