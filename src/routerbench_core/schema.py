"""The records rbench stores and exchanges: queries, models, responses and grades.

These are the boundary types (importers, collectors, graders, plugins). Hot paths work on the
numpy :class:`routerbench_core.data.matrix.OutcomeMatrix` instead.
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CostSource = Literal["reported", "priced", "estimated", "imported", "gpu-hours", "free"]


class UnpricedModelError(ValueError):
    """A cost was needed for a model that has no price: an error, never $0."""


class Query(BaseModel):
    """One benchmark item.

    ``key`` is stable and split-independent (``"<dataset>/<id>"`` by default) so the same item
    keeps its identity whichever split or seed it lands in.
    """

    model_config = ConfigDict(extra="forbid")

    dataset: str = Field(min_length=1)
    id: str = Field(min_length=1)
    key: str = ""
    text: str
    messages: list[dict[str, Any]] | None = None
    ground_truth: Any = None
    source_split: str | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _default_key(self) -> Query:
        if not self.key:
            self.key = f"{self.dataset}/{self.id}"
        return self


class ModelSpec(BaseModel):
    """A model in a benchmark: its name, prices and (for collection) how to reach it.

    Prices are USD per million tokens; ``request_price`` is a flat USD fee per request.
    ``None`` means "unknown", which is an error whenever a cost must be computed.
    """

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)
    input_price: float | None = Field(default=None, ge=0)
    output_price: float | None = Field(default=None, ge=0)
    request_price: float = Field(default=0.0, ge=0)
    description: str | None = None
    size: str | None = None

    @property
    def priced(self) -> bool:
        return self.input_price is not None and self.output_price is not None

    def cost(self, prompt_tokens: int | float, completion_tokens: int | float) -> float:
        """USD for one request; ``completion_tokens`` includes reasoning tokens."""
        if not self.priced:
            raise UnpricedModelError(
                f"model {self.name!r} has no price (input_price/output_price in USD per "
                "million tokens); add one to the model config, or pass --allow-unpriced"
            )
        assert self.input_price is not None and self.output_price is not None
        return (
            prompt_tokens * self.input_price + completion_tokens * self.output_price
        ) / 1_000_000 + self.request_price


class GenerationRequest(BaseModel):
    """One request to a backend: a model, chat messages and sampling parameters."""

    model: ModelSpec
    messages: list[dict[str, Any]]
    params: dict[str, Any] = Field(default_factory=dict)
    query_key: str | None = None


class Response(BaseModel):
    """A model's answer to a query, or the record of a failed call.

    A failed call has ``error`` set and is never graded as 0 at $0: graders skip it and the
    outcome matrix shows it as missing.
    """

    query_key: str
    model: str
    raw_output: str | None = None
    prompt_tokens: int | None = Field(default=None, ge=0)
    completion_tokens: int | None = Field(default=None, ge=0)
    reasoning_tokens: int | None = Field(default=None, ge=0)
    cached_tokens: int | None = Field(default=None, ge=0)
    cost: float | None = Field(default=None, ge=0)
    cost_source: CostSource | None = None
    latency_s: float | None = Field(default=None, ge=0)
    error: str | None = None
    request_hash: str | None = None
    created_at: float = Field(default_factory=time.time)
    metadata: dict[str, Any] = Field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.error is None

    @field_validator("cost", "latency_s")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("must be a finite number")
        return value


class Grade(BaseModel):
    """The score of one response. ``score`` is in [0, 1]; ``None`` means not gradable."""

    query_key: str
    model: str
    score: float | None = Field(default=None, ge=0.0, le=1.0)
    prediction: str | None = None
    grader: str
    grader_version: str
    details: dict[str, Any] = Field(default_factory=dict)
    created_at: float = Field(default_factory=time.time)
