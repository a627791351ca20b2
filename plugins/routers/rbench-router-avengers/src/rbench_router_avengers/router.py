"""The Avengers router (Zhang et al., 2025, "The Avengers: a simple recipe for uniting smaller
language models to challenge proprietary giants"), routing part.

Training-free: the train queries' L2-normalised embeddings are clustered with k-means; in each
cluster the models are ranked by their mean train score. A new query finds its ``top_k`` nearest
centroids (distance 1 − cosine); each votes with weight softmax(−β · distance) for the models'
rank scores 1 / (rank + 1) (best of the cluster = 1, second = 1/2, …), and the model with the
highest combined score answers. Both rules are those of the reference code (the seed project's
``simple_cluster_router``); the earlier rbench rules (linear rank scores, Euclidean distance)
stay selectable as ``rank_rule="linear"`` and ``distance="euclidean"``.

k, top_k and β are chosen on the validation split from small grids unless given; the test split
is never seen. With ``refit`` (default) the clusters are then rebuilt on train + validation with
the chosen values, since validation outcomes are training data once the choice is made.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import Field

from rbench_router_avengers.plugin import CAPABILITIES
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
TOP_K_GRID: tuple[int, ...] = (1, 3, 5)
BETA_GRID: tuple[float, ...] = (3.0, 9.0, 27.0)
DISTANCE_GRID: tuple[str, ...] = ("cosine", "euclidean")


class AvengersRouter(Router, capabilities=CAPABILITIES):
    """Cluster-and-vote routing (performance setting)."""

    class Params(RouterParams):
        k: Grid[Annotated[int, Field(ge=1)]] | None = Field(
            None, description="k-means clusters; a list is a grid chosen on validation "
            f"(default grid {K_GRID})")
        top_k: Grid[Annotated[int, Field(ge=1)]] | None = Field(
            None, description=f"nearest centroids that vote (default grid {TOP_K_GRID})")
        beta: Grid[Annotated[float, Field(ge=0)]] | None = Field(
            None, description=f"softmax(-beta*distance) sharpness (default grid {BETA_GRID})")
        vote: Literal["rank", "accuracy"] = Field(
            "rank", description="what a cluster votes with: rank scores or mean accuracies")
        rank_rule: Literal["reciprocal", "linear"] = Field(
            "reciprocal", description="rank score: 1/(rank+1) (reference code) or linear "
            "(best = 1, worst = 0)")
        distance: Grid[Literal["cosine", "euclidean"]] | None = Field(
            None, description="query–centroid distance: cosine = 1 − q·c (reference code), "
            f"euclidean; a list is chosen on validation (default grid {DISTANCE_GRID}, a tie "
            "keeps the reference rule)")
        prior: float = Field(
            1.0, ge=0, description="pseudo-queries shrinking small clusters to the global mean")
        refit: bool = Field(
            True, description="rebuild the clusters on train + valid after choosing on valid")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        p = self.params
        self.k_grid = list(K_GRID if p.k is None else p.k)
        self.top_k_grid = list(TOP_K_GRID if p.top_k is None else p.top_k)
        self.beta_grid = list(BETA_GRID if p.beta is None else p.beta)
        self.vote = p.vote
        self.rank_rule = p.rank_rule
        self.distance_grid = list(DISTANCE_GRID if p.distance is None else p.distance)
        self.prior = p.prior
        self.refit = p.refit
        self.chosen: dict[str, Any] = {}
        self.profile: ml.ClusterProfile | None = None
        self.valid_acc: float | None = None

    # -- fitting ----------------------------------------------------------------------------

    def _table(self, profile: ml.ClusterProfile) -> np.ndarray:
        if self.vote == "rank":
            return ml.rank_scores(profile.acc, rule=self.rank_rule)
        return profile.acc

    def _profile(self, emb: np.ndarray, score: np.ndarray, k: int) -> ml.ClusterProfile:
        k = max(1, min(k, len(emb)))
        return ml.cluster_profile(
            emb, score, k, seed=self.ctx.rng(f"avengers-k{k}").integers(2**31),
            prior_weight=self.prior,
        )

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        with ml.blas_threads():
            self._fit(train, valid)

    def _fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        if len(train) == 0:
            raise RouterError("avengers: the training split is empty")
        emb = train.embeddings()
        grid = list(itertools.product(self.k_grid, self.top_k_grid, self.beta_grid,
                                      self.distance_grid))
        if len(grid) == 1 or len(valid) == 0:
            k, top_k, beta, distance = grid[0] if len(grid) == 1 else (30, 3, 9.0, "cosine")
            self.chosen = {"k": k, "top_k": top_k, "beta": beta, "distance": distance,
                           "chosen_on": "default"}
        else:
            valid_emb = valid.embeddings()
            valid_score = valid.filled_score()
            rows = np.arange(len(valid))
            best: tuple[float, int, int, float, str] | None = None
            for k in self.k_grid:
                profile = self._profile(emb, train.score, k)
                table = self._table(profile)
                for distance, top_k, beta in itertools.product(
                        self.distance_grid, self.top_k_grid, self.beta_grid):
                    votes = ml.cluster_vote(valid_emb, profile.centroids, table, top_k, beta,
                                            metric=distance)
                    choice = votes.argmax(1)
                    acc = float(ml.dataset_mean_accuracy(valid_score[rows, choice],
                                                         valid.datasets))
                    # strictly better wins: ties keep the earlier (smaller k, the reference
                    # distance, fewer voters)
                    if best is None or acc > best[0] + 1e-12:
                        best = (acc, k, top_k, beta, distance)
            assert best is not None
            self.valid_acc, k, top_k, beta, distance = best
            self.chosen = {"k": k, "top_k": top_k, "beta": beta, "distance": distance,
                           "chosen_on": "validation"}
        k = self.chosen["k"]
        if self.refit and len(valid):
            both = train.concat(valid)
            self.profile = self._profile(both.embeddings(), both.score, k)
        else:
            self.profile = self._profile(emb, train.score, k)
        self.chosen["k"] = self.profile.k

    # -- routing ----------------------------------------------------------------------------

    def scores(self, queries: QuerySet) -> np.ndarray:
        """Combined per-model vote of each query (n × models)."""
        if self.profile is None:
            raise RouterError("avengers: call fit() before route()")
        return ml.cluster_vote(
            queries.embeddings(), self.profile.centroids, self._table(self.profile),
            self.chosen["top_k"], self.chosen["beta"], metric=self.chosen["distance"],
        )

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        if len(queries) == 0:
            return Routing(choice=np.zeros(0, dtype=np.int64))
        return Routing(choice=self.scores(queries).argmax(1).astype(np.int64))

    def describe(self) -> dict[str, Any]:
        return {
            "version": VERSION, "vote": self.vote, "rank_rule": self.rank_rule,
 "prior": self.prior, "refit": self.refit,
            **self.chosen, "valid_avg_acc": self.valid_acc,
            "grid": {"k": self.k_grid, "top_k": self.top_k_grid, "beta": self.beta_grid,
                     "distance": self.distance_grid},
        }

    # -- artefacts (rbench train / serve) ---------------------------------------------------

    def save_state(self) -> RouterState:
        if self.profile is None:
            raise RouterError("avengers: call fit() before save_state()")
        return RouterState(
            config={"version": VERSION, "chosen": self.chosen, "valid_acc": self.valid_acc},
            arrays=profile_arrays(self.profile),
        )

    def load_state(self, state: RouterState) -> None:
        self.chosen = dict(state.value("chosen"))
        self.valid_acc = state.config.get("valid_acc")
        self.profile = profile_from_state(state)
