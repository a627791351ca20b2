"""The outcome matrix of a streamed import, built from the rows it writes.

Why: after an import, reading 400k outcomes back out of SQLite into numpy (the
``Store.load_matrix_sql`` path) took 1.8 s of a 2.2 s cache rebuild, all of it after the last
row was written. The import already holds every row once: each chunk's numeric outcomes are
taken as numpy arrays where the chunk is packed (a parse worker, or the packing thread), and
the writer drops them into the grids as chunks pass. The result is the matrix
``load_matrix_sql`` would read, with the same counts for ``rbench data info``; a test checks
the two agree on every field.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from routerbench_core.data.matrix import OutcomeMatrix
    from routerbench_core.schema import ModelSpec

_NAN = math.nan
#: Per response: query, model, cost, prompt and completion tokens, latency (NaN = NULL),
#: failed, cost-source code (0 = none, else 1 + index into ``ChunkOutcomes.sources``).
RESPONSE_FIELDS = [("q", "i8"), ("m", "i8"), ("cost", "f8"), ("pt", "f8"), ("ct", "f8"),
                   ("lat", "f8"), ("failed", "?"), ("source", "i4")]
GRADE_FIELDS = [("q", "i8"), ("m", "i8"), ("score", "f8")]


@dataclass
class ChunkOutcomes:
    """The numeric outcomes of one chunk's rows (indices as in the rows)."""

    responses: np.ndarray
    grades: np.ndarray
    sources: list[str]


def chunk_outcomes(chunk: Any) -> ChunkOutcomes:
    """Outcome arrays of a chunk's rows (in its :class:`RowLayout`), column by column: a
    column without NULLs converts in C, one with NULLs element by element."""
    import numpy as np

    from routerbench_core.data.columns import ColumnRows

    layout = chunk.layout

    def columns(rows: Any, held: tuple[str, ...], wanted: tuple[str, ...]) -> list[Any]:
        """The ``wanted`` columns of rows whose tuples hold ``(q, m, *held)``."""
        names = ("q", "m", *held)
        if isinstance(rows, ColumnRows):
            cols = rows.columns
        else:
            cols = list(zip(*rows, strict=True)) if rows else [()] * len(names)
        return [cols[names.index(c)] if c in names else [layout.value(c)] * len(rows)
                for c in wanted]

    def real(values: Any) -> np.ndarray:
        if isinstance(values, np.ndarray):
            return values.astype(np.float64)
        if None not in values:
            return np.array(values, dtype=np.float64)
        return np.array([_NAN if v is None else v for v in values], dtype=np.float64)

    responses, grades = chunk.responses, chunk.grades
    q, m, cost, pt, ct, lat, src, err = columns(responses, layout.responses, (
        "q", "m", "cost", "prompt_tokens", "completion_tokens", "latency", "cost_source",
        "error"))
    sources = sorted({s for s in src if s is not None})
    codes: dict[str | None, int] = {s: i + 1 for i, s in enumerate(sources)}
    codes[None] = 0
    resp = np.empty(len(responses), dtype=np.dtype(RESPONSE_FIELDS))
    resp["q"], resp["m"] = q, m
    resp["cost"], resp["pt"], resp["ct"], resp["lat"] = real(cost), real(pt), real(ct), real(lat)
    resp["failed"] = False if set(err) == {None} else [e is not None for e in err]
    distinct = set(src)
    resp["source"] = (codes[next(iter(distinct))] if len(distinct) == 1
                      else [codes[s] for s in src])
    gq, gm, score = columns(grades, layout.grades, ("q", "m", "score"))
    grade = np.empty(len(grades), dtype=np.dtype(GRADE_FIELDS))
    grade["q"], grade["m"], grade["score"] = gq, gm, real(score)
    return ChunkOutcomes(resp, grade, sources)


def with_outcomes(chunks: Iterable[Any]) -> Iterator[Any]:
    """Give each chunk its ``outcomes`` (unless a parse worker already did)."""
    for chunk in chunks:
        if chunk.outcomes is None:
            chunk.outcomes = chunk_outcomes(chunk)
        yield chunk


class MatrixBuilder:
    """Collects the chunks of one import (:meth:`add`, in write order) and builds its
    :class:`~routerbench_core.data.matrix.OutcomeMatrix` and ``data info`` counts."""

    def __init__(self) -> None:
        self._keys: list[str] = []
        self._datasets: list[str] = []
        self._splits: list[str | None] = []
        self._texts: list[str] = []
        self._parts: list[tuple[int, ChunkOutcomes]] = []
        self.specs: list[ModelSpec] = []

    def add(self, chunk: Any) -> None:
        base = int(chunk.q_base)
        for row in chunk.queries:
            if row[0] + base != len(self._keys):
                raise ValueError("an import's queries must arrive in index order")
            self._keys.append(row[1])
            self._datasets.append(row[2])
            self._texts.append(row[4])
            self._splits.append(row[7])
        self.specs += chunk.models
        self._parts.append((base, chunk.outcomes))

    def build(self, bench: str, metadata: dict[str, Any], source: str | None,
              created_at: float) -> tuple[OutcomeMatrix, dict[str, Any]]:
        """The matrix (as ``Store.load_matrix_sql`` reads it) and the counts (as
        ``matrix_cache`` stores them)."""
        import numpy as np

        from routerbench_core.data.matrix import OutcomeMatrix

        n, m = len(self._keys), len(self.specs)

        def grid() -> np.ndarray:
            return np.full((n, m), np.nan, dtype=np.float64)

        score, cost, pt, ct, lat = grid(), grid(), grid(), grid(), grid()
        failed = np.zeros((n, m), dtype=bool)
        has = np.zeros((n, m), dtype=bool)
        cost_source = np.full((n, m), None, dtype=object)
        n_responses = n_failures = n_grades = 0
        source_counts: dict[str | None, int] = {}
        for base, out in self._parts:
            r, g = out.responses, out.grades
            q = r["q"] + base
            cost[q, r["m"]] = r["cost"]
            pt[q, r["m"]] = r["pt"]
            ct[q, r["m"]] = r["ct"]
            lat[q, r["m"]] = r["lat"]
            failed[q, r["m"]] = r["failed"]
            has[q, r["m"]] = True
            names = np.array([None, *out.sources], dtype=object)
            cost_source[q, r["m"]] = names[r["source"]]
            for code, count in zip(*np.unique(r["source"], return_counts=True), strict=True):
                key = names[int(code)]
                source_counts[key] = source_counts.get(key, 0) + int(count)
            score[g["q"] + base, g["m"]] = g["score"]
            n_responses += len(r)
            n_failures += int(r["failed"].sum())
            n_grades += int((~np.isnan(g["score"])).sum())
        score[~has | failed] = np.nan  # a score counts only for a call made that did not fail
        models = [s.name for s in self.specs]
        matrix = OutcomeMatrix(
            bench=bench, models=models, keys=np.array(self._keys, dtype=object),
            datasets=np.array(self._datasets, dtype=object), texts=self._texts, score=score,
            cost=cost, prompt_tokens=pt, completion_tokens=ct, latency=lat, failed=failed,
            model_specs={s.name: s for s in self.specs}, cost_source=cost_source,
            metadata=metadata,
        )
        stats = {
            "source": source, "created_at": created_at, "n_queries": n, "n_models": m,
            "n_responses": n_responses, "n_failures": n_failures, "n_grades": n_grades,
            "datasets": list(Counter(self._datasets).items()),  # in order of first sight
            "source_splits": list(Counter(self._splits).items()),
            # SQLite's ORDER BY: NULL first, then by UTF-8 bytes (= code point order)
            "cost_sources": sorted(source_counts.items(),
                                   key=lambda kv: (kv[0] is not None, kv[0] or "")),
        }
        return matrix, stats
