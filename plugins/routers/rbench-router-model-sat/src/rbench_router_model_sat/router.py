# ruff: noqa: TID253  (heavy implementation module: imported only when the router is used)
"""MODEL-SAT (Zhang, Zhan & Ye, AAAI 2025): routing by capability instructions.

Each model is described by an *aptitude test*: its accuracies on a small core set of tasks.
A learner reads (query, capability representation) and predicts whether that model answers the
query correctly; routing picks the model with the highest P(correct). Because a model enters
only through its capability vector, a new model is routed to after it takes the aptitude test —
no retraining (:meth:`ModelSATRouter.add_model`).

Here the core tasks are drawn from train: k-means clusters of the train query embeddings, and
``shots`` queries sampled from each cluster form that task's test. The learner is a small MLP
over the frozen query embedding, a capability encoder, and the capability weighted by how close
the query is to each core task (the paper's capability encoder + lightweight LLM, scaled to CPU).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn

from rbench_router_model_sat.plugin import CAPABILITIES
from routerbench_core import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    Routing,
    TrainResult,
    batches,
    ctx_seed,
    ml,
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
VERSION = "1"

class _SAT(nn.Module):
    """logit(q, m) = w · (h_q ⊙ (h_m + F (r(q) ⊙ a_m))) + α · (r(q) · a_m) + b.

    ``a_m`` is model m's capability vector (accuracy per core task), ``r(q)`` the softmax
    closeness of the query to each core task, ``h_m`` an encoding of the whole capability
    vector and ``F`` a linear reading of it focused on the tasks near the query — so the same
    vector reads differently for a maths query and a trivia query. ``r(q) · a_m`` (the model's
    accuracy on the tasks like this query) is the aptitude test's direct prior.
    """

    def __init__(self, d_in: int, n_tasks: int, dim: int, dropout: float) -> None:
        super().__init__()
        self.query = nn.Sequential(nn.Linear(d_in, dim), nn.GELU(), nn.Dropout(dropout),
                                   nn.Linear(dim, dim))
        self.capability = nn.Sequential(nn.Linear(n_tasks, dim), nn.GELU(), nn.Linear(dim, dim))
        self.focused = nn.Linear(n_tasks, dim, bias=False)
        self.log_beta = nn.Parameter(torch.tensor(np.log(10.0), dtype=torch.float32))
        self.out = nn.Linear(dim, 1)
        self.prior_weight = nn.Parameter(torch.tensor(1.0))

    def forward(self, q: torch.Tensor, tasks: torch.Tensor, caps: torch.Tensor) -> torch.Tensor:
        """q (B, d), tasks (T, d) core-task centroids, caps (M, T) accuracies -> logits (B, M)."""
        rel = torch.softmax(self.log_beta.exp() * (q @ tasks.T), dim=-1)  # (B, T)
        hq = self.query(q)  # (B, dim)
        hm = self.capability(caps)  # (M, dim)
        focused = self.focused(rel[:, None, :] * caps[None, :, :] * caps.shape[1])  # (B, M, dim)
        prior = rel @ caps.T  # (B, M)
        z = hq[:, None, :] * (hm[None, :, :] + focused)
        return self.out(z).squeeze(-1) + self.prior_weight * prior


class ModelSATRouter(Router, capabilities=CAPABILITIES):
    """Capability-instruction router over frozen query embeddings.

    Parameters: ``core_tasks`` (number of core tasks, paper 50), ``shots`` (queries per core
    task, paper 20), ``dim``, ``lr``, ``weight_decay``, ``batch_size``, ``max_steps``,
    ``eval_every``/``patience`` (early stopping on validation routed accuracy), ``dropout``,
    ``backbone`` (``mlp``; see README), ``device``.
    """


    class Params(RouterParams):
        core_from: Literal["clusters", "datasets"] = Field("clusters",
            description="core tasks: k-means clusters of train queries, or one per train "
            "dataset (the seed's per-dataset capability descriptions; see README)")
        core_tasks: int = Field(50, ge=1,
            description="k-means core tasks when core_from=clusters (paper 50)")
        shots: int = Field(20, ge=1, description="queries per core task (paper 20)")
        dim: int = Field(64, ge=1, description="hidden size")
        lr: float = Field(1e-3, gt=0, description="learning rate")
        weight_decay: float = Field(1e-4, ge=0, description="AdamW weight decay")
        batch_size: int = Field(256, ge=1, description="queries per step")
        max_steps: int = Field(2000, ge=1, description="training steps at most")
        eval_every: int = Field(50, ge=1, description="steps between validation checks")
        patience: int = Field(8, ge=1,
            description="validation checks without improvement before stopping")
        dropout: float = Field(0.1, ge=0, lt=1, description="dropout rate")
        backbone: Literal["mlp", "causal-lm"] = Field(
            "mlp", description="mlp (default, CPU), or causal-lm with backbone_model=<local path> "
            "(GPU; see README)")
        backbone_model: str | None = Field(None, description="the LM backbone's model name/path")
        lm_lr: float = Field(2e-5, gt=0, description="learning rate of the LM backbone")
        soft_tokens: int = Field(4, ge=0, description="soft prompt tokens of the LM backbone")
        max_length: int = Field(256, ge=1, description="LM input truncation (tokens)")
        lm_batch_size: int = Field(16, ge=1, description="LM queries per step")
        device: str | None = Field(None, description="cpu or cuda (default: the run's --device)")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        if p.backbone == "causal-lm" and not p.backbone_model:
            raise RouterError("model-sat: backbone=causal-lm needs backbone_model=<local path>")
        self.backbone_model = p.backbone_model
        self.lm_lr = p.lm_lr
        self.soft_tokens = p.soft_tokens
        self.max_length = p.max_length
        self.lm_batch_size = p.lm_batch_size
        self.lm_net: Any = None
        self.core_tasks = p.core_tasks
        self.core_from = p.core_from
        self.core_names: list[str] = []
        self.shots = p.shots
        self.dim = p.dim
        self.lr = p.lr
        self.weight_decay = p.weight_decay
        self.batch_size = p.batch_size
        self.max_steps = p.max_steps
        self.eval_every = p.eval_every
        self.patience = p.patience
        self.dropout = p.dropout
        self.backbone = p.backbone
        self.device = resolve_device(p.device or ctx.device)
        self.capabilities: dict[str, np.ndarray] = {}
        self.core_keys_: list[list[str]] = []
        self.task_centroids: np.ndarray | None = None
        self.net: _SAT | None = None
        self.result: TrainResult | None = None

    # -- the aptitude test -------------------------------------------------------------------

    def _build_core_set(self, train: LabeledSet) -> np.ndarray:
        """The core tasks and their queries (indices into train, one array per task).

        ``core_from="clusters"`` (default): ``core_tasks`` k-means clusters of the train
        embeddings, ``shots`` queries each. ``"datasets"``: one core task per train dataset and
        every train query of it, so a capability vector is the model's train accuracy per
        dataset — the numbers the seed writes into its per-dataset capability descriptions.
        Each task's centroid is the normalised mean embedding of its queries.
        """
        x = train.embeddings()
        if self.core_from == "datasets":
            names = list(dict.fromkeys(np.asarray(train.datasets).tolist()))
            ds = np.asarray(train.datasets)
            shots = [np.flatnonzero(ds == name) for name in names]
            cents = np.stack([x[s].mean(0) for s in shots])
            cents /= np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-12)
            self.task_centroids = cents.astype(np.float32)
            self.core_names = names
            self.core_keys_ = [[str(train.keys[i]) for i in s] for s in shots]
            out = np.empty(len(shots), dtype=object)
            out[:] = shots
            return out
        k = max(1, min(self.core_tasks, len(train) // max(self.shots, 1) or 1))
        rng = self.ctx.rng("model-sat/core")
        km = ml.kmeans(x, k, seed=rng, n_init=2)
        self.task_centroids = km.centroids.astype(np.float32)
        shots = []
        for t in range(km.centroids.shape[0]):
            members = np.flatnonzero(km.labels == t)
            if len(members) == 0:
                shots.append(np.zeros(0, dtype=np.int64))
                continue
            take = rng.choice(members, size=min(self.shots, len(members)), replace=False)
            shots.append(np.sort(take))
        self.core_keys_ = [[str(train.keys[i]) for i in s] for s in shots]
        return np.array(shots, dtype=object)

    def core_keys(self) -> list[list[str]]:
        """The aptitude test: for each core task, the query keys a model must be scored on."""
        return [list(k) for k in self.core_keys_]

    def capability_from_scores(self, scores: Mapping[str, float]) -> np.ndarray:
        """A model's capability vector from its scores on the core queries (key -> score).

        A core task with no scored query falls back to the model's mean over all given scores.
        """
        if not self.core_keys_:
            raise RouterError("model-sat: call fit() before computing capability vectors")
        known = [float(v) for v in scores.values() if v is not None and not np.isnan(v)]
        if not known:
            raise RouterError("model-sat: no scores were given for any core query")
        overall = float(np.mean(known))
        vec = []
        for keys in self.core_keys_:
            vals = [float(scores[k]) for k in keys if k in scores and scores[k] is not None
                    and not np.isnan(scores[k])]
            vec.append(float(np.mean(vals)) if vals else overall)
        return np.asarray(vec, dtype=np.float32)

    def add_model(self, name: str, capability: Sequence[float] | np.ndarray) -> None:
        """Make a new model routable from its capability vector alone (no retraining)."""
        vec = np.asarray(capability, dtype=np.float32)
        if vec.shape != (len(self.core_keys_),):
            raise RouterError(
                f"model-sat: capability vector for {name!r} has shape {vec.shape}; expected "
                f"({len(self.core_keys_)},) — one accuracy per core task (see core_keys())"
            )
        if np.isnan(vec).any() or (vec < 0).any() or (vec > 1).any():
            raise RouterError(f"model-sat: capability of {name!r} must be accuracies in [0, 1]")
        self.capabilities[name] = vec

    # -- training and routing ----------------------------------------------------------------

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        with torch_threads(None if self.backbone == "causal-lm" else 1):
            self._fit(train, valid)

    def _fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        x = train.embeddings()
        targets, mask = soft_targets(train.score)
        if mask.sum() == 0:
            raise RouterError("model-sat: the training split has no known scores")
        shots = self._build_core_set(train)
        self.capabilities = {}
        for j, m in enumerate(train.models):
            col = train.score[:, j]
            core_scores = {str(train.keys[i]): float(col[i]) for s in shots for i in s}
            if not any(np.isfinite(v) for v in core_scores.values()):
                raise RouterError(f"model-sat: model {m!r} has no score on any core query")
            self.add_model(m, self.capability_from_scores(core_scores))
        if self.backbone == "causal-lm":
            self._fit_lm(train, valid)
            return
        gen = seed_torch(ctx_seed(self.ctx, "model-sat"))
        dev = self.device
        assert self.task_centroids is not None
        self.net = _SAT(x.shape[1], len(self.core_keys_), self.dim, self.dropout).to(dev)
        net = self.net
        tasks = to_tensor(self.task_centroids, dev)
        caps = to_tensor(np.stack([self.capabilities[m] for m in train.models]), dev)
        xt, yt, mt = to_tensor(x, dev), to_tensor(targets, dev), to_tensor(mask, dev)
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        it = batches(len(x), self.batch_size, gen)
        lossf = nn.BCEWithLogitsLoss(reduction="none")

        def step_loss(_: int) -> torch.Tensor:
            idx = next(it).to(dev)
            m = mt[idx]
            return (lossf(net(xt[idx], tasks, caps), yt[idx]) * m).sum() / m.sum().clamp_min(1)

        evaluate = None
        if len(valid) > 0:
            xv = to_tensor(valid.embeddings(), dev)
            sv = valid.score

            def evaluate() -> float:
                return routed_score(predict_in_chunks(lambda b: net(b, tasks, caps), xv), sv)

        self.result = train_early_stopping(
            net, opt, step_loss, evaluate, max_steps=self.max_steps,
            eval_every=self.eval_every, patience=self.patience, ctx=self.ctx, label="model-sat",
        )

    def _fit_lm(self, train: LabeledSet, valid: LabeledSet) -> None:
        """Tune the causal-LM backbone on (capability, instruction) -> correct pairs."""
        from rbench_router_model_sat.lm_backbone import CapabilityLM, load_causal_lm, pair_logits

        gen = seed_torch(ctx_seed(self.ctx, "model-sat/lm"))
        dev = self.device
        assert self.backbone_model is not None
        tok, lm = load_causal_lm(self.backbone_model, dev)
        net = CapabilityLM(tok, lm, len(self.core_keys_), self.soft_tokens,
                           self.max_length).to(dev)
        self.lm_net = net
        caps = np.stack([self.capabilities[m] for m in train.models])
        capt = to_tensor(caps, dev)
        targets, mask = soft_targets(train.score)
        cells = np.argwhere(mask > 0)
        yt = to_tensor(targets, dev)
        opt = torch.optim.AdamW([
            {"params": net.encoder.parameters(), "lr": self.lr},
            {"params": net.lm.parameters(), "lr": self.lm_lr},
        ], weight_decay=self.weight_decay)
        it = batches(len(cells), self.lm_batch_size, gen)
        texts = list(train.texts)
        lossf = nn.BCEWithLogitsLoss()

        def step_loss(_: int) -> torch.Tensor:
            pick = cells[next(it).numpy()]
            logits = net([texts[i] for i in pick[:, 0]], capt[pick[:, 1]])
            return lossf(logits, yt[pick[:, 0], pick[:, 1]])

        evaluate = None
        if len(valid) > 0:
            vtexts, sv = list(valid.texts), valid.score

            def evaluate() -> float:
                return routed_score(pair_logits(net, vtexts, caps, dev, self.lm_batch_size), sv)

        self.result = train_early_stopping(
            net, opt, step_loss, evaluate, max_steps=self.max_steps,
            eval_every=self.eval_every, patience=self.patience, ctx=self.ctx,
            label="model-sat (causal-lm)",
        )

    def predict_proba(self, queries: QuerySet) -> np.ndarray:
        """P(correct) for each query and each model of ``queries.models`` (n, models)."""
        if (self.net is None and self.lm_net is None) or self.task_centroids is None:
            raise RouterError("model-sat: call fit() before route()")
        missing = [m for m in queries.models if m not in self.capabilities]
        if missing:
            raise RouterError(
                f"model-sat has no capability vector for {missing}; give one with "
                "add_model(name, capability_from_scores(scores on core_keys()))"
            )
        dev = self.device
        if self.lm_net is not None:
            from rbench_router_model_sat.lm_backbone import pair_logits

            capn = np.stack([self.capabilities[m] for m in queries.models])
            logits = pair_logits(self.lm_net, list(queries.texts), capn, dev, self.lm_batch_size)
            return 0.5 * (1.0 + np.tanh(0.5 * logits))
        caps = to_tensor(np.stack([self.capabilities[m] for m in queries.models]), dev)
        tasks = to_tensor(self.task_centroids, dev)
        x = to_tensor(queries.embeddings(), dev)
        net = self.net
        return predict_in_chunks(lambda b: torch.sigmoid(net(b, tasks, caps)), x)

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64))
        return Routing(choice=np.argmax(self.predict_proba(queries), axis=1).astype(np.int64))

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "version": VERSION, "core_from": self.core_from,
            "core_tasks": len(self.core_keys_) or self.core_tasks, "shots": self.shots,
            "dim": self.dim, "lr": self.lr, "backbone": self.backbone,
            "backbone_model": self.backbone_model,
            "device": str(self.device),
        }
        if self.result is not None:
            out.update(self.result.as_dict())
        return out

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> Any:
        """The MLP backbone's weights, the core tasks (centroids and shot keys) and every
        model's capability vector (models added with add_model() included)."""
        from routerbench_core import RouterState, module_arrays

        if self.backbone == "causal-lm":
            raise RouterError("model-sat: the causal-lm backbone cannot be saved as an artefact "
                              "yet (its LM weights are not exported); use backbone=mlp")
        if self.net is None or self.task_centroids is None:
            raise RouterError("model-sat: call fit() before save_state()")
        names = list(self.capabilities)
        return RouterState(
            config={"capability_models": names, "core_keys": self.core_keys_,
                    "d_in": int(self.net.query[0].in_features),
                    "result": None if self.result is None else self.result.as_dict()},
            arrays={**module_arrays(self.net), "task_centroids": self.task_centroids,
                    "capabilities": np.stack([self.capabilities[m] for m in names])},
        )

    def load_state(self, state: Any) -> None:
        from routerbench_core import load_module_arrays

        if self.backbone == "causal-lm":
            raise RouterError("model-sat: the causal-lm backbone cannot be loaded from an "
                              "artefact; the artefact was written with backbone=mlp")
        self.core_keys_ = [list(k) for k in state.value("core_keys")]
        self.task_centroids = np.asarray(state.array("task_centroids", ndim=2), np.float32)
        caps = state.array("capabilities", ndim=2)
        self.capabilities = {m: np.asarray(caps[i], np.float32)
                             for i, m in enumerate(state.value("capability_models"))}
        self.net = _SAT(int(state.value("d_in")), len(self.core_keys_), self.dim,
                        self.dropout).to(self.device)
        load_module_arrays(self.net, state)
        self.net.eval()
