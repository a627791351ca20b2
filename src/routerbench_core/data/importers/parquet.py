"""rbench's own full-fidelity bench export: a folder of Parquet tables.

``OUT/bench.json``       format version, bench name, source, metadata, model specs (in order)
``OUT/queries.parquet``  key, dataset, id, text, messages, ground_truth, source_split, metadata
``OUT/responses.parquet`` query_key, model, raw_output, tokens, cost, cost_source, latency,
                         error, request_hash, created_at, metadata
``OUT/grades.parquet``   query_key, model, score, prediction, grader, grader_version, details,
                         created_at

JSON-valued fields (messages, ground_truth, metadata, details) are stored as JSON text so any
value survives the round trip exactly. Needs pyarrow (``pip install 'rbench[parquet]'``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from routerbench_core.data.importers.base import (
    BenchBuilder,
    DataFormatError,
    ImportedBench,
    MissingDependencyError,
    Where,
    as_cost,
    as_score,
    as_text,
    as_tokens,
    read_json,
)
from routerbench_core.schema import ModelSpec

FORMAT = "parquet"
FORMAT_VERSION = 1

QUERY_COLUMNS = ("key", "dataset", "id", "text", "messages", "ground_truth", "source_split",
                 "metadata")
RESPONSE_COLUMNS = ("query_key", "model", "raw_output", "prompt_tokens", "completion_tokens",
                    "reasoning_tokens", "cached_tokens", "cost", "cost_source", "latency",
                    "error", "request_hash", "created_at", "metadata")
GRADE_COLUMNS = ("query_key", "model", "score", "prediction", "grader", "grader_version",
                 "details", "created_at")


def _pyarrow() -> tuple[Any, Any]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError(
            "the parquet format needs pyarrow, which is not installed: "
            "pip install 'rbench[parquet]' (or pip install pyarrow)"
        ) from None
    return pa, pq


def _read_table(pq: Any, path: Path, columns: tuple[str, ...]) -> dict[str, list[Any]]:
    if not path.is_file():
        raise DataFormatError("missing table of an rbench parquet export", file=path)
    try:
        table = pq.read_table(path)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        raise DataFormatError(f"not a readable Parquet file: {exc}", file=path) from None
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise DataFormatError("missing column", file=path, field=missing[0])
    return {c: table.column(c).to_pylist() for c in columns}


def _json_or_none(text: Any, field: str, where: Where) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except (TypeError, json.JSONDecodeError):
        raise where.error(field, "expected JSON text") from None


def _timestamp(value: Any, where: Where) -> float:
    if type(value) is float or type(value) is int:
        return float(value)
    raise where.error("created_at", f"expected a number (seconds since the epoch), got {value!r}")


def parse(path: Path) -> ImportedBench:
    _, pq = _pyarrow()
    folder = Path(path)
    head_path = folder / "bench.json"
    if not head_path.is_file():
        raise DataFormatError(f"{folder} is not an rbench parquet export (no bench.json)")
    head = read_json(head_path)
    if not isinstance(head, dict) or head.get("format") != "rbench-parquet":
        raise DataFormatError("not an rbench parquet export header", file=head_path,
                              field="format")
    if int(head.get("version", 0)) > FORMAT_VERSION:
        raise DataFormatError(f"export version {head.get('version')} is newer than this rbench "
                              f"reads ({FORMAT_VERSION}); upgrade rbench", file=head_path,
                              field="version")
    builder = BenchBuilder(FORMAT, folder)
    for i, spec in enumerate(head.get("models") or []):
        try:
            builder.add_model(ModelSpec.model_validate(spec))
        except ValueError as exc:
            raise DataFormatError(str(exc), file=head_path, record=i, field="models") from None

    qpath = folder / "queries.parquet"
    qt = _read_table(pq, qpath, QUERY_COLUMNS)
    for i, key in enumerate(qt["key"]):
        where = Where(qpath, i)
        meta = _json_or_none(qt["metadata"][i], "metadata", where) or {}
        builder.add_query(
            key=as_text(key, "key", where, allow_none=False),
            dataset=as_text(qt["dataset"][i], "dataset", where, allow_none=False),
            qid=as_text(qt["id"][i], "id", where, allow_none=False),
            text=as_text(qt["text"][i], "text", where, allow_none=False),
            messages=_json_or_none(qt["messages"][i], "messages", where),
            ground_truth=_json_or_none(qt["ground_truth"][i], "ground_truth", where),
            source_split=as_text(qt["source_split"][i], "source_split", where),
            metadata=meta, where=where,
        )

    def cell(where: Where, table: dict[str, list[Any]], i: int) -> tuple[int, int]:
        key, model = table["query_key"][i], table["model"][i]
        q = builder.query_index.get(key)
        if q is None:
            raise where.error("query_key", f"unknown query {key!r}: not in queries.parquet")
        return q, builder.model(model, where, "model")

    rpath = folder / "responses.parquet"
    rt = _read_table(pq, rpath, RESPONSE_COLUMNS)
    bench = builder.bench
    seen: set[tuple[int, int]] = set()
    for i in range(len(rt["query_key"])):
        where = Where(rpath, i)
        q, m = cell(where, rt, i)
        if (q, m) in seen:
            raise where.error(None, "duplicate record for this query and model")
        seen.add((q, m))
        meta = rt["metadata"][i]
        _json_or_none(meta, "metadata", where)
        bench.responses.append((
            q, m, as_text(rt["raw_output"][i], "raw_output", where),
            *(as_tokens(rt[c][i], c, where) for c in
              ("prompt_tokens", "completion_tokens", "reasoning_tokens", "cached_tokens")),
            as_cost(rt["cost"][i], "cost", where), as_text(rt["cost_source"][i], "cost_source",
                                                             where),
            as_cost(rt["latency"][i], "latency", where), as_text(rt["error"][i], "error", where),
            as_text(rt["request_hash"][i], "request_hash", where),
            _timestamp(rt["created_at"][i], where), meta or "{}",
        ))
    gpath = folder / "grades.parquet"
    gt = _read_table(pq, gpath, GRADE_COLUMNS)
    answered, seen = seen, set()
    for i in range(len(gt["query_key"])):
        where = Where(gpath, i)
        q, m = cell(where, gt, i)
        if (q, m) not in answered:
            raise where.error(None, f"a grade of {gt['model'][i]!r} on {gt['query_key'][i]!r} "
                              "with no response in responses.parquet (an orphan grade)")
        if (q, m) in seen:
            raise where.error(None, "duplicate record for this query and model")
        seen.add((q, m))
        details = gt["details"][i]
        _json_or_none(details, "details", where)
        bench.grades.append((
            q, m, as_score(gt["score"][i], "score", where),
            as_text(gt["prediction"][i], "prediction", where),
            as_text(gt["grader"][i], "grader", where, allow_none=False),
            as_text(gt["grader_version"][i], "grader_version", where, allow_none=False),
            details or "{}", _timestamp(gt["created_at"][i], where),
        ))
    meta = dict(head.get("metadata") or {})
    return builder.finish(**meta)


def export(store: Any, bench: str, out: Path) -> list[Path]:
    pa, pq = _pyarrow()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source, meta = store.bench_source(bench), store.bench_metadata(bench)
    models = [json.loads(spec.model_dump_json()) for spec in store.models(bench)]
    head = {"format": "rbench-parquet", "version": FORMAT_VERSION, "bench": bench,
            "source": source, "metadata": meta, "models": models}
    with open(out / "bench.json", "w", encoding="utf-8") as fh:
        json.dump(head, fh, ensure_ascii=False, indent=1)

    def write(name: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]],
              types: dict[str, Any]) -> Path:
        cols = list(zip(*rows, strict=True)) if rows else [[] for _ in columns]
        table = pa.table({c: pa.array(list(v), type=types.get(c, pa.string()))
                          for c, v in zip(columns, cols, strict=True)})
        target = out / f"{name}.parquet"
        pq.write_table(table, target)
        return target

    i64, f64 = pa.int64(), pa.float64()
    written = [out / "bench.json"]
    # the store's export rows lead with (query index[, model index]), which the files omit
    written.append(write("queries", QUERY_COLUMNS,
                         [r[1:] for r in store.query_rows(bench)], {}))
    written.append(write(
        "responses", RESPONSE_COLUMNS, [r[2:] for r in store.response_rows(bench)],
        {"prompt_tokens": i64, "completion_tokens": i64, "reasoning_tokens": i64,
         "cached_tokens": i64, "cost": f64, "latency": f64, "created_at": f64}))
    written.append(write("grades", GRADE_COLUMNS, [r[2:] for r in store.grade_rows(bench)],
                         {"score": f64, "created_at": f64}))
    return written
