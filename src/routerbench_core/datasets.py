"""The dataset interface: load items, build prompts, extract answers, score them.

A dataset plugin subclasses :class:`Dataset`. Extraction and scoring helpers shared by many
datasets (boxed answers, math equivalence, multiple-choice letters, code execution, LLM judges)
live in :mod:`routerbench_core.scoring`; a plugin composes them rather than re-implementing.

Changing how a dataset scores answers must bump ``grader_version`` (and add a line to the
plugin README's changelog): stored grades carry the version, and ``rbench grade --regrade``
re-scores stored answers with the new grader.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Literal

from routerbench_core.schema import Grade, Query, Response

Category = Literal["math", "multiple-choice", "code", "logic", "judged", "agentic", "qa"]


class DatasetError(RuntimeError):
    """A dataset cannot be loaded or graded; the message names the file/field and what to do."""


class Dataset(ABC):
    """One benchmark. Class attributes are its metadata (also shown by ``rbench list``)."""

    name: ClassVar[str]
    category: ClassVar[Category]
    size: ClassVar[int]
    metric: ClassVar[str] = "accuracy"
    settings: ClassVar[tuple[str, ...]] = ("perf",)
    shots: ClassVar[int] = 0
    grader_version: ClassVar[str] = "1"
    #: The public hub repository (and revision) the loader reads when ``datasets`` is installed.
    hub_id: ClassVar[str | None] = None
    hub_revision: ClassVar[str | None] = None

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        """Load the items, from ``data_file`` when given, else from the hub."""

    @abstractmethod
    def build_messages(self, query: Query) -> list[dict[str, Any]]:
        """The chat messages sent to a model for ``query`` (the paper's prompt style)."""

    @abstractmethod
    def grade(self, query: Query, response: Response, **context: Any) -> Grade:
        """Score a successful response. Never called for failed calls (they stay failures)."""

    @property
    def grader_name(self) -> str:
        return f"{self.name}"

    def make_grade(
        self, query: Query, response: Response, score: float | None, prediction: Any,
        **details: Any,
    ) -> Grade:
        """A :class:`Grade` stamped with this dataset's grader name and version."""
        return Grade(
            query_key=query.key,
            model=response.model,
            score=score,
            prediction=None if prediction is None else str(prediction),
            grader=self.grader_name,
            grader_version=self.grader_version,
            details=details,
        )
