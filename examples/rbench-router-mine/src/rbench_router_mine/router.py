"""A k-nearest-neighbour router: a simple learner several routing papers find hard to beat.

For each query, take the k most similar train queries (cosine similarity of L2-normalised
embeddings), average each model's score over them (weighted by similarity) and pick the best
model. ``k`` is chosen on the validation split from a small grid unless given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pydantic import Field

from rbench_router_mine.plugin import CAPABILITIES
from routerbench_core import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    RouterParams,
    RouterState,
    Routing,
)

K_GRID = (1, 3, 5, 10, 20, 40)


class KnnRouter(Router, capabilities=CAPABILITIES):
    class Params(RouterParams):
        k: int | None = Field(
            None, ge=1, description="neighbours that vote; None chooses it on validation")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)  # validates into self.params
        self.k = self.params.k
        self._emb: np.ndarray | None = None
        self._score: np.ndarray | None = None

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        self._emb = train.embeddings()
        # Missing cells count as the model's mean on train, not as wrong answers.
        with np.errstate(invalid="ignore"):
            column_mean = np.nan_to_num(np.nanmean(train.score, axis=0), nan=0.0)
        self._score = np.where(np.isnan(train.score), column_mean, train.score)
        if self.k is None:
            self.k = self._choose_k(valid)

    def _choose_k(self, valid: LabeledSet) -> int:
        if len(valid) == 0:
            return 10
        filled = valid.filled_score()
        best_k, best_acc = K_GRID[0], -1.0
        for k in K_GRID:
            choice = self._predict(valid.embeddings(), k)
            acc = float(filled[np.arange(len(choice)), choice].mean())
            if acc > best_acc + 1e-12:
                best_k, best_acc = k, acc
        return best_k

    def _predict(self, emb: np.ndarray, k: int) -> np.ndarray:
        assert self._emb is not None and self._score is not None
        k = max(1, min(k, len(self._emb)))
        sims = emb @ self._emb.T
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        weights = np.clip(np.take_along_axis(sims, nearest, axis=1), 1e-6, None)
        votes = np.einsum("nk,nkm->nm", weights, self._score[nearest])
        return np.argmax(votes, axis=1)

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        assert self.k is not None, "fit() first"
        return Routing(choice=self._predict(queries.embeddings(), self.k))

    def describe(self) -> dict[str, Any]:
        return {"k": self.k}

    # -- artefacts (rbench train / rbench serve) -----------------------------------------------

    def save_state(self) -> RouterState:
        """The fitted router as plain data: the chosen k, the train embeddings and scores."""
        if self._emb is None or self._score is None:
            raise RouterError("mine-knn: call fit() before save_state()")
        return RouterState(config={"k": self.k}, arrays={"emb": self._emb, "score": self._score})

    def load_state(self, state: RouterState) -> None:
        self.k = int(state.value("k"))
        self._emb = state.array("emb", ndim=2)
        self._score = state.array("score", ndim=2)
