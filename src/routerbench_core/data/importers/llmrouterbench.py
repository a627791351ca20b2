"""LLMRouterBench's released layout: ``results/bench/<dataset>/<split>/<model>/<file>.json``.

Each file holds one model's run on one dataset split: top-level ``dataset_name``, ``split``,
``model_name`` (optional; the folder names are used when absent), summary figures
(``performance``, ``cost``, ``tokens``, ``counts``) and ``records[]`` with ``index``,
``origin_query``, ``prompt``, ``prediction``, ``ground_truth``, ``score``, ``prompt_tokens``,
``completion_tokens``, ``cost`` and ``raw_output``.

Several runs of one (dataset, split, model) may sit side by side; the newest wins: the file
whose name ends in a ``YYYYMMDD_HHMMSS`` timestamp latest in time, and for names without one,
the file's modification time (a name with a timestamp is compared by that timestamp read as
UTC). Files with ``"demo": true`` are sample runs and never win: the newest other file does.

The query key is ``<dataset>/<split>/<index>``: stable for the same record in every model's
file, and distinct across splits of one dataset.
"""

from __future__ import annotations

import calendar
import json
import operator
import os
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from routerbench_core.data.importers.base import (
    IMPORTER_VERSION,
    BenchChunk,
    DataFormatError,
    ImportedBench,
    Where,
    as_cost,
    as_messages,
    as_score,
    as_text,
    as_tokens,
    dumps,
    read_json,
)
from routerbench_core.data.paths import inside, path_component
from routerbench_core.schema import ModelSpec

FORMAT = "llmrouterbench"
_STAMP = re.compile(r"(\d{8})_(\d{6})(?=\.json$)")
#: ``split`` written for queries that came from a source without one.
DEFAULT_SPLIT = "unsplit"
_FIELD_NAMES = ("index", "score", "prompt", "origin_query", "raw_output", "prediction",
                "prompt_tokens", "completion_tokens", "cost")
_FIELDS = operator.itemgetter(*_FIELD_NAMES)
_INF = float("inf")


def bench_root(path: Path) -> Path:
    """Accept the release root, its ``results/`` folder or ``results/bench`` itself."""
    for candidate in (path / "results" / "bench", path / "bench"):
        if candidate.is_dir():
            return candidate
    if path.is_dir():
        return path
    raise DataFormatError(f"no such folder: {path}")


def file_time(path: Path) -> float:
    """When a run was written: the ``YYYYMMDD_HHMMSS`` stamp in its name, else its mtime."""
    m = _STAMP.search(path.name)
    if m:
        try:
            return float(calendar.timegm(time.strptime(m.group(1) + m.group(2), "%Y%m%d%H%M%S")))
        except ValueError:
            pass
    return path.stat().st_mtime


def run_folders(root: Path) -> list[tuple[str, str, str, list[Path]]]:
    """``(dataset, split, model_folder, files)`` for every run folder, in name order."""
    groups: dict[tuple[str, str, str], list[Path]] = defaultdict(list)
    for dataset_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for split_dir in sorted(p for p in dataset_dir.iterdir() if p.is_dir()):
            for model_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
                for entry in os.scandir(model_dir):
                    if entry.is_file() and entry.name.endswith(".json"):
                        groups[(dataset_dir.name, split_dir.name, model_dir.name)].append(
                            Path(entry.path)
                        )
    if not groups:
        raise DataFormatError(
            f"no result files under {root}: expected <dataset>/<split>/<model>/<file>.json"
        )
    return [
        (dataset, split, model, files) for (dataset, split, model), files in sorted(groups.items())
    ]


def _age(path: Path) -> tuple[float, str]:
    return (file_time(path), path.name)


def _newest_real_run(files: list[Path]) -> tuple[Path, dict[str, Any]] | None:
    """The newest file of a run folder that is not a demo run (None if all are demos)."""
    for file in sorted(files, key=_age, reverse=True):
        data = read_json(file)
        if not isinstance(data, dict):
            raise DataFormatError("expected a JSON object with 'records'", file=file)
        if data.get("demo") is not True:
            return file, data
    return None


def _top_name(data: dict[str, Any], field: str, fallback: str, path: Path) -> str:
    value = data.get(field)
    if value is None:
        return fallback
    if type(value) is not str or not value:
        raise DataFormatError(f"expected a non-empty string, got {value!r}", file=path,
                              field=field)
    return value



#: A chunk is written once it holds this many responses (and at the end of each dataset split,
#: so a chunk's rows can be sorted by (query, model) and appended to the clustered tables).
CHUNK_ROWS = 10_000


def parse_chunks(path: Path, *, chunk_rows: int | None = None) -> Iterator[BenchChunk]:
    """Parse a release file by file, yielding bounded :class:`BenchChunk` s; the last one
    carries the metadata. Only one run file's JSON is in memory at a time.

    Every check of the whole-release parse is made (a record key is unique within its run
    file, a run gives one model's outcomes, a query's prompt agrees across models' files), so
    an error in the last file is still found before anything becomes visible; the caller
    writes chunks to a staging bench and publishes it only after the last chunk.
    """
    root = bench_root(Path(path))
    chunk_rows = chunk_rows or CHUNK_ROWS
    created = time.time()
    grader = f"import:{FORMAT}"
    qindex: dict[str, int] = {}
    texts: list[str] = []  # query index -> its text, to check other models' files agree
    models: dict[str, int] = {}
    chunk = BenchChunk()

    seen_runs: dict[tuple[str, str, str], Path] = {}
    demo_runs: list[str] = []
    files_used = 0
    group: tuple[str, str] | None = None
    for dataset_dir, split_dir, model_dir, files in run_folders(root):
        if (dataset_dir, split_dir) != group or len(chunk.responses) >= chunk_rows:
            if chunk.responses or chunk.queries or chunk.models:
                yield chunk
                chunk = BenchChunk()
            group = chunk.group = (dataset_dir, split_dir)
        found = _newest_real_run(files)
        if found is None:
            demo_runs.append(f"{dataset_dir}/{split_dir}/{model_dir}")
            continue
        file, data = found
        dataset = _top_name(data, "dataset_name", dataset_dir, file)
        split = _top_name(data, "split", split_dir, file)
        model = _top_name(data, "model_name", model_dir, file)
        run = (dataset, split, model)
        if run in seen_runs:
            raise DataFormatError(
                f"run {dataset}/{split}/{model} is also given by {seen_runs[run]}", file=file,
                field="model_name",
            )
        seen_runs[run] = file
        records = data.get("records")
        del data
        if not isinstance(records, list):
            raise DataFormatError("expected a list of records", file=file, field="records")
        files_used += 1
        m = models.get(model)
        if m is None:
            m = models[model] = len(models)
            chunk.models.append(ModelSpec(name=model))
        queries, responses, grades = chunk.queries, chunk.responses, chunk.grades
        prefix = f"{dataset}/{split}/"
        indices_seen: dict[str, int] = {}
        for pos, rec in enumerate(records):
            try:
                index, score, prompt, origin, raw, pred, pt, ct, cost = _FIELDS(rec)
            except KeyError:
                if type(rec) is not dict:
                    raise Where(file, pos).error(None, "expected a JSON object") from None
                for required in ("index", "score"):
                    if required not in rec:
                        raise Where(file, pos).error(required, "missing required field") from None
                index, score, prompt, origin, raw, pred, pt, ct, cost = (
                    rec.get(f) for f in _FIELD_NAMES
                )
            except TypeError:
                raise Where(file, pos).error(None, "expected a JSON object") from None
            ti = type(index)
            if ti is not int and ti is not str:
                raise Where(file, pos).error(
                    "index", f"expected an integer or string, got {type(index).__name__}"
                )
            key = prefix + str(index)  # 7 and "7" name the same record
            if key in indices_seen:
                raise Where(file, f"{pos} (index {index})").error(
                    "index", f"duplicate record: index {index!r} already at record "
                    f"{indices_seen[key]}"
                )
            indices_seen[key] = pos
            error = rec.get("error")
            messages = None
            # Fast path: the common, well-typed record skips the per-field validators.
            if not (
                (type(score) is float or type(score) is int) and 0 <= score <= 1
                and type(pt) is int and pt >= 0 and type(ct) is int and ct >= 0
                and (type(cost) is float or type(cost) is int) and 0 <= cost < _INF
                and (type(raw) is str or raw is None)
                and (type(prompt) is str or prompt is None)
                and (type(origin) is str or origin is None)
                and error is None
            ):
                where = Where(file, f"{pos} (index {index})")
                score = as_score(score, "score", where)
                pt = as_tokens(pt, "prompt_tokens", where)
                ct = as_tokens(ct, "completion_tokens", where)
                cost = as_cost(cost, "cost", where)
                raw = as_text(raw, "raw_output", where)
                if type(prompt) is list:
                    messages, prompt = as_messages(prompt, "prompt", where)
                else:
                    prompt = as_text(prompt, "prompt", where)
                origin = as_text(origin, "origin_query", where)
                error = as_text(error, "error", where)
            if pred is not None and type(pred) is not str:
                pred = dumps(pred)
            q = qindex.get(key)
            text = prompt if prompt is not None else origin
            if q is None:
                if text is None:
                    raise Where(file, f"{pos} (index {index})").error(
                        "prompt", "missing: a record needs 'prompt' or 'origin_query'"
                    )
                meta: dict[str, Any] = {"index": index}
                if origin is not None and origin != text:
                    meta["origin_query"] = origin
                gt = rec.get("ground_truth")
                q = len(texts)
                qindex[key] = q
                texts.append(text)
                queries.append(
                    (q, key, dataset, f"{split}/{index}", text,
                     None if messages is None else dumps(messages),
                     None if gt is None else dumps(gt), split, dumps(meta))
                )
            elif text is not None and text != texts[q]:
                raise Where(file, f"{pos} (index {index})").error(
                    "prompt", f"differs from the prompt other models' files give for {key!r}; "
                    "the files do not describe the same queries"
                )
            responses.append(
                (q, m, raw, pt, ct, None, None, cost, None if cost is None else "imported",
                 None, error, None, created, "{}")
            )
            if error is None:
                grades.append((q, m, score, pred, grader, IMPORTER_VERSION, "{}", created))
        del records
    if not texts:
        raise DataFormatError(f"no records found in {path}")
    metadata: dict[str, Any] = {"files": files_used, "import_format": FORMAT,
                                "importer_version": IMPORTER_VERSION}
    if demo_runs:
        metadata["skipped_demo_runs"] = demo_runs
    chunk.metadata = metadata
    yield chunk


def parse(path: Path) -> ImportedBench:
    """The whole release in memory (for callers that want it all; imports stream it through
    :func:`parse_chunks` instead)."""
    bench = ImportedBench(format=FORMAT, source=str(path))
    for chunk in parse_chunks(path):
        bench.models.extend(chunk.models)
        bench.queries.extend(chunk.queries)
        bench.responses.extend(chunk.responses)
        bench.grades.extend(chunk.grades)
        if chunk.metadata is not None:
            bench.metadata.update(chunk.metadata)
    return bench


#: import_bench streams a release through this instead of parsing it whole.
parse.stream = parse_chunks  # type: ignore[attr-defined]


# -- export ---------------------------------------------------------------------------------


def export(store: Any, bench: str, out: Path) -> list[Path]:
    """Write ``bench`` as ``out/results/bench/<dataset>/<split>/<model>/<model>_<stamp>.json``.

    Names that are not safe as folder names are escaped in the path (with a hash of the name,
    so different names never share a folder, and nothing lands outside ``out``); the exact names travel
    in the top-level ``dataset_name``/``split``/``model_name`` fields, which the importer reads.
    """
    models = [spec.name for spec in store.models(bench)]
    grades = {(g.q, g.m): (g.score, g.prediction) for g in store.grade_rows(bench)}
    runs: dict[tuple[str, str, int], list[dict[str, Any]]] = defaultdict(list)
    qinfo = {}
    for qr in store.query_rows(bench):
        meta = json.loads(qr.metadata)
        index = meta.get("index", qr.qid)
        prompt = qr.text if qr.messages is None else json.loads(qr.messages)
        qinfo[qr.idx] = (qr.dataset, qr.source_split or DEFAULT_SPLIT, index, prompt,
                         meta.get("origin_query", qr.text),
                         None if qr.ground_truth is None else json.loads(qr.ground_truth))
    for r in store.response_rows(bench, by_model=True):
        q, m = r.q, r.m
        dataset, split, index, text, origin, gt = qinfo[q]
        score, pred = grades.get((q, m), (None, None))
        rec = {
            "index": index, "origin_query": origin, "prompt": text, "prediction": pred,
            "ground_truth": gt, "score": score, "prompt_tokens": r.prompt_tokens,
            "completion_tokens": r.completion_tokens, "cost": r.cost, "raw_output": r.raw_output,
        }
        if r.error is not None:
            rec["error"] = r.error
        runs[(dataset, split, m)].append(rec)
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    written = []
    root = Path(out) / "results" / "bench"
    for (dataset, split, m), records in sorted(runs.items()):
        model = models[m]
        scores = [r["score"] for r in records if r["score"] is not None]
        costs = [r["cost"] for r in records if r["cost"] is not None]
        doc = {
            "dataset_name": dataset, "split": split, "model_name": model,
            "performance": sum(scores) / len(scores) if scores else None,
            "cost": sum(costs) if costs else None,
            "tokens": {
                "prompt": sum(r["prompt_tokens"] or 0 for r in records),
                "completion": sum(r["completion_tokens"] or 0 for r in records),
            },
            "counts": {"total": len(records), "scored": len(scores),
                       "failed": sum(1 for r in records if "error" in r)},
            "records": records,
        }
        folder = inside(root, root / path_component(dataset) / path_component(split)
                        / path_component(model))
        folder.mkdir(parents=True, exist_ok=True)
        target = inside(folder, folder / f"{path_component(model)}_{stamp}.json")
        with open(target, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False)
        written.append(target)
    return written
