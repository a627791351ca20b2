# ruff: noqa: TID253  (heavy implementation module: imported only when the router is used)
"""Torch plumbing shared by the trained routers: device choice, seeding, batching, early stopping.

Every neural router needs the same few things done the same way — a device that fails loudly when
CUDA is asked for but absent, seeds derived from the run seed, shuffled mini-batches, and a
training loop that keeps the checkpoint that did best on the *validation* split (never on test).
Keeping them here means a fix lands in every router at once.

Only router modules import this (it imports torch at the top); nothing on the CLI path does.
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from routerbench_core.routing.router import RouterError

if TYPE_CHECKING:
    from routerbench_core.routing.router import RouterContext

__all__ = [
    "TrainResult",
    "batches",
    "check_pool",
    "configure_threads",
    "predict_in_chunks",
    "ctx_seed",
    "resolve_device",
    "routed_score",
    "seed_torch",
    "soft_targets",
    "to_tensor",
    "torch_threads",
    "train_early_stopping",
]


def resolve_device(name: str | None) -> torch.device:
    """The torch device for ``--device``; asking for CUDA without one is an error, not a
    silent fallback to CPU (timings and results would be misattributed)."""
    name = (name or "cpu").strip().lower()
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RouterError(
                f"--device {name} was requested but torch {torch.__version__} sees no CUDA "
                "device (torch.cuda.is_available() is False); use --device cpu, or install a "
                "CUDA build of torch on a machine with an NVIDIA GPU"
            )
        index = name.partition(":")[2]
        if index and int(index) >= torch.cuda.device_count():
            raise RouterError(
                f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) are visible"
            )
        return torch.device(name)
    if name == "cpu":
        return torch.device("cpu")
    raise RouterError(f"unknown device {name!r}: use cpu, cuda, cuda:N or auto")


def ctx_seed(ctx: RouterContext, salt: str) -> int:
    """A 31-bit seed derived from the run seed and ``salt`` (so two routers, or two parts of
    one router, draw independent streams that are still reproducible)."""
    return int(ctx.rng(salt).integers(0, 2**31 - 1))


def configure_threads(default: int | None = 1) -> None:
    """Set torch's intra-op threads from ``RBENCH_TORCH_THREADS`` (``0`` = torch's own choice),
    else to ``default``. The routers' models are small: on a busy shared machine intra-op
    threads cost more in contention than they gain (measured: a 256x128 MF step took 15 ms
    with 2 threads and 1 ms with 1 on a loaded 2-core box), hence one thread by default."""
    value = os.environ.get("RBENCH_TORCH_THREADS", "").strip()
    n = default
    if value:
        try:
            n = int(value)
        except ValueError as exc:
            raise RouterError(f"RBENCH_TORCH_THREADS={value!r} is not an integer") from exc
    if n is not None and n >= 1 and torch.get_num_threads() != n:
        torch.set_num_threads(n)


@contextmanager
def torch_threads(default: int | None = 1) -> Iterator[None]:
    """Run a block (a router's training) under :func:`configure_threads`, then restore the
    previous thread count so the rest of the process (embedders, other routers) is unaffected."""
    before = torch.get_num_threads()
    configure_threads(default)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def seed_torch(seed: int) -> torch.Generator:
    """Seed torch's global RNG (module initialisation draws from it) and return a private
    generator for shuffling, so batch order does not depend on anything else drawing numbers."""
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def to_tensor(x: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(x), dtype=dtype, device=device)


def batches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless shuffled mini-batches of row indices: each epoch is one permutation of ``range(n)``
    (the last short batch is kept, so small training sets are not starved)."""
    if n <= 0:
        raise RouterError("cannot train on an empty training set")
    batch_size = max(1, min(batch_size, n))
    while True:
        perm = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            yield perm[start : start + batch_size]


def soft_targets(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(targets, mask) for a binary-correctness objective: scores in [0, 1] are kept as soft
    targets (a 0.5 partial credit is a 0.5 target, not a class) and missing cells are masked."""
    mask = ~np.isnan(score)
    targets = np.clip(np.where(mask, score, 0.0), 0.0, 1.0)
    return targets.astype(np.float32), mask.astype(np.float32)


def routed_score(pred: np.ndarray, score: np.ndarray) -> float:
    """Mean score obtained by picking ``argmax`` of ``pred`` per row: the validation criterion
    every router here early-stops on, because it is what the benchmark measures. A chosen cell
    that is missing counts as a failure (0), as it would for a deployed router."""
    if len(pred) == 0:
        return float("nan")
    pick = np.argmax(pred, axis=1)
    got = score[np.arange(len(pick)), pick]
    return float(np.mean(np.where(np.isnan(got), 0.0, got)))


@dataclass
class TrainResult:
    """What a training run did: reported by routers' ``describe()``."""

    best_step: int
    best_valid: float | None
    steps_run: int
    stopped_early: bool
    seconds: float
    history: list[tuple[int, float, float | None]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "best_step": self.best_step,
            "best_valid": self.best_valid,
            "steps_run": self.steps_run,
            "stopped_early": self.stopped_early,
            "train_seconds": round(self.seconds, 3),
        }


def train_early_stopping(
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    step_loss: Callable[[int], torch.Tensor],
    evaluate: Callable[[], float] | None,
    *,
    max_steps: int,
    eval_every: int,
    patience: int,
    ctx: RouterContext | None = None,
    label: str = "training",
    grad_clip: float | None = 1.0,
    min_delta: float = 1e-6,
) -> TrainResult:
    """Run ``max_steps`` optimiser steps, evaluating on validation every ``eval_every`` steps.

    ``step_loss(step)`` returns the loss of one mini-batch; ``evaluate()`` returns a
    higher-is-better validation figure (typically :func:`routed_score`). Training stops after
    ``patience`` evaluations without improvement and the module is left holding the best
    validation checkpoint. With ``evaluate=None`` (no validation split) the final weights are
    kept and the result says so.
    """
    if max_steps < 1:
        raise RouterError(f"max_steps must be >= 1 (got {max_steps})")
    eval_every = max(1, eval_every)
    start = time.perf_counter()
    best_state: dict[str, torch.Tensor] | None = None
    best_valid: float | None = None
    best_step = 0
    since_best = 0
    history: list[tuple[int, float, float | None]] = []
    running = 0.0
    count = 0
    stopped = False
    step = 0
    for step in range(1, max_steps + 1):
        module.train()
        optimizer.zero_grad(set_to_none=True)
        loss = step_loss(step)
        if not torch.isfinite(loss):
            raise RouterError(f"{label}: loss became {loss.item()} at step {step}; lower the lr")
        loss.backward()
        if grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(module.parameters(), grad_clip)
        optimizer.step()
        running += float(loss.detach())
        count += 1
        if step % eval_every == 0 or step == max_steps:
            valid: float | None = None
            if evaluate is not None:
                module.eval()
                with torch.no_grad():
                    valid = float(evaluate())
                if best_valid is None or valid > best_valid + min_delta:
                    best_valid, best_step, since_best = valid, step, 0
                    best_state = copy.deepcopy(
                        {k: v.detach().clone() for k, v in module.state_dict().items()}
                    )
                else:
                    since_best += 1
            history.append((step, running / max(count, 1), valid))
            if ctx is not None:
                shown = "n/a" if valid is None else f"{valid:.4f}"
                ctx.report(
                    f"{label}: step {step}/{max_steps} loss {running / max(count, 1):.4f} "
                    f"valid {shown}",
                    step / max_steps,
                )
            running, count = 0.0, 0
            if evaluate is not None and since_best >= patience:
                stopped = True
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    else:
        best_step = step
    module.eval()
    return TrainResult(
        best_step=best_step,
        best_valid=best_valid,
        steps_run=step,
        stopped_early=stopped,
        seconds=time.perf_counter() - start,
        history=history,
    )


def check_pool(fitted: list[str], asked: list[str], router: str) -> None:
    """Routing must be over the model pool the router was fitted on, in the same order."""
    if list(fitted) != list(asked):
        raise RouterError(
            f"{router} was fitted on models {list(fitted)} but asked to route over "
            f"{list(asked)}; refit it on this pool"
        )


def predict_in_chunks(
    fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, chunk: int = 4096
) -> np.ndarray:
    """Apply ``fn`` row-chunk by row-chunk without gradients and return a numpy array (keeps
    memory flat when routing tens of thousands of queries)."""
    outs = []
    with torch.no_grad():
        for start in range(0, len(x), chunk):
            outs.append(fn(x[start : start + chunk]).detach().float().cpu().numpy())
    if not outs:
        return np.zeros((0,), dtype=np.float32)
    return np.concatenate(outs, axis=0)
