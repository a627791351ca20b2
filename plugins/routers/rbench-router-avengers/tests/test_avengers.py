"""Avengers on a synthetic bench with known experts, and through the real evaluator."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from rbench_router_avengers.router import AvengersRouter

from routerbench_core import RouterContext, RouterError
from routerbench_core.testing import Evaluator, HashingEmbedder
from routerbench_core.testing.synthetic import make_synthetic_bench


def _evaluator(bench, seeds=(42,)):
    return Evaluator(bench.matrix, seeds=list(seeds), embedder=HashingEmbedder(dim=256))


def test_finds_each_clusters_expert():
    bench = make_synthetic_bench(n_clusters=4, n_models=4, queries_per_cluster=60, seed=1)
    ev = _evaluator(bench)
    run = ev.run(AvengersRouter, name="avengers")
    refs = ev.references(42)
    acc = run.seeds[0].default.avg_acc
    # the expert is right 95% of the time, everyone else 25%: only routing by text gets near 0.95
    assert acc > 0.85
    assert acc > refs.best_single.avg_acc + 0.4
    # and the choices really are the experts
    train, valid, test = ev.views(42)
    router = AvengersRouter(ev.context(42))
    router.fit(train, valid)
    choice = router.route(test).choice
    expert = bench.expert[ev.split(42).test]
    assert np.mean(choice == expert) > 0.9
    assert router.describe()["chosen_on"] == "validation"


def test_fixed_parameters_skip_selection_and_are_reported():
    bench = make_synthetic_bench(n_clusters=3, n_models=3, queries_per_cluster=30, seed=2)
    ev = _evaluator(bench)
    train, valid, _ = ev.views(42)
    router = AvengersRouter(ev.context(42), k=3, top_k=1, beta=9, distance="euclidean",
                            vote="accuracy", refit=False)
    router.fit(train, valid)
    d = router.describe()
    assert (d["k"], d["top_k"], d["beta"], d["distance"], d["chosen_on"]) == (
        3, 1, 9.0, "euclidean", "default")


def test_reference_rules_are_the_default_and_v1_rules_stay_selectable():
    bench = make_synthetic_bench(n_clusters=3, n_models=3, queries_per_cluster=30, seed=2)
    ev = _evaluator(bench)
    train, valid, _ = ev.views(42)
    ref = AvengersRouter(ev.context(42), k=3, top_k=2, beta=9, distance="cosine", refit=False)
    ref.fit(train, valid)
    v1 = AvengersRouter(ev.context(42), k=3, top_k=2, beta=9, distance="euclidean",
                        rank_rule="linear", refit=False)
    v1.fit(train, valid)
    assert ref.describe()["rank_rule"] == "reciprocal"
    assert AvengersRouter(ev.context(42)).describe()["grid"]["distance"] == [
        "cosine", "euclidean"]
    # the same clusters (same seed, same k) scored by the two rule sets: the best cluster's
    # model gets 1 under both, the runner-up 1/2 under the reference rule and 0.5 (3 models)
    # under the linear one — but the third gets 1/3 against 0, so the votes differ
    assert ref.profile is not None and v1.profile is not None
    assert np.allclose(ref.profile.centroids, v1.profile.centroids)
    s_ref, s_v1 = ref.scores(valid.queries()), v1.scores(valid.queries())
    assert not np.allclose(s_ref, s_v1)
    assert s_ref.min() > 0  # 1/(rank+1) never reaches 0, the linear rule's worst does


def test_selection_never_reads_test_and_is_deterministic():
    bench = make_synthetic_bench(n_clusters=4, n_models=4, queries_per_cluster=40, seed=3)
    ev = _evaluator(bench)
    train, valid, test = ev.views(42)
    a = AvengersRouter(ev.context(42))
    a.fit(train, valid)
    b = AvengersRouter(ev.context(42))
    b.fit(train, valid)
    assert a.describe() == b.describe()
    assert np.array_equal(a.route(test).choice, b.route(test).choice)
    # test outcomes play no part: flipping every test score changes no choice of the router
    rows = ev.split(42).test
    flipped = bench.matrix.score.copy()
    flipped[rows] = 1.0 - flipped[rows]
    ev2 = _evaluator(dataclasses.replace(bench, matrix=dataclasses.replace(
        bench.matrix, score=flipped)))
    train2, valid2, test2 = ev2.views(42)
    assert np.array_equal(ev2.split(42).test, rows)
    c = AvengersRouter(ev2.context(42))
    c.fit(train2, valid2)
    assert c.describe() == a.describe()
    assert np.array_equal(c.route(test2).choice, a.route(test).choice)
    assert ev2.references(42).oracle.avg_acc != ev.references(42).oracle.avg_acc  # it changed


def test_missing_cells_and_bad_params():
    bench = make_synthetic_bench(n_clusters=3, n_models=3, queries_per_cluster=40,
                                 missing_rate=0.2, seed=4)
    run = _evaluator(bench).run(AvengersRouter, name="avengers")
    assert run.seeds[0].default.avg_acc > 0.6
    ctx = RouterContext(models=["a"], model_specs={})
    with pytest.raises(RouterError, match="vote"):
        AvengersRouter(ctx, vote="bogus")
    with pytest.raises(RouterError, match="has no parameter 'kk'"):
        AvengersRouter(ctx, kk=3)
    _, _, test = _evaluator(bench).views(42)
    with pytest.raises(RouterError, match="fit"):
        AvengersRouter(ctx).route(test)
