"""Built-in baselines: real routers (best single, cheapest, random pick) and the references.

Two kinds, kept apart on purpose:

- **Routers** (:class:`BestSingle`, :class:`Cheapest`, :class:`RandomPick`) learn only from the
  labelled train/valid sets like any plugin router.
- **References** (:class:`RandomReference`, :class:`DatasetOracleReference`,
  :class:`OracleReference`) are *defined* by test outcomes — the oracle is the best model per
  test query — so no router could produce them honestly. Their classes carry only a
  ``reference`` name; the evaluator computes them itself from test outcomes
  (:meth:`routerbench_core.routing.evaluate.Evaluator.references`) and they refuse ``fit``/``route``.
  They are registered as routers only so ``rbench route --router oracle`` and ``rbench list``
  find them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from routerbench_core.plugins.builtin_routers import BASELINE, REFERENCE
from routerbench_core.routing.accuracy import best_index, cheapest_index
from routerbench_core.routing.router import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    Routing,
)

if TYPE_CHECKING:
    from routerbench_core.routing.artefact import RouterState


class _Fixed(Router, capabilities=BASELINE):
    """Routes every query to one model chosen in :meth:`fit`."""

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.model: int | None = None

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        if self.model is None:
            raise RouterError(f"{type(self).__name__}.route called before fit")
        return Routing(choice=np.full(len(queries), self.model, dtype=np.int64))

    def describe(self) -> dict[str, Any]:
        return {"model": None if self.model is None else self.ctx.models[self.model]}

    def save_state(self) -> RouterState:
        from routerbench_core.routing.artefact import RouterState

        if self.model is None:
            raise RouterError(f"{type(self).__name__}: call fit() before save_state()")
        return RouterState(config={"model": self.ctx.models[self.model]})

    def load_state(self, state: RouterState) -> None:
        name = state.value("model")
        if name not in self.ctx.models:
            raise RouterError(f"{type(self).__name__}: saved model {name!r} is not in the pool")
        self.model = self.ctx.models.index(name)


class BestSingle(_Fixed):
    """The model with the best AvgAcc on train + valid, by the evaluator's own rule
    (:func:`routerbench_core.routing.accuracy.best_index`: ties go to the cheaper known cost,
    then the earlier model), so it is the model the ``best-single`` reference reports."""

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        both = train.concat(valid)
        self.model = best_index(both.avg_acc(), both.mean_cost())


class Cheapest(_Fixed):
    """The model with the lowest mean cost per query on train + valid (ties: the more
    accurate, then the earlier model)."""

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        both = train.concat(valid)
        j = cheapest_index(both.mean_cost(), both.avg_acc())
        if j is None:
            raise RouterError("cheapest: no model has a known cost on train/valid")
        self.model = j


class RandomPick(Router, capabilities=BASELINE):
    """A uniform random model per query, drawn from the run seed (a negative control; the
    ``random`` reference reports the exact expectation instead)."""

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        self.n_models = len(train.models)

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        rng = self.ctx.rng("random-pick")
        return Routing(choice=rng.integers(0, len(queries.models), size=len(queries)))

    def save_state(self) -> RouterState:
        from routerbench_core.routing.artefact import RouterState

        return RouterState(config={"seed": self.ctx.seed})  # the draws come from the seed

    def load_state(self, state: RouterState) -> None:
        if int(state.value("seed")) != self.ctx.seed:
            raise RouterError("random-pick: the saved seed differs from the context's")


class Reference(Router, capabilities=REFERENCE):
    """A point the evaluator computes from test outcomes; not a router (see module docstring)."""

    reference: ClassVar[str] = ""

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        raise RouterError(
            f"{self.reference!r} is a reference computed by the evaluator from test outcomes; "
            "it cannot be trained or asked to route (use Evaluator.references)"
        )

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        self.fit(None, None)  # type: ignore[arg-type]
        raise AssertionError("unreachable")


class RandomReference(Reference):
    """Expected accuracy and cost of a uniform random pick."""

    reference: ClassVar[str] = "random"


class DatasetOracleReference(Reference):
    """The best model of each dataset, judged on its test queries (the paper's Max Expert)."""

    reference: ClassVar[str] = "dataset-oracle"


class OracleReference(Reference):
    """The best model per test query (cheapest among ties)."""

    reference: ClassVar[str] = "oracle"


def reference_name(obj: Any) -> str | None:
    """The reference a registered router class stands for, or None for a real router."""
    if isinstance(obj, type) and issubclass(obj, Reference):
        return obj.reference or None
    return None
