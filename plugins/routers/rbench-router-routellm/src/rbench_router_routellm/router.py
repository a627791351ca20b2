"""RouteLLM's matrix-factorisation router (Ong et al., 2024, "RouteLLM: learning to route LLMs
with preference data").

Each model m has a learned vector v_m; a query q enters through its (frozen) embedding e_q,
projected to the same space. The score of model m on q is

    δ(m, q) = w₂ᵀ (v_m ⊙ (W₁ e_q + b))

and the probability that model i's answer is preferred to model j's is the Bradley–Terry
σ(δ(i, q) − δ(j, q)). The router sends a query to the strong model when
P(strong wins | q) ≥ τ, with τ calibrated on the validation split so that a target share of
validation queries goes to the strong model; sweeping the share gives the cost–accuracy curve.

Preference pairs come from graded outcomes: for a train query and two models with different
scores, the higher-scored one wins. Equal scores are ties. ``ties="weak"`` (default) counts a tie as a win of the
cheaper model of the pair: both answers are equally good, so the cheap one is preferred and
P(strong wins) becomes "the strong model is needed", the quantity the router thresholds.
``ties="drop"`` leaves ties out of the Bradley–Terry likelihood (plain preference data without
a winner); ``ties="half"`` keeps them as a soft 0.5 label. See the README on why the default.

Like the paper's router, which learns from Chatbot Arena battles among many models and is then
used for one strong/weak pair, the factorisation is trained on pairs of *all* models of the
bench (``pairs="all"``, default) and queried for the chosen pair; ``pairs="pair"`` trains on the
strong/weak pair only. Defaults: weak = the cheapest model on train, strong = the best on train
(AvgAcc) among the others (:func:`routerbench_core.routing.ml.strong_weak_pair`). In the perf
setting a bench without costs (or with equal costs) works too: strong = the best on train, weak
= the runner-up, and a tie is won by the less accurate model of a pair.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
from pydantic import Field

from rbench_router_routellm.plugin import CAPABILITIES
from routerbench_core import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    Routing,
    ml,
)

#: Behaviour version (bump with a README changelog line when routing decisions change).
VERSION = "2.1"
TIES = ("drop", "half", "weak")
PAIRS = ("all", "pair")


def preference_pairs(
    score: np.ndarray, cost: np.ndarray | None, models: list[int], ties: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(query row, model a, model b, P(a preferred)) for every model pair of every query.

    Missing scores give no pair. See the module docstring for ``ties``.
    """
    rows, ma, mb, label = [], [], [], []
    mean_cost = None if cost is None else np.nan_to_num(np.nanmean(cost, axis=0), nan=np.inf)
    for x, i in enumerate(models):
        for j in models[x + 1:]:
            si, sj = score[:, i], score[:, j]
            known = ~(np.isnan(si) | np.isnan(sj))
            win = known & (si > sj)
            lose = known & (si < sj)
            tie = known & (si == sj)
            for mask, value in ((win, 1.0), (lose, 0.0)):
                r = np.flatnonzero(mask)
                rows.append(r)
                ma.append(np.full(len(r), i))
                mb.append(np.full(len(r), j))
                label.append(np.full(len(r), value))
            if ties != "drop":
                r = np.flatnonzero(tie)
                if ties == "half":
                    value = 0.5
                else:  # the cheaper model of the pair wins a tie
                    assert mean_cost is not None
                    value = 1.0 if mean_cost[i] < mean_cost[j] else 0.0
                rows.append(r)
                ma.append(np.full(len(r), i))
                mb.append(np.full(len(r), j))
                label.append(np.full(len(r), value))
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0)
    return (np.concatenate(rows).astype(np.int64), np.concatenate(ma).astype(np.int64),
            np.concatenate(mb).astype(np.int64), np.concatenate(label))


class RouteLLMRouter(Router, capabilities=CAPABILITIES):
    """Strong/weak routing by a matrix-factorisation win-probability model."""


    class Params(RouterParams):
        strong: str | None = Field(None, description="the strong model; None: chosen on train")
        weak: str | None = Field(None, description="the weak (cheap) model; None: chosen on train")
        strong_share: float = Field(0.5, ge=0, le=1,
            description="share of queries sent to the strong model in the default routing")
        shares: int = Field(11, ge=2, description="points of the strong-share sweep")
        ties: Literal["drop", "half", "weak"] = Field("weak",
            description="a tie between two models: dropped, labelled 0.5, or a win for the weak "
            "one")
        pairs: Literal["all", "pair"] = Field("all",
            description="preference pairs from all model pairs, or only the strong/weak pair")
        project: bool = Field(True, description="learn a projection of the query embedding to "
            "`dim` (default, see README); off: the embedding is used as is, `dim` = its size "
            "(the seed's config)")
        dim: int = Field(64, ge=1, description="factorisation dimension when `project` is on")
        normalise_models: bool = Field(False, description="L2-normalise the model vectors "
            "before the difference, as the seed's training does (off by default, see README)")
        epochs: int = Field(30, ge=1, description="passes over the preference pairs (seed: 30)")
        max_steps: int | None = Field(300, ge=1, description="stop after about this many "
            "steps (default 300, see README); None: every epoch runs (the seed's config)")
        lr: float = Field(1e-2, gt=0, description="learning rate (default 1e-2; seed: 3e-4)")
        weight_decay: float = Field(1e-5, ge=0, description="Adam weight decay")
        batch_size: int = Field(2048, ge=1, description="preference pairs per step (default "
            "2048; seed: 64)")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        ml.check_model_pair("routellm", ctx.models, strong=p.strong, weak=p.weak)
        self.strong_name, self.weak_name = p.strong, p.weak
        self.strong_share = p.strong_share
        self.n_shares = p.shares
        self.ties, self.pairs = p.ties, p.pairs
        self.dim, self.epochs, self.lr = p.dim, p.epochs, p.lr
        self.max_steps = p.max_steps
        self.project, self.normalise_models = p.project, p.normalise_models
        self.weight_decay, self.batch_size = p.weight_decay, p.batch_size
        self.strong = self.weak = -1
        self._net: Any = None
        self._valid_prob: np.ndarray | None = None
        self._info: dict[str, Any] = {}

    # -- the factorisation --------------------------------------------------------------------

    def _train(self, emb: np.ndarray, score: np.ndarray, cost: np.ndarray) -> None:
        import torch

        from routerbench_core import configure_threads

        configure_threads()
        models = (list(range(score.shape[1])) if self.pairs == "all"
                  else sorted({self.strong, self.weak}))
        rows, ma, mb, label = preference_pairs(score, cost, models, self.ties)
        self._info["n_pairs"] = int(len(rows))
        if len(rows) == 0:
            raise RouterError(
                "routellm: no preference pairs on train (every model scored the same on every "
                "query); nothing to learn"
            )
        gen = torch.Generator().manual_seed(int(self.ctx.rng("routellm").integers(2**31)))
        d, m = emb.shape[1], score.shape[1]
        dim = self.dim if self.project else d
        net = {
            "proj": torch.nn.Linear(d, dim) if self.project else torch.nn.Identity(),
            "models": torch.nn.Embedding(m, dim),
            "out": torch.nn.Linear(dim, 1, bias=False),
        }
        # Scales chosen so δ starts O(1): unit-norm embeddings give projected coordinates of
        # order 1, model vectors are standard normal, the output averages over ``dim``.
        with torch.no_grad():
            if self.project:
                net["proj"].weight.copy_(torch.randn(net["proj"].weight.shape, generator=gen))
                net["proj"].bias.zero_()
            net["models"].weight.copy_(torch.randn(net["models"].weight.shape, generator=gen))
            net["out"].weight.copy_(
                torch.randn(net["out"].weight.shape, generator=gen) / np.sqrt(dim)
            )
        params = [p for layer in net.values() for p in layer.parameters()]
        opt = torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
        x = torch.as_tensor(emb, dtype=torch.float32)
        r, a, b = (torch.as_tensor(v) for v in (rows, ma, mb))
        y = torch.as_tensor(label, dtype=torch.float32)
        n = len(rows)
        # at most ``epochs`` passes and at most about ``max_steps`` optimiser steps: small
        # benches get every epoch, large ones stop once the step budget is spent (fit time
        # stays bounded; the loss has flattened by then on the benches we measured)
        per_epoch = max(1, -(-n // self.batch_size))
        epochs = self.epochs if self.max_steps is None else max(
            1, min(self.epochs, -(-self.max_steps // per_epoch)))
        self._info["epochs_run"] = epochs
        for epoch in range(epochs):
            order = torch.randperm(n, generator=gen)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                q = net["proj"](x[r[idx]])
                va, vb = self._model_vectors(net["models"](a[idx]), net["models"](b[idx]))
                delta = net["out"]((va - vb) * q)[:, 0]
                loss = torch.nn.functional.binary_cross_entropy_with_logits(delta, y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
            self.ctx.report("routellm: training", (epoch + 1) / epochs)
        self._info["final_loss"] = float(loss.detach())
        self._net = net

    def _model_vectors(self, va: Any, vb: Any) -> tuple[Any, Any]:
        """The two models' vectors as they enter the score: unit length by default."""
        if not self.normalise_models:
            return va, vb
        import torch

        return (torch.nn.functional.normalize(va, dim=-1),
                torch.nn.functional.normalize(vb, dim=-1))

    def win_probability(self, emb: np.ndarray) -> np.ndarray:
        """P(strong answer preferred to weak answer | query) for each embedding row."""
        import torch

        if self._net is None:
            raise RouterError("routellm: call fit() before route()")
        net = self._net
        with torch.no_grad():
            q = net["proj"](torch.as_tensor(emb, dtype=torch.float32))
            vs, vw = self._model_vectors(net["models"].weight[[self.strong]],
                                         net["models"].weight[[self.weak]])
            delta = net["out"]((vs - vw) * q)[:, 0]
            return torch.sigmoid(delta).numpy().astype(np.float64)

    # -- the router ---------------------------------------------------------------------------

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        if len(train) == 0:
            raise RouterError("routellm: the training split is empty")
        self.strong, self.weak, note = ml.strong_weak_pair(
            train, self.strong_name, self.weak_name,
            require_cost=self.ctx.setting == "perf-cost")
        self._info["strong_chosen"] = note
        cost = train.cost
        if not ml.costs_known(train):  # perf setting (strong_weak_pair refused it otherwise)
            # no "cheaper" model: the less accurate model of a pair (train AvgAcc) wins a tie
            cost = np.broadcast_to(train.avg_acc(), train.score.shape)
            self._info["tie_winner"] = "the less accurate model (costs unknown)"
        self._train(train.embeddings(), train.score, cost)
        calib = valid if len(valid) else train
        self._valid_prob = self.win_probability(calib.embeddings())
        self._info["calibrated_on"] = "validation" if len(valid) else "train"

    def sweep(self) -> list[dict[str, Any]]:
        return [{"strong_share": s} for s in ml.share_grid(self.n_shares)]

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        share = float((config or {}).get("strong_share", self.strong_share))
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64))
        assert self._valid_prob is not None
        return ml.route_two_by_share(
            self.win_probability(queries.embeddings()), self._valid_prob, share,
            self.ctx.rng(f"routellm-ties-{share}"), picked=self.strong, other=self.weak,
            share_key="strong_share",
        )

    def describe(self) -> dict[str, Any]:
        models = self.ctx.models
        return {
            "version": VERSION,
            "strong": models[self.strong] if self.strong >= 0 else self.strong_name,
            "weak": models[self.weak] if self.weak >= 0 else self.weak_name,
            "strong_share": self.strong_share, "ties": self.ties, "pairs": self.pairs,
            "project": self.project, "dim": self.dim if self.project else "embedding size",
            "normalise_models": self.normalise_models, "epochs": self.epochs,
            "max_steps": self.max_steps, "lr": self.lr, "batch_size": self.batch_size,
            **self._info,
        }

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> Any:
        from routerbench_core import RouterState, module_arrays

        if self._net is None or self._valid_prob is None:
            raise RouterError("routellm: call fit() before save_state()")
        arrays = {"valid_prob": self._valid_prob}
        for name, layer in self._net.items():
            arrays.update(module_arrays(layer, prefix=f"{name}."))
        return RouterState(config={"version": VERSION, "strong": self.strong,
                                   "weak": self.weak, "info": self._info,
                                   "project": self.project,
                                   "normalise_models": self.normalise_models}, arrays=arrays)

    def load_state(self, state: Any) -> None:
        import torch

        from routerbench_core import load_module_arrays

        self.strong, self.weak = int(state.value("strong")), int(state.value("weak"))
        self._info = dict(state.config.get("info") or {})
        # states written before version 2 always had a projection and raw model vectors
        self.project = bool(state.config.get("project", True))
        self.normalise_models = bool(state.config.get("normalise_models", False))
        models = state.array("models.weight", ndim=2)
        if self.project:
            proj = state.array("proj.weight", ndim=2)
            proj_layer: Any = torch.nn.Linear(proj.shape[1], proj.shape[0])
        else:
            proj_layer = torch.nn.Identity()
        self._net = {
            "proj": proj_layer,
            "models": torch.nn.Embedding(models.shape[0], models.shape[1]),
            "out": torch.nn.Linear(models.shape[1], 1, bias=False),
        }
        for name, layer in self._net.items():
            load_module_arrays(layer, state, prefix=f"{name}.")
        self._valid_prob = np.asarray(state.array("valid_prob", ndim=1), dtype=np.float64)
