"""FrugalGPT's LLM cascade (Chen, Zaharia and Zou, 2023, "FrugalGPT: how to use large language
models while reducing cost and improving performance").

A cascade is a list of models ordered from cheap to expensive with a threshold for every stage
but the last. A query is sent to the first model; a learned scorer g(query, answer) judges the
answer, and if g ≥ the stage's threshold the answer is returned, else the next model is called.
The last stage's answer is always returned. Every call made is charged (``Routing.called``).

Which models, in which order, and the thresholds are chosen to maximise accuracy under a
budget (mean cost per query) on the training data: the scorer's out-of-fold predictions on
train + validation (k-fold cross-fitting, so thresholds are not tuned on scores the scorer has
memorised). ``sweep()`` lists budgets on a geometric grid between the cheapest and the most
expensive candidate's mean cost; each budget's best cascade is one point of the curve.

The scorer: one logistic model per candidate LLM, on the query embedding concatenated with
hashed word features of the answer text (the paper fine-tunes DistilBERT on query + answer).
When the bench stores no answer texts (``QuerySet.has_outputs()`` is false, or most answers are
missing), the scorer sees the query only — it then predicts "this model will be right on this
query" without reading the answer — and ``describe()`` says so (``scorer_inputs``).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import Field

from rbench_router_frugalgpt.plugin import CAPABILITIES
from routerbench_core import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    Routing,
    ml,
)

#: Behaviour version (bump with a README changelog line when routing decisions change).
VERSION = "1.1"
QUANTILES: tuple[float, ...] = (0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 0.95)
QUERY_ONLY = "query only"
QUERY_ANSWER = "query + answer text"


@dataclass(frozen=True)
class Plan:
    """One cascade: model indices (cheap first) and the thresholds of all stages but the last,
    with its accuracy and mean cost per query on the optimisation data."""

    models: tuple[int, ...]
    thresholds: tuple[float, ...]
    acc: float
    cost: float

    def as_dict(self, names: Sequence[str]) -> dict[str, Any]:
        return {"models": [names[m] for m in self.models],
                "thresholds": [round(t, 6) for t in self.thresholds],
                "fit_acc": round(self.acc, 6), "fit_cost_per_query": self.cost}


class AnswerFeatures:
    """Hashed word uni/bi-gram counts of answer texts (no vocabulary to fit, so no leakage)."""

    def __init__(self, n_features: int) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self.vec = HashingVectorizer(n_features=n_features, ngram_range=(1, 2),
                                     alternate_sign=False, norm="l2")

    def __call__(self, texts: Sequence[str | None]) -> np.ndarray:
        return self.vec.transform([t or "" for t in texts]).toarray().astype(np.float32)


class FrugalGPTRouter(Router, capabilities=CAPABILITIES):
    """LLM cascade with a learned answer scorer and budget-constrained cascade search."""


    class Params(RouterParams):
        max_stages: int = Field(3, ge=1, description="models in a cascade at most")
        max_candidates: int = Field(6, ge=1, description="models considered for the cascade")
        budgets: int = Field(10, ge=2, description="budget points of the sweep")
        budget: float | None = Field(None, gt=0,
            description="USD per query of the default routing; None: chosen on train")
        folds: int = Field(3, ge=2, description="cross-fitting folds of the answer scorers")
        answer_features: int = Field(512, ge=1, description="hashed n-gram features of an answer")
        use_answers: bool = Field(True,
            description="score stored answers (false: query embedding only)")
        c: float = Field(1.0, gt=0, description="inverse L2 strength of the answer scorers")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        self.max_stages = p.max_stages
        self.max_candidates = p.max_candidates
        self.n_budgets = p.budgets
        self.budget = p.budget
        self.folds = p.folds
        self.answer_features = p.answer_features
        self.use_answers = p.use_answers
        self.c = p.c
        self.candidates: list[int] = []
        self.scorers: dict[int, ml.SoftLogistic] = {}
        self.plans: list[Plan] = []
        self._budget_grid: list[float] = []
        self._features: AnswerFeatures | None = None
        self._info: dict[str, Any] = {}

    # -- features and scorers -----------------------------------------------------------------

    def _answers_available(self, data: QuerySet) -> bool:
        if not self.use_answers or not data.has_outputs() or not self.candidates:
            return False
        probe = data.outputs(data.models[self.candidates[0]])
        return sum(a is not None and a != "" for a in probe) >= 0.5 * max(len(probe), 1)

    def _x(self, emb: np.ndarray, answers: Sequence[str | None] | None) -> np.ndarray:
        if self._features is None or answers is None:
            return emb
        return np.hstack([emb, self._features(answers)])

    # -- fitting ------------------------------------------------------------------------------

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        with ml.blas_threads():
            self._fit(train, valid)

    def _fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        if len(train) == 0:
            raise RouterError("frugalgpt: the training split is empty")
        acc = ml.dataset_mean_accuracy(train.score, train.datasets, train.missing)
        acc = np.where(np.isnan(acc), -np.inf, acc)
        if ml.costs_known(train) or self.ctx.setting == "perf-cost":
            mean_cost = ml.model_mean_cost(train)  # perf-cost: an error names a costless model
            self._info["cost_model"] = "mean train cost per call"
        else:
            # perf setting on a bench without (complete) costs: every call counts one unit, so
            # the search trades accuracy against the number of calls and the default cascade
            # is the most accurate one
            mean_cost = np.ones(len(train.models))
            self._info["cost_model"] = "costs unknown: every call counts one unit"
        self.candidates = self._choose_candidates(acc, mean_cost)
        self._mean_cost = mean_cost
        self._acc = acc
        data = train.concat(valid)
        answers = self._answers_available(data)
        self._features = AnswerFeatures(self.answer_features) if answers else None
        self._info["scorer_inputs"] = QUERY_ANSWER if answers else QUERY_ONLY
        if not answers:
            self._info["note"] = (
                "this bench has no stored answer texts: the scorer sees the query only"
                if self.use_answers else "use_answers=false: the scorer sees the query only"
            )
        emb = data.embeddings()
        score = data.score
        cost = (np.where(np.isnan(data.cost), mean_cost[None, :], data.cost)
                if self._info["cost_model"].startswith("mean") else np.ones_like(data.score))
        n = len(data)
        # out-of-fold scorer predictions for every candidate (cross-fitting)
        rng = self.ctx.rng("frugalgpt-folds")
        fold = rng.permutation(np.arange(n) % self.folds)
        oof = np.zeros((n, len(score[0]))) if n else np.zeros((0, 0))
        seed = int(self.ctx.rng("frugalgpt").integers(2**31))
        for step, m in enumerate(self.candidates):
            x = self._x(emb, data.outputs(data.models[m]) if answers else None)
            y = score[:, m]
            for f in range(self.folds):
                tr, te = fold != f, fold == f
                labelled = tr & ~np.isnan(y)
                if not labelled.any() or not te.any():
                    continue
                model = ml.fit_soft_logistic(x[labelled], y[labelled], c=self.c, seed=seed)
                oof[te, m] = model.predict(x[te])
            labelled = ~np.isnan(y)
            self.scorers[m] = ml.fit_soft_logistic(x[labelled], y[labelled], c=self.c, seed=seed)
            self.ctx.report("frugalgpt: scorers", (step + 1) / len(self.candidates))
        filled = np.where(np.isnan(score), 0.0, score)  # a missing answer is no usable answer
        self.plans = self._search(oof, filled, cost, data.datasets)
        self._budget_grid = budget_grid([p.cost for p in self.plans], self.n_budgets)
        self._info["optimised_on"] = f"train+validation, {self.folds}-fold out-of-fold scores"

    def _choose_candidates(self, acc: np.ndarray, mean_cost: np.ndarray) -> list[int]:
        """All models if they are few; else the train Pareto front (cost, AvgAcc) thinned to
        ``max_candidates`` (cheapest and best kept), topped up with the most accurate others.

        A cascade can profit from a model off the front (an expert on some queries), so the
        front alone is not the limit when there is room.
        """
        n = len(acc)
        if n <= self.max_candidates:
            return list(range(n))
        front = ml.pareto_models(acc, mean_cost)
        if len(front) > self.max_candidates:
            pick = np.unique(np.round(np.linspace(0, len(front) - 1, self.max_candidates)))
            return [front[int(i)] for i in pick]
        rest = [int(i) for i in np.argsort(-acc, kind="stable") if int(i) not in front]
        return front + rest[: self.max_candidates - len(front)]

    def _search(self, g: np.ndarray, score: np.ndarray, cost: np.ndarray, datasets: np.ndarray
                ) -> list[Plan]:
        """Every cascade of up to ``max_stages`` candidates (cheap first) × threshold grid,
        evaluated on the optimisation data; returns the Pareto-optimal ones."""
        # cheap first; among equally cheap models the weaker first (train AvgAcc)
        order = sorted(self.candidates, key=lambda m: (self._mean_cost[m], self._acc[m]))
        ds_index = {d: np.flatnonzero(datasets == d) for d in dict.fromkeys(datasets.tolist())}
        plans: list[Plan] = []

        def avg_acc(per_query: np.ndarray) -> float:
            return float(np.mean([per_query[rows].mean() for rows in ds_index.values()]))

        for length in range(1, self.max_stages + 1):
            for cascade in itertools.combinations(order, length):
                grids = [np.unique(np.quantile(g[:, m], QUANTILES)) for m in cascade[:-1]]
                for thresholds in itertools.product(*grids):
                    pending = np.ones(len(score), dtype=bool)
                    got = np.zeros(len(score))
                    paid = np.zeros(len(score))
                    for stage, m in enumerate(cascade):
                        paid += np.where(pending, cost[:, m], 0.0)
                        stop = pending if stage == length - 1 else pending & (
                            g[:, m] >= thresholds[stage])
                        got = np.where(stop, score[:, m], got)
                        pending &= ~stop
                    plans.append(Plan(tuple(cascade), tuple(float(t) for t in thresholds),
                                      avg_acc(got), float(paid.mean())))
        plans.sort(key=lambda p: (p.cost, -p.acc))
        front: list[Plan] = []
        for p in plans:
            if not front or p.acc > front[-1].acc + 1e-12:
                front.append(p)
        return front

    def plan_for(self, budget: float | None) -> Plan:
        """The most accurate cascade whose mean cost fits ``budget`` (None: no limit)."""
        if not self.plans:
            raise RouterError("frugalgpt: call fit() before route()")
        if budget is None:
            return self.plans[-1]
        fitting = [p for p in self.plans if p.cost <= budget * (1 + 1e-9)]
        return fitting[-1] if fitting else self.plans[0]

    # -- routing ------------------------------------------------------------------------------

    def sweep(self) -> list[dict[str, Any]]:
        return [{"budget": b} for b in self._budget_grid]

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        budget = (config or {}).get("budget", self.budget)
        plan = self.plan_for(None if budget is None else float(budget))
        n, m = len(queries), len(queries.models)
        choice = np.full(n, plan.models[-1], dtype=np.int64)
        called = np.zeros((n, m), dtype=bool)
        if n == 0:
            return Routing(choice=choice, called=called)
        emb = queries.embeddings()
        pending = np.arange(n)
        with ml.blas_threads():
            for stage, model in enumerate(plan.models):
                called[pending, model] = True
                if stage == len(plan.models) - 1:
                    choice[pending] = model
                    break
                answers = None
                if self._features is not None:  # read answers only of the calls made
                    answers = ml.subset(queries, pending).outputs(queries.models[model])
                g = self.scorers[model].predict(self._x(emb[pending], answers))
                accept = g >= plan.thresholds[stage]
                choice[pending[accept]] = model
                pending = pending[~accept]
                if len(pending) == 0:
                    break
        return Routing(choice=choice, called=called,
                       info={"cascade": plan.as_dict(queries.models), "budget": budget})

    def describe(self) -> dict[str, Any]:
        names = self.ctx.models
        return {
            "version": VERSION, "max_stages": self.max_stages,
            "candidates": [names[m] for m in self.candidates],
            "default_cascade": self.plan_for(self.budget).as_dict(names) if self.plans else None,
            "n_pareto_cascades": len(self.plans), "folds": self.folds, **self._info,
        }

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> Any:
        """The candidate models, each stage's scorer (logistic coefficients), the Pareto
        cascades and the budget grid."""
        from routerbench_core import RouterState, logistic_arrays

        if not self.plans:
            raise RouterError("frugalgpt: call fit() before save_state()")
        arrays: dict[str, np.ndarray] = {"mean_cost": self._mean_cost, "acc": self._acc}
        for m, scorer in self.scorers.items():
            arrays.update(logistic_arrays(scorer, prefix=f"scorer{m}."))
        plans = [{"models": list(p.models), "thresholds": list(p.thresholds), "acc": p.acc,
                  "cost": p.cost} for p in self.plans]
        return RouterState(
            config={"version": VERSION, "candidates": self.candidates,
                    "scorers": sorted(self.scorers), "plans": plans,
                    "budget_grid": self._budget_grid, "answer_features": self._features is not None,
                    "info": self._info},
            arrays=arrays,
        )

    def load_state(self, state: Any) -> None:
        from routerbench_core import logistic_from_state

        self.candidates = [int(m) for m in state.value("candidates")]
        self.scorers = {int(m): logistic_from_state(state, prefix=f"scorer{int(m)}.")
                        for m in state.value("scorers")}
        self.plans = [Plan(models=tuple(int(x) for x in p["models"]),
                           thresholds=tuple(float(t) for t in p["thresholds"]),
                           acc=float(p["acc"]), cost=float(p["cost"]))
                      for p in state.value("plans")]
        self._budget_grid = [float(b) for b in state.value("budget_grid")]
        self._features = (AnswerFeatures(self.answer_features)
                          if state.value("answer_features") else None)
        self._info = dict(state.config.get("info") or {})
        self._mean_cost = state.array("mean_cost", ndim=1)
        self._acc = state.array("acc", ndim=1)


def budget_grid(plan_costs: Sequence[float], n: int) -> list[float]:
    """``n`` budgets, geometric from the cheapest plan's cost to the dearest's.

    Free plans (cost 0: a bench without costs, or free local models) get a budget of 0 and the
    rest of the grid spans the positive costs.
    """
    costs = np.asarray(plan_costs, dtype=np.float64)
    positive = costs[costs > 0]
    if len(positive) == 0:
        return [0.0]
    lo, hi = float(positive.min()), float(positive.max())
    head = [0.0] if (costs <= 0).any() else []
    k = max(1, n - len(head))
    grid = np.geomspace(lo, hi, k) if hi > lo else np.array([lo])
    return head + [float(b) for b in grid]
