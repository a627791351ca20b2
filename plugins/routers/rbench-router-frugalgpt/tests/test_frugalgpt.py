"""FrugalGPT: a cascade whose cheap model's answers reveal whether they can be trusted."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from rbench_router_frugalgpt.router import (
    QUERY_ANSWER,
    QUERY_ONLY,
    FrugalGPTRouter,
    budget_grid,
)

from routerbench_core import RouterError
from routerbench_core.testing import Evaluator, HashingEmbedder
from routerbench_core.testing.synthetic import make_synthetic_bench


def cascade_bench(seed: int = 31):
    """model-0 (cheap) is right on a random half of the queries — nothing in the query says
    which — and its answer says "verified" exactly when it is right; model-3 (16x the price)
    is always right. Only a scorer that reads the answer can stop at model-0 safely."""
    bench = make_synthetic_bench(n_clusters=3, n_models=4, queries_per_cluster=80,
                                 base_accuracy=0.1, seed=seed)
    m = bench.matrix
    rng = np.random.default_rng(seed)
    score = m.score.copy()
    score[:, 3] = 1.0
    score[:, 0] = (rng.random(m.n_queries) < 0.5).astype(float)
    matrix = dataclasses.replace(m, score=score)
    row = {k: i for i, k in enumerate(matrix.keys.tolist())}
    read: list[tuple[str, int]] = []

    def outputs(model: str, keys):
        read.append((model, len(keys)))
        j = matrix.models.index(model)
        out = []
        for k in keys:
            ok = score[row[k], j] == 1.0
            out.append(f"the answer is {row[k] % 7}. " + ("verified, certain" if ok
                                                           else "hmm, maybe, unsure"))
        return out

    return matrix, outputs, read


def test_reads_answers_and_stops_early():
    matrix, outputs, read = cascade_bench()
    ev = Evaluator(matrix, seeds=[42], setting="perf-cost", embedder=HashingEmbedder(dim=256),
                   outputs=outputs)
    run = ev.run(FrugalGPTRouter, name="frugalgpt")
    seed = run.seeds[0]
    assert seed.describe["scorer_inputs"] == QUERY_ANSWER
    best = ev.references(42).best_single
    assert best.model == "model-3"
    # a cascade model-0 -> model-3 that trusts "verified" answers is right everywhere at
    # cost c0 + c3/2: about 53% of always calling model-3
    good = [p for p in seed.points if p.avg_acc >= 0.97]
    assert good and min(p.cost for p in good) < 0.7 * best.cost
    # the smallest budget buys model-0 alone
    cheapest = min(seed.points, key=lambda p: p.cost)
    assert cheapest.distribution["model-0"] == pytest.approx(1.0)
    assert cheapest.cost == pytest.approx(ev.references(42).singles["model-0"].cost)
    # every call is charged: the cascade's cost exceeds what the chosen answers alone cost
    train, valid, test = ev.views(42)
    router = FrugalGPTRouter(ev.context(42))
    router.fit(train, valid)
    read.clear()
    handed = test._outputs  # what the router reads through (the evaluator loaded it once)
    assert handed is not None

    def recording(model, keys):
        read.append((model, len(keys)))
        return handed(model, keys)

    test = dataclasses.replace(test, _outputs=recording)
    routing = router.route(test, None)
    assert routing.info["cascade"]["models"][-1] == "model-3"
    assert routing.called.sum() > len(test)  # some queries called two models
    assert routing.called[np.arange(len(test)), routing.choice].all()
    cascade = routing.info["cascade"]["models"]
    # answers are read exactly for the calls made (the last stage's answer is never scored)
    assert [m for m, _ in read] == cascade[: len(read)] and cascade[-1] not in dict(read)
    assert read[0][1] == len(test)
    for model, n_read in read:
        assert n_read == routing.called[:, matrix.models.index(model)].sum()


def test_query_only_without_answers_and_says_so():
    matrix, _, _ = cascade_bench()
    ev = Evaluator(matrix, seeds=[42], setting="perf-cost", embedder=HashingEmbedder(dim=256))
    run = ev.run(FrugalGPTRouter, name="frugalgpt")
    d = run.seeds[0].describe
    assert d["scorer_inputs"] == QUERY_ONLY and "no stored answer texts" in d["note"]
    # without the answers nothing tells a good cheap answer from a bad one
    best = ev.references(42).best_single
    cheap_and_good = [p for p in run.seeds[0].points
                      if p.avg_acc >= 0.97 and p.cost < 0.7 * best.cost]
    assert not cheap_and_good


def test_cluster_bench_query_only_finds_experts():
    bench = make_synthetic_bench(n_clusters=3, n_models=3, queries_per_cluster=60,
                                 costs=[0.001, 0.002, 0.004], seed=32)
    ev = Evaluator(bench.matrix, seeds=[42], setting="perf", embedder=HashingEmbedder(dim=256))
    run = ev.run(FrugalGPTRouter, name="frugalgpt")
    assert run.seeds[0].default.avg_acc > ev.references(42).best_single.avg_acc + 0.2


def test_bad_parameters():
    matrix, _, _ = cascade_bench()
    ev = Evaluator(matrix, seeds=[42], embedder=HashingEmbedder(dim=64))
    with pytest.raises(RouterError, match="max_stages"):
        FrugalGPTRouter(ev.context(42), max_stages=0)
    with pytest.raises(RouterError, match="fit"):
        FrugalGPTRouter(ev.context(42)).plan_for(None)


def test_budget_grid_handles_free_plans():
    assert budget_grid([0.0, 0.0], 5) == [0.0]
    grid = budget_grid([0.0, 0.001, 0.004], 4)
    assert grid[0] == 0.0 and grid[1] == pytest.approx(0.001) and grid[-1] == pytest.approx(0.004)
    assert len(grid) == 4
    assert budget_grid([0.002, 0.002], 3) == [pytest.approx(0.002)]
