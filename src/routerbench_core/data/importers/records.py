"""Import formats that speak in the pipeline's own objects (queries, responses, grades).

A dataset plugin that imports a harness's results (SWE-bench, tau2-bench) already builds
:class:`~routerbench_core.schema.Query`, :class:`~routerbench_core.schema.Response` and
:class:`~routerbench_core.schema.Grade` objects with its dataset class; its importer returns them
as :class:`ImportedRecords` instead of building store rows by hand. The core turns them into an
:class:`ImportedBench` (a new bench, all-or-nothing) or adds them to an existing bench in one
transaction (``rbench data import ... --add``): agent results arrive one model at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from routerbench_core.data.importers.base import DataFormatError, ImportedBench, dumps
from routerbench_core.schema import Grade, ModelSpec, Query, Response

if TYPE_CHECKING:
    from routerbench_core.data.store import Store


@dataclass
class ImportedRecords:
    """Parsed and validated records of one import, as pipeline objects.

    ``models`` may declare specs (prices, descriptions); a model named only by a response gets a
    bare spec. Every response and grade must name a query of ``queries``; a (query, model)
    outcome may appear once.
    """

    format: str
    source: str
    queries: Sequence[Query]
    responses: Sequence[Response]
    grades: Sequence[Grade] = ()
    models: Sequence[ModelSpec] = ()
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_records(self) -> int:
        return len(self.responses)

    def model_specs(self) -> list[ModelSpec]:
        """The declared specs, then a bare spec per other model, in order of appearance."""
        specs = {m.name: m for m in self.models}
        for r in self.responses:
            specs.setdefault(r.model, ModelSpec(name=r.model))
        return list(specs.values())

    def _check(self) -> None:
        if not self.queries:
            raise DataFormatError(f"no records found in {self.source}")
        keys: set[str] = set()
        for q in self.queries:
            if q.key in keys:
                raise DataFormatError(f"duplicate query {q.key!r}", file=self.source)
            keys.add(q.key)
        for what, items in (("response", self.responses), ("grade", self.grades)):
            seen: set[tuple[str, str]] = set()
            for item in items:
                if item.query_key not in keys:
                    raise DataFormatError(
                        f"{what} of {item.model!r} is for query {item.query_key!r}, which is not "
                        "among the imported queries", file=self.source)
                cell = (item.query_key, item.model)
                if cell in seen:
                    raise DataFormatError(f"duplicate {what}: model {item.model!r} on "
                                          f"{item.query_key!r}", file=self.source)
                seen.add(cell)

    def _rows(self, qi: dict[str, int], mi: dict[str, int]) -> tuple[list[tuple[Any, ...]],
                                                                        list[tuple[Any, ...]]]:
        responses = [
            (qi[r.query_key], mi[r.model], r.raw_output, r.prompt_tokens, r.completion_tokens,
             r.reasoning_tokens, r.cached_tokens, r.cost, r.cost_source, r.latency_s, r.error,
             r.request_hash, r.created_at, dumps(r.metadata))
            for r in self.responses
        ]
        grades = [
            (qi[g.query_key], mi[g.model], g.score, g.prediction, g.grader, g.grader_version,
             dumps(g.details), g.created_at)
            for g in self.grades
        ]
        return responses, grades

    def to_bench(self) -> ImportedBench:
        """The same records as store rows, for a new bench written in one transaction."""
        self._check()
        models = self.model_specs()
        qi = {q.key: i for i, q in enumerate(self.queries)}
        mi = {m.name: i for i, m in enumerate(models)}
        queries = [
            (i, q.key, q.dataset, q.id, q.text,
             None if q.messages is None else dumps(q.messages),
             None if q.ground_truth is None else dumps(q.ground_truth),
             q.source_split, dumps(q.metadata))
            for i, q in enumerate(self.queries)
        ]
        responses, grades = self._rows(qi, mi)
        metadata = {"import_format": self.format, **self.metadata}
        return ImportedBench(format=self.format, source=self.source, models=models,
                             queries=queries, responses=responses, grades=grades,
                             metadata=metadata)

    def add_to(self, store: Store, bench: str) -> None:
        """Add to bench ``bench`` (created if absent) in one transaction: queries already
        there keep their rows, models already there keep their specs (and prices), outcomes
        of the same (query, model) are replaced."""
        from routerbench_core.data.store import Store, validate_bench_name

        self._check()
        validate_bench_name(bench)
        with store.transaction() as conn:
            if store.has_bench(bench):
                bench_id = store.bench_id(bench)
            else:
                bench_id = store.create_bench(bench, source=f"{self.format}:{self.source}",
                                              metadata={"import_format": self.format},
                                              conn=conn)
            known = store.model_index(bench_id)
            mi = store.add_models(
                bench_id, [m for m in self.model_specs() if m.name not in known], conn=conn
            )
            qi = store.add_queries(bench_id, self.queries, conn=conn)
            responses, grades = self._rows(qi, mi)
            Store.write_response_rows(conn, [(bench_id, *row) for row in responses])
            Store.write_grade_rows(conn, [(bench_id, *row) for row in grades])
