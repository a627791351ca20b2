"""The LLMRouter data layout (ulab-uiuc/LLMRouter), e.g. ``llmrouter-nim9``.

A folder with ``scores_<split>.json`` (a list of ``{"question", "scores": {model: score}}``),
``queries_<split>.jsonl`` (one query a line: ``task_name``, ``query``, ``ground_truth``,
``metric``, ``choices``, ``task_id``) and ``models.json`` (per model ``input_price`` and
``output_price`` in USD per million tokens, ``feature`` (a description), ``size``, ...).

Mapping and assumptions (also in docs/data-formats.md):

- Scores are joined to queries on the exact question text within one split; the dataset is
  ``task_name``. A score row with no matching query is an error. Query lines that have no
  score row are not imported (counted in the bench metadata as ``unscored_queries``).
- When one question text appears on several query lines of a split (the source lists a few
  questions under two tasks), the first line wins; the others' task names and ids are kept in
  the query metadata (``also_listed_as``).
- Every scored model must be in ``models.json`` with both prices: a model with no price is an
  error, never $0. Models listed there but never scored are not added.
- The source has no per-query token counts, so cost is an estimate: prompt tokens =
  ceil(characters / 4) and a fixed 256 completion tokens per answer, times the model's prices.
  Responses carry ``cost_source="estimated"``, their token columns stay empty (nothing was
  measured), and the bench metadata says ``cost_estimated: true`` with the rule used.
- A question present in several splits stays one query per split (keys differ by split) and
  every copy gets ``metadata.cross_split_duplicate = [the other keys]``, so a split protocol
  can detect and drop the overlap.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from routerbench_core.data.importers.base import (
    BenchBuilder,
    DataFormatError,
    ImportedBench,
    Where,
    as_score,
    dumps,
    not_utf8,
    read_json,
    require,
    text_id,
)
from routerbench_core.schema import ModelSpec

FORMAT = "llmrouter"
CHARS_PER_TOKEN = 4
ASSUMED_COMPLETION_TOKENS = 256
_SPLIT_ORDER = {"train": 0, "val": 1, "valid": 1, "dev": 1, "test": 2}


def estimated_prompt_tokens(text: str) -> int:
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def _splits(folder: Path) -> list[str]:
    splits = [p.stem[len("scores_"):] for p in folder.glob("scores_*.json")]
    if not splits:
        raise DataFormatError(
            f"no scores_<split>.json files in {folder}: expected scores_train.json / "
            "scores_test.json with queries_<split>.jsonl and models.json beside them"
        )
    return sorted(splits, key=lambda s: (_SPLIT_ORDER.get(s, 1), s))


def _models(path: Path) -> dict[str, ModelSpec]:
    if not path.is_file():
        raise DataFormatError("missing: the model list with prices is required", file=path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataFormatError("expected an object {model: {input_price, output_price, ...}}",
                              file=path)
    specs = {}
    for name, info in data.items():
        where = Where(path, name)
        if not isinstance(info, dict):
            raise where.error(None, "expected an object")
        extra = {k: v for k, v in info.items()
                 if k not in {"input_price", "output_price", "feature", "size"}}
        try:
            specs[name] = ModelSpec(
                name=name, input_price=info.get("input_price"),
                output_price=info.get("output_price"), description=info.get("feature"),
                size=None if info.get("size") is None else str(info.get("size")), **extra,
            )
        except ValueError as exc:
            first = exc.errors()[0] if hasattr(exc, "errors") else None  # pydantic
            field = ".".join(str(x) for x in first["loc"]) if first else None
            raise where.error(field, first["msg"] if first else str(exc)) from None
    return specs


def _queries(path: Path) -> dict[str, list[tuple[int, dict[str, Any]]]]:
    """question text -> [(line number, query object)], in file order."""
    if not path.is_file():
        raise DataFormatError("missing: needed to join scores to tasks", file=path)
    by_text: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    try:
        with open(path, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                where = Where(path, f"line {lineno}")
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise where.error(None, f"invalid JSON at column {exc.colno}: {exc.msg}") from None
                text = require(obj, "query", where)
                task = require(obj, "task_name", where)
                if type(text) is not str:
                    raise where.error("query", f"expected a string, got {type(text).__name__}")
                if type(task) is not str or not task:
                    raise where.error("task_name", f"expected a non-empty string, got {task!r}")
                by_text.setdefault(text, []).append((lineno, obj))
    except UnicodeDecodeError:
        raise not_utf8(path) from None
    return by_text


def parse(path: Path) -> ImportedBench:
    folder = Path(path)
    if not folder.is_dir():
        raise DataFormatError(f"expected a folder with scores_*.json, got file {folder}")
    specs = _models(folder / "models.json")
    builder = BenchBuilder(FORMAT, folder)
    key_by_text: dict[str, list[int]] = {}
    unscored = 0
    for split in _splits(folder):
        scores_path = folder / f"scores_{split}.json"
        queries_path = folder / f"queries_{split}.jsonl"
        by_text = _queries(queries_path)
        rows = read_json(scores_path)
        if not isinstance(rows, list):
            raise DataFormatError("expected a list of {question, scores}", file=scores_path)
        used: set[str] = set()
        for pos, row in enumerate(rows):
            where = Where(scores_path, pos)
            question = require(row, "question", where)
            scores = require(row, "scores", where)
            if type(question) is not str:
                raise where.error("question", f"expected a string, got {type(question).__name__}")
            if not isinstance(scores, dict):
                raise where.error("scores", f"expected an object {{model: score}}, got "
                                            f"{type(scores).__name__}")
            matches = by_text.get(question)
            if not matches:
                raise where.error(
                    "question", f"no line of {queries_path.name} has this question text "
                    f"({question[:50]!r}...); scores and queries must come from the same release"
                )
            if question in used:
                raise where.error("question", "duplicate record: this question was already scored "
                                              f"in {scores_path.name}")
            used.add(question)
            lineno, qobj = matches[0]
            dataset = qobj["task_name"]
            meta: dict[str, Any] = {"source_line": lineno}
            for name in ("metric", "choices", "task_id"):
                if qobj.get(name) is not None:
                    meta[name] = qobj[name]
            if len(matches) > 1:
                meta["also_listed_as"] = [
                    {"task_name": o.get("task_name"), "task_id": o.get("task_id"), "line": ln}
                    for ln, o in matches[1:]
                ]
            qid = f"{split}-{text_id(question)}"
            q = builder.add_query(
                key=f"{dataset}/{qid}", dataset=dataset, qid=qid, text=question, where=where,
                ground_truth=qobj.get("ground_truth"), source_split=split, metadata=meta,
            )
            key_by_text.setdefault(question, []).append(q)
            pt = estimated_prompt_tokens(question)
            for model, value in scores.items():
                spec = specs.get(model)
                if spec is None:
                    raise where.error(
                        f"scores.{model}", f"unknown model {model!r}: not in models.json "
                        f"(models there: {', '.join(specs)})"
                    )
                if not spec.priced:
                    raise DataFormatError(
                        "has no input_price/output_price: a cost cannot be estimated (a model "
                        "with no price is an error, never $0)", file=folder / "models.json",
                        record=model,
                    )
                m = builder.add_model(spec)
                builder.add_outcome(
                    q, m, where, score=as_score(value, f"scores.{model}", where),
                    cost=spec.cost(pt, ASSUMED_COMPLETION_TOKENS), cost_source="estimated",
                )
        unscored += sum(len(v) for t, v in by_text.items() if t not in used)
    _flag_cross_split_duplicates(builder, key_by_text)
    return builder.finish(
        cost_estimated=True,
        cost_estimate={
            "method": "prompt tokens = ceil(chars / 4); completion tokens = 256 (assumed)",
            "chars_per_token": CHARS_PER_TOKEN,
            "assumed_completion_tokens": ASSUMED_COMPLETION_TOKENS,
        },
        unscored_queries=unscored,
        cross_split_duplicates=sum(len(v) for v in key_by_text.values() if len(v) > 1),
    )


def _flag_cross_split_duplicates(builder: BenchBuilder, key_by_text: dict[str, list[int]]) -> None:
    queries = builder.bench.queries
    for idxs in key_by_text.values():
        if len(idxs) < 2:
            continue
        keys = [queries[i][1] for i in idxs]
        for i in idxs:
            row = list(queries[i])
            meta = json.loads(row[8])
            meta["cross_split_duplicate"] = [k for k in keys if k != row[1]]
            row[8] = dumps(meta)
            queries[i] = tuple(row)
