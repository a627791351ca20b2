"""Avengers-Pro on synthetic benches whose cost-accuracy trade-off is known."""

from __future__ import annotations

import numpy as np
import pytest
from rbench_router_avengers_pro.router import AvengersProRouter

from routerbench_core import RouterError
from routerbench_core.testing import Evaluator, HashingEmbedder
from routerbench_core.testing.synthetic import make_synthetic_bench


def _run(bench, **params):
    ev = Evaluator(bench.matrix, seeds=[42], setting="perf-cost",
                   embedder=HashingEmbedder(dim=256))
    return ev, ev.run(AvengersProRouter, name="avengers-pro", params=params)


def test_alpha_extremes_pick_experts_and_cheapest():
    bench = make_synthetic_bench(n_clusters=4, n_models=4, queries_per_cluster=50, seed=5)
    ev, run = _run(bench)
    points = {p.config["alpha"]: p for p in run.seeds[0].points}
    assert len(points) == 21
    cheapest = ev.references(42).cheapest
    # alpha = 0: always the cheapest model
    assert points[0.0].distribution["model-0"] == pytest.approx(1.0)
    assert points[0.0].cost == pytest.approx(cheapest.cost)
    # alpha = 1: each cluster's expert (right 95% of the time)
    assert points[1.0].avg_acc > 0.85
    # the curve trades cost for accuracy: more weight on accuracy never gets much cheaper
    accs = [points[a].avg_acc for a in sorted(points)]
    costs = [points[a].cost for a in sorted(points)]
    assert accs[-1] > accs[0] + 0.4 and costs[-1] > costs[0]


def test_cost_save_against_best_single():
    # model-3 is right everywhere but expensive; model-0 (cheap) is as good on clusters 0 and 1
    bench = make_synthetic_bench(n_clusters=4, n_models=4, queries_per_cluster=60,
                                 base_accuracy=0.1, seed=6)
    m = bench.matrix
    score = m.score.copy()
    score[:, 3] = 1.0
    score[:, 0] = np.where(np.isin(bench.cluster, [0, 1]), 1.0, 0.0)
    import dataclasses

    bench = dataclasses.replace(bench, matrix=dataclasses.replace(m, score=score))
    ev, run = _run(bench)
    best = ev.references(42).best_single
    assert best.model == "model-3"
    # within two points of the best single model (hashed-word clusters misplace a few queries)
    matching = [p for p in run.seeds[0].points if p.avg_acc >= best.avg_acc - 0.02]
    assert matching, "some alpha must come close to the best single model's accuracy"
    saving = max(1 - p.cost / best.cost for p in matching)
    # half of the queries can go to a model 8x cheaper: close to 44% saving
    assert saving > 0.3


def test_needs_costs_and_valid_alpha():
    bench = make_synthetic_bench(n_clusters=2, n_models=2, queries_per_cluster=20, seed=7)
    import dataclasses

    m = bench.matrix
    cost = m.cost.copy()
    cost[:, 1] = np.nan
    ev = Evaluator(dataclasses.replace(m, cost=cost), seeds=[42], setting="perf-cost",
                   embedder=HashingEmbedder(dim=64))
    with pytest.raises(RouterError, match="model-1"):
        ev.run(AvengersProRouter, name="avengers-pro")
    with pytest.raises(RouterError, match="alpha"):
        AvengersProRouter(ev.context(42), alpha=2)


def test_cost_is_divided_by_the_cluster_max_by_default_and_minmax_stays_available():
    from routerbench_core import ml

    prof = ml.ClusterProfile(
        centroids=np.eye(2), acc=np.array([[0.2, 0.6, 1.0], [0.5, 0.5, 0.5]]),
        cost=np.array([[1.0, 2.0, 4.0], [0.0, 0.0, 0.0]]), sizes=np.array([5, 5]))
    ref = AvengersProRouter.table(prof, 0.5)
    # cluster 0: acc~ = 0, .5, 1; cost~ = 1/4, 2/4, 1 → x = .5·acc~ + .5·(1 − cost~)
    assert np.allclose(ref[0], [0.375, 0.5, 0.5])
    # a cluster where nothing costs anything: cost~ = 0, no division by zero
    assert np.all(np.isfinite(ref[1]))
    v1 = AvengersProRouter.table(prof, 0.5, cost_norm="minmax")
    assert np.allclose(v1[0], [0.5, 0.5 * 0.5 + 0.5 * (1 - 1 / 3), 0.5])
