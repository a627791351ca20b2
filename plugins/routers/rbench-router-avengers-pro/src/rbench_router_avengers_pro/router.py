"""The Avengers-Pro router (Zhang et al., 2025, "Beyond GPT-5: making LLMs cheaper and better
via performance–efficiency optimized routing").

Train queries' L2-normalised embeddings are clustered with k-means. In every cluster each model
gets a performance–efficiency score

    x(m) = α · acc~(m) + (1 − α) · (1 − cost~(m))

where acc~ is the model's mean train accuracy in that cluster min–max normalised over the
models of the cluster, and cost~ its mean cost per query divided by the cluster's largest mean
cost (the reference code's rule; ``cost_norm="minmax"`` gives rbench v1's min–max). A query looks
at its ``top_k`` nearest clusters (the paper's top-p; 3 as the seed's configuration), weights
them by softmax(−β · distance), and sums each model's vote there — by default the reference
code's 1 / (rank + 1) of the model's place in the cluster's score ranking (``vote="score"``
sums the scores themselves). α = 1 is pure accuracy, α = 0 pure cost; sweeping α traces the
cost–accuracy curve.

k is chosen on the validation split (by the validation AvgAcc at the default α) unless given;
nothing is chosen on test.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from rbench_router_avengers_pro.plugin import CAPABILITIES
from routerbench_core import (
    Grid,
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    RouterState,
    Routing,
    ml,
    profile_arrays,
    profile_from_state,
)

#: Behaviour version (bump with a README changelog line when routing decisions change).
VERSION = "2"
K_GRID: tuple[int, ...] = (10, 20, 30, 45, 60)


class AvengersProRouter(Router, capabilities=CAPABILITIES):
    """Cluster routing with an α-weighted accuracy–cost score (both settings)."""

    class Params(RouterParams):
        k: Grid[Annotated[int, Field(ge=1)]] | None = Field(
            None, description=f"k-means clusters; a list is a grid chosen on validation "
            f"(default grid {K_GRID})")
        alpha: float = Field(1.0, ge=0, le=1, description="accuracy weight of the default "
                             "routing (1: accuracy only, 0: cost only)")
        alphas: int = Field(21, ge=2, description="alpha values swept in perf-cost")
        top_k: int = Field(3, ge=1, description="nearest clusters combined (the paper's "
                           "top-p; 3 as the seed's configuration)")
        cost_norm: Literal["max", "minmax"] = Field(
            "max", description="cost~ = cost / cluster max (reference code) or min–max (v1)")
        distance: Literal["cosine", "euclidean"] = Field(
            "cosine", description="query–centroid distance: 1 − q·c (reference code) or "
            "Euclidean (v1)")
        vote: Literal["rank", "score"] = Field(
            "rank", description="what a cluster votes with: 1/(rank+1) of its score ranking "
            "(reference code) or the score itself (v1)")
        beta: float = Field(9.0, ge=0, description="softmax(-beta*distance) over the top_k")
        prior: float = Field(
            1.0, ge=0, description="pseudo-queries shrinking small clusters to the global mean")
        refit: bool = Field(
            True, description="rebuild the clusters on train + valid after choosing k on valid")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        self.k_grid = list(K_GRID if p.k is None else p.k)
        self.alpha = p.alpha
        self.n_alphas = p.alphas
        self.top_k = p.top_k
        self.beta = p.beta
        self.cost_norm = p.cost_norm
        self.vote = p.vote
        self.distance = p.distance
        self.prior = p.prior
        self.refit = p.refit
        self.profile: ml.ClusterProfile | None = None
        self._tables: dict[float, np.ndarray] = {}  # alpha -> the fitted profile's table
        self.chosen: dict[str, Any] = {}

    def _profile(self, emb: np.ndarray, score: np.ndarray, cost: np.ndarray, k: int
                 ) -> ml.ClusterProfile:
        k = max(1, min(k, len(emb)))
        return ml.cluster_profile(
            emb, score, k, cost=cost, seed=self.ctx.rng(f"avengers-pro-k{k}").integers(2**31),
            prior_weight=self.prior,
        )

    @staticmethod
    def table(profile: ml.ClusterProfile, alpha: float, cost_norm: str = "max") -> np.ndarray:
        """Per-cluster performance–efficiency scores (k × models) at ``alpha``."""
        acc = ml.minmax(profile.acc, axis=1)
        if alpha >= 1.0:  # accuracy only: no cost needed (a bench without costs works)
            return acc
        assert profile.cost is not None
        if cost_norm == "minmax":
            cost = ml.minmax(profile.cost, axis=1)
        else:  # divide by the cluster's largest mean cost; a cluster that costs nothing: 0
            top = profile.cost.max(axis=1, keepdims=True)
            cost = np.divide(profile.cost, top, out=np.zeros_like(profile.cost), where=top > 0)
        return alpha * acc + (1.0 - alpha) * (1.0 - cost)

    def _votes(self, emb: np.ndarray, profile: ml.ClusterProfile, alpha: float) -> np.ndarray:
        # a served router routes a few queries per call at one of a few alphas: the table of
        # the fitted profile at an alpha is made once (fit's search over k passes others)
        cached = self._tables.get(alpha) if profile is self.profile else None
        if cached is None:
            cached = self.table(profile, alpha, self.cost_norm)
            if self.vote == "rank":
                cached = ml.rank_scores(cached, rule="reciprocal")
            if profile is self.profile and len(self._tables) < 64:
                self._tables[alpha] = cached
        return ml.cluster_vote(emb, profile.centroids, cached, self.top_k, self.beta,
                               metric=self.distance)

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        with ml.blas_threads():
            self._fit(train, valid)

    def _fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        if len(train) == 0:
            raise RouterError("avengers-pro: the training split is empty")
        if self.ctx.setting == "perf-cost" or self.alpha < 1.0:
            # costs enter the score: every model needs a known one (an error names the culprit)
            ml.model_mean_cost(train)
        emb = train.embeddings()
        if len(self.k_grid) == 1 or len(valid) == 0:
            k = self.k_grid[0] if len(self.k_grid) == 1 else 30
            self.chosen = {"k": k, "chosen_on": "default"}
        else:
            v_emb, v_score = valid.embeddings(), valid.filled_score()
            best: tuple[float, int] | None = None
            for k in self.k_grid:
                profile = self._profile(emb, train.score, train.cost, k)
                choice = self._votes(v_emb, profile, self.alpha).argmax(1)
                acc = float(ml.dataset_mean_accuracy(v_score[np.arange(len(valid)), choice],
                                                     valid.datasets))
                if best is None or acc > best[0] + 1e-12:
                    best = (acc, k)
            assert best is not None
            self.chosen = {"k": best[1], "chosen_on": "validation", "valid_avg_acc": best[0]}
        k = self.chosen["k"]
        if self.refit and len(valid):
            both = train.concat(valid)
            self.profile = self._profile(both.embeddings(), both.score, both.cost, k)
        else:
            self.profile = self._profile(emb, train.score, train.cost, k)
        self._tables = {}
        self.chosen["k"] = self.profile.k

    def sweep(self) -> list[dict[str, Any]]:
        return [{"alpha": a} for a in np.round(np.linspace(0.0, 1.0, self.n_alphas), 4).tolist()]

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        if self.profile is None:
            raise RouterError("avengers-pro: call fit() before route()")
        alpha = float((config or {}).get("alpha", self.alpha))
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64))
        votes = self._votes(queries.embeddings(), self.profile, alpha)
        return Routing(choice=votes.argmax(1).astype(np.int64), info={"alpha": alpha})

    def describe(self) -> dict[str, Any]:
        return {"version": VERSION, "alpha": self.alpha, "top_k": self.top_k, "beta": self.beta,
                "cost_norm": self.cost_norm, "vote": self.vote, "distance": self.distance,
                "prior": self.prior, "refit": self.refit, "k_grid": self.k_grid, **self.chosen}

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> RouterState:
        if self.profile is None:
            raise RouterError("avengers-pro: call fit() before save_state()")
        return RouterState(config={"version": VERSION, "chosen": self.chosen},
                           arrays=profile_arrays(self.profile))

    def load_state(self, state: RouterState) -> None:
        self.chosen = dict(state.value("chosen"))
        self.profile = profile_from_state(state)
        self._tables = {}
        if self.profile.cost is None:
            raise RouterError("avengers-pro: the saved state has no per-cluster cost table")
