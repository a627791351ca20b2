"""The parallel parse of a large LLMRouterBench release: dataset splits parsed and packed by
worker processes (real subprocesses) give the bench a serial parse gives, errors in release
order, all-or-nothing on failure or kill, and no worker left behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routerbench_core.data import matrix_cache
from routerbench_core.data.importers import DataFormatError, import_bench
from routerbench_core.data.importers import llmrouterbench as lrb
from routerbench_core.data.store import Store
from routerbench_core.data.workers import WorkerError, ordered_map
from routerbench_core.testing.releases import write_llmrouterbench_release as write_release


def bench_rows(store: Store, name: str) -> dict[str, Any]:
    """Everything a bench holds, in a form to compare (block numbers and times aside)."""
    bid = store.bench_id(name)
    return {
        "models": [(s.name, s.model_dump_json()) for s in store.models(name)],
        "queries": store.query_rows(name),
        "responses": [r._replace(created_at=0) for r in store.response_rows(name)],
        "types": store.execute(
            "SELECT q, m, typeof(prompt_tokens), typeof(completion_tokens), typeof(cost), "
            "cost_source, typeof(raw_output) FROM responses WHERE bench_id=? ORDER BY q, m",
            (bid,)).fetchall(),
        "grades": [g._replace(created_at=0) for g in store.grade_rows(name)],
        "metadata": store.bench_metadata(name),
    }


def import_with(tmp_path: Path, root: Path, workers: str, monkeypatch: pytest.MonkeyPatch,
                name: str = "b") -> Store:
    monkeypatch.setenv(lrb.WORKERS_ENV, workers)
    store = Store(tmp_path / f"w{workers}-{uuid.uuid4().hex[:6]}.db")
    import_bench(store, "llmrouterbench", root, name)
    return store


def test_parallel_parse_gives_the_serial_bench(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_release(tmp_path / "r", models=3, datasets=4, n=30)
    # a model only some splits have, listed first in a later split: indices must be remapped
    extra = root / "results" / "bench" / "ds2" / "test" / "aaa-late"
    extra.mkdir(parents=True)
    doc = json.loads((root / "results/bench/ds2/test/model0/model0_20250101_000000.json")
                     .read_text())
    doc["model_name"] = "aaa-late"
    for rec in doc["records"]:
        rec["cost"] = None  # and a column with NULLs
    (extra / "late_20250101_000000.json").write_text(json.dumps(doc))
    serial = import_with(tmp_path, root, "0", monkeypatch)
    parallel = import_with(tmp_path, root, "2", monkeypatch)
    assert bench_rows(parallel, "b") == bench_rows(serial, "b")
    assert [s.name for s in parallel.models("b")] == ["model0", "model1", "model2", "aaa-late"]
    blocks = parallel.execute("SELECT no FROM text_blocks").fetchall()
    assert min(b[0] for b in blocks) >= 1 << 32  # numbered by the workers
    # the matrix cache the import wrote from its rows is what SQL gives
    cached = parallel.load_matrix("b")
    from_sql, stats = matrix_cache.rebuild(parallel, "b")
    for field in ("score", "cost", "prompt_tokens", "completion_tokens", "latency", "failed"):
        assert np.array_equal(getattr(cached, field), getattr(from_sql, field), equal_nan=True)
    assert list(cached.keys) == list(from_sql.keys) and cached.texts == from_sql.texts
    assert (cached.cost_source == from_sql.cost_source).all()


def test_import_built_cache_counts_match_sql(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`data info` counts from the cache an import wrote equal those SQL gives."""
    root = write_release(tmp_path / "r", models=2, datasets=3, n=20)
    store = import_with(tmp_path, root, "2", monkeypatch)
    written = matrix_cache.stats(store, "b")
    _, fresh = matrix_cache.rebuild(store, "b")
    assert json.loads(json.dumps(written)) == json.loads(json.dumps(
        dict(fresh, metadata=written["metadata"], models=written["models"])))


def test_splits_naming_the_same_dataset_are_merged_as_in_a_serial_parse(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two folders whose files both say dataset "ds0": the parallel parse finds the shared
    queries and parses that split in the main process, as the serial parse would."""
    root = write_release(tmp_path / "r", models=2, datasets=2, n=10)
    for path in (root / "results" / "bench" / "ds1").rglob("*.json"):
        doc = json.loads(path.read_text())
        doc["dataset_name"] = "ds0"
        doc["model_name"] += "-v2"  # other runs of the same queries
        for rec in doc["records"]:
            rec["prompt"] = f"Question 0.{rec['index']}?"  # the prompts ds0's files give
        path.write_text(json.dumps(doc))
    serial = import_with(tmp_path, root, "0", monkeypatch)
    parallel = import_with(tmp_path, root, "2", monkeypatch)
    assert bench_rows(parallel, "b") == bench_rows(serial, "b")
    assert len(parallel.query_rows("b")) == 10  # one set of queries, four models


def test_a_bad_record_in_a_worker_is_the_error_a_serial_parse_gives(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good = write_release(tmp_path / "good", models=2, datasets=3, n=10)
    store = import_with(tmp_path, good, "2", monkeypatch)
    bad = write_release(tmp_path / "bad", models=2, datasets=3, n=10)
    files = sorted((bad / "results" / "bench").rglob("*.json"))
    for path, field, value in ((files[1], "prompt_tokens", -3), (files[-1], "score", "high")):
        doc = json.loads(path.read_text())
        doc["records"][4][field] = value
        path.write_text(json.dumps(doc))
    errors = []
    for workers in ("0", "2"):
        monkeypatch.setenv(lrb.WORKERS_ENV, workers)
        with pytest.raises(DataFormatError) as info:
            import_bench(store, "llmrouterbench", bad, "b", replace=True)
        errors.append((str(info.value), info.value.file, info.value.record, info.value.field))
    assert errors[0] == errors[1]  # the first bad file in release order, with every field
    assert errors[1][1] == str(files[1]) and errors[1][3] == "prompt_tokens"
    assert store.bench_names() == ["b"] and store.staging_benches() == []
    assert len(store.query_rows("b")) == 30


def test_workers_value_is_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = write_release(tmp_path / "r", models=1, datasets=2, n=3)
    monkeypatch.setenv(lrb.WORKERS_ENV, "two")
    with pytest.raises(DataFormatError, match="RBENCH_IMPORT_WORKERS='two'"):
        import_bench(Store(tmp_path / "s.db"), "llmrouterbench", root, "b")


SQUARE = """
import os

def square(x):
    if x == 5:
        raise ValueError("five is refused")
    if x == 7:
        os._exit(3)  # a worker that dies
    return x * x
"""


def test_ordered_map_keeps_order_raises_in_order_and_reports_a_dead_worker(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rb_square.py").write_text(SQUARE)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(tmp_path), os.environ.get("PYTHONPATH", "")]))  # the workers import it
    target = "rb_square:square"
    assert list(ordered_map(target, [(i,) for i in range(5)], 3)) == [0, 1, 4, 9, 16]
    got = []
    with pytest.raises(ValueError, match="five is refused"):
        for value in ordered_map(target, [(i,) for i in range(9)], 2):
            got.append(value)
    assert got == [0, 1, 4, 9, 16]  # everything before the error, in order
    with pytest.raises(WorkerError, match="exited .code 3."):
        list(ordered_map(target, [(6,), (7,), (8,)], 2))


KILL = r"""
import sys
from routerbench_core.data.importers import import_bench
from routerbench_core.data.store import Store
import_bench(Store(sys.argv[1]), "llmrouterbench", sys.argv[2], "big")
"""


def _tagged_processes(tag: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if f"RBENCH_TEST_TAG={tag}".encode() in Path(f"/proc/{pid}/environ").read_bytes():
                    found.append(int(pid))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs Linux /proc")
def test_killing_a_parallel_import_stores_nothing_and_leaves_no_worker(tmp_path: Path) -> None:
    # big enough that the import still runs once its workers are seen (about 2 s here)
    root = write_release(tmp_path / "r", models=4, datasets=6, n=3000)
    db = tmp_path / "s.db"
    Store(db).close()
    tag = uuid.uuid4().hex
    env = dict(os.environ, RBENCH_IMPORT_WORKERS="2", RBENCH_TEST_TAG=tag)
    proc = subprocess.Popen([sys.executable, "-c", KILL, str(db), str(root)], env=env,
                            stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(_tagged_processes(tag)) < 3 and time.monotonic() < deadline:  # main + 2 workers
        time.sleep(0.02)
    assert len(_tagged_processes(tag)) >= 3, "the workers never started"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _tagged_processes(tag) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _tagged_processes(tag) == []  # the workers saw their pipes close and exited
    store = Store(db)
    assert store.bench_names() == []
    result = import_bench(store, "llmrouterbench", root, "big")  # cleans up and imports
    assert store.staging_benches() == [] and result.n_records == 4 * 6 * 3000


def test_column_rows_keep_values_and_types_sort_join_and_remap() -> None:
    from routerbench_core.data.columns import ColumnRows

    names = ("q", "m", "raw_output", "prompt_tokens", "cost", "error")
    rows = [(2, 1, b"ref", 7, 0.5, None), (0, 1, "text", 9, None, "boom"),
            (0, 0, None, 1 << 70, 1.5, None)]
    cols = ColumnRows.from_rows(names, rows)
    assert list(cols) == rows and len(cols) == 3
    assert [type(v) for v in next(iter(cols))] == [int, int, bytes, int, float, type(None)]
    assert isinstance(cols.column("q"), np.ndarray) and isinstance(cols.column("cost"), list)
    cols.sort()
    assert [r[:2] for r in cols] == [(0, 0), (0, 1), (2, 1)]
    joined = cols + ColumnRows.from_rows(names, [(3, 0, "x", 2, 2.0, None)])
    assert len(joined) == 4 and list(joined)[-1] == (3, 0, "x", 2, 2.0, None)
    joined.remap_models([5, 6])
    assert [r[1] for r in joined] == [5, 6, 6, 5]
    assert list(ColumnRows.from_rows(names, [])) == []


def test_prefetch_keeps_at_most_depth_plus_one_items_alive() -> None:
    import threading

    from routerbench_core.data.prefetch import prefetched

    alive = []
    lock = threading.Lock()
    peak = [0]

    class Item:
        def __init__(self) -> None:
            with lock:
                alive.append(1)
                peak[0] = max(peak[0], len(alive))

        def __del__(self) -> None:
            with lock:
                alive.pop()

    def items() -> Any:
        for _ in range(20):
            yield Item()

    for item in prefetched(items(), depth=1):
        time.sleep(0.005)  # the consumer is slower: the producer would run ahead
        del item
    assert peak[0] <= 2


@pytest.mark.parametrize("workers", ["0", "2"])
def test_a_long_answer_that_is_not_unicode_is_named_and_nothing_is_stored(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    """A lone surrogate in an answer long enough to be packed: the packer leaves it as text
    and the store's write names model, query and field, serial or parallel."""
    from routerbench_core.data.store import StoreError

    root = write_release(tmp_path / "r", models=2, datasets=3, n=10)
    path = sorted((root / "results" / "bench").rglob("*.json"))[3]  # ds1, model1
    doc = json.loads(path.read_text())
    doc["records"][2]["raw_output"] = "a long answer " * 20 + "\udcff"
    path.write_text(json.dumps(doc))  # JSON escapes the surrogate
    monkeypatch.setenv(lrb.WORKERS_ENV, workers)
    store = Store(tmp_path / "s.db")
    with pytest.raises(StoreError) as info:
        import_bench(store, "llmrouterbench", root, "b")
    message = str(info.value)
    assert "model 'model1'" in message and "'ds1/test/2'" in message
    assert "raw_output" in message and "nothing was stored" in message
    assert store.bench_names() == [] and store.staging_benches() == []
