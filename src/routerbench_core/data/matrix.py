"""The routing view of a benchmark: queries × models of score, cost, tokens and latency.

Everything a router is trained and evaluated on lives here as numpy arrays. Missing outcomes
(a failed call, an ungradable answer, a cell absent from an import) are NaN, never 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from routerbench_core.schema import ModelSpec


@dataclass(frozen=True)
class OutcomeMatrix:
    """Queries × models outcomes of one bench, with per-query metadata.

    ``score``, ``cost``, ``prompt_tokens``, ``completion_tokens`` and ``latency`` have shape
    ``(n_queries, n_models)`` and hold NaN where the outcome is missing. ``failed`` marks calls
    that were made and failed (so a missing score can be told from a never-asked query).
    """

    bench: str
    models: list[str]
    keys: np.ndarray
    datasets: np.ndarray
    texts: list[str]
    score: np.ndarray
    cost: np.ndarray
    prompt_tokens: np.ndarray
    completion_tokens: np.ndarray
    latency: np.ndarray
    failed: np.ndarray
    model_specs: dict[str, ModelSpec] = field(default_factory=dict)
    cost_source: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_queries(self) -> int:
        return len(self.keys)

    @property
    def n_models(self) -> int:
        return len(self.models)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n_queries, self.n_models)

    def dataset_names(self) -> list[str]:
        """Datasets in first-appearance order."""
        seen: dict[str, None] = {}
        for d in self.datasets.tolist():
            seen.setdefault(d, None)
        return list(seen)

    def model_index(self, name: str) -> int:
        try:
            return self.models.index(name)
        except ValueError:
            raise KeyError(
                f"model {name!r} is not in bench {self.bench!r}; models: {', '.join(self.models)}"
            ) from None

    def rows(self, index: np.ndarray | Sequence[int]) -> OutcomeMatrix:
        """A new matrix with only the given query rows (in that order)."""
        idx = np.asarray(index, dtype=np.int64)
        return replace(
            self,
            keys=self.keys[idx],
            datasets=self.datasets[idx],
            texts=[self.texts[i] for i in idx.tolist()],
            score=self.score[idx],
            cost=self.cost[idx],
            prompt_tokens=self.prompt_tokens[idx],
            completion_tokens=self.completion_tokens[idx],
            latency=self.latency[idx],
            failed=self.failed[idx],
            cost_source=None if self.cost_source is None else self.cost_source[idx],
        )

    def columns(self, names: Sequence[str]) -> OutcomeMatrix:
        """A new matrix with only the given models (in that order)."""
        idx = np.array([self.model_index(n) for n in names], dtype=np.int64)
        return replace(
            self,
            models=list(names),
            score=self.score[:, idx],
            cost=self.cost[:, idx],
            prompt_tokens=self.prompt_tokens[:, idx],
            completion_tokens=self.completion_tokens[:, idx],
            latency=self.latency[:, idx],
            failed=self.failed[:, idx],
            model_specs={n: self.model_specs[n] for n in names if n in self.model_specs},
            cost_source=None if self.cost_source is None else self.cost_source[:, idx],
        )

    def select_datasets(self, names: Sequence[str]) -> OutcomeMatrix:
        wanted = set(names)
        unknown = wanted - set(self.dataset_names())
        if unknown:
            raise KeyError(
                f"dataset(s) {', '.join(sorted(unknown))} not in bench {self.bench!r}; "
                f"datasets: {', '.join(self.dataset_names())}"
            )
        return self.rows(np.flatnonzero(np.isin(self.datasets, list(wanted))))

    def complete_rows(self) -> np.ndarray:
        """Boolean mask of queries with a score for every model."""
        return ~np.isnan(self.score).any(axis=1)
