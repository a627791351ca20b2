"""EmbedLLM: conformance kit, a synthetic bench with a known answer, exported embeddings."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("torch")

from rbench_router_embedllm.router import EmbedLLMRouter  # noqa: E402

from routerbench_core.testing import (
    Evaluator,  # noqa: E402
    HashingEmbedder,  # noqa: E402
)
from routerbench_core.testing.routers import RouterConformance  # noqa: E402
from routerbench_core.testing.synthetic import make_synthetic_bench  # noqa: E402

FAST = {"max_steps": 300, "eval_every": 25, "patience": 4}


class TestEmbedLLMConformance(RouterConformance):
    router_name = "embedllm"
    router_params = FAST


@pytest.fixture(scope="module")
def fitted(tmp_path_factory: pytest.TempPathFactory):
    bench = make_synthetic_bench(n_clusters=4, n_models=4, queries_per_cluster=80, seed=3)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder())
    ctx = ev.context(42)
    ctx.workdir = str(tmp_path_factory.mktemp("embedllm"))
    router = EmbedLLMRouter(ctx, **FAST)
    train, valid, test = ev.views(42)
    router.fit(train, valid)
    return bench, ev, router, test, ctx


def test_learns_the_expert_of_each_cluster(fitted) -> None:
    bench, ev, router, test, _ = fitted
    rows = ev.split(42).test
    choice = router.route(test).choice
    assert np.mean(choice == bench.expert[rows]) >= 0.85
    proba = router.predict_proba(test)
    assert proba.shape == (len(test), 4) and ((proba >= 0) & (proba <= 1)).all()


def test_exports_learned_model_embeddings(fitted) -> None:
    _, _, router, _, ctx = fitted
    emb = router.model_embeddings()
    assert list(emb) == [f"model-{j}" for j in range(4)]
    assert all(len(v) == router.dim for v in emb.values())
    with open(f"{ctx.workdir}/embedllm_model_embeddings.json", encoding="utf-8") as fh:
        saved = json.load(fh)
    assert saved["models"] == emb


def test_fractional_scores_are_soft_targets_not_classes() -> None:
    """A model that always earns 0.7 must be predicted near 0.7, which a class-label loss
    (score rounded or cast to a class) could not produce."""
    bench = make_synthetic_bench(n_clusters=2, n_models=2, queries_per_cluster=60, seed=1)
    m = bench.matrix
    m.score[:, 0] = 0.7
    m.score[:, 1] = 0.2
    ev = Evaluator(m, seeds=(42,), embedder=HashingEmbedder())
    train, valid, test = ev.views(42)
    router = EmbedLLMRouter(ev.context(42), max_steps=400, eval_every=400, patience=1)
    router.fit(train, valid)
    p = router.predict_proba(test).mean(0)
    assert p[0] == pytest.approx(0.7, abs=0.08) and p[1] == pytest.approx(0.2, abs=0.08)


def test_route_refuses_another_pool(fitted) -> None:
    from dataclasses import replace

    from routerbench_core import RouterError

    _, _, router, test, _ = fitted
    with pytest.raises(RouterError, match="refit"):
        router.route(replace(test, models=list(reversed(test.models))))


def test_cuda_training_when_a_gpu_is_present() -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU")
    bench = make_synthetic_bench(seed=2)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder(), device="cuda")
    train, valid, test = ev.views(42)
    router = EmbedLLMRouter(ev.context(42), **FAST)
    router.fit(train, valid)
    assert router.device.type == "cuda"
    assert router.route(test).choice.shape == (len(test),)


def test_noise_regularises_training_only():
    import torch
    from rbench_router_embedllm.router import _MF

    torch.manual_seed(0)
    net = _MF(8, 3, 4, dropout=0.0, noise=0.05)
    q = torch.randn(5, 8)
    net.eval()
    assert torch.equal(net(q), net(q))  # prediction: no noise
    net.train()
    a, b = net(q), net(q)
    assert not torch.equal(a, b)  # training: a fresh N(0, 0.05²) draw each call
    quiet = _MF(8, 3, 4, dropout=0.0, noise=0.0)
    quiet.train()
    assert torch.equal(quiet(q), quiet(q))
