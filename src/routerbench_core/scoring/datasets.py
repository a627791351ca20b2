"""The dataset interface: load items, build prompts, extract answers, score them.

A dataset plugin subclasses :class:`Dataset`. Extraction and scoring helpers shared by many
datasets (boxed answers, math equivalence, multiple-choice letters, code execution, LLM judges)
live in :mod:`routerbench_core.scoring`; a plugin composes them rather than re-implementing.

Changing how a dataset scores answers must bump ``grader_version`` (and add a line to the
plugin README's changelog): stored grades carry the version, and ``rbench grade --regrade``
re-scores stored answers with the new grader.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal

from routerbench_core.schema import Grade, Query, Response
from routerbench_core.scoring.choice import (
    LETTERS,
    format_choices,
    read_choice,
    score_choice,
    seed_choice,
)

Category = Literal["math", "multiple-choice", "code", "logic", "judged", "agentic", "qa"]


class DatasetError(RuntimeError):
    """A dataset cannot be loaded or graded; the message names the file/field and what to do."""


#: The metadata keys a dataset plugin writes once, in its ``plugin.py`` capabilities.
METADATA_KEYS: tuple[str, ...] = ("category", "size", "metric", "settings", "shots")


class Dataset(ABC):
    """One benchmark. Class attributes are its metadata (also shown by ``rbench list``).

    The metadata is written once, in the plugin's light ``plugin.py`` (``CAPABILITIES``), and
    the class reads it from there: ``class AIME(BoxedMathDataset, capabilities=CAPABILITIES)``
    sets ``category``, ``size``, ``metric``, ``settings`` and ``shots`` from that mapping.
    """

    name: ClassVar[str]
    category: ClassVar[Category]
    size: ClassVar[int]
    metric: ClassVar[str] = "accuracy"
    settings: ClassVar[tuple[str, ...]] = ("perf",)
    shots: ClassVar[int] = 0
    #: The plugin.py capabilities the metadata was read from (empty: set by hand).
    capabilities: ClassVar[Mapping[str, Any]] = {}
    grader_version: ClassVar[str] = "1"
    #: The public hub repository (and revision) the loader reads when ``datasets`` is installed.
    hub_id: ClassVar[str | None] = None
    hub_revision: ClassVar[str | None] = None

    def __init_subclass__(cls, capabilities: Mapping[str, Any] | None = None, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if capabilities is None:
            return
        twice = [k for k in METADATA_KEYS if k in capabilities and k in vars(cls)]
        if twice:
            raise TypeError(
                f"{cls.__name__} sets {', '.join(twice)} in its body and in its capabilities; "
                "write them once, in plugin.py's CAPABILITIES"
            )
        cls.capabilities = dict(capabilities)
        for key in METADATA_KEYS:
            if key in capabilities:
                value = capabilities[key]
                setattr(cls, key, tuple(value) if key == "settings" else value)

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

    def grade_many(
        self, items: Sequence[tuple[Query, Response]], *, workers: int = 1, **context: Any
    ) -> list[Grade]:
        """Grade many responses; datasets whose grading is slow (code execution) run them in
        parallel with ``workers``. The default grades one by one."""
        return [self.grade(query, response, **context) for query, response in items]

    #: Answers per :meth:`grade_many` call when :meth:`grade_stream` batches (judged sets).
    stream_batch: ClassVar[int] = 32

    def grade_stream(
        self, items: Sequence[tuple[Query, Response]], *, workers: int = 1, **context: Any
    ) -> Iterator[tuple[int, Grade | Exception]]:
        """``(index, grade)`` as grades finish, so the caller can store each at once (a
        killed grading run then loses only the answers in flight). An answer whose grading
        raised comes back as the exception, for the caller to record as not gradable.

        The default uses :meth:`grade_many` in batches of :attr:`stream_batch` when a
        subclass overrides it (its concurrency is kept), else :meth:`grade` one by one. An
        error of the sandbox itself (:class:`~routerbench_core.scoring.sandbox.SandboxError`)
        is raised: an infrastructure failure is never recorded as a verdict.
        """
        batched = type(self).grade_many is not Dataset.grade_many
        step = self.stream_batch if batched else 1
        for start in range(0, len(items), step):
            chunk = items[start : start + step]
            if batched:
                try:
                    grades = self.grade_many(chunk, workers=workers, **context)
                    if len(grades) != len(chunk):
                        raise RuntimeError(
                            f"grade_many returned {len(grades)} grades for {len(chunk)} answers")
                except Exception as exc:  # find the answers that fail, grade the rest
                    if _is_sandbox_error(exc):
                        raise
                else:
                    yield from ((start + i, g) for i, g in enumerate(grades))
                    continue
            for offset, (query, response) in enumerate(chunk):
                try:
                    yield start + offset, self.grade(query, response, **context)
                except Exception as exc:  # noqa: BLE001 - recorded as not gradable
                    if _is_sandbox_error(exc):
                        raise
                    yield start + offset, exc

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


# ---------------------------------------------------------------------------------------------
# Shared loading helpers: every dataset reads a local ``--data-file`` or its hub repository.

#: Suffixes :func:`read_records` understands.
RECORD_FORMATS = (".jsonl", ".jsonl.gz", ".ndjson", ".json", ".json.gz", ".parquet", ".csv")


def _open_text(path: Path) -> io.TextIOBase:
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")  # type: ignore[return-value]
    return path.open("r", encoding="utf-8")  # type: ignore[return-value]


_WRAPPERS = ("data", "rows", "examples", "test", "train", "validation", "items")


def _records_from_json(value: Any, path: Path) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        # {"data": [...]} / {"test": [...]} / {"rows": [...]} wrappers, or {id: record}
        for key in _WRAPPERS:
            if isinstance(value.get(key), list):
                value = value[key]
                break
        else:
            if value and all(isinstance(v, dict) for v in value.values()):
                value = [{"id": k, **v} if "id" not in v else v for k, v in value.items()]
    if not isinstance(value, list):
        raise DatasetError(
            f"{path}: expected a JSON list of records (or an object with a 'data' list), "
            f"got {type(value).__name__}"
        )
    for i, record in enumerate(value):
        if not isinstance(record, dict):
            raise DatasetError(f"{path}: record {i} is {type(record).__name__}, expected an object")
    return value


def _jsonl_records(handle: Iterable[str], path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for lineno, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(
                f"{path}, line {lineno}: not valid JSON ({exc.msg}); each line must "
                "be one JSON object"
            ) from None
        if not isinstance(record, dict):
            raise DatasetError(
                f"{path}, line {lineno}: expected a JSON object, got {type(record).__name__}"
            )
        records.append(record)
    return records


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a local data file: JSONL, JSON, Parquet or CSV (``.gz`` for JSON/L).

    A ``.json`` file holding one object per line (as LLMRouterBench publishes its subsets) is
    read as JSONL.

    Errors name the file and line (or record) and never return partial data.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"data file {path} does not exist; check the --data-file path")
    if path.is_dir():
        raise DatasetError(f"data file {path} is a folder; pass the JSONL/JSON/Parquet file in it")
    name = path.name.lower()
    try:
        if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
            with _open_text(path) as handle:
                return _jsonl_records(handle, path)
        if name.endswith((".json", ".json.gz")):
            with _open_text(path) as handle:
                text = handle.read()
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                # LLMRouterBench publishes its subsets as one object per line in files named
                # .json (MMLU-Pro test_3000.json, BBH test.json, ...): read those as JSONL
                if exc.msg == "Extra data" and text.lstrip().startswith("{"):
                    return _jsonl_records(io.StringIO(text), path)
                raise DatasetError(
                    f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno} ({exc.msg})"
                ) from None
            lines = [line for line in text.splitlines() if line.strip()]
            if isinstance(value, dict) and len(lines) == 1 and not any(
                isinstance(v, list) and k in _WRAPPERS for k, v in value.items()
            ) and not all(isinstance(v, dict) for v in value.values()):
                return [value]  # a one-line JSONL file named .json
            return _records_from_json(value, path)
        if name.endswith(".parquet"):
            try:
                import pyarrow.parquet as pq
            except ImportError:
                raise DatasetError(
                    f"{path}: reading Parquet needs pyarrow; `pip install 'rbench[parquet]'` "
                    "or convert the file to JSONL"
                ) from None
            return pq.read_table(path).to_pylist()
        if name.endswith(".csv"):
            csv.field_size_limit(1 << 30)
            with path.open(newline="", encoding="utf-8") as handle:
                return [dict(row) for row in csv.DictReader(handle)]
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read data file {path}: {exc}") from exc
    raise DatasetError(
        f"data file {path}: unknown format; use one of {', '.join(RECORD_FORMATS)}"
    )


def load_hub_records(
    repo_id: str, *, revision: str | None, split: str, config: str | None = None,
    dataset_name: str = "",
) -> list[dict[str, Any]]:
    """Rows of a hub dataset through the ``datasets`` library (needs a network or its cache)."""
    try:
        import datasets as hf_datasets  # the Hugging Face library, not this module
    except ImportError:
        label = f"dataset {dataset_name!r}" if dataset_name else "this dataset"
        raise DatasetError(
            f"{label} has no local file and the `datasets` library is not installed: pass "
            f"--data-file PATH (JSONL/JSON/Parquet in the format of {repo_id}), or `pip install "
            f"datasets` to download {repo_id} (revision {revision or 'main'})"
        ) from None
    try:
        table = hf_datasets.load_dataset(repo_id, config, split=split, revision=revision)
    except Exception as exc:  # network, auth, unknown split: all need the user to act
        raise DatasetError(
            f"cannot load {repo_id} (config {config}, split {split}, revision {revision}) from "
            f"the hub: {type(exc).__name__}: {exc}. Pass --data-file PATH to use a local copy"
        ) from exc
    return [dict(row) for row in table]


def load_records(
    data_file: str | Path | None,
    *,
    hub_id: str | None,
    hub_revision: str | None,
    hub_split: str = "test",
    hub_config: str | None = None,
    dataset_name: str = "",
) -> list[dict[str, Any]]:
    """Records from ``data_file`` when given, else from the hub; a clear error when neither works."""
    if data_file is not None:
        return read_records(data_file)
    if not hub_id:
        raise DatasetError(
            f"dataset {dataset_name!r} has no public hub repository; pass --data-file PATH"
        )
    return load_hub_records(
        hub_id, revision=hub_revision, split=hub_split, config=hub_config,
        dataset_name=dataset_name,
    )


def require_fields(
    record: Mapping[str, Any], fields: Iterable[str], *, source: str, index: int
) -> None:
    """Raise a :class:`DatasetError` naming the source, record number and missing fields."""
    missing = [f for f in fields if f not in record or record[f] is None]
    if missing:
        present = ", ".join(sorted(record)) or "none"
        raise DatasetError(
            f"{source}: record {index} lacks field(s) {', '.join(missing)} (it has: {present}); "
            "is this the right file for this dataset?"
        )


def ensure_gradable(response: Response) -> str:
    """The response text, or an error for a failed call: failures are never scored 0."""
    if response.error is not None:
        raise DatasetError(
            f"response of {response.model} to {response.query_key} is a failed call "
            f"({response.error}); failed calls are not graded — retry them with `rbench collect`"
        )
    if response.raw_output is None:
        raise DatasetError(
            f"response of {response.model} to {response.query_key} has no output and no error; "
            "it cannot be graded"
        )
    return response.raw_output


ScoreResult = float | None | tuple[float | None, dict[str, Any]]

#: Finish reasons meaning "the output was cut off by the token limit" (OpenAI, vLLM, others).
TOKEN_LIMIT_REASONS = frozenset({"length", "max_tokens", "max_output_tokens", "model_length"})


def hit_token_limit(response: Response) -> bool:
    """Whether the backend reported that ``response`` stopped at the token limit."""
    reason = (response.metadata or {}).get("finish_reason")
    return str(reason).lower() in TOKEN_LIMIT_REASONS if reason else False


@dataclass(frozen=True)
class HubSource:
    """One hub table a dataset is read from (some benchmarks span several: AIME 2024 + 2025)."""

    repo_id: str
    revision: str | None
    split: str = "test"
    config: str | None = None


def load_hub_sources(sources: Sequence[HubSource], *, dataset_name: str = "") -> list[dict[str, Any]]:
    """Rows of every source in order, tagged ``_hub_source`` (``repo@revision``) and
    ``_hub_split`` (the split, kept as the queries' ``source_split``)."""
    rows: list[dict[str, Any]] = []
    for source in sources:
        for row in load_hub_records(
            source.repo_id, revision=source.revision, split=source.split,
            config=source.config, dataset_name=dataset_name,
        ):
            rows.append({**row, "_hub_source": f"{source.repo_id}@{source.revision}",
                         "_hub_split": source.split})
    return rows


class TemplateDataset(Dataset):
    """The common dataset shape: records → queries, a prompt template, an extractor, a scorer.

    A plugin sets the metadata class attributes plus ``prompt_template`` (``str.format`` fields
    from :meth:`prompt_fields`), implements :meth:`to_query`, :meth:`extract` and :meth:`score`,
    and inherits loading (``--data-file`` or hub), prompt building and grading. ``score``
    returns a float in [0, 1], None (not gradable), or ``(score, details)``.
    """

    prompt_template: ClassVar[str] = "{question}"
    system_prompt: ClassVar[str | None] = None
    hub_split: ClassVar[str] = "test"
    hub_config: ClassVar[str | None] = None
    #: Fields every source record must have (checked with a clear error before conversion).
    required_fields: ClassVar[tuple[str, ...]] = ()

    #: Several hub tables instead of the single ``hub_id``/``hub_split``/``hub_config``.
    hub_sources: ClassVar[tuple[HubSource, ...]] = ()

    def sources(self) -> tuple[HubSource, ...]:
        """The hub tables to read; a ``revision`` option overrides the pinned revision."""
        revision = self.options.get("revision")
        if self.hub_sources:
            sources = self.hub_sources
        elif self.hub_id:
            sources = (HubSource(self.hub_id, self.hub_revision, self.hub_split, self.hub_config),)
        else:
            sources = ()
        if revision:
            sources = tuple(
                HubSource(s.repo_id, revision, s.split, s.config) for s in sources
            )
        return sources

    def read_source_records(self, data_file: Path | None) -> list[dict[str, Any]]:
        """Raw records from ``data_file`` or the hub (override for unusual layouts)."""
        if data_file is not None:
            return read_records(data_file)
        sources = self.sources()
        if not sources:
            raise DatasetError(
                f"dataset {self.name!r} has no public hub repository; pass --data-file PATH"
            )
        return load_hub_sources(sources, dataset_name=self.name)

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        records = self.read_source_records(data_file)
        source = (
            str(data_file) if data_file is not None
            else ", ".join(f"{s.repo_id}@{s.revision}" for s in self.sources())
        )
        queries: list[Query] = []
        seen: dict[str, int] = {}
        for index, record in enumerate(records):
            if limit is not None and len(queries) >= limit:
                break
            require_fields(record, self.required_fields, source=source, index=index)
            try:
                query = self.to_query(record, index)
            except DatasetError as exc:
                if source in str(exc):
                    raise
                raise DatasetError(f"{source}: {exc}") from exc
            except (KeyError, TypeError, ValueError) as exc:
                raise DatasetError(
                    f"{source}: record {index} cannot be read as a {self.name} item: "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            if query.source_split is None and record.get("_hub_split"):
                query.source_split = str(record["_hub_split"])
            if query.id in seen:
                raise DatasetError(
                    f"{source}: records {seen[query.id]} and {index} share the id {query.id!r}; "
                    "ids must be unique"
                )
            seen[query.id] = index
            queries.append(query)
        if not queries:
            raise DatasetError(f"{source}: no {self.name} items found")
        return queries

    @abstractmethod
    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        """One source record as a :class:`Query` (hidden answers/tests go in ``ground_truth``)."""

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        """The fields :attr:`prompt_template` is formatted with: the question and metadata."""
        return {**query.metadata, "question": query.text}

    def build_messages(self, query: Query) -> list[dict[str, Any]]:
        content = self.prompt_template.format(**self.prompt_fields(query))
        messages: list[dict[str, Any]] = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": content})
        return messages

    @abstractmethod
    def extract(self, output: str, query: Query) -> Any:
        """The model's answer in ``output``, or None when it gave none."""

    @abstractmethod
    def score(self, prediction: Any, query: Query) -> ScoreResult:
        """Score an extracted (non-None) prediction against ``query.ground_truth``."""

    def extract_response(self, response: Response, query: Query) -> Any:
        """The prediction in ``response`` (code datasets also read its finish reason)."""
        return self.extract(ensure_gradable(response), query)

    def no_answer_reason(self, output: str, query: Query) -> str:
        """Why :meth:`extract` found nothing, recorded in the grade (e.g. an ambiguous choice)."""
        return "no answer found"

    def grade(self, query: Query, response: Response, **context: Any) -> Grade:
        output = ensure_gradable(response)
        prediction = self.extract_response(response, query)
        if prediction is None:
            return self.make_grade(query, response, 0.0, None,
                                   reason=self.no_answer_reason(output, query))
        result = self.score(prediction, query)
        details: dict[str, Any] = {}
        if isinstance(result, tuple):
            result, details = result
        return self.make_grade(query, response, result, prediction, **details)


class CodeExecDataset(TemplateDataset):
    """Code benchmarks: extract the program, decide the verdict from what it returns.

    Subclasses implement :meth:`build_check`: a decomposed check of
    :mod:`routerbench_core.scoring.verdicts` (a :class:`FunctionCheck` for assert tests, a
    :class:`StdioCheck` or :class:`CallCheck` for tests with known outputs), or a whole
    :class:`~routerbench_core.scoring.sandbox.Program` where the tests cannot be decomposed
    (the default calls the older :meth:`build_program`). Every job runs in the kernel-isolated
    sandbox (docs/sandbox.md). Options: ``timeout_s`` (per job), ``memory_mb``.
    A sandbox that cannot run or cannot isolate raises
    :class:`~routerbench_core.scoring.sandbox.SandboxError`: an infrastructure failure is never
    recorded as a wrong answer.
    """

    category: ClassVar[Category] = "code"
    metric: ClassVar[str] = "pass@1"
    timeout_s: ClassVar[float] = 10.0
    memory_mb: ClassVar[int] = 2048

    _verifier: Any = None

    def entry_point(self, query: Query) -> str | None:
        """The function the tests call (used to pick the right code block)."""
        return None

    def build_program(self, code: str, query: Query) -> Any:
        """A whole-mode ``Program`` running ``code`` against the item's hidden tests."""
        raise NotImplementedError(f"{type(self).__name__} implements neither build_check "
                                  "nor build_program")

    def build_check(self, code: str, query: Query) -> Any:
        """The check deciding whether ``code`` solves ``query`` (see the class docstring)."""
        return self.build_program(code, query)

    def limits(self, **overrides: Any) -> Any:
        """The sandbox limits from this dataset's options (``timeout_s``, ``memory_mb``)."""
        from routerbench_core.scoring.sandbox import SandboxLimits

        values = {"timeout_s": float(self.options.get("timeout_s", self.timeout_s)),
                  "memory_mb": int(self.options.get("memory_mb", self.memory_mb))}
        values.update(overrides)
        return SandboxLimits(**values)

    def extract(self, output: str, query: Query, *, truncated: bool = False) -> Any:
        """The answer's code; an unparsable tail is cut only when ``truncated`` (the answer
        hit the token limit), otherwise the code is graded as written."""
        from routerbench_core.scoring.code import extract_code, sanitize_code

        entry = self.entry_point(query)
        code = extract_code(output, entry_point=entry, truncated=truncated)
        if code is None or not code.strip():
            return None
        return sanitize_code(code, entry_point=entry, truncated=truncated)

    def extract_response(self, response: Response, query: Query) -> Any:
        return self.extract(ensure_gradable(response), query, truncated=hit_token_limit(response))

    def verifier(self, workers: int = 1) -> Any:
        """The verifier over the process-wide sandbox (fork servers shared by all graders)."""
        from routerbench_core.scoring.sandbox import shared_sandbox
        from routerbench_core.scoring.verdicts import Verifier

        box = shared_sandbox(max(1, workers), unsafe_local=self.options.get("unsafe_local_exec"))
        if self._verifier is None or self._verifier.sandbox is not box:
            self._verifier = Verifier(box)
        return self._verifier

    def score(self, prediction: Any, query: Query) -> ScoreResult:
        verdict = self.verifier().check(self.build_check(prediction, query))
        return (1.0 if verdict.passed else 0.0), verdict.details()

    def grade_stream(
        self, items: Sequence[tuple[Query, Response]], *, workers: int = 1, **context: Any
    ) -> Iterator[tuple[int, Grade | Exception]]:
        checks: list[Any] = []
        runnable: list[int] = []
        predictions: dict[int, Any] = {}
        for i, (query, response) in enumerate(items):
            try:
                prediction = self.extract_response(response, query)
                if prediction is None:
                    yield i, self.make_grade(query, response, 0.0, None, reason="no code found")
                    continue
                checks.append(self.build_check(prediction, query))
            except Exception as exc:  # noqa: BLE001 - recorded as not gradable
                yield i, exc
                continue
            runnable.append(i)
            predictions[i] = prediction
        for j, verdict in self.verifier(workers).check_stream(checks, workers=max(1, workers)):
            i = runnable[j]
            if isinstance(verdict, Exception):
                if _is_sandbox_error(verdict):
                    raise verdict
                yield i, verdict
                continue
            query, response = items[i]
            yield i, self.make_grade(query, response, 1.0 if verdict.passed else 0.0,
                                     predictions[i], **verdict.details())

    def grade_many(
        self, items: Sequence[tuple[Query, Response]], *, workers: int = 1, **context: Any
    ) -> list[Grade]:
        out: dict[int, Grade] = {}
        for i, grade in self.grade_stream(items, workers=workers, **context):
            if isinstance(grade, Exception):
                raise grade
            out[i] = grade
        return [out[i] for i in range(len(items))]


def _is_sandbox_error(exc: BaseException) -> bool:
    from routerbench_core.scoring.sandbox import SandboxError

    return isinstance(exc, SandboxError)


class SeedGraderOption:
    """The ``grader`` option: ``rbench`` (the default) or ``seed``, which grades as
    LLMRouterBench's own evaluation does, to re-derive its published grades. A seed-graded
    answer is recorded under the grader name ``<dataset>:seed``."""

    name: ClassVar[str]
    options: dict[str, Any]

    @property
    def seed_grader(self) -> bool:
        grader = self.options.get("grader", "rbench")
        if grader not in ("rbench", "seed"):
            raise DatasetError(f"{self.name}: unknown grader {grader!r}; use rbench or seed")
        return grader == "seed"

    @property
    def grader_name(self) -> str:
        return f"{self.name}:seed" if self.seed_grader else self.name


class MultipleChoiceDataset(SeedGraderOption, TemplateDataset):
    """Lettered options in ``query.metadata["options"]``; the stated letter against the gold.

    Reading follows :func:`routerbench_core.scoring.choice.read_choice` (no letter fished out of
    prose; two different letters are ambiguous and recorded as such). The option
    ``grader="seed"`` reads answers as LLMRouterBench's graders do instead
    (:func:`~routerbench_core.scoring.choice.seed_choice`), to re-derive its published grades.
    """

    category: ClassVar[Category] = "multiple-choice"

    def n_choices(self, query: Query) -> int:
        return len(query.metadata["options"])

    def extract(self, output: str, query: Query) -> str | None:
        if self.seed_grader:
            return seed_choice(output, LETTERS[: self.n_choices(query)]) or None
        return read_choice(output, self.n_choices(query)).letter

    def no_answer_reason(self, output: str, query: Query) -> str:
        if self.seed_grader:
            return "no answer found"
        return read_choice(output, self.n_choices(query)).reason

    def score(self, prediction: str, query: Query) -> float:
        if self.seed_grader:
            return 1.0 if prediction == str(query.ground_truth) else 0.0
        return score_choice(prediction, query.ground_truth)


#: The seed's zero-shot math prompt (AIME, MATH500, LiveMathBench; LLMRouterBench, MIT), word
#: for word: parity needs it.
MATH_PROMPT = (
    "Solve the following math problem step by step. The last line of your response should only "
    "contain your final answer inside a \\boxed{{}} command.\n\n{question}\n\n"
    "Remember to put your final answer on the last line using the format \\boxed{{$ANSWER}} "
    "where $ANSWER is the answer to the problem."
)


class BoxedMathDataset(SeedGraderOption, TemplateDataset):
    """Math with one final answer: last ``\\boxed{}`` (else "Answer:") → math equivalence.

    Subclasses set metadata and implement :meth:`to_query` with the reference answer as
    ``ground_truth`` (a string). ``extraction`` orders the extractors (see
    :func:`routerbench_core.scoring.extract.extract_final_answer`). ``grader="seed"`` reads and
    compares answers as LLMRouterBench's math grader does
    (:mod:`routerbench_core.scoring.seed_math`); ``seed_integer_fallback`` says whether that
    dataset's seed evaluator falls back to the last integer of the output.
    """

    category: ClassVar[Category] = "math"
    prompt_template: ClassVar[str] = MATH_PROMPT
    extraction: ClassVar[tuple[str, ...]] = ("boxed", "answer")
    seed_integer_fallback: ClassVar[bool] = False

    def extract(self, output: str, query: Query) -> Any:
        if self.seed_grader:
            from routerbench_core.scoring.seed_math import seed_math_extract

            return seed_math_extract(output, integer_fallback=self.seed_integer_fallback) or None
        from routerbench_core.scoring.extract import extract_final_answer

        answer, _ = extract_final_answer(output, methods=self.extraction)
        return answer

    def score(self, prediction: Any, query: Query) -> ScoreResult:
        if self.seed_grader:
            from routerbench_core.scoring.seed_math import (
                require_latex_reader,
                seed_math_equal,
                seed_math_gold,
            )

            require_latex_reader()
            gold = seed_math_gold(str(query.ground_truth))
            return 1.0 if gold is not None and seed_math_equal(str(prediction), gold) else 0.0
        from routerbench_core.scoring.math import math_equal

        return 1.0 if math_equal(prediction, query.ground_truth) else 0.0


def content_id(*parts: Any, length: int = 12) -> str:
    """A stable id from an item's content, for releases whose records carry no id.

    Hash-based, so it does not depend on file order or on which other items are loaded.
    """
    import hashlib

    digest = hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()
    return digest[:length]


# ---------------------------------------------------------------------------------------------
# Emotion recognition in dialogue, asked as multiple choice (EmoryNLP, MELD).

#: The seed's EmoryNLP/MELD prompt (LLMRouterBench, MIT), word for word: parity needs it. It
#: names the letters ABCDEFG whatever the number of options, as the seed's does.
EMOTION_PROMPT = (
    "Given a conversation history and a current utterance, follow these steps to identify the "
    "emotion of the current utterance from the given options. The emotion should be determined "
    "based on both the conversation context and the current utterance.\n"
    "The last line of your response should be of the following format: 'Answer: $LETTER' "
    "(without quotes) where LETTER is one of ABCDEFG. Let's think step by step.\n\n"
    "History:\n{history}\n\nUtterance:\n{question}\n\nOptions:\n{options}"
)


def history_text(history: Sequence[str]) -> str:
    """Earlier utterances as the seed lists them: ``- `` before each (a lone ``- `` if none)."""
    return "- " + "\n- ".join(history)


class DialogueEmotionDataset(MultipleChoiceDataset):
    """The emotion of an utterance given the dialogue so far, as a lettered multiple choice.

    Reads the multiple-choice records LLMRouterBench evaluates (``history``, ``utterance``,
    ``candidate`` = ``{"A": label, ...}``, ``answer`` = a letter); a subclass adds its official
    release format by overriding :meth:`load` and building items with :meth:`release_item`.
    """

    prompt_template: ClassVar[str] = EMOTION_PROMPT
    required_fields: ClassVar[tuple[str, ...]] = ("utterance", "candidate", "answer")
    #: The label set, in the fixed option order used for release-format items.
    emotions: ClassVar[tuple[str, ...]] = ()

    def release_item(
        self, item_id: str, line: str, emotion: str, history: Sequence[str], *, where: str
    ) -> Query:
        """One release-format utterance as a query whose options are all :attr:`emotions`."""
        if emotion not in self.emotions:
            raise DatasetError(f"{where} has emotion {emotion!r}, not one of {self.emotions}")
        return Query(
            dataset=self.name, id=item_id, text=line,
            ground_truth=LETTERS[self.emotions.index(emotion)],
            metadata={"history": list(history), "options": list(self.emotions)},
        )

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        candidate = record["candidate"]
        if not isinstance(candidate, Mapping) or not candidate:
            raise DatasetError(f"record {index}: candidate must be an object of letter → label")
        letters = sorted(candidate)
        answer = str(record["answer"]).strip().upper()
        if answer not in letters:
            raise DatasetError(f"record {index}: answer {answer!r} is not one of {letters}")
        return Query(
            dataset=self.name, id=str(record.get("id", index)), text=str(record["utterance"]),
            ground_truth=answer,
            metadata={"history": [str(h) for h in record.get("history") or []],
                      "options": [str(candidate[k]) for k in letters]},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        options = query.metadata["options"]
        return {"question": query.text, "history": history_text(query.metadata["history"]),
                "options": format_choices(options), "letters": LETTERS[: len(options)]}

