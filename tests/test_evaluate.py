"""The evaluator: views hide test outcomes, routings are scored as documented, references."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from routerbench_core.embedding.hashing import HashingEmbedder
from routerbench_core.routing.baselines import BestSingle, Cheapest
from routerbench_core.routing.evaluate import Evaluator, score_routing
from routerbench_core.routing.router import QuerySet, RouterError, Routing
from routerbench_core.testing.synthetic import make_synthetic_bench


def test_test_queries_cannot_reach_outcomes(rbench_store):
    """Built as ``rbench route`` builds it — a real store holding the bench, the embedding
    cache and the stored answers — so a door through the store would be found."""
    from routerbench_core.commands.route import _Outputs
    from routerbench_core.testing.leaks import side_doors
    from routerbench_core.testing.synthetic import store_matrix

    b = make_synthetic_bench(seed=3)
    store_matrix(rbench_store, b.matrix)
    m = rbench_store.load_matrix(b.matrix.bench)
    ev = Evaluator(m, seeds=[42], embedder=HashingEmbedder(), store=rbench_store,
                   outputs=_Outputs(rbench_store, m.bench))
    train, valid, test = ev.views(42)
    assert type(test) is QuerySet
    test.embeddings()  # populate caches first: they must not lead to outcomes either
    assert test.outputs(m.models[0])[0] is not None  # the answers are really handed over
    assert side_doors([test], m, ev.split(42).test) == []
    assert side_doors([train, valid, ev.context(42)], m, ev.split(42).test) == []
    # the labelled views are copies: writing to them cannot touch the matrix, and vice versa
    assert not np.shares_memory(train.score, m.score)


def test_score_routing_rules():
    score = np.array([[1.0, 0.0], [np.nan, 1.0], [0.0, 1.0]])
    cost = np.array([[1.0, 10.0], [2.0, 20.0], [3.0, np.nan]])
    s = score_routing(Routing(choice=np.array([0, 0, 1])), score, cost)
    assert s.acc.tolist() == [1.0, 0.0, 1.0]  # missing chosen score counts as wrong
    assert s.n_missing_choice == 1
    assert s.cost.tolist() == [1.0, 2.0, 0.0] and s.n_missing_cost == 1
    s = score_routing(Routing(choice=np.array([0, 0, 1])), score, cost, missing="skip")
    assert np.isnan(s.acc[1])
    # a cascade pays for every call and is scored on the chosen answer
    called = np.array([[True, True], [False, False], [True, False]])
    s = score_routing(Routing(choice=np.array([1, 1, 1]), called=called), score, cost)
    assert s.acc.tolist() == [0.0, 1.0, 1.0]
    assert s.cost.tolist() == [11.0, 20.0, 3.0]


def test_score_routing_rejects_bad_routings():
    score = np.zeros((3, 2))
    with pytest.raises(RouterError, match="shape"):
        score_routing(Routing(choice=np.array([0, 1])), score, score)
    with pytest.raises(RouterError, match="outside"):
        score_routing(Routing(choice=np.array([0, 1, 2])), score, score)
    with pytest.raises(RouterError, match="integer"):
        score_routing(Routing(choice=np.array([0.0, 1.0, 1.0])), score, score)


def test_references_match_direct_computation():
    b = make_synthetic_bench(seed=5, missing_rate=0.05)
    ev = Evaluator(b.matrix, seeds=[2024])
    refs = ev.references(2024)
    rows = ev.split(2024).test
    score = np.nan_to_num(b.matrix.score[rows])
    cost = b.matrix.cost[rows]
    ds = b.matrix.datasets[rows]
    names = list(dict.fromkeys(ds.tolist()))

    def avg(per_query):
        return np.mean([per_query[ds == d].mean() for d in names])

    assert refs.random.avg_acc == pytest.approx(avg(score.mean(axis=1)))
    assert refs.oracle.avg_acc == pytest.approx(avg(score.max(axis=1)))
    dso = np.mean([score[ds == d].mean(axis=0).max() for d in names])
    assert refs.dataset_oracle.avg_acc == pytest.approx(dso)
    for j, name in enumerate(b.matrix.models):
        assert refs.singles[name].avg_acc == pytest.approx(avg(score[:, j]))
        assert refs.singles[name].cost == pytest.approx(np.nansum(cost[:, j]))
    assert refs.random.avg_acc <= refs.dataset_oracle.avg_acc <= refs.oracle.avg_acc


def test_best_single_router_agrees_with_reference():
    b = make_synthetic_bench(seed=11, n_models=3, expert_accuracy=0.9)
    ev = Evaluator(b.matrix, seeds=[42, 999])
    run = ev.run(BestSingle, name="best-single")
    for seed_run in run.seeds:
        ref = ev.references(seed_run.seed).best_single
        assert seed_run.default.avg_acc == pytest.approx(ref.avg_acc)
        assert seed_run.describe["model"] == ref.model
    cheap = ev.run(Cheapest, name="cheapest").seeds[0]
    assert cheap.describe["model"] == "model-0"
    assert cheap.default.distribution["model-0"] == 1.0


def test_unscorable_queries_dropped_from_test():
    b = make_synthetic_bench(seed=2)
    score = b.matrix.score.copy()
    score[:10] = np.nan
    m = replace(b.matrix, score=score)
    ev = Evaluator(m, seeds=[42])
    assert not np.isin(np.arange(10), ev.split(42).test).any()
    assert ev.n_unscorable_test(42) == int(np.isin(np.arange(10), Evaluator(b.matrix, seeds=[42]).split(42).test).sum())


def test_embeddings_computed_once_and_cached(rbench_store):
    calls: list[int] = []

    class Counting(HashingEmbedder):
        def embed(self, texts):
            calls.append(len(texts))
            return super().embed(texts)

    b = make_synthetic_bench(seed=1)
    for _ in range(2):
        ev = Evaluator(b.matrix, seeds=[42, 999], embedder=Counting(), store=rbench_store)
        for seed in ev.seeds:
            train, valid, test = ev.views(seed)
            train.embeddings(), valid.embeddings(), test.embeddings()
    assert sum(calls) == b.matrix.n_queries  # first run embeds each text once; second: nothing
