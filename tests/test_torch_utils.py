"""torch_utils: device choice, seeding, batching and early stopping on validation."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from routerbench_core.routing.router import RouterContext, RouterError  # noqa: E402
from routerbench_core.routing.torch_utils import (  # noqa: E402
    batches,
    check_pool,
    ctx_seed,
    resolve_device,
    routed_score,
    seed_torch,
    soft_targets,
    train_early_stopping,
)


def test_cpu_device_and_unknown_device() -> None:
    assert resolve_device(None).type == "cpu"
    assert resolve_device("CPU").type == "cpu"
    with pytest.raises(RouterError, match="unknown device"):
        resolve_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU error")
def test_cuda_without_gpu_is_a_clear_error() -> None:
    with pytest.raises(RouterError, match="--device cpu"):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU")
def test_cuda_device_when_present() -> None:
    assert resolve_device("cuda").type == "cuda"


def test_ctx_seed_depends_on_seed_and_salt() -> None:
    a = RouterContext(models=["m"], model_specs={}, seed=42)
    b = RouterContext(models=["m"], model_specs={}, seed=999)
    assert ctx_seed(a, "x") == ctx_seed(a, "x")
    assert ctx_seed(a, "x") != ctx_seed(a, "y")
    assert ctx_seed(a, "x") != ctx_seed(b, "x")


def test_batches_cover_each_epoch_once_and_repeat_with_seed() -> None:
    it = batches(10, 4, seed_torch(3))
    epoch = torch.cat([next(it) for _ in range(3)])
    assert sorted(epoch.tolist()) == list(range(10))
    again = batches(10, 4, seed_torch(3))
    assert torch.equal(torch.cat([next(again) for _ in range(3)]), epoch)
    with pytest.raises(RouterError):
        next(batches(0, 4, seed_torch(0)))


def test_soft_targets_keep_partial_credit_and_mask_missing() -> None:
    y, m = soft_targets(np.array([[1.0, 0.5, np.nan]]))
    assert y.tolist() == [[1.0, 0.5, 0.0]]
    assert m.tolist() == [[1.0, 1.0, 0.0]]


def test_routed_score_counts_missing_choice_as_failure() -> None:
    score = np.array([[1.0, 0.0], [np.nan, 1.0]])
    assert routed_score(np.array([[0.9, 0.1], [0.8, 0.2]]), score) == 0.5
    assert routed_score(np.array([[0.9, 0.1], [0.1, 0.8]]), score) == 1.0


def test_check_pool_refuses_another_pool() -> None:
    check_pool(["a", "b"], ["a", "b"], "r")
    with pytest.raises(RouterError, match="refit"):
        check_pool(["a", "b"], ["b", "a"], "r")


def test_early_stopping_keeps_the_best_validation_checkpoint() -> None:
    seed_torch(0)
    w = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        w.weight.fill_(0.0)
    opt = torch.optim.SGD(w.parameters(), lr=1.0)

    def step_loss(_: int) -> torch.Tensor:  # pushes the weight up by 1 per step
        return -w.weight.sum()

    def evaluate() -> float:  # validation is best when the weight is 3
        return -abs(float(w.weight.detach()) - 3.0)

    res = train_early_stopping(w, opt, step_loss, evaluate, max_steps=50, eval_every=1,
                               patience=2, grad_clip=None)
    assert res.best_step == 3 and res.stopped_early and res.steps_run == 5
    assert float(w.weight.detach()) == pytest.approx(3.0)


def test_no_validation_keeps_final_weights_and_reports_progress() -> None:
    w = torch.nn.Linear(1, 1, bias=False)
    opt = torch.optim.SGD(w.parameters(), lr=0.1)
    seen: list[float] = []
    ctx = RouterContext(models=["m"], model_specs={}, progress=lambda _m, f: seen.append(f))
    res = train_early_stopping(w, opt, lambda _: (w.weight ** 2).sum(), None, max_steps=4,
                               eval_every=2, patience=1, ctx=ctx)
    assert res.best_valid is None and res.steps_run == 4 and not res.stopped_early
    assert seen == [0.5, 1.0]


def test_nan_loss_is_an_error() -> None:
    w = torch.nn.Linear(1, 1)
    opt = torch.optim.SGD(w.parameters(), lr=0.1)
    with pytest.raises(RouterError, match="lower the lr"):
        train_early_stopping(w, opt, lambda _: torch.tensor(float("nan"), requires_grad=True),
                             None, max_steps=2, eval_every=1, patience=1)


def test_torch_threads_restores_the_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    from routerbench_core.routing.torch_utils import torch_threads

    before = torch.get_num_threads()
    monkeypatch.delenv("RBENCH_TORCH_THREADS", raising=False)
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    monkeypatch.setenv("RBENCH_TORCH_THREADS", "2")
    with torch_threads(1):
        assert torch.get_num_threads() == 2
    assert torch.get_num_threads() == before
    monkeypatch.setenv("RBENCH_TORCH_THREADS", "many")
    with pytest.raises(RouterError, match="RBENCH_TORCH_THREADS"), torch_threads(1):
        pass
