"""RouterBench's wide CSV (withmartian/routerbench, as redistributed by the RouterDC authors).

One row per query: an unnamed row-number column, ``sample_id``, ``prompt`` (a Python-literal
list of strings), ``eval_name``, then per model ``<model>`` (the score), ``<model>|model_response``
(a Python-literal list of strings) and ``<model>|total_cost`` (USD for that query, as reported
by RouterBench), and ``oracle_model_to_route_to``. PATH is one CSV or a folder of them.

Mapping:

- dataset = ``eval_name`` (else the file name without its split suffix); source split from
  the file name suffix (``arc_challenge_train.csv`` → ``train``).
- The query id is the unnamed row number (RouterBench's own row index, unique across its
  files: ``sample_id`` repeats in the source for a few multi-turn variants); without that
  column, ``sample_id`` is the id and must be unique. ``sample_id`` and the oracle model are
  kept in the query metadata.
- The prompt list is joined with blank lines; a response list likewise.
- An empty cell is missing, never 0: no score → no grade; no response, score and cost → no
  response at all. Costs are stored with ``cost_source="reported"``.
"""

from __future__ import annotations

import ast
import csv
import sys
from pathlib import Path
from typing import Any

from routerbench_core.data.importers.base import (
    BenchBuilder,
    DataFormatError,
    ImportedBench,
    Where,
    as_float_cell,
    not_utf8,
    split_from_stem,
)
from routerbench_core.schema import ModelSpec

FORMAT = "routerbench"
RESPONSE = "|model_response"
COST = "|total_cost"
_FIXED = {"", "sample_id", "prompt", "eval_name", "source_split", "oracle_model_to_route_to"}
_JOIN = "\n\n"


def _literal_list(cell: str, field: str, where: Where) -> str:
    """A Python-literal list of strings, joined; a bare string that is not a list literal is
    refused (a corrupt cell would otherwise be stored as text)."""
    try:
        value = ast.literal_eval(cell)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        raise where.error(field, f"expected a Python list of strings like ['...'], got "
                                 f"{cell[:60]!r}") from None
    if isinstance(value, str):
        return value
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise where.error(field, f"expected a list of strings, got {type(value).__name__}")
    return _JOIN.join(value)


def _columns(header: list[str], file: Path) -> tuple[dict[str, int], list[tuple[str, int, int | None,
                                                                                 int | None]]]:
    fixed = {name: i for i, name in enumerate(header) if name in _FIXED}
    for required in ("prompt",):
        if required not in fixed:
            raise DataFormatError("missing required column", file=file, record="header",
                                  field=required)
    position = {name: i for i, name in enumerate(header)}
    models = []
    for i, name in enumerate(header):
        if name in _FIXED or "|" in name:
            continue
        models.append((name, i, position.get(name + RESPONSE), position.get(name + COST)))
    known = {m[0] for m in models}
    for name in header:
        if "|" in name:
            base, _, kind = name.rpartition("|")
            if "|" + kind not in (RESPONSE, COST):
                raise DataFormatError(f"unknown per-model column kind {kind!r} (expected "
                                      "model_response or total_cost)", file=file,
                                      record="header", field=name)
            if base not in known:
                raise DataFormatError(f"unknown model {base!r}: no score column {base!r}",
                                      file=file, record="header", field=name)
    if not models:
        raise DataFormatError("no model score columns", file=file, record="header")
    return fixed, models


def parse(path: Path) -> ImportedBench:
    source = Path(path)
    files = [source] if source.is_file() else sorted(source.glob("*.csv"))
    if not files:
        raise DataFormatError(f"no *.csv files in {source}")
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    builder = BenchBuilder(FORMAT, source)
    for file in files:
        stem_dataset, split = split_from_stem(file.stem)
        try:
            _parse_file(builder, file, stem_dataset, split)
        except UnicodeDecodeError:
            raise not_utf8(file) from None
    return builder.finish(files=len(files))


def _parse_file(builder: BenchBuilder, file: Path, stem_dataset: str, split: str | None) -> None:
    # utf-8-sig: spreadsheet programs start a UTF-8 CSV with a byte-order mark, which would
    # otherwise become part of the first header name
    with open(file, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        try:
            header = next(reader)
        except StopIteration:
            raise DataFormatError("empty file", file=file) from None
        except csv.Error as exc:
            raise DataFormatError(f"bad CSV: {exc}", file=file, record="header") from None
        fixed, models = _columns(header, file)
        midx = [builder.add_model(ModelSpec(name=name)) for name, *_ in models]
        has_row = "" in fixed
        i_row, i_sid, i_prompt = fixed.get(""), fixed.get("sample_id"), fixed["prompt"]
        i_eval, i_oracle = fixed.get("eval_name"), fixed.get("oracle_model_to_route_to")
        i_split = fixed.get("source_split")
        while True:
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                raise DataFormatError(f"bad CSV: {exc}", file=file,
                                      record=f"line {reader.line_num}") from None
            if not row:
                continue
            where = Where(file, f"line {reader.line_num}")
            if len(row) != len(header):
                raise where.error(None, f"has {len(row)} cells, the header has {len(header)}")
            sample_id = row[i_sid] if i_sid is not None else ""
            qid = row[i_row] if has_row else sample_id
            if not qid:
                raise where.error("" if has_row else "sample_id", "empty id cell")
            dataset = (row[i_eval] if i_eval is not None else "") or stem_dataset
            meta: dict[str, Any] = {}
            if sample_id:
                meta["sample_id"] = sample_id
            if i_oracle is not None and row[i_oracle]:
                meta["oracle_model_to_route_to"] = row[i_oracle]
            text = _literal_list(row[i_prompt], "prompt", where)
            row_split = (row[i_split] if i_split is not None else "") or split
            q = builder.add_query(key=f"{dataset}/{qid}", dataset=dataset, qid=qid,
                                  text=text, where=where, source_split=row_split,
                                  metadata=meta)
            for m, (name, i_score, i_resp, i_cost) in zip(midx, models, strict=True):
                score = as_float_cell(row[i_score], name, where, high=1.0)
                resp_cell = row[i_resp] if i_resp is not None else ""
                cost_cell = row[i_cost] if i_cost is not None else ""
                if score is None and not resp_cell and not cost_cell:
                    continue
                raw = _literal_list(resp_cell, name + RESPONSE, where) if resp_cell else None
                cost = as_float_cell(cost_cell, name + COST, where)
                builder.add_outcome(q, m, where, score=score, has_grade=score is not None,
                                    raw_output=raw, cost=cost, cost_source="reported")
