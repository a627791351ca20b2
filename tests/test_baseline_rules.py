"""The baselines are right on every bench: without costs, with missing cells, with ties.

One rule decides "the best model" everywhere (routing/accuracy.py); these tests pin it down on
hand-made matrices whose answers are worked out by hand, and check the evaluator, the built-in
routers and the two-model routers' pair choice all follow it.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from routerbench_core.data.matrix import OutcomeMatrix
from routerbench_core.embedding.hashing import HashingEmbedder
from routerbench_core.report.build import build_report
from routerbench_core.routing import accuracy as A
from routerbench_core.routing import ml
from routerbench_core.routing.baselines import BestSingle, Cheapest
from routerbench_core.routing.evaluate import Evaluator
from routerbench_core.routing.router import LabeledSet, RouterContext, RouterError
from routerbench_core.testing.synthetic import make_synthetic_bench

NAN = np.nan


def _matrix(score, cost=None, datasets=None, models=None) -> OutcomeMatrix:
    score = np.asarray(score, dtype=float)
    n, m = score.shape
    cost = np.full((n, m), NAN) if cost is None else np.asarray(cost, dtype=float)
    nan = np.full((n, m), NAN)
    return OutcomeMatrix(
        bench="hand", models=models or [f"m{j}" for j in range(m)],
        keys=np.array([f"k{i}" for i in range(n)], dtype=object),
        datasets=np.array(datasets or ["d"] * n, dtype=object),
        texts=[f"query number {i}" for i in range(n)], score=score, cost=cost,
        prompt_tokens=nan, completion_tokens=nan, latency=nan,
        failed=np.zeros((n, m), dtype=bool),
    )


def _labeled(score, cost=None, datasets=None, missing="wrong") -> LabeledSet:
    m = _matrix(score, cost, datasets)
    return LabeledSet(keys=m.keys, datasets=m.datasets, texts=m.texts, models=m.models,
                      score=m.score, cost=m.cost, missing=missing)


# -- the oracle ---------------------------------------------------------------------------------


def test_oracle_without_costs_is_the_per_query_best_not_model_0():
    # model 0 is never right; before, argmin over all-NaN costs made the oracle model 0 (0 %)
    score = [[0, 1, 0], [0, 0, 1], [0, 1, 1], [0, 0, 0]]
    assert A.oracle_choice(np.array(score, float), np.full((4, 3), NAN)).tolist() == [1, 2, 1, 0]
    bench = make_synthetic_bench(seed=3, queries_per_cluster=30)
    m = dataclasses.replace(bench.matrix, cost=np.full_like(bench.matrix.cost, NAN))
    ev = Evaluator(m, seeds=[42])
    refs = ev.references(42)
    test = ev.split(42).test
    per_query_best = np.nanmax(m.score[test], axis=1)
    want = A.average_over_datasets(
        A.per_dataset_mean(per_query_best, m.datasets[test], m.dataset_names()))
    assert refs.oracle.avg_acc == pytest.approx(want)
    assert refs.oracle.avg_acc > refs.best_single.avg_acc  # so Gap@O of best single is > 0
    assert refs.oracle.avg_acc >= max(p.avg_acc for p in refs.singles.values())
    assert refs.cheapest is None  # no cost known: there is no cheapest model
    report = build_report(ev, [])
    assert report["baselines"]["cheapest"]["avg_acc"]["mean"] is None
    assert report["baselines"]["oracle"]["avg_acc"]["mean"] == pytest.approx(want)


def test_oracle_ties_cheapest_known_cost_then_bench_order():
    score = np.array([[1, 1, 1], [1, 1, 0], [0, 1, 1], [NAN, 1, 1]])
    cost = np.array([[3, 1, 2], [NAN, 5, 1], [NAN, NAN, NAN], [1, 2, NAN]])
    # row 0: all right, m1 cheapest; row 1: m0 (cost unknown) and m1 tie, m1's cost is known;
    # row 2: m1/m2 tie, no cost known -> bench order; row 3: m0 unknown score never best
    assert A.oracle_choice(score, cost).tolist() == [1, 1, 1, 1]


def test_oracle_never_picks_a_missing_cell():
    score = np.array([[NAN, 0.0, NAN], [NAN, NAN, 0.5], [0.2, NAN, 0.1]])
    assert A.oracle_choice(score, np.full((3, 3), NAN)).tolist() == [1, 2, 0]


# -- best single, cheapest, dataset oracle -----------------------------------------------------


def test_best_index_ties():
    assert A.best_index(np.array([0.5, 0.7, 0.7])) == 1  # bench order
    assert A.best_index(np.array([0.5, 0.7, 0.7]), np.array([1.0, 2.0, 1.0])) == 2  # cheaper
    assert A.best_index(np.array([0.7, 0.7]), np.array([NAN, 3.0])) == 1  # known cost first
    assert A.best_index(np.array([0.7, 0.7]), np.array([NAN, NAN])) == 0  # no cost: order
    assert A.best_index(np.array([NAN, 0.1])) == 1  # NaN accuracy ranks last
    assert A.best_index(np.array([0.9, 0.1, 0.2]), exclude=[0]) == 2
    # equal within floating error is a tie: 0.1 + 0.2 vs 0.3
    assert A.best_index(np.array([0.3, 0.1 + 0.2]), np.array([2.0, 1.0])) == 1


def test_missing_rule_is_the_same_in_avg_acc_best_single_and_ml():
    score = [[NAN, 0.6], [1.0, 0.6]]
    wrong = _labeled(score, missing="wrong")
    skip = _labeled(score, missing="skip")
    assert A.avg_acc(np.array(score), np.array(["d", "d"]), "wrong").tolist() == [0.5, 0.6]
    assert A.avg_acc(np.array(score), np.array(["d", "d"]), "skip").tolist() == [1.0, 0.6]
    ctx = RouterContext(models=["m0", "m1"], model_specs={})
    empty = _labeled(np.zeros((0, 2)))
    for labeled, want in ((wrong, 1), (skip, 0)):
        r = BestSingle(ctx)
        r.fit(labeled, empty)
        assert r.model == want == ml.best_model(labeled)


def test_best_single_router_matches_the_reference_with_ties_and_missing_cells():
    rng = np.random.default_rng(0)
    n = 240
    base = rng.integers(0, 2, size=(n, 1)).astype(float)
    score = np.hstack([base, base, rng.integers(0, 2, size=(n, 1)) * 0.0])  # m0 == m1 exactly
    score[rng.random((n, 3)) < 0.1] = NAN
    score[:, 1] = score[:, 0]  # keep the tie exact, missing cells included
    datasets = ["a" if i % 3 else "b" for i in range(n)]
    for cost, want in ((None, "m0"), (np.tile([2.0, 1.0, 0.5], (n, 1)), "m1")):
        ev = Evaluator(_matrix(score, cost, datasets), seeds=[42, 7])
        for seed in (42, 7):
            assert ev.references(seed).best_single.model == want
            run = ev.run(BestSingle, name="best-single")
            picked = {s.describe["model"] for s in run.seeds}
            assert picked == {want}


def test_dataset_oracle_uses_the_same_rule():
    score = np.array([[1, 1, 0], [0, 0, 1], [1, 1, 0], [NAN, 0, 1]])
    ds = np.array(["a", "a", "b", "b"])
    # a: m0 = m1 = .5 (tie) -> no costs: m0; with m1 cheaper: m1. b: wrong-rule m2 .5 vs m0 .5
    assert A.dataset_oracle_choice(score, np.full((4, 3), NAN), ds).tolist() == [0, 0, 0, 0]
    cost = np.tile([2.0, 1.0, 3.0], (4, 1))
    assert A.dataset_oracle_choice(score, cost, ds).tolist() == [1, 1, 1, 1]
    # skip: m0 is 1.0 on b (its missing cell left out)
    assert A.dataset_oracle_choice(score, np.full((4, 3), NAN), ds, "skip").tolist() == [
        0, 0, 0, 0]


def test_cheapest_router_and_reference_agree_and_refuse_no_costs():
    ctx = RouterContext(models=["m0", "m1", "m2"], model_specs={})
    empty = _labeled(np.zeros((0, 3)))
    r = Cheapest(ctx)
    # m1 and m2 equally cheap: the more accurate wins
    r.fit(_labeled([[0, 0, 1], [0, 0, 1]], [[3, 1, 1], [3, 1, 1]]), empty)
    assert r.model == 2
    with pytest.raises(RouterError, match="no model has a known cost"):
        r.fit(_labeled([[0, 0, 1]]), empty)


def test_random_reference_counts_unknown_costs():
    score = [[1, 0], [0, 0], [1, 1], [NAN, 1]]
    ev = Evaluator(_matrix(score * 10, None, ["d"] * 40), seeds=[42], missing="wrong")
    rnd = ev.references(42).random
    assert rnd.n_missing_cost > 0  # an unknown cost is reported, never a silent $0
    test = ev.split(42).test
    want = np.mean(np.nan_to_num(np.array(score * 10, float)[test]).mean(axis=1))
    assert rnd.avg_acc == pytest.approx(want)


# -- two-model routers without costs ------------------------------------------------------------


def test_strong_weak_pair_without_costs_is_best_and_runner_up():
    score = [[0.2, 0.9, 0.5], [0.2, 0.9, 0.5]]
    train = _labeled(score)
    s, w, note = ml.strong_weak_pair(train, require_cost=False)
    assert (s, w) == (1, 2) and "runner-up" in note and "costs unknown" in note
    equal = _labeled(score, np.ones((2, 3)))
    s, w, note = ml.strong_weak_pair(equal, require_cost=False)
    assert (s, w) == (1, 2) and "costs all equal" in note  # the best is never the "cheap" one
    s, w, _ = ml.strong_weak_pair(equal, require_cost=True)
    assert (s, w) == (1, 2)
    with pytest.raises(RouterError, match="no cost is known"):
        ml.strong_weak_pair(train, require_cost=True)
    s, w, _ = ml.strong_weak_pair(_labeled(score, [[1, 9, 2], [1, 9, 2]]))
    assert (s, w) == (1, 0)  # with costs: weak = cheapest, strong = best of the others


@pytest.fixture(scope="module")
def costless_bench():
    bench = make_synthetic_bench(seed=5, queries_per_cluster=30, n_models=3)
    return dataclasses.replace(bench.matrix, cost=np.full_like(bench.matrix.cost, NAN))


@pytest.mark.parametrize(("name", "params"), [
    ("avengers-pro", {"k": 4}),
    ("hybridllm", {}),
    ("routellm", {"epochs": 2, "max_steps": 20}),
    ("frugalgpt", {"max_stages": 2}),
])
def test_perf_setting_routers_need_no_costs(costless_bench, name, params):
    from routerbench_core.plugins.manager import make_plugin_manager

    cls = make_plugin_manager().load("router", name)
    ev = Evaluator(costless_bench, seeds=[42], setting="perf", embedder=HashingEmbedder(dim=64))
    run = ev.run(cls, name=name, params=params)
    assert run.seeds[0].default.avg_acc > ev.references(42).random.avg_acc
    cost_ev = Evaluator(costless_bench, seeds=[42], setting="perf-cost",
                        embedder=HashingEmbedder(dim=64))
    with pytest.raises(RouterError, match="no cost is known"):
        cost_ev.run(cls, name=name, params=params)


def test_drops_are_counted_per_seed_not_summed():
    from routerbench_core.report.tables import dropped_line

    five = [{"n_dropped_cross_split_duplicates": 19, "n_unscorable_test_dropped": 0}] * 5
    assert dropped_line(five).startswith("dropped from test: 19 cross-split duplicate prompts "
                                         "per seed")
    assert "95" not in dropped_line(five)
