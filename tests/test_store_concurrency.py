"""The store under real concurrency and failure: several writer processes, a writer killed in
the middle of a transaction, and bad input in a batch."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from routerbench_core.data.store import Store, StoreError
from routerbench_core.schema import Grade, ModelSpec, Query, Response

N_QUERIES = 60
WRITERS = 4
# fork: the children run this module's functions without re-importing it (pytest's importlib
# mode gives test modules names a spawned child could not import). Each child opens its own
# store connection after the fork.
pytestmark = pytest.mark.skipif(os.name != "posix", reason="uses fork and SIGKILL")


def _setup(path: Path) -> None:
    with Store(path) as s:
        s.create_bench("shared")
        s.add_models("shared", [ModelSpec(name=f"w{i}") for i in range(WRITERS)])
        s.add_queries("shared", [Query(dataset="d", id=str(i), text=f"q{i}")
                                 for i in range(N_QUERIES)])


def _writer(path: str, worker: int, barrier: mp.synchronize.Barrier) -> None:
    """One process: small batches (many transactions) so the writers interleave."""
    barrier.wait()
    with Store(path, timeout=60) as s:
        for start in range(0, N_QUERIES, 5):
            keys = [f"d/{i}" for i in range(start, start + 5)]
            s.put_responses("shared", [
                Response(query_key=k, model=f"w{worker}", raw_output=f"{worker}:{k}",
                         cost=0.001 * worker, prompt_tokens=worker)
                for k in keys
            ])
            s.put_grades("shared", [
                Grade(query_key=k, model=f"w{worker}", score=(worker + i) % 2, grader="t",
                      grader_version="1")
                for i, k in enumerate(keys)
            ])
        # and a whole bench of its own through the bulk path, in the same store
        s.write_bench(
            f"own{worker}", models=[ModelSpec(name="m")],
            query_rows=[(i, f"d/{i}", "d", str(i), f"t{i}", None, None, None, "{}")
                        for i in range(50)],
            response_rows=[(i, 0, "x", 1, 1, None, None, 0.5, "reported", None, None, None,
                            0.0, "{}") for i in range(50)],
            grade_rows=[(i, 0, 1.0, None, "t", "1", "{}", 0.0) for i in range(50)],
        )


def test_wal_mode_is_on(rbench_store: Store) -> None:
    assert rbench_store.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store(rbench_store.path) as again:  # a second connection sees the same mode
        assert again.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_concurrent_writer_processes_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    _setup(path)
    ctx = mp.get_context("fork")
    barrier = ctx.Barrier(WRITERS)
    procs = [ctx.Process(target=_writer, args=(str(path), w, barrier)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
    assert [p.exitcode for p in procs] == [0] * WRITERS
    with Store(path) as s:
        m = s.load_matrix("shared")
        assert m.shape == (N_QUERIES, WRITERS)
        assert not np.isnan(m.score).any() and not np.isnan(m.cost).any()
        for w in range(WRITERS):
            assert (m.prompt_tokens[:, w] == w).all()
            assert m.score[:, w].tolist() == [float((w + i % 5) % 2) for i in range(N_QUERIES)]
        assert s.bench_names() == [*(f"own{w}" for w in range(WRITERS)), "shared"]
        for w in range(WRITERS):
            assert s.summary(f"own{w}").n_grades == 50


def _killed_mid_transaction(path: str, ready: mp.synchronize.Event) -> None:
    s = Store(path)
    with s.transaction() as conn:
        Store.write_response_rows(conn, [
            (1, q, 0, "uncommitted", None, None, None, None, None, None, None, None, None, 0.0,
             "{}") for q in range(1000)
        ])
        ready.set()
        time.sleep(60)  # killed here, before COMMIT


def test_writer_killed_mid_transaction_loses_only_its_own_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as s:
        s.create_bench("b")
        s.add_models("b", [ModelSpec(name="m")])
        s.add_queries("b", [Query(dataset="d", id=str(i), text=str(i)) for i in range(1000)])
        s.put_responses("b", [Response(query_key="d/0", model="m", raw_output="kept")])
    ctx = mp.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=_killed_mid_transaction, args=(str(path), ready))
    proc.start()
    assert ready.wait(60)
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(30)
    with Store(path, timeout=10) as s:
        outs = [r.raw_output for r in s.responses("b")]
        assert outs == ["kept"]
        s.put_responses("b", [Response(query_key="d/1", model="m", raw_output="after")])
        assert s.summary("b").n_responses == 2


def test_bad_batch_writes_nothing(rbench_store: Store) -> None:
    s = rbench_store
    s.create_bench("b")
    s.add_models("b", [ModelSpec(name="m")])
    s.add_queries("b", [Query(dataset="d", id=str(i), text=str(i)) for i in range(3)])
    s.put_responses("b", [Response(query_key="d/0", model="m", raw_output="kept")])
    s.put_grades("b", [Grade(query_key="d/0", model="m", score=1, grader="g",
                             grader_version="1")])
    batch = [Response(query_key="d/1", model="m", raw_output="new"),
             Response(query_key="d/2", model="ghost", raw_output="bad")]
    with pytest.raises(StoreError, match="unknown model 'ghost'"):
        s.put_responses("b", batch)
    with pytest.raises(StoreError, match="unknown query 'd/9'"):
        s.put_grades("b", [Grade(query_key="d/1", model="m", score=0, grader="g",
                                 grader_version="1"),
                           Grade(query_key="d/9", model="m", score=0, grader="g",
                                 grader_version="1")])
    assert [r.raw_output for r in s.responses("b")] == ["kept"]
    assert [(g.query_key, g.score) for g in s.grades("b")] == [("d/0", 1.0)]


def test_write_bench_failure_keeps_old_bench(rbench_store: Store) -> None:
    s = rbench_store
    good = dict(models=[ModelSpec(name="m")],
                query_rows=[(0, "d/0", "d", "0", "t", None, None, None, "{}")],
                response_rows=[(0, 0, "x", 1, 1, None, None, 0.5, "reported", None, None, None,
                                0.0, "{}")])
    s.write_bench("b", **good)
    with pytest.raises(StoreError, match="already exists"):
        s.write_bench("b", **good)
    bad = dict(good, response_rows=[good["response_rows"][0], good["response_rows"][0][:5]])
    with pytest.raises(Exception):  # noqa: B017 - sqlite's own error for a short row
        s.write_bench("b", replace=True, **bad)
    assert s.bench_names() == ["b"]
    assert [r.raw_output for r in s.responses("b")] == ["x"]
