"""MODEL-SAT: conformance kit, a known-answer synthetic bench, and routing to a new model from
its capability vector alone."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("torch")

from rbench_router_model_sat.router import ModelSATRouter  # noqa: E402

from routerbench_core import RouterError  # noqa: E402
from routerbench_core.testing import (
    Evaluator,  # noqa: E402
    HashingEmbedder,  # noqa: E402
)
from routerbench_core.testing.routers import RouterConformance  # noqa: E402
from routerbench_core.testing.synthetic import make_synthetic_bench  # noqa: E402

FAST = {"max_steps": 200, "eval_every": 25, "patience": 3, "core_tasks": 8, "shots": 10,
        "dim": 64, "batch_size": 128}


class TestModelSATConformance(RouterConformance):
    router_name = "model-sat"
    router_params = FAST


@pytest.fixture(scope="module")
def setup():
    """Five models, five topic clusters (model j is the expert of cluster j)."""
    bench = make_synthetic_bench(n_clusters=5, n_models=5, queries_per_cluster=50, seed=5)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder())
    train, valid, test = ev.views(42)
    return bench, ev, train, valid, test


def test_learns_the_expert_of_each_cluster(setup) -> None:
    bench, ev, train, valid, test = setup
    router = ModelSATRouter(ev.context(42), **FAST)
    router.fit(train, valid)
    choice = router.route(test).choice
    assert np.mean(choice == bench.expert[ev.split(42).test]) >= 0.85
    assert len(router.core_keys()) == 8
    assert all(len(k) <= 10 for k in router.core_keys())
    train_keys = set(train.keys.tolist())
    assert all(k in train_keys for keys in router.core_keys() for k in keys), \
        "the aptitude test must be drawn from train"


def test_new_model_needs_only_its_capability_vector(setup) -> None:
    """Fit without model-4, then add it from its scores on the core queries: queries of its
    cluster must now go to it, with no retraining."""
    bench, ev, train, valid, test = setup
    pool = train.models[:4]
    tr = replace(train, models=pool, score=train.score[:, :4], cost=train.cost[:, :4])
    va = replace(valid, models=pool, score=valid.score[:, :4], cost=valid.cost[:, :4])
    router = ModelSATRouter(ev.context(42), **FAST)
    router.fit(tr, va)
    weights = [p.detach().clone() for p in router.net.parameters()]

    new_scores = {str(k): float(s) for k, s in zip(train.keys, train.score[:, 4], strict=True)}
    cap = router.capability_from_scores(new_scores)
    assert cap.shape == (len(router.core_keys()),)
    router.add_model("model-4", cap)
    choice = router.route(test).choice  # the test set is over all five models
    rows = ev.split(42).test
    theirs = bench.expert[rows] == 4
    assert theirs.sum() > 5
    assert np.mean(choice[theirs] == 4) >= 0.7, "queries of the new model's cluster"
    assert np.mean(choice[~theirs] == 4) <= 0.2, "other queries stay with their experts"
    assert all(torch_equal(a, b) for a, b in zip(weights, router.net.parameters(), strict=True))


def torch_equal(a, b) -> bool:
    import torch

    return bool(torch.equal(a, b.detach()))


def test_unknown_model_and_bad_capability_are_clear_errors(setup) -> None:
    _, ev, train, valid, test = setup
    pool = train.models[:4]
    router = ModelSATRouter(ev.context(42), **FAST)
    router.fit(replace(train, models=pool, score=train.score[:, :4], cost=train.cost[:, :4]),
               replace(valid, models=pool, score=valid.score[:, :4], cost=valid.cost[:, :4]))
    with pytest.raises(RouterError, match="capability vector for"):
        router.route(test)
    with pytest.raises(RouterError, match="one accuracy per core task"):
        router.add_model("x", [0.5, 0.5])
    with pytest.raises(RouterError, match="backbone"):
        ModelSATRouter(ev.context(42), backbone="llama")


def test_cuda_training_when_a_gpu_is_present(setup) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU")
    _, ev, train, valid, test = setup
    ctx = ev.context(42)
    ctx.device = "cuda"
    router = ModelSATRouter(ctx, **FAST)
    router.fit(train, valid)
    assert router.device.type == "cuda"
    assert router.route(test).choice.shape == (len(test),)


def test_per_dataset_core_tasks_give_per_dataset_train_accuracy():
    bench = make_synthetic_bench(n_clusters=3, n_models=3, queries_per_cluster=30, seed=4)
    ev = Evaluator(bench.matrix, seeds=[42], embedder=HashingEmbedder(dim=64))
    train, valid, _ = ev.views(42)
    router = ModelSATRouter(ev.context(42), core_from="datasets", max_steps=20, eval_every=10)
    router.fit(train, valid)
    names = list(dict.fromkeys(np.asarray(train.datasets).tolist()))
    assert router.core_names == names and router.describe()["core_from"] == "datasets"
    ds = np.asarray(train.datasets)
    for j, m in enumerate(train.models):
        expect = [np.nanmean(train.score[ds == n, j]) for n in names]
        assert np.allclose(router.capabilities[m], expect)
