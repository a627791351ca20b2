"""Hybrid LLM on synthetic benches where the small model is good enough on known clusters."""

from __future__ import annotations

import numpy as np
import pytest
from rbench_router_hybridllm.router import (
    HybridLLMRouter,
    mean_pairwise_difference,
    relaxed_labels,
)

from routerbench_core import RouterError
from routerbench_core.testing import Evaluator, HashingEmbedder
from routerbench_core.testing.synthetic import make_strong_weak_bench


def test_labels_and_spread():
    qs = np.array([1.0, 0.0, 0.5, np.nan])
    ql = np.array([1.0, 1.0, 0.6, 1.0])
    assert relaxed_labels(qs, ql, 0.0, None)[:3].tolist() == [1.0, 0.0, 0.0]
    assert relaxed_labels(qs, ql, 0.2, None)[:3].tolist() == [1.0, 0.0, 1.0]  # 0.5 >= 0.6 - 0.2
    assert np.isnan(relaxed_labels(qs, ql, 0.0, None)[3])
    nb = np.array([[0, 1], [1, 0], [2, 0], [3, 0]])
    assert relaxed_labels(qs, ql, 0.0, nb).tolist() == [0.5, 0.5, 0.5, 1.0]
    assert mean_pairwise_difference(np.array([0.0, 1.0])) == pytest.approx(0.5)
    assert mean_pairwise_difference(np.array([0.3, 0.3, 0.3])) == 0.0


def test_sends_small_model_where_it_is_good_enough():
    bench = make_strong_weak_bench(21)
    ev = Evaluator(bench.matrix, seeds=[42], setting="perf-cost",
                   embedder=HashingEmbedder(dim=256))
    run = ev.run(HybridLLMRouter, name="hybridllm")
    seed = run.seeds[0]
    assert seed.describe["small"] == "model-0" and seed.describe["large"] == "model-3"
    points = {p.config["small_share"]: p for p in seed.points}
    assert len(points) == 11
    assert points[1.0].distribution["model-0"] == pytest.approx(1.0)
    assert points[0.0].distribution["model-3"] == pytest.approx(1.0)
    best = ev.references(42).best_single
    assert points[0.5].avg_acc > 0.9 and points[0.5].cost < 0.75 * best.cost
    train, valid, test = ev.views(42)
    router = HybridLLMRouter(ev.context(42))
    router.fit(train, valid)
    p = router.small_probability(test)
    easy = np.isin(bench.cluster[ev.split(42).test], [0, 1])
    assert p[easy].mean() > p[~easy].mean() + 0.3


def test_bad_parameters():
    bench = make_strong_weak_bench(21)
    ev = Evaluator(bench.matrix, seeds=[42], setting="perf-cost", embedder=HashingEmbedder(dim=64))
    with pytest.raises(RouterError, match="not a model"):
        HybridLLMRouter(ev.context(42), small="tiny")
    with pytest.raises(RouterError, match=r"parameter t=-1 is invalid.*greater than or equal to 0"):
        HybridLLMRouter(ev.context(42), t=-1)
    with pytest.raises(RouterError, match="same model"):
        HybridLLMRouter(ev.context(42), small="model-1", large="model-1")
