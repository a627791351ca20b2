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
import itertools
import json
import operator
import os
import re
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from routerbench_core.data.importers.base import (
    IMPORTER_VERSION,
    BenchChunk,
    DataFormatError,
    ImportedBench,
    RowLayout,
    Where,
    as_cost,
    as_messages,
    as_score,
    as_text,
    as_tokens,
    dumps,
    merged_chunks,
    read_json,
)
from routerbench_core.data.paths import inside, path_component
from routerbench_core.data.textpack import MIN_PACK_CHARS
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
#: Releases with at least this much JSON are parsed by worker processes (below it, starting
#: them costs more than they save).
PARALLEL_MIN_BYTES = 64 << 20
#: ``RBENCH_IMPORT_WORKERS``: how many processes parse a large release (0: this process).
WORKERS_ENV = "RBENCH_IMPORT_WORKERS"


class _ReleaseParser:
    """What a parse has seen so far: query and model indices, the runs, the prompts (to check
    that every model's file agrees). The serial parse keeps one for the whole release; each
    worker of the parallel parse keeps one per dataset split, and the main process one for
    the release, fed with the workers' results (:func:`_merge_group`)."""

    def __init__(self, created: float, packer: Any = None) -> None:
        self.created = created
        #: packs long answers as records are read (a parse worker); None leaves them as text
        self.packer = packer
        self.grader = f"import:{FORMAT}"
        # rows carry what varies from record to record; the rest is the same for all
        self.layout = RowLayout(
            responses=("raw_output", "prompt_tokens", "completion_tokens", "cost",
                       "cost_source", "error"),
            grades=("score", "prediction"),
            constants=(("created_at", created), ("grader", self.grader),
                       ("grader_version", IMPORTER_VERSION)))
        self.qindex: dict[str, int] = {}
        self.texts: list[str] = []  # query index -> its text
        self.models: dict[str, int] = {}
        self.seen_runs: dict[tuple[str, str, str], Path] = {}
        self.demo_runs: list[str] = []
        self.files_used = 0

    def metadata(self) -> dict[str, Any]:
        metadata: dict[str, Any] = {"files": self.files_used, "import_format": FORMAT,
                                    "importer_version": IMPORTER_VERSION}
        if self.demo_runs:
            metadata["skipped_demo_runs"] = self.demo_runs
        return metadata

    def chunks(self, folders: list[tuple[str, str, str, list[Path]]],
               chunk_rows: int) -> Iterator[BenchChunk]:
        """Chunks of the given run folders; the last one is yielded even when empty."""
        chunk = BenchChunk(layout=self.layout)
        group: tuple[str, str] | None = None
        for dataset_dir, split_dir, model_dir, files in folders:
            if (dataset_dir, split_dir) != group or len(chunk.responses) >= chunk_rows:
                if chunk.responses or chunk.queries or chunk.models:
                    yield chunk
                    chunk = BenchChunk(layout=self.layout)
                group = chunk.group = (dataset_dir, split_dir)
            found = _newest_real_run(files)
            if found is None:
                self.demo_runs.append(f"{dataset_dir}/{split_dir}/{model_dir}")
                continue
            self._parse_run(found[0], found[1], dataset_dir, split_dir, model_dir, chunk)
        yield chunk

    def _parse_run(self, file: Path, data: dict[str, Any], dataset_dir: str, split_dir: str,
                   model_dir: str, chunk: BenchChunk) -> None:
        dataset = _top_name(data, "dataset_name", dataset_dir, file)
        split = _top_name(data, "split", split_dir, file)
        model = _top_name(data, "model_name", model_dir, file)
        run = (dataset, split, model)
        if run in self.seen_runs:
            raise DataFormatError(
                f"run {dataset}/{split}/{model} is also given by {self.seen_runs[run]}",
                file=file, field="model_name",
            )
        self.seen_runs[run] = file
        records = data.get("records")
        del data
        if not isinstance(records, list):
            raise DataFormatError("expected a list of records", file=file, field="records")
        self.files_used += 1
        m = self.models.get(model)
        if m is None:
            m = self.models[model] = len(self.models)
            chunk.models.append(ModelSpec(name=model))
        queries, responses, grades = chunk.queries, chunk.responses, chunk.grades
        qindex, texts = self.qindex, self.texts
        pack = None if self.packer is None else self.packer.add
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
            if pack is not None and raw is not None and len(raw) >= MIN_PACK_CHARS:
                raw = pack(raw)
            responses.append((q, m, raw, pt, ct, cost, None if cost is None else "imported", error))
            if error is None:
                grades.append((q, m, score, pred))
        if self.packer is not None:
            chunk.blocks += self.packer.finish()  # a block never spans two models


def parse_chunks(path: Path, *, chunk_rows: int | None = None) -> Iterator[BenchChunk]:
    """Parse a release file by file, yielding bounded :class:`BenchChunk` s; the last one
    carries the metadata. Only one run file's JSON is in memory at a time.

    Every check of the whole-release parse is made (a record key is unique within its run
    file, a run gives one model's outcomes, a query's prompt agrees across models' files), so
    an error in the last file is still found before anything becomes visible; the caller
    writes chunks to a staging bench and publishes it only after the last chunk.
    """
    yield from _serial_chunks(path, run_folders(bench_root(Path(path))), chunk_rows)


def _serial_chunks(path: Path, folders: list[tuple[str, str, str, list[Path]]],
                   chunk_rows: int | None) -> Iterator[BenchChunk]:
    parser = _ReleaseParser(time.time())
    held: BenchChunk | None = None
    for chunk in parser.chunks(folders, chunk_rows or CHUNK_ROWS):
        if held is not None:
            yield held
        held = chunk
    if not parser.texts or held is None:
        raise DataFormatError(f"no records found in {path}")
    held.metadata = parser.metadata()
    yield held


# -- the parallel parse: one dataset split per task, in worker processes ------------------


@dataclass
class _GroupResult:
    """What a worker sends back for one dataset split: its packed chunks, with query and
    model indices of its own (0, 1, ... in order of first sight), and what it saw."""

    chunks: list[BenchChunk]
    models: list[str]
    runs: dict[tuple[str, str, str], Path]
    demo_runs: list[str]
    files_used: int


def _parse_group(folders: list[tuple[str, str, str, list[Path]]], seq: int, chunk_rows: int,
                 created: float) -> _GroupResult:
    """A worker's task: parse one dataset split's run folders and pack its answers (blocks
    numbered from ``seq << 32``, so no two tasks' blocks share a number)."""
    from routerbench_core.data.columns import ColumnRows
    from routerbench_core.data.matrix_build import with_outcomes
    from routerbench_core.data.textpack import BlockPacker

    parser = _ReleaseParser(created, BlockPacker(first=seq << 32))
    layout = parser.layout

    def as_columns(chunks: Iterator[BenchChunk]) -> Iterator[BenchChunk]:
        for chunk in chunks:  # each chunk's tuples are dropped as soon as it is read
            chunk.responses = ColumnRows.from_rows(("q", "m", *layout.responses),
                                                   chunk.responses)  # type: ignore[assignment]
            chunk.grades = ColumnRows.from_rows(("q", "m", *layout.grades),
                                                chunk.grades)  # type: ignore[assignment]
            yield chunk

    chunks = []
    for chunk in merged_chunks(as_columns(parser.chunks(folders, chunk_rows))):
        if chunk.responses or chunk.queries or chunk.models:
            chunk.responses.sort()  # here, in parallel, instead of in the writing process
            chunk.grades.sort()
            chunk.final = True
            chunks.append(chunk)
    chunks = list(with_outcomes(chunks))
    return _GroupResult(chunks, list(parser.models), parser.seen_runs, parser.demo_runs,
                        parser.files_used)


def _merge_group(state: _ReleaseParser, result: _GroupResult) -> list[BenchChunk] | None:
    """Give a worker's chunks the release's indices (the query offset as ``q_base``, model
    indices rewritten only where they differ) and record what it saw in ``state``. None when
    the split shares queries or runs with an earlier one (folders whose files name the same
    dataset): the caller then parses it in ``state`` itself, as the serial parse would."""
    if any(run in state.seen_runs for run in result.runs):
        return None
    if any(row[1] in state.qindex for c in result.chunks for row in c.queries):
        return None
    base = len(state.texts)
    for chunk in result.chunks:
        for row in chunk.queries:
            state.qindex[row[1]] = base + row[0]
            state.texts.append(row[4])
        chunk.q_base = base
        new = []
        for spec in chunk.models:
            if spec.name not in state.models:
                state.models[spec.name] = len(state.models)
                new.append(spec)
        chunk.models = new
    mapping = [state.models[name] for name in result.models]
    if mapping != list(range(len(mapping))):
        import numpy as np

        to_global = np.array(mapping, dtype=np.int64)
        for chunk in result.chunks:
            chunk.responses.remap_models(mapping)  # type: ignore[attr-defined]
            chunk.grades.remap_models(mapping)  # type: ignore[attr-defined]
            for arr in (chunk.outcomes.responses, chunk.outcomes.grades):
                arr["m"] = to_global[arr["m"]]
    state.seen_runs.update(result.runs)
    state.demo_runs += result.demo_runs
    state.files_used += result.files_used
    return result.chunks


def import_workers(folders: list[tuple[str, str, str, list[Path]]]) -> int:
    """How many worker processes parse this release: ``RBENCH_IMPORT_WORKERS`` if set, else
    one per CPU for a release of at least :data:`PARALLEL_MIN_BYTES` of JSON (else 0)."""
    value = os.environ.get(WORKERS_ENV)
    if value not in (None, ""):
        try:
            workers = int(value)
        except ValueError:
            raise DataFormatError(f"{WORKERS_ENV}={value!r}: expected a whole number of "
                                  "processes (0 parses in this process)") from None
        if workers < 0:
            raise DataFormatError(f"{WORKERS_ENV}={value!r}: expected 0 or more processes")
        return workers
    size = sum(f.stat().st_size for *_, files in folders for f in files)
    if size < PARALLEL_MIN_BYTES:
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(int(cpus or 1), 1)


def stream(path: Path, *, chunk_rows: int | None = None,
           workers: int | None = None) -> Iterator[BenchChunk]:
    """The import's stream: :func:`parse_chunks` in this process, or, for a large release,
    each dataset split parsed and packed by ``workers`` (default :func:`import_workers`)
    worker processes (``data/workers.py``) while this process writes. The bench is the same
    either way (same indices, rows and errors, in release order); the first error raised is
    the first one in release order."""
    root = bench_root(Path(path))
    folders = run_folders(root)
    if workers is None:
        workers = import_workers(folders)
    # one task per dataset split (run folders come sorted by dataset, split, model)
    groups = [list(group) for _, group in itertools.groupby(folders, key=lambda f: f[:2])]
    if workers < 1 or len(groups) < 2:
        yield from _serial_chunks(path, folders, chunk_rows)
        return
    yield from _parallel_chunks(path, groups, workers, chunk_rows or CHUNK_ROWS)


def _parallel_chunks(path: Path, groups: list[list[tuple[str, str, str, list[Path]]]],
                     workers: int, chunk_rows: int) -> Iterator[BenchChunk]:
    from routerbench_core.data.workers import ordered_map

    state = _ReleaseParser(time.time())
    tasks = ((group, seq + 1, chunk_rows, state.created) for seq, group in enumerate(groups))
    results = ordered_map(f"{__name__}:_parse_group", tasks, min(workers, len(groups)))
    try:
        for group, result in zip(groups, results, strict=True):
            chunks = _merge_group(state, result)
            del result
            if chunks is None:  # shares queries with an earlier split: parse it here
                chunks = [c for c in state.chunks(group, chunk_rows)
                          if c.responses or c.queries or c.models]
            while chunks:
                yield chunks.pop(0)
    finally:
        results.close()  # stops the workers now if the import stopped early
    if not state.texts:
        raise DataFormatError(f"no records found in {path}")
    # the metadata travels in a last, empty chunk (holding one back would keep it in memory)
    yield BenchChunk(metadata=state.metadata(), layout=state.layout, final=True)


def parse(path: Path) -> ImportedBench:
    """The whole release in memory (for callers that want it all; imports stream it through
    :func:`parse_chunks` instead)."""
    bench = ImportedBench(format=FORMAT, source=str(path))
    for chunk in parse_chunks(path):
        bench.models.extend(chunk.models)
        bench.queries.extend(chunk.queries)
        bench.responses.extend(chunk.layout.full(chunk.responses, "responses"))
        bench.grades.extend(chunk.layout.full(chunk.grades, "grades"))
        if chunk.metadata is not None:
            bench.metadata.update(chunk.metadata)
    return bench


#: import_bench streams a release through this instead of parsing it whole.
parse.stream = stream  # type: ignore[attr-defined]


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
