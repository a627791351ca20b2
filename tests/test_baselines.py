"""Built-in baselines: real routers learn only from train/valid; references refuse to route."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench_core.routing.baselines import (
    BestSingle,
    Cheapest,
    OracleReference,
    RandomPick,
    reference_name,
)
from routerbench_core.routing.evaluate import Evaluator, run_registered
from routerbench_core.routing.router import LabeledSet, RouterContext, RouterError
from routerbench_core.testing.synthetic import make_synthetic_bench


def _labeled(score, cost, datasets):
    n, m = np.asarray(score).shape
    return LabeledSet(keys=np.array([f"k{i}" for i in range(n)], dtype=object),
                      datasets=np.array(datasets, dtype=object), texts=[f"t{i}" for i in range(n)],
                      models=[f"m{j}" for j in range(m)], score=np.asarray(score, float),
                      cost=np.asarray(cost, float))


def _ctx():
    return RouterContext(models=["m0", "m1", "m2"], model_specs={})


def test_best_single_averages_over_datasets_not_queries():
    # m0 wins dataset a (3 queries), m1 wins dataset b (1 query) by more: per-dataset mean picks m1
    score = [[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0]]
    train = _labeled(score, np.ones((4, 3)), ["a", "a", "a", "b"])
    valid = _labeled(np.zeros((0, 3)), np.zeros((0, 3)), [])
    r = BestSingle(_ctx())
    r.fit(train, valid)
    assert r.describe() == {"model": "m0"}  # tie 0.5 vs 0.5 -> the earlier model
    score[1] = [0, 0, 0]
    train = _labeled(score, np.ones((4, 3)), ["a", "a", "a", "b"])
    r.fit(train, valid)
    assert r.describe() == {"model": "m1"}  # 2/3·½ = .33 < ½
    # a missing score counts as wrong (skipping it would give m0 1.0 > .6)
    r.fit(_labeled([[np.nan, 0.6, 0], [1, 0.6, 0]], np.ones((2, 3)), ["a", "a"]), valid)
    assert r.describe() == {"model": "m1"}
    # valid counts too
    r.fit(_labeled([[0, 1, 0]], np.ones((1, 3)), ["a"]),
          _labeled([[1, 0, 0], [1, 0, 0]], np.ones((2, 3)), ["a", "a"]))
    assert r.describe() == {"model": "m0"}


def test_cheapest_ignores_missing_costs():
    train = _labeled(np.zeros((2, 3)), [[np.nan, 2, 3], [np.nan, 2, 0.5]], ["a", "a"])
    valid = _labeled(np.zeros((0, 3)), np.zeros((0, 3)), [])
    r = Cheapest(_ctx())
    r.fit(train, valid)
    assert r.describe() == {"model": "m2"}
    with pytest.raises(RouterError, match="no model has a known cost"):
        r.fit(_labeled(np.zeros((1, 3)), np.full((1, 3), np.nan), ["a"]), valid)
    with pytest.raises(RouterError, match="before fit"):
        Cheapest(_ctx()).route(train.queries())


def test_random_pick_is_seeded():
    b = make_synthetic_bench(seed=1)
    ev = Evaluator(b.matrix, seeds=[42])
    train, valid, test = ev.views(42)
    a, c = RandomPick(ev.context(42)), RandomPick(ev.context(42))
    a.fit(train, valid)
    c.fit(train, valid)
    np.testing.assert_array_equal(a.route(test).choice, c.route(test).choice)
    other = RandomPick(Evaluator(b.matrix, seeds=[999]).context(999))
    other.fit(train, valid)
    assert (other.route(test).choice != a.route(test).choice).any()


def test_references_refuse_to_route_and_are_computed_by_the_evaluator(rbench_host):
    r = OracleReference(_ctx())
    with pytest.raises(RouterError, match="computed by the evaluator"):
        r.fit(None, None)
    for name in ("random", "dataset-oracle", "oracle"):
        spec = rbench_host.get("router", name)
        assert spec.capabilities["reference"] is True
        assert reference_name(spec.load()) == name
    for name in ("best-single", "cheapest", "random-pick"):
        assert reference_name(rbench_host.load("router", name)) is None
    b = make_synthetic_bench(seed=9)
    ev = Evaluator(b.matrix, seeds=[42, 2024])
    run = run_registered(ev, rbench_host, "oracle")
    assert run.reference
    assert [s.default.avg_acc for s in run.seeds] == [ev.references(s).oracle.avg_acc
                                                      for s in (42, 2024)]
