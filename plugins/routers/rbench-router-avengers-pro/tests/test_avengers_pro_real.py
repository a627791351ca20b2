"""Avengers-Pro on the real RouterBench subset with real per-query costs (skipped where the
shared data is absent)."""

from __future__ import annotations

import pytest
from rbench_router_avengers_pro.router import AvengersProRouter

from routerbench_core.testing import Evaluator, HashingEmbedder, shared_matrix


def test_cost_accuracy_curve_on_routerbench():
    matrix = shared_matrix("routerbench", "routerbench-subset", "rb")
    ev = Evaluator(matrix, seeds=[42], setting="perf-cost", embedder=HashingEmbedder(dim=512))
    run = ev.run(AvengersProRouter, name="avengers-pro")
    best = ev.references(42).best_single
    points = run.seeds[0].points
    assert len({(round(p.avg_acc, 6), round(p.cost, 6)) for p in points}) >= 5
    # the accuracy end of the curve comes within two points of GPT-4 (the best single model)
    assert max(p.avg_acc for p in points) > best.avg_acc - 0.02
    # and the curve buys most of that accuracy for a tenth of GPT-4's cost (a small alpha
    # sends most queries to the cheap models that answer them right)
    assert any(p.avg_acc > 0.74 and p.cost < 0.1 * best.cost for p in points)
    # alpha = 0 is the cheapest model
    cheapest = ev.references(42).cheapest
    assert min(p.cost for p in points) == pytest.approx(cheapest.cost)
