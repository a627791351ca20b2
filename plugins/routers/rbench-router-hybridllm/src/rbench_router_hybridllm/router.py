"""The Hybrid LLM router (Ding et al., ICLR 2024, "Hybrid LLM: cost-efficient and quality-aware
query routing").

Two models: a small (cheap) one S and a large (strong) one L. The quality gap of a query is
H(x) = q(S(x)) − q(L(x)); the router learns p(x) ≈ Pr[H(x) ≥ −t], the probability that the
small model's answer is at least as good as the large one's up to a relaxation t ≥ 0, and sends
the query to the small model when p(x) ≥ τ. Sweeping τ trades quality for cost; τ is calibrated
on validation for a target share of small-model calls.

Labels (the paper's r_trans): y_i(t) = Pr[q(S(x_i)) ≥ q(L(x_i)) − t], the probability over
sampled answers. A bench stores one answer per model and query, so the probability is estimated
over the query and its ``neighbours − 1`` nearest train queries (cosine similarity of the
embeddings) as stand-ins for resamples; ``neighbours=1`` gives the paper's deterministic labels.
The quality q is the graded score. The relaxation t is chosen as in the paper: the t that
maximises the average pairwise difference of the transformed labels (labels that separate
queries best), from a small grid. The classifier is logistic regression on the query embedding
trained with the soft labels (the paper fine-tunes DeBERTa; see the README).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field

from rbench_router_hybridllm.plugin import CAPABILITIES
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
VERSION = "1.1"
T_GRID: tuple[float, ...] = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75)


def mean_pairwise_difference(y: np.ndarray) -> float:
    """(1/N²) Σ_i Σ_j |y_i − y_j|, in O(N log N) by sorting."""
    y = np.sort(np.asarray(y, dtype=np.float64))
    n = len(y)
    if n < 2:
        return 0.0
    j = np.arange(n)
    return float(2.0 * np.sum(y * (2 * j - n + 1)) / (n * n))


def relaxed_labels(
    q_small: np.ndarray, q_large: np.ndarray, t: float, neighbours: np.ndarray | None
) -> np.ndarray:
    """y_i(t) = share of the query's neighbourhood (itself included) where q_S ≥ q_L − t.

    Missing qualities give no vote; a query with no vote at all gets NaN (left out of
    training).
    """
    known = ~(np.isnan(q_small) | np.isnan(q_large))
    ok = np.where(known, (np.nan_to_num(q_small) >= np.nan_to_num(q_large) - t - 1e-12), False)
    if neighbours is None:
        return np.where(known, ok.astype(np.float64), np.nan)
    votes = ok[neighbours].sum(1).astype(np.float64)
    counts = known[neighbours].sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, votes / np.maximum(counts, 1), np.nan)


class HybridLLMRouter(Router, capabilities=CAPABILITIES):
    """Small-vs-large routing by a classifier of the relaxed quality gap."""


    class Params(RouterParams):
        small: str | None = Field(None,
            description="the small (cheap) model; None: chosen on train")
        large: str | None = Field(None,
            description="the large (strong) model; None: chosen on train")
        t: float | None = Field(None, ge=0,
            description="relaxation margin of the quality gap; None: chosen on train")
        neighbours: int = Field(5, ge=1,
            description="nearest train queries whose outcomes form the probabilistic labels")
        small_share: float = Field(0.5, ge=0, le=1,
            description="share of queries sent to the small model in the default routing")
        shares: int = Field(11, ge=2, description="points of the small-share sweep")
        c: float = Field(1.0, gt=0, description="inverse L2 strength of the logistic classifier")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        ml.check_model_pair("hybridllm", ctx.models, small=p.small, large=p.large)
        self.small_name, self.large_name = p.small, p.large
        self.t = p.t
        self.neighbours = p.neighbours
        self.small_share = p.small_share
        self.n_shares = p.shares
        self.c = p.c
        self.small = self.large = -1
        self._clf: ml.SoftLogistic | None = None
        self._calib: np.ndarray | None = None
        self._info: dict[str, Any] = {}

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        with ml.blas_threads():
            self._fit(train, valid)

    def _fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        if len(train) == 0:
            raise RouterError("hybridllm: the training split is empty")
        self.large, self.small, note = ml.strong_weak_pair(
            train, self.large_name, self.small_name,
            require_cost=self.ctx.setting == "perf-cost")
        self._info["large_chosen"] = note
        emb = train.embeddings()
        neighbours = None
        if self.neighbours > 1 and len(train) > 1:
            k = min(self.neighbours, len(train))
            sims = emb @ emb.T
            np.fill_diagonal(sims, np.inf)  # the query itself always comes first
            neighbours = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        qs, ql = train.score[:, self.small], train.score[:, self.large]
        if self.t is None:
            spread = [(mean_pairwise_difference(
                _finite(relaxed_labels(qs, ql, t, neighbours))), t) for t in T_GRID]
            best = max(s for s, _ in spread)
            self.t_chosen = min(t for s, t in spread if s >= best - 1e-12)
            self._info["t_chosen_on"] = "label spread (the paper's criterion)"
        else:
            self.t_chosen = self.t
            self._info["t_chosen_on"] = "given"
        y = relaxed_labels(qs, ql, self.t_chosen, neighbours)
        keep = ~np.isnan(y)
        if not keep.any():
            raise RouterError(
                "hybridllm: no train query has scores for both "
                f"{train.models[self.small]} and {train.models[self.large]}"
            )
        self._info["label_mean"] = float(y[keep].mean())
        self._clf = ml.fit_soft_logistic(emb[keep], y[keep], c=self.c,
                                         seed=int(self.ctx.rng("hybridllm").integers(2**31)))
        calib = valid if len(valid) else train
        self._calib = self._clf.predict(calib.embeddings())
        self._info["calibrated_on"] = "validation" if len(valid) else "train"

    def small_probability(self, queries: QuerySet) -> np.ndarray:
        """p(x): predicted probability that the small model is good enough."""
        if self._clf is None:
            raise RouterError("hybridllm: call fit() before route()")
        with ml.blas_threads():
            return self._clf.predict(queries.embeddings())

    def sweep(self) -> list[dict[str, Any]]:
        return [{"small_share": s} for s in ml.share_grid(self.n_shares)]

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        share = float((config or {}).get("small_share", self.small_share))
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64))
        assert self._calib is not None
        return ml.route_two_by_share(
            self.small_probability(queries), self._calib, share,
            self.ctx.rng(f"hybridllm-ties-{share}"), picked=self.small, other=self.large,
            share_key="small_share",
        )

    def describe(self) -> dict[str, Any]:
        models = self.ctx.models
        return {
            "version": VERSION,
            "small": models[self.small] if self.small >= 0 else self.small_name,
            "large": models[self.large] if self.large >= 0 else self.large_name,
            "t": getattr(self, "t_chosen", self.t), "neighbours": self.neighbours,
            "small_share": self.small_share, "c": self.c, **self._info,
        }

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> Any:
        from routerbench_core import RouterState, logistic_arrays

        if self._clf is None or self._calib is None:
            raise RouterError("hybridllm: call fit() before save_state()")
        return RouterState(
            config={"version": VERSION, "small": self.small, "large": self.large,
                    "t_chosen": getattr(self, "t_chosen", self.t), "info": self._info},
            arrays={"calib": self._calib, **logistic_arrays(self._clf)},
        )

    def load_state(self, state: Any) -> None:
        from routerbench_core import logistic_from_state

        self.small, self.large = int(state.value("small")), int(state.value("large"))
        self.t_chosen = state.config.get("t_chosen")
        self._info = dict(state.config.get("info") or {})
        self._clf = logistic_from_state(state)
        self._calib = np.asarray(state.array("calib", ndim=1), dtype=np.float64)


def _finite(y: np.ndarray) -> np.ndarray:
    return y[~np.isnan(y)]
