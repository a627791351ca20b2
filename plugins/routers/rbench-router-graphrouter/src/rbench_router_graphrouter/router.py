# ruff: noqa: TID253  (heavy implementation module: imported only when the router is used)
"""GraphRouter (Feng et al., ICLR 2025): routing as edge prediction on a heterogeneous graph.

Nodes are tasks, queries and LLMs. Query nodes carry their text embedding, LLM nodes the
embedding of the model's description (from the bench's model specs), task nodes an embedding of
the task. Query–task edges say which task a query belongs to; query–LLM edges carry what is
known of that pairing (performance, normalised cost, and whether it is known). A heterogeneous
GNN (torch-geometric ``HeteroConv`` with edge-featured ``GINEConv`` on query–LLM edges) passes
messages over this graph and a head scores every query–LLM edge; training is a BCE objective
that marks each query's best edge(s) under a utility, with the edges being predicted hidden
from the message passing. Routing picks the best-scored edge.

Utilities (the paper's): perf-first ``e``, balance ``0.5e − 0.5c``, cost-first ``0.2e − 0.8c``.
In the performance–cost setting one network is trained with one output head per utility blend
(the paper's three and intermediate ones), so :meth:`GraphRouter.sweep` traces a curve from a
single training run.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field
from torch import nn
from torch_geometric.nn import GINEConv, HeteroConv, SAGEConv

from rbench_router_graphrouter.plugin import CAPABILITIES
from routerbench_core import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    Routing,
    TrainResult,
    check_pool,
    ctx_seed,
    resolve_device,
    routed_score,
    seed_torch,
    to_tensor,
    torch_threads,
    train_early_stopping,
)

#: Behaviour version (bump with a README changelog line when routing decisions change).
VERSION = "2"

#: (name, weight on performance e, weight on normalised cost c); the paper's three are named.
BLENDS: tuple[tuple[str, float, float], ...] = (
    ("perf-first", 1.0, 0.0),
    ("perf-0.8", 0.8, 0.2),
    ("perf-0.65", 0.65, 0.35),
    ("balance", 0.5, 0.5),
    ("perf-0.35", 0.35, 0.65),
    ("cost-first", 0.2, 0.8),
    ("perf-0.1", 0.1, 0.9),
)

#: w_perf values of the expected-utility sweep points (perf-cost setting).
EXPECTED_GRID: tuple[float, ...] = (0.995, 0.99, 0.98, 0.97, 0.95, 0.9, 0.85, 0.8, 0.7, 0.5)

QT, TQ = ("task", "has", "query"), ("query", "in", "task")
#: Query -> LLM only: an LLM node learns from the outcomes of the queries it served. The reverse
#: direction would tell an observed query its own outcomes (useless for a hidden one within two
#: layers) and doubled the per-step cost on nim9.
QL = ("query", "uses", "llm")


def normalised_cost(cost: np.ndarray) -> np.ndarray:
    """Per-query cost scaled by the dearest known model for that query, in [0, 1].

    Relative within a query, so a blend weighs "how much dearer than the alternatives", which
    is what the routing decision trades; NaN stays NaN (unknown)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        top = np.nanmax(np.where(np.isnan(cost), -np.inf, cost), axis=1, keepdims=True)
        out = cost / np.where(top > 0, top, 1.0)
    return np.where(np.isnan(cost), np.nan, np.clip(out, 0.0, 1.0))


def utility(score: np.ndarray, ncost: np.ndarray, w_e: float, w_c: float) -> np.ndarray:
    """``w_e·e − w_c·c`` per cell (NaN where unknown; cost ignored when ``w_c`` is 0)."""
    c = np.nan_to_num(ncost, nan=0.0) if w_c == 0 else ncost
    return w_e * score - w_c * c


def best_edge_labels(score: np.ndarray, ncost: np.ndarray, w_e: float, w_c: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(labels, mask): 1 on each query's max-utility known edge(s). Queries whose known
    utilities are all equal teach nothing about the choice and are masked out."""
    util = utility(score, ncost, w_e, w_c)
    known = ~np.isnan(util)
    u = np.where(known, util, -np.inf)
    top = u.max(axis=1, keepdims=True)
    low = np.where(known, util, np.inf).min(axis=1, keepdims=True)
    labels = (known & np.isclose(u, top)).astype(np.float32)
    informative = (top > low + 1e-9) & np.isfinite(top)
    mask = (known & informative).astype(np.float32)
    return labels, mask


def _edge_conv(hidden: int) -> GINEConv:
    """Edge-featured convolution for query–LLM edges: each message is ``relu(x_j + W e_ji)``,
    averaged, then an MLP on the node. Per-edge work is an add (not a matrix product, as in
    GeneralConv), which made full-graph steps on nim9 (45k edges each way) several times faster
    on CPU; mean aggregation keeps LLM nodes (thousands of neighbours) well scaled."""
    mlp = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))
    return GINEConv(mlp, edge_dim=2, aggr="mean")


def edge_targets(score: np.ndarray, ncost: np.ndarray, w_e: float, w_c: float,
                 perf_targets: str = "best") -> tuple[np.ndarray, np.ndarray]:
    """Training targets of one head: 1 on each query's max-utility edge(s), as the paper and
    the seed train every head (queries whose utilities all tie are masked out).

    ``perf_targets="soft"`` (rbench v1) makes the pure-performance head learn every known
    edge's score instead, so queries that every model answers — or none does — still teach
    each model's base rate."""
    if w_c == 0 and perf_targets == "soft":
        known = ~np.isnan(score)
        return np.clip(np.nan_to_num(score), 0, 1).astype(np.float32), known.astype(np.float32)
    return best_edge_labels(score, ncost, w_e, w_c)


class _GraphNet(nn.Module):
    def __init__(self, dims: dict[str, int], hidden: int, n_heads: int, layers: int,
                 dropout: float) -> None:
        super().__init__()
        self.inp = nn.ModuleDict({k: nn.Linear(d, hidden) for k, d in dims.items()})
        self.convs = nn.ModuleList([
            HeteroConv({
                QT: SAGEConv((hidden, hidden), hidden),
                TQ: SAGEConv((hidden, hidden), hidden),
                QL: _edge_conv(hidden),
            }, aggr="sum")
            for _ in range(layers)
        ])
        self.drop = nn.Dropout(dropout)
        # Edge head, factorised so per-edge work is element-wise: node-level projections of
        # the query (before and after message passing) and of the LLM, plus their product.
        self.q_add = nn.Linear(2 * hidden, hidden)
        self.l_add = nn.Linear(hidden, hidden)
        self.q_mul = nn.Linear(2 * hidden, hidden)
        self.l_mul = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, n_heads)

    def forward(self, x: dict[str, torch.Tensor], edges: dict[tuple[str, str, str], torch.Tensor],
                attr: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Logits (len(rows), n_llm, heads) for the edges of query nodes ``rows``."""
        h = {k: torch.relu(self.inp[k](v)) for k, v in x.items()}
        q0 = h["query"][rows]
        for conv in self.convs:
            out = conv(h, edges, edge_attr_dict={QL: attr})
            h = {k: self.drop(torch.relu(out[k])) + h[k] if k in out else h[k] for k in h}
        # The query's own (pre-message-passing) features go to the head too, so what the graph
        # adds cannot wash out what the text says.
        q = torch.cat([q0, h["query"][rows]], dim=-1)
        llm = h["llm"]
        pre = (self.q_add(q)[:, None, :] + self.l_add(llm)[None, :, :]
               + self.q_mul(q)[:, None, :] * self.l_mul(llm)[None, :, :])
        return self.out(torch.nn.functional.gelu(pre))


@dataclass
class _Graph:
    """Node features and the task–query edges of one graph, plus what is known of each
    query–LLM pair; the query–LLM edges are built per step from what is observed."""

    x: dict[str, torch.Tensor]
    edges: dict[tuple[str, str, str], torch.Tensor]
    perf: np.ndarray  # (nq, M) observed performance, NaN = hidden/unknown
    ncost: np.ndarray  # (nq, M)
    n_models: int

    def with_observed(self, hide: np.ndarray, device: torch.device
                      ) -> tuple[dict[tuple[str, str, str], torch.Tensor], torch.Tensor]:
        """Edge dict including the query–LLM edges whose outcome is known and not hidden, and
        their attributes ``[e, c]``. A hidden or unknown pairing is simply not an edge (as for
        a test query), so it cannot dilute what an LLM node aggregates."""
        e = self.perf.copy()
        e[hide] = np.nan
        qi, li = np.nonzero(~np.isnan(e))
        a = np.stack([e[qi, li], np.nan_to_num(self.ncost[qi, li])], axis=-1)
        ei = torch.as_tensor(np.stack([qi, li]), dtype=torch.long, device=device)
        return {**self.edges, QL: ei}, to_tensor(a, device)


class GraphRouter(Router, capabilities=CAPABILITIES):
    """Heterogeneous-GNN edge-utility router (both settings).

    Parameters: ``hidden`` (GNN width), ``layers`` (message-passing rounds), ``lr``,
    ``weight_decay``, ``dropout``, ``mask_ratio`` (share of train queries whose edges are hidden
    and predicted at each step), ``max_steps``, ``eval_every``/``patience`` (early stopping on
    validation), ``device``.
    """


    class Params(RouterParams):
        hidden: int = Field(64, ge=1, description="GNN width")
        layers: int = Field(1, ge=1, description="message-passing rounds")
        lr: float = Field(5e-3, gt=0, description="learning rate")
        weight_decay: float = Field(1e-5, ge=0, description="AdamW weight decay")
        dropout: float = Field(0.1, ge=0, lt=1, description="dropout rate")
        mask_ratio: float = Field(0.6, gt=0, le=1,
            description="share of train queries whose edges are hidden and predicted each step")
        perf_targets: Literal["best", "soft"] = Field("best",
            description="perf head targets: the max-utility edges (paper, seed) or every "
            "known edge's score (v1)")
        max_steps: int = Field(600, ge=1, description="training steps at most")
        eval_every: int = Field(10, ge=1, description="steps between validation checks")
        patience: int = Field(15, ge=1,
            description="validation checks without improvement before stopping")
        device: str | None = Field(None, description="cpu or cuda (default: the run's --device)")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        self.hidden = p.hidden
        self.layers = p.layers
        self.lr = p.lr
        self.weight_decay = p.weight_decay
        self.dropout = p.dropout
        self.mask_ratio = p.mask_ratio
        self.perf_targets = p.perf_targets
        self.max_steps = p.max_steps
        self.eval_every = p.eval_every
        self.patience = p.patience
        self.device = resolve_device(p.device or ctx.device)
        self.blends = BLENDS if ctx.setting == "perf-cost" else BLENDS[:1]
        self.models: list[str] = []
        self.net: _GraphNet | None = None
        self.result: TrainResult | None = None
        self._known: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._llm_x: np.ndarray | None = None
        self._tasks: list[str] = []
        self._task_x: np.ndarray | None = None
        self._mean_ncost: np.ndarray | None = None

    # -- graph construction ------------------------------------------------------------------

    def _llm_texts(self) -> list[str]:
        """LLM node texts: the bench's model description (e.g. llmrouter's ``feature``), else
        what the spec says about the model (its name and size)."""
        out = []
        for m in self.models:
            spec = self.ctx.model_specs.get(m)
            desc = getattr(spec, "description", None) if spec is not None else None
            if desc:
                out.append(f"{m}: {desc}")
            else:
                size = getattr(spec, "size", None) if spec is not None else None
                out.append(f"LLM {m}" + (f", size {size}" if size else ""))
        return out

    def _graph(self, emb: np.ndarray, datasets: np.ndarray, perf: np.ndarray,
               ncost: np.ndarray) -> _Graph:
        dev = self.device
        assert self._llm_x is not None and self._task_x is not None
        m = len(self.models)
        tid = {t: i for i, t in enumerate(self._tasks)}
        rows = [(i, tid[str(d)]) for i, d in enumerate(datasets) if str(d) in tid]
        qi = np.array([r[0] for r in rows], dtype=np.int64)
        ti = np.array([r[1] for r in rows], dtype=np.int64)

        def ei(src: np.ndarray, dst: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(np.stack([src, dst]), dtype=torch.long, device=dev)

        return _Graph(
            x={"query": to_tensor(emb, dev), "task": to_tensor(self._task_x, dev),
               "llm": to_tensor(self._llm_x, dev)},
            edges={QT: ei(ti, qi), TQ: ei(qi, ti)},
            perf=perf, ncost=ncost, n_models=m,
        )

    def _edge_scores(self, g: _Graph, hide: np.ndarray, rows: np.ndarray) -> torch.Tensor:
        """Logits (len(rows), M, heads) for the query rows ``rows``."""
        assert self.net is not None
        r = torch.as_tensor(rows, dtype=torch.long, device=self.device)
        edges, attr = g.with_observed(hide, self.device)
        return self.net(g.x, edges, attr, r)

    # -- fit / route -------------------------------------------------------------------------

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        with torch_threads(1):
            self._fit(train, valid)

    def _fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        self.models = list(train.models)
        m = len(self.models)
        xt = train.embeddings()
        cost_t = normalised_cost(train.cost) if train.cost.size else np.full((len(train), m), np.nan)
        cost_v = normalised_cost(valid.cost) if valid.cost.size else np.full((len(valid), m), np.nan)
        if any(w_c > 0 for _, _, w_c in self.blends) and np.isnan(cost_t).all():
            raise RouterError("graphrouter: the perf-cost setting needs per-query costs in train")
        self._tasks = sorted({str(d) for d in train.datasets})
        name_x = train.embed_texts([f"Task: {t}" for t in self._tasks])
        mean_x = np.stack([xt[np.asarray(train.datasets).astype(str) == t].mean(0)
                           for t in self._tasks])
        self._task_x = np.concatenate([name_x, mean_x], axis=1).astype(np.float32)
        self._llm_x = train.embed_texts(self._llm_texts())
        with warnings.catch_warnings():  # a model with no known cost gets NaN, handled at route
            warnings.simplefilter("ignore", RuntimeWarning)
            self._mean_ncost = np.nanmean(cost_t, axis=0) if not np.isnan(cost_t).all() else None
        both = train.concat(valid)  # costs stay normalised per split, as before
        self._known = (both.embeddings(), np.asarray(both.datasets), both.score,
                       np.concatenate([cost_t, cost_v]))

        nt, nv = len(train), len(valid)
        # Training graph: train edges observed (except the masked ones), valid edges hidden.
        perf = np.concatenate([train.score, np.full((nv, m), np.nan)])
        g = self._graph(self._known[0], self._known[1], perf, self._known[3])
        targets = [edge_targets(train.score, cost_t, we, wc, self.perf_targets)
                   for _, we, wc in self.blends]
        y = to_tensor(np.stack([t[0] for t in targets], axis=-1), self.device)
        mk = to_tensor(np.stack([t[1] for t in targets], axis=-1), self.device)
        if float(mk.sum()) == 0:
            raise RouterError("graphrouter: no train query separates the models (all tied)")

        seed_torch(ctx_seed(self.ctx, "graphrouter"))
        rng = np.random.default_rng(ctx_seed(self.ctx, "graphrouter/mask"))
        dims = {"query": xt.shape[1], "task": self._task_x.shape[1], "llm": self._llm_x.shape[1]}
        self.net = _GraphNet(dims, self.hidden, len(self.blends), self.layers,
                             self.dropout).to(self.device)
        net = self.net
        opt = torch.optim.AdamW(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        lossf = nn.BCEWithLogitsLoss(reduction="none")
        n_hide = max(1, int(round(self.mask_ratio * nt)))
        valid_rows = np.arange(nt, nt + nv)

        def step_loss(_: int) -> torch.Tensor:
            rows = np.sort(rng.choice(nt, size=n_hide, replace=False))
            hide = np.concatenate([rows, valid_rows])
            logits = self._edge_scores(g, hide, rows)
            w = mk[rows]
            return (lossf(logits, y[rows]) * w).sum() / w.sum().clamp_min(1.0)

        evaluate = None
        if nv:
            def evaluate() -> float:
                logits = self._edge_scores(g, valid_rows, valid_rows).cpu().numpy()
                # Mean realised utility over the heads (perf-first alone: routed accuracy).
                return float(np.mean([
                    routed_score(logits[:, :, h], utility(valid.score, cost_v, we, wc))
                    for h, (_, we, wc) in enumerate(self.blends)
                ]))

        self.result = train_early_stopping(
            net, opt, step_loss, evaluate, max_steps=self.max_steps,
            eval_every=self.eval_every, patience=self.patience, ctx=self.ctx,
            label="graphrouter",
        )

    def predict_utilities(self, queries: QuerySet) -> np.ndarray:
        """Edge logits (n, M, heads) for ``queries``, with train+valid outcomes observed."""
        if self.net is None or self._known is None:
            raise RouterError("graphrouter: call fit() before route()")
        check_pool(self.models, queries.models, "graphrouter")
        emb, ds, perf, ncost = self._known
        n, m = len(queries), len(self.models)
        g = self._graph(
            np.concatenate([emb, queries.embeddings()]),
            np.concatenate([ds, np.asarray(queries.datasets)]),
            np.concatenate([perf, np.full((n, m), np.nan)]),
            np.concatenate([ncost, np.full((n, m), np.nan)]),
        )
        rows = np.arange(len(emb), len(emb) + n)
        with torch.no_grad():
            self.net.eval()
            return self._edge_scores(g, rows, rows).cpu().numpy()

    def sweep(self) -> list[dict[str, Any]]:
        """The trained utility heads, then (perf-cost) expected-utility blends of the perf
        head: ``w_e·P(correct) − w_c·mean normalised cost``, which fill the gap the best-edge
        heads leave between "strongest model" and "cheapest model" (see README)."""
        configs = [{"utility": name, "w_perf": we, "w_cost": wc} for name, we, wc in self.blends]
        if len(self.blends) > 1:
            configs += [{"utility": "expected", "w_perf": a, "w_cost": round(1.0 - a, 4)}
                        for a in EXPECTED_GRID]
        return configs

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        config = dict(config or {})
        name = config.get("utility", "perf-first")
        heads = [b[0] for b in self.blends]
        if name not in heads and name != "expected":
            raise RouterError(f"graphrouter: unknown utility {name!r}; trained: {heads}")
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64))
        logits = self.predict_utilities(queries)
        if name == "expected":
            if self._mean_ncost is None or np.isnan(self._mean_ncost).all():
                raise RouterError("graphrouter: expected-utility routing needs train costs")
            a = float(config.get("w_perf", 1.0))
            p = 0.5 * (1.0 + np.tanh(0.5 * logits[:, :, 0]))  # sigmoid without overflow
            mc = np.nan_to_num(self._mean_ncost, nan=1.0)
            util = a * p - float(config.get("w_cost", 1.0 - a)) * mc[None, :]
            return Routing(choice=np.argmax(util, axis=1).astype(np.int64),
                           info={"utility": name, "w_perf": a})
        return Routing(choice=np.argmax(logits[:, :, heads.index(name)], axis=1).astype(np.int64),
                       info={"utility": name})

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "hidden": self.hidden, "layers": self.layers, "lr": self.lr,
            "mask_ratio": self.mask_ratio, "perf_targets": self.perf_targets,
            "version": VERSION, "utilities": [b[0] for b in self.blends],
            "device": str(self.device),
        }
        if self.result is not None:
            out.update(self.result.as_dict())
        return out

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> Any:
        """The GNN weights, the task and LLM node features, and the known (train + valid)
        query nodes with their outcomes: a new query is routed as a node joined to them."""
        from routerbench_core import RouterState, module_arrays

        if self.net is None or self._known is None:
            raise RouterError("graphrouter: call fit() before save_state()")
        emb, ds, perf, ncost = self._known
        arrays = {**module_arrays(self.net), "task_x": self._task_x, "llm_x": self._llm_x,
                  "known.emb": emb, "known.datasets": np.asarray(ds).astype(str),
                  "known.perf": perf, "known.ncost": ncost}
        if self._mean_ncost is not None:
            arrays["mean_ncost"] = self._mean_ncost
        return RouterState(
            config={"models": self.models, "tasks": self._tasks,
                    "result": None if self.result is None else self.result.as_dict()},
            arrays=arrays,
        )

    def load_state(self, state: Any) -> None:
        from routerbench_core import load_module_arrays

        self.models = list(state.value("models"))
        self._tasks = list(state.value("tasks"))
        self._task_x = state.array("task_x", ndim=2)
        self._llm_x = state.array("llm_x", ndim=2)
        self._mean_ncost = state.optional("mean_ncost")
        self._known = (state.array("known.emb", ndim=2), state.array("known.datasets", ndim=1),
                       state.array("known.perf", ndim=2), state.array("known.ncost", ndim=2))
        dims = {"query": self._known[0].shape[1], "task": self._task_x.shape[1],
                "llm": self._llm_x.shape[1]}
        self.net = _GraphNet(dims, self.hidden, len(self.blends), self.layers,
                             self.dropout).to(self.device)
        load_module_arrays(self.net, state)
        self.net.eval()
