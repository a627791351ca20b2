"""The router conformance kit, run on a real embedding router and on the built-in baselines."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

from routerbench_core.routing.artefact import RouterState
from routerbench_core.routing.baselines import RandomPick
from routerbench_core.routing.router import LabeledSet, QuerySet, Router, RouterContext, Routing
from routerbench_core.testing.routers import RouterConformance, conformance_bench
from routerbench_core.testing.synthetic import make_content_bench


class NearestCentroid(Router):
    """A minimal real embedding router: per model, the centroid of train queries it got right;
    cost-aware sweep trades accuracy for a cost penalty."""

    settings: ClassVar[tuple[str, ...]] = ("perf", "perf-cost")

    def __init__(self, ctx: RouterContext, penalty: float = 0.0, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.penalty = float(penalty)

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        emb = train.embeddings()
        s = train.filled_score()
        self.centroids = (s.T @ emb) / np.maximum(s.sum(axis=0)[:, None], 1)
        self.cost = np.nan_to_num(train.mean_cost())

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        lam = (config or {}).get("penalty", self.penalty)
        sims = queries.embeddings() @ self.centroids.T
        return Routing(choice=np.argmax(sims - lam * self.cost / self.cost.max(), axis=1))

    def sweep(self) -> list[dict[str, Any]]:
        return [{"penalty": p} for p in (0.0, 0.1, 1.0)]

    def save_state(self) -> RouterState:
        return RouterState(arrays={"centroids": self.centroids, "cost": self.cost})

    def load_state(self, state: RouterState) -> None:
        self.centroids = state.array("centroids", ndim=2)
        self.cost = state.array("cost", ndim=1)


class TestNearestCentroidConformance(RouterConformance):
    def make_router(self, ctx: RouterContext, **params: Any) -> Router:
        return NearestCentroid(ctx, **{**self.router_params, **params})


class TestBestSingleConformance(RouterConformance):
    router_name = "best-single"
    min_gain_over_random = -1.0  # a single model cannot read the text
    min_gain_over_dataset_oracle = None


class TestCheapestConformance(RouterConformance):
    router_name = "cheapest"
    min_gain_over_random = -1.0
    min_gain_over_dataset_oracle = None


def test_kit_catches_a_router_that_does_not_beat_random():
    class Kit(RouterConformance):
        def make_router(self, ctx: RouterContext, **params: Any) -> Router:
            return RandomPick(ctx, **params)

    with pytest.raises(AssertionError, match="does not beat random"):
        Kit().test_beats_random_on_synthetic_bench()


class DatasetMajority(Router):
    """Per dataset, the model best on train: what a router that ignores the query text can do
    at its best."""

    settings: ClassVar[tuple[str, ...]] = ("perf",)
    needs_embeddings: ClassVar[bool] = False

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        s = train.filled_score()
        self.best = {d: int(np.argmax(s[train.datasets == d].mean(axis=0)))
                     for d in set(train.datasets.tolist())}

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        return Routing(choice=np.array([self.best.get(d, 0) for d in queries.datasets]))


def test_kit_catches_a_router_that_routes_by_dataset_only():
    class Kit(RouterConformance):
        def make_router(self, ctx: RouterContext, **params: Any) -> Router:
            return DatasetMajority(ctx, **params)

    with pytest.raises(AssertionError, match="does not beat the dataset oracle"):
        Kit().test_routes_by_content_not_only_by_dataset()


def test_content_bench_rewards_reading_the_query_only():
    b = make_content_bench(seed=7)
    m = b.matrix
    rows = np.arange(m.n_queries)
    per_dataset_best = max(np.mean(m.score[m.datasets == d], axis=0).max()
                           for d in ("syn-a", "syn-b"))
    assert per_dataset_best < 0.7  # the generalist, best of each dataset
    assert np.mean(m.score[rows, b.expert]) > 0.9  # each sub-topic's expert
    assert {int(np.argmax(np.mean(m.score[m.datasets == d], axis=0)))
            for d in ("syn-a", "syn-b")} == {0}


def test_kit_catches_a_nondeterministic_router():
    class Flaky(RandomPick):
        def route(self, queries, config=None):
            return Routing(choice=np.random.default_rng().integers(0, 4, len(queries)))

    class Kit(RouterConformance):
        def make_router(self, ctx: RouterContext, **params: Any) -> Router:
            return Flaky(ctx, **params)

    with pytest.raises(AssertionError):
        Kit().test_deterministic_with_fixed_seed()


def test_kit_catches_out_of_range_choice():
    class Bad(RandomPick):
        def route(self, queries, config=None):
            return Routing(choice=np.full(len(queries), len(queries.models)))

    class Kit(RouterConformance):
        def make_router(self, ctx: RouterContext, **params: Any) -> Router:
            return Bad(ctx, **params)

    with pytest.raises(AssertionError):
        Kit().test_fit_route_shapes_and_indices()


def test_synthetic_bench_has_known_answers():
    b = conformance_bench()
    m = b.matrix
    assert m.metadata["synthetic"] is True
    rows = np.arange(m.n_queries)
    expert_acc = np.nanmean(m.score[rows, b.expert])
    assert expert_acc > 0.85
    others = m.score.copy()
    others[rows, b.expert] = np.nan
    assert np.nanmean(others) < 0.4
    assert len(set(m.texts)) == m.n_queries
    assert (np.diff(np.nanmean(m.cost, axis=0)) > 0).all()  # model 0 cheapest


def test_kit_catches_a_router_that_routes_differently_after_load(tmp_path):
    class Forgetful(NearestCentroid):
        def load_state(self, state: RouterState) -> None:
            super().load_state(state)
            self.centroids = self.centroids[::-1].copy()  # restores the wrong table

    class Kit(RouterConformance):
        def make_router(self, ctx: RouterContext, **params: Any) -> Router:
            return Forgetful(ctx, **params)

    with pytest.raises(AssertionError, match="routing changed after save/load"):
        Kit().test_save_load_round_trip(tmp_path)


def test_kit_accepts_a_router_that_declares_it_cannot_be_saved(tmp_path):
    class Unsaveable(NearestCentroid):
        save_state = Router.save_state  # the base class refuses with a RouterError
        load_state = Router.load_state

    class Kit(RouterConformance):
        saveable = False

        def make_router(self, ctx: RouterContext, **params: Any) -> Router:
            return Unsaveable(ctx, **params)

    Kit().test_save_load_round_trip(tmp_path)

    class Liar(Kit):
        saveable = True

    with pytest.raises(Exception, match="cannot be saved as an artefact"):
        Liar().test_save_load_round_trip(tmp_path)
