"""Shared pieces of every importer: the error type, field validators and the in-memory bench.

An import is all-or-nothing: an importer parses and validates the whole input into an
:class:`ImportedBench` (plain tuples, no pydantic per record, so 400k records stay fast), and
only then is it written to the store in one transaction. Every check raises
:class:`DataFormatError`, which names the file, the record and the field so the user can fix the
input.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from routerbench_core.data.store import GRADE_ROW, RESPONSE_ROW
from routerbench_core.schema import ModelSpec

#: Bumped when an importer changes what it stores for the same input.
IMPORTER_VERSION = "1"

#: File-name suffixes that name a source split (``gsm8k_train.json``, ``mmlu-test.json``).
_SPLIT_SUFFIX = re.compile(r"^(?P<name>.+?)[_-](?P<split>train|test|val|valid|validation|dev)$")


class DataFormatError(ValueError):
    """Malformed import input. The message names file, record and field."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        record: str | int | None = None,
        field: str | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.record = record
        self.field = field
        self.reason = message
        parts: list[str] = []
        if self.file is not None:
            parts.append(self.file)
        if record is not None:
            parts.append(f"record {record}")
        if field is not None:
            parts.append(f"field {field!r}")
        prefix = ": ".join(parts)
        super().__init__(f"{prefix}: {message}" if prefix else message)

    def __reduce__(self) -> Any:
        # raised in an import worker process, it crosses back with every field
        return (_format_error, (type(self), self.reason, self.file, self.record, self.field))


def _format_error(cls: type[DataFormatError], reason: str, file: str | None,
                  record: str | int | None, field: str | None) -> DataFormatError:
    return cls(reason, file=file, record=record, field=field)


class MissingDependencyError(RuntimeError):
    """A format needs an optional package that is not installed; the message says which."""


def text_id(text: str) -> str:
    """A short stable id for a query known only by its text (16 hex digits of SHA-256)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def dumps(value: Any) -> str:
    """Compact JSON as the store keeps it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def not_utf8(path: Path) -> DataFormatError:
    """The error for a text file with bytes that are not UTF-8: which line, which bytes, and
    what to do (spreadsheet programs often save as Windows-1252 or Latin-1)."""
    line_no, detail = None, ""
    try:
        with open(path, "rb") as fh:
            for line_no, line in enumerate(fh, 1):  # noqa: B007 - the line number is the point
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    bad = line[exc.start:exc.end]
                    detail = f" (byte {bad.hex(' ')} at column {exc.start + 1})"
                    break
            else:
                line_no = None
    except OSError:
        pass
    return DataFormatError(
        f"not UTF-8 text{detail}; re-save the file as UTF-8 (e.g. iconv -f cp1252 -t utf-8)",
        file=path, record=None if line_no is None else f"line {line_no}",
    )


def read_json(path: Path) -> Any:
    """Parse a JSON file; bad JSON becomes a :class:`DataFormatError` with line and column.

    msgspec decodes straight into Python values: on the release's run files 632 MB/s against
    395 for orjson and 316 for the standard library, and its peak memory is the result's
    (orjson's document pool peaked at 71 MiB for a 5 MiB file). It refuses what orjson
    refuses; anything it refuses goes through orjson, whose errors (``json.JSONDecodeError``)
    give line and column, and whose refusal of a lone escaped surrogate falls back to the
    standard library so the record check can name the field."""
    import orjson

    from routerbench_core.data.jsonio import fast_decoder

    decode, refused = fast_decoder()
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise DataFormatError(f"cannot read file: {exc.strerror or exc}", file=path) from None
    try:
        return decode(data)
    except refused:
        pass
    try:
        return orjson.loads(data)
    except json.JSONDecodeError as exc:
        if "surrogate" in exc.msg:
            # valid JSON that escapes a lone surrogate: orjson refuses it, the standard library
            # reads it, so the record check can name the model, query and field concerned
            return json.loads(data)
        raise DataFormatError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", file=path
        ) from None
    except UnicodeDecodeError:
        raise not_utf8(path) from None


def split_from_stem(stem: str) -> tuple[str, str | None]:
    """``"gsm8k_train"`` → ``("gsm8k", "train")``; ``"mmlu-test"`` → ``("mmlu", "test")``;
    a name without a split suffix → ``(name, None)``."""
    m = _SPLIT_SUFFIX.match(stem)
    if m is None:
        return stem, None
    split = m.group("split")
    return m.group("name"), {"valid": "val", "validation": "val", "dev": "val"}.get(split, split)


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


class Where:
    """Where a record came from, for error messages (cheap: built only on error)."""

    __slots__ = ("file", "record")

    def __init__(self, file: str | Path, record: str | int) -> None:
        self.file = file
        self.record = record

    def error(self, field: str | None, message: str) -> DataFormatError:
        return DataFormatError(message, file=self.file, record=self.record, field=field)


def require(obj: Any, name: str, where: Where) -> Any:
    """``obj[name]``, or an error saying the field is missing."""
    if not isinstance(obj, dict):
        raise where.error(None, f"expected a JSON object, got {_describe(obj)}")
    try:
        return obj[name]
    except KeyError:
        raise where.error(name, "missing required field") from None


def as_score(value: Any, name: str, where: Where, *, allow_none: bool = True) -> float | None:
    """A score in [0, 1] (``None`` = not gradable when allowed). Booleans are refused: a
    ``true`` score is almost always a column mix-up."""
    t = type(value)
    if t is float or t is int:
        if 0.0 <= value <= 1.0:
            return float(value)
        if t is float and math.isnan(value):
            raise where.error(name, "score is NaN; use null for an ungradable answer")
        raise where.error(name, f"score {value!r} is outside [0, 1]")
    if value is None and allow_none:
        return None
    raise where.error(name, f"expected a number in [0, 1]{' or null' if allow_none else ''}, "
                            f"got {_describe(value)}")


def as_tokens(value: Any, name: str, where: Where) -> int | None:
    """A non-negative token count or ``None``. An integral float (``12.0``) is accepted."""
    t = type(value)
    if t is int:
        if value >= 0:
            return value
    elif value is None:
        return None
    elif t is float and value.is_integer() and value >= 0:
        return int(value)
    raise where.error(name, f"expected a non-negative integer or null, got {_describe(value)}")


def as_cost(value: Any, name: str, where: Where) -> float | None:
    """A non-negative, finite USD amount or ``None``."""
    t = type(value)
    if (t is float or t is int) and value >= 0 and math.isfinite(value):
        return float(value)
    if value is None:
        return None
    raise where.error(name, f"expected a non-negative number (USD) or null, got {_describe(value)}")


def as_text(value: Any, name: str, where: Where, *, allow_none: bool = True) -> str | None:
    if type(value) is str:
        return value
    if value is None and allow_none:
        return None
    raise where.error(name, f"expected a string{' or null' if allow_none else ''}, "
                            f"got {_describe(value)}")


def as_messages(value: Any, name: str, where: Where) -> tuple[list[dict[str, Any]], str]:
    """A chat prompt (a list of ``{"role", "content"}`` with text content): the messages and
    their contents joined by blank lines as the query text."""
    if not isinstance(value, list) or not value:
        raise where.error(name, f"expected a string or a non-empty list of chat messages, "
                                f"got {_describe(value)}")
    for i, msg in enumerate(value):
        if not (isinstance(msg, dict) and type(msg.get("role")) is str
                and type(msg.get("content")) is str):
            raise where.error(f"{name}[{i}]", "expected a message {\"role\": str, "
                                              f"\"content\": str}}, got {_describe(msg)}")
    return value, "\n\n".join(m["content"] for m in value)


def as_float_cell(text: str, name: str, where: Where, *, low: float = 0.0,
                  high: float = math.inf) -> float | None:
    """A CSV cell as a number; an empty cell is missing (``None``), never 0."""
    if text == "" or text.isspace():
        return None
    try:
        value = float(text)
    except ValueError:
        raise where.error(name, f"expected a number, got {text[:60]!r}") from None
    if not (low <= value <= high) or math.isnan(value):
        raise where.error(name, f"value {value!r} is outside [{low}, {high}]")
    return value


@dataclass(frozen=True)
class RowLayout:
    """Which columns a chunk's row tuples hold after ``(q, m)``; every other column has the
    value in ``constants`` (NULL when not named there).

    Why: binding a parameter costs SQLite about 0.3 us, building and pickling a tuple field
    more, and an import's rows repeat the same values in half their columns (the import's
    time, ``{}`` metadata, the grader's name). A narrow layout carries only what varies and
    the store writes the rest as SQL literals."""

    responses: tuple[str, ...] = RESPONSE_ROW
    grades: tuple[str, ...] = GRADE_ROW
    constants: tuple[tuple[str, Any], ...] = ()

    def value(self, column: str) -> Any:
        """The value every row has in a column the tuples leave out."""
        return dict(self.constants).get(column, _COLUMN_DEFAULTS.get(column))

    def full(self, rows: list[tuple[Any, ...]], table: str) -> list[tuple[Any, ...]]:
        """``rows`` in the full layout of ``table`` (``"responses"`` or ``"grades"``)."""
        have, full = ((self.responses, RESPONSE_ROW) if table == "responses"
                      else (self.grades, GRADE_ROW))
        if have == full:
            return rows
        where = {c: i + 2 for i, c in enumerate(have)}
        fill = [(where[c], None) if c in where else (None, self.value(c)) for c in full]
        return [(r[0], r[1], *[r[i] if i is not None else v for i, v in fill]) for r in rows]


FULL_LAYOUT = RowLayout()
#: The store's defaults of NOT NULL columns a layout may leave out.
_COLUMN_DEFAULTS = {"metadata": "{}", "details": "{}"}


@dataclass
class BenchChunk:
    """A bounded part of a streamed import, written in one transaction to the staging bench
    (see :meth:`routerbench_core.data.store.Store.write_bench_staged`). ``models`` are the
    models first seen in this chunk (their indices continue from the chunks before); rows are
    as in :class:`ImportedBench`. The last chunk carries the import's ``metadata``.
    ``blocks`` are ``(number, zstd frame)`` text blocks the responses' answers refer to (see
    ``data/textpack.py``; the import's packing stage fills them)."""

    models: list[ModelSpec] = field(default_factory=list)
    queries: list[tuple[Any, ...]] = field(default_factory=list)
    responses: list[tuple[Any, ...]] = field(default_factory=list)
    grades: list[tuple[Any, ...]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    blocks: list[tuple[int, bytes]] = field(default_factory=list)
    #: What the chunk's rows belong to (LLMRouterBench: ``(dataset, split)``); consecutive
    #: chunks of one group are written together once packed (:func:`merged_chunks`).
    group: Any = None
    #: The rows' query indices count from here (a parse worker numbers its queries from 0;
    #: the store adds this in SQL instead of Python rewriting every row).
    q_base: int = 0
    #: The rows' numeric outcomes as arrays (``data/matrix_build.py``), so the import builds
    #: the bench's matrix cache without reading the rows back.
    outcomes: Any = None
    #: The columns the row tuples hold (an importer's narrow rows; see :class:`RowLayout`).
    layout: RowLayout = FULL_LAYOUT
    #: Made final by a parse worker: merged, packed and sorted in (query, model) order, its
    #: rows held as columns. Later stages pass it on untouched and the writer does not sort it.
    final: bool = False


#: Packed chunks of one group are merged into writes of at most this many responses.
MERGE_ROWS = 200_000


def merged_chunks(chunks: Iterable[BenchChunk], max_rows: int = MERGE_ROWS) -> Iterator[BenchChunk]:
    """Merge consecutive chunks of one ``group`` (up to ``max_rows`` responses) into one.

    Why: the outcome tables are clustered on (bench, query, model), and a release gives one
    model's file at a time, so the parser's bounded chunks of one dataset split hold the same
    queries for different models. Written one by one, each chunk's rows land between the rows
    of the chunks before (page splits all over the B-tree: 9.6 us per response row on the 400k
    release). Once the answers are packed into blocks the rows are narrow (a few hundred bytes),
    so a whole split is cheap to hold and is written as one sorted append."""
    held: BenchChunk | None = None
    for chunk in chunks:
        if chunk.final:  # a parse worker merged it already: on at once
            if held is not None:
                yield held
                held = None
            yield chunk
            continue
        if (held is not None and chunk.group is not None and chunk.group == held.group
                and chunk.q_base == held.q_base and chunk.layout == held.layout
                and len(held.responses) + len(chunk.responses) <= max_rows):
            held.models += chunk.models
            held.queries += chunk.queries
            held.responses += chunk.responses
            held.grades += chunk.grades
            held.blocks += chunk.blocks
            held.outcomes = None
            if chunk.metadata is not None:
                held.metadata = chunk.metadata
            continue
        if held is not None:
            yield held
        held = chunk
    if held is not None:
        yield held


@dataclass
class ImportedBench:
    """A fully parsed and validated bench, ready to write in one transaction.

    Rows are tuples in the store's column order without the bench id (see
    :meth:`routerbench_core.data.store.Store.write_bench`): queries
    ``(idx, key, dataset, qid, text, messages_json, ground_truth_json, source_split,
    metadata_json)``, responses ``(q, m, raw_output, prompt_tokens, completion_tokens,
    reasoning_tokens, cached_tokens, cost, cost_source, latency, error, request_hash,
    created_at, metadata_json)``, grades ``(q, m, score, prediction, grader, grader_version,
    details_json, created_at)``.
    """

    format: str
    source: str
    models: list[ModelSpec] = field(default_factory=list)
    queries: list[tuple[Any, ...]] = field(default_factory=list)
    responses: list[tuple[Any, ...]] = field(default_factory=list)
    grades: list[tuple[Any, ...]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def n_records(self) -> int:
        return len(self.responses)


class BenchBuilder:
    """Accumulates queries, models and outcomes with the checks every format shares:
    unique query keys, known models, one outcome per (query, model)."""

    def __init__(self, fmt: str, source: str | Path) -> None:
        self.bench = ImportedBench(format=fmt, source=str(source))
        self.query_index: dict[str, int] = {}
        self.model_index: dict[str, int] = {}
        self.created_at = time.time()
        self.grader = f"import:{fmt}"
        self._cells: set[int] = set()

    # -- models ------------------------------------------------------------------------------

    def add_model(self, spec: ModelSpec) -> int:
        idx = self.model_index.get(spec.name)
        if idx is not None:
            return idx
        idx = len(self.bench.models)
        self.bench.models.append(spec)
        self.model_index[spec.name] = idx
        return idx

    def model(self, name: str, where: Where, field: str | None = None) -> int:
        """The index of a declared model; an undeclared one is an error."""
        idx = self.model_index.get(name)
        if idx is None:
            known = ", ".join(self.model_index) or "none"
            raise where.error(field, f"unknown model {name!r}; models in this import: {known}")
        return idx

    # -- queries -----------------------------------------------------------------------------

    def add_query(
        self,
        *,
        key: str,
        dataset: str,
        qid: str,
        text: str,
        where: Where,
        messages: Any = None,
        ground_truth: Any = None,
        source_split: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> int:
        """Add a new query; a key seen before is a duplicate record."""
        if key in self.query_index:
            raise where.error(None, f"duplicate record: query {key!r} was already given")
        idx = len(self.bench.queries)
        self.query_index[key] = idx
        self.bench.queries.append(
            (
                idx, key, dataset, qid, text,
                None if messages is None else dumps(messages),
                None if ground_truth is None else dumps(ground_truth),
                source_split, dumps(metadata) if metadata else "{}",
            )
        )
        return idx

    # -- outcomes ----------------------------------------------------------------------------

    def add_outcome(
        self,
        q: int,
        m: int,
        where: Where,
        *,
        score: float | None,
        has_grade: bool = True,
        raw_output: str | None = None,
        prediction: str | None = None,
        prompt_tokens: int | None = None,
        completion_tokens: int | None = None,
        cost: float | None = None,
        cost_source: str | None = None,
        error: str | None = None,
        metadata_json: str = "{}",
    ) -> None:
        """One model's outcome on one query: a response row, plus a grade row unless the call
        failed or ``has_grade`` is false (a missing score is not a 0)."""
        cell = (q << 20) | m
        if cell in self._cells:
            name = self.bench.models[m].name
            key = self.bench.queries[q][1]
            raise where.error(
                None, f"duplicate record: model {name!r} already has an outcome for {key!r}"
            )
        self._cells.add(cell)
        created = self.created_at
        self.bench.responses.append(
            (q, m, raw_output, prompt_tokens, completion_tokens, None, None, cost,
             cost_source if cost is not None else None, None, error, None, created,
             metadata_json)
        )
        if error is None and has_grade:
            self.bench.grades.append(
                (q, m, score, prediction, self.grader, IMPORTER_VERSION, "{}", created)
            )

    def finish(self, **metadata: Any) -> ImportedBench:
        if not self.bench.queries:
            raise DataFormatError(f"no records found in {self.bench.source}")
        self.bench.metadata.update(metadata)
        self.bench.metadata.setdefault("import_format", self.bench.format)
        self.bench.metadata.setdefault("importer_version", IMPORTER_VERSION)
        return self.bench
