"""Export a bench as a RouterBench-style wide CSV (one row per query, three columns per model).

Columns: the row number (unnamed, the query's index in the bench), ``sample_id`` (the rbench
query key), ``prompt`` (a Python-literal one-element list, as RouterBench writes it),
``eval_name`` (the dataset), ``source_split``, then per model ``<model>`` (score),
``<model>|model_response`` and ``<model>|total_cost``. Missing values are empty cells. The file
reads back with ``rbench data import routerbench`` (same scores and costs; the query keys become
``<dataset>/<row number>``). Export only: RouterBench's own CSVs are imported by the
``routerbench`` format.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from routerbench_core.data.paths import path_component


def _cell(value: Any) -> str:
    return "" if value is None else repr(float(value)) if isinstance(value, float) else str(value)


def export(store: Any, bench: str, out: Path) -> list[Path]:
    out = Path(out)
    if out.suffix.lower() != ".csv":
        out.mkdir(parents=True, exist_ok=True)
        out = out / f"{path_component(bench)}.csv"
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
    models = [spec.name for spec in store.models(bench)]
    queries = store.query_rows(bench)
    cells: dict[tuple[int, int], list[Any]] = {}
    for r in store.response_rows(bench):
        if r.error is None:
            cells[(r.q, r.m)] = [None, r.raw_output, r.cost]
    for g in store.grade_rows(bench):
        if (g.q, g.m) in cells:
            cells[(g.q, g.m)][0] = g.score
    header = ["", "sample_id", "prompt", "eval_name", "source_split"]
    header += models
    header += [f"{m}|model_response" for m in models]
    header += [f"{m}|total_cost" for m in models]
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for qr in queries:
            idx = qr.idx
            row = [str(idx), qr.key, repr([qr.text]), qr.dataset, qr.source_split or ""]
            got = [cells.get((idx, m), [None, None, None]) for m in range(len(models))]
            row += [_cell(g[0]) for g in got]
            row += ["" if g[1] is None else repr([g[1]]) for g in got]
            row += [_cell(g[2]) for g in got]
            writer.writerow(row)
    return [out]
