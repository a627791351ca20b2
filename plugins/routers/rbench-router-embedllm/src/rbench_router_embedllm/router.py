# ruff: noqa: TID253  (heavy implementation module: imported only when the router is used)
"""EmbedLLM (Zhuang et al., 2024): compact learned model embeddings by matrix factorisation.

Each model gets a learned vector; each query's frozen sentence embedding is projected into the
same space; their element-wise product feeds a classifier of "this model answers this query
correctly". Routing picks the model with the highest predicted correctness. The learned model
embeddings are a by-product worth keeping (the paper reuses them for other tasks), so they are
exported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from pydantic import Field
from torch import nn

from rbench_router_embedllm.plugin import CAPABILITIES
from routerbench_core import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    RouterState,
    Routing,
    TrainResult,
    batches,
    check_pool,
    ctx_seed,
    load_module_arrays,
    module_arrays,
    predict_in_chunks,
    resolve_device,
    routed_score,
    seed_torch,
    soft_targets,
    to_tensor,
    torch_threads,
    train_early_stopping,
)

#: Behaviour version (bump with a README changelog line when routing decisions change).
VERSION = "2"


class _MF(nn.Module):
    """logit[q, m] = w · (P q̃ ⊙ e_m) + b, with q̃ = q + N(0, noise²) while training (the
    original's regulariser) and q̃ = q at prediction; optional dropout after the projection
    (rbench v1's regulariser)."""

    def __init__(self, d_in: int, n_models: int, dim: int, dropout: float,
                 noise: float = 0.0) -> None:
        super().__init__()
        self.proj = nn.Linear(d_in, dim)
        self.models = nn.Embedding(n_models, dim)
        self.drop = nn.Dropout(dropout)
        self.noise = noise
        self.classifier = nn.Linear(dim, 1)

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        if self.training and self.noise > 0:
            q = q + torch.randn_like(q) * self.noise
        h = self.drop(self.proj(q))  # (B, dim)
        inter = h[:, None, :] * self.models.weight[None, :, :]  # (B, M, dim)
        return self.classifier(inter).squeeze(-1)  # (B, M)


class EmbedLLMRouter(Router, capabilities=CAPABILITIES):
    """Matrix-factorisation correctness predictor over frozen query embeddings.

    Parameters (``--param key=value``): ``dim`` model-embedding size; ``lr``; ``weight_decay``;
    ``batch_size`` queries per step (all their known model cells are used); ``max_steps``;
    ``eval_every``/``patience`` for early stopping on the validation split's routed accuracy;
    ``dropout``; ``device`` (``cpu``/``cuda``; the CLI's ``--device`` sets it).
    """


    class Params(RouterParams):
        dim: int = Field(232, ge=1, description="model-embedding size (the original's "
                         "default 232; v1: 128)")
        lr: float = Field(1e-3, gt=0, description="learning rate")
        weight_decay: float = Field(1e-5, ge=0, description="AdamW weight decay")
        batch_size: int = Field(256, ge=1,
            description="queries per step (all their known model cells are used)")
        max_steps: int = Field(3000, ge=1, description="training steps at most")
        eval_every: int = Field(50, ge=1, description="steps between validation checks")
        patience: int = Field(10, ge=1,
            description="validation checks without improvement before stopping")
        dropout: float = Field(0.0, ge=0, lt=1, description="dropout after the projection "
                               "(v1: 0.1; the original has none)")
        noise: float = Field(0.05, ge=0, description="std of the Gaussian noise added to the "
                             "query embedding while training (the original's alpha = 0.05)")
        device: str | None = Field(None, description="cpu or cuda (default: the run's --device)")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        self.dim = p.dim
        self.lr = p.lr
        self.weight_decay = p.weight_decay
        self.batch_size = p.batch_size
        self.max_steps = p.max_steps
        self.eval_every = p.eval_every
        self.patience = p.patience
        self.dropout = p.dropout
        self.noise = p.noise
        self.device = resolve_device(p.device or ctx.device)
        self.models: list[str] = []
        self.net: _MF | None = None
        self.result: TrainResult | None = None

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        with torch_threads(1):
            self._fit(train, valid)

    def _fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        self.models = list(train.models)
        x = train.embeddings()
        if x.ndim != 2 or len(x) != len(train):
            raise RouterError("embedllm: the embedder returned no usable query embeddings")
        targets, mask = soft_targets(train.score)
        if mask.sum() == 0:
            raise RouterError("embedllm: the training split has no known scores")
        gen = seed_torch(ctx_seed(self.ctx, "embedllm"))
        dev = self.device
        self.net = _MF(x.shape[1], len(self.models), self.dim, self.dropout, self.noise).to(dev)
        xt, yt, mt = to_tensor(x, dev), to_tensor(targets, dev), to_tensor(mask, dev)
        opt = torch.optim.AdamW(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        batch_iter = batches(len(x), self.batch_size, gen)
        lossf = nn.BCEWithLogitsLoss(reduction="none")
        net = self.net

        def step_loss(_: int) -> torch.Tensor:
            idx = next(batch_iter).to(dev)
            logits = net(xt[idx])
            m = mt[idx]
            return (lossf(logits, yt[idx]) * m).sum() / m.sum().clamp_min(1.0)

        evaluate = None
        if len(valid) > 0:
            xv = to_tensor(valid.embeddings(), dev)
            sv = valid.score

            def evaluate() -> float:
                return routed_score(predict_in_chunks(net, xv), sv)

        self.result = train_early_stopping(
            net, opt, step_loss, evaluate,
            max_steps=self.max_steps, eval_every=self.eval_every, patience=self.patience,
            ctx=self.ctx, label="embedllm",
        )
        if self.ctx.workdir:
            self.export(os.path.join(self.ctx.workdir, "embedllm_model_embeddings.json"))

    def predict_proba(self, queries: QuerySet) -> np.ndarray:
        """P(correct) for every (query, model) pair: (n, models)."""
        if self.net is None:
            raise RouterError("embedllm: call fit() before route()")
        check_pool(self.models, queries.models, "embedllm")
        x = to_tensor(queries.embeddings(), self.device)
        return predict_in_chunks(lambda b: torch.sigmoid(self.net(b)), x)  # type: ignore[misc]

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64))
        proba = self.predict_proba(queries)
        return Routing(choice=np.argmax(proba, axis=1).astype(np.int64))

    def model_embeddings(self) -> dict[str, list[float]]:
        """The learned model embeddings, by model name (the paper's reusable by-product)."""
        if self.net is None:
            raise RouterError("embedllm: call fit() before asking for model embeddings")
        weights = self.net.models.weight.detach().cpu().numpy()
        return {m: [float(v) for v in weights[i]] for i, m in enumerate(self.models)}

    def export(self, path: str) -> None:
        """Write the model embeddings as JSON: ``{"dim": d, "models": {name: [..]}}``."""
        with open(path, "w", encoding="utf-8") as fh:
            json.dump({"dim": self.dim, "models": self.model_embeddings()}, fh)

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": VERSION, "dim": self.dim, "noise": self.noise, "dropout": self.dropout,
            "lr": self.lr, "batch_size": self.batch_size,
            "max_steps": self.max_steps, "device": str(self.device),
        }
        if self.result is not None:
            out.update(self.result.as_dict())
        return out

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> RouterState:
        if self.net is None:
            raise RouterError("embedllm: call fit() before save_state()")
        return RouterState(
            config={"models": self.models, "d_in": int(self.net.proj.in_features),
                    "result": None if self.result is None else self.result.as_dict()},
            arrays=module_arrays(self.net),
        )

    def load_state(self, state: RouterState) -> None:
        self.models = list(state.value("models"))
        self.net = _MF(int(state.value("d_in")), len(self.models), self.dim, self.dropout)
        load_module_arrays(self.net, state)
        self.net.to(self.device).eval()
