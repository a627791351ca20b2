"""Fault injection: ``kill -9`` real ``rbench`` processes at several points of collect, grade,
import and route, then check the store.

After every kill: ``PRAGMA integrity_check`` is ok, no cell has two rows, no grade or response
points at a missing query or model (no orphans), an import is all-or-nothing, and a rerun
finishes the work (a collect rerun asks only what was not stored, at once: the killed run's
leases belong to a dead process and are taken over without waiting for them to expire).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from routerbench_core.data.store import Store
from routerbench_core.testing.openai_server import OpenAIServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")

SUPPORT = Path(__file__).with_name("test_collect_support.py")
ENV = {**os.environ, "RBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}
N = 200


def rbench(*args: str) -> subprocess.Popen[bytes]:
    """The real CLI with the toy dataset plugin (and the OpenAI backend) installed."""
    return subprocess.Popen([sys.executable, str(SUPPORT), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=ENV)


def wait_until(proc: subprocess.Popen[bytes], ready: Callable[[], bool], what: str,
               timeout: float = 60) -> None:
    """Poll ``ready`` while ``proc`` runs; fail if it ends first or never gets there."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"{what}: the process ended before the signal: {err.decode()[-1500:]}")
        assert time.monotonic() < deadline, f"{what}: never reached the signal point"
        time.sleep(0.002)


def kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], what: str,
              timeout: float = 60) -> None:
    wait_until(proc, ready, what, timeout)
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def check_store(db: Path) -> sqlite3.Connection:
    """The invariants every kill must leave intact; returns a connection for more checks."""
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    for table in ("responses", "grades"):
        assert conn.execute(  # no duplicate cells (the key is the cell)
            f"SELECT COUNT(*) FROM (SELECT 1 FROM {table} GROUP BY bench_id, q, m "
            "HAVING COUNT(*) > 1)").fetchone()[0] == 0
        assert conn.execute(  # no orphans: every row's query and model exist
            f"SELECT COUNT(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM queries q WHERE "
            "q.bench_id=t.bench_id AND q.idx=t.q) OR NOT EXISTS (SELECT 1 FROM models m "
            "WHERE m.bench_id=t.bench_id AND m.idx=t.m)").fetchone()[0] == 0
    assert conn.execute(  # a grade only for a stored answer
        "SELECT COUNT(*) FROM grades g WHERE NOT EXISTS (SELECT 1 FROM responses r WHERE "
        "r.bench_id=g.bench_id AND r.q=g.q AND r.m=g.m)").fetchone()[0] == 0
    return conn


def _reply(body: dict) -> str:
    i = int(re.match(r"q(\d+):", body["messages"][-1]["content"]).group(1))  # type: ignore[union-attr]
    return f"q{i}: {2 * i}"


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "run.yaml"
    path.write_text(
        f"models:\n  - {{name: toy, base_url: '{url}', input_price: 1, output_price: 1}}\n"
        f"datasets:\n  - {{name: toyadd, options: {{n: {N}}}}}\nrun: {{concurrency: 8}}\n")
    return path


# -- collect ----------------------------------------------------------------------------------


@pytest.mark.parametrize("point", ["first answer", "half the answers", "while grading"])
def test_kill_collect(tmp_path: Path, point: str) -> None:
    db = tmp_path / "c.db"
    with OpenAIServer(reply=_reply, latency=0.005) as server:
        config = _config(tmp_path, server.url)
        args = ["collect", "--config", str(config), "--store", str(db), "--bench", "c",
                "--no-progress"]
        proc = rbench(*(args if point == "while grading" else [*args, "--no-grade"]))

        def stored() -> int:
            if not db.exists():
                return 0
            try:
                with sqlite3.connect(db, timeout=0.05) as c:
                    return c.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
            except sqlite3.Error:
                return 0

        threshold = {"first answer": lambda: stored() >= 1,
                     "half the answers": lambda: server.count() >= N // 2,
                     "while grading": lambda: stored() >= N}[point]
        kill_when(proc, threshold, point)
        first = Counter(r.text.rsplit("\n", 1)[-1] for r in server.requests
                        if r.path.endswith("/chat/completions"))
        conn = check_store(db)
        kept = {row[0] for row in conn.execute(
            "SELECT qu.key FROM responses r JOIN queries qu ON qu.bench_id=r.bench_id "
            "AND qu.idx=r.q WHERE r.error IS NULL")}
        conn.close()
        assert kept, "nothing was stored before the kill"

        t0 = time.monotonic()
        proc = rbench(*args)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
        assert time.monotonic() - t0 < 30, "the rerun waited for the dead run's leases"
        second = Counter(r.text.rsplit("\n", 1)[-1] for r in server.requests
                        if r.path.endswith("/chat/completions")) - first
    asked_again = {"toyadd/" + t[1:].split(":")[0] for t in second}
    assert not asked_again & kept, "an answer stored before the kill was asked again"
    assert all(n == 1 for n in second.values()), "the rerun sent a request twice"
    conn = check_store(db)
    assert conn.execute("SELECT COUNT(*) FROM responses WHERE error IS NULL").fetchone()[0] == N
    assert conn.execute("SELECT COUNT(*) FROM grades").fetchone()[0] == N
    assert conn.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0


# -- grade ------------------------------------------------------------------------------------


def _answered_bench(db: Path, n: int) -> None:
    from routerbench_core.schema import ModelSpec, Query, Response

    with Store(db) as s:
        s.ensure_bench("g")
        queries = [Query(dataset="toyadd", id=str(i), text=f"q{i}: what is {i} + {i}?",
                         ground_truth=2 * i) for i in range(n)]
        with s.transaction() as conn:
            s.add_queries("g", queries, conn=conn)
            s.add_models("g", [ModelSpec(name="a", input_price=1, output_price=1),
                               ModelSpec(name="b", input_price=1, output_price=1)], conn=conn)
        s.put_responses("g", [Response(query_key=q.key, model=m, raw_output=f"q{i}: {2 * i}",
                                       cost=0.001) for i, q in enumerate(queries)
                              for m in ("a", "b")])


@pytest.mark.parametrize("delay", [0.3, 1.0])
def test_kill_grade(tmp_path: Path, delay: float) -> None:
    db = tmp_path / "g.db"
    n = 1500
    _answered_bench(db, n)
    proc = rbench("grade", "--bench", "g", "--store", str(db))
    started = time.monotonic()
    kill_when(proc, lambda: time.monotonic() - started >= delay, f"grade +{delay}s")
    conn = check_store(db)
    assert conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 2 * n
    conn.close()
    proc = rbench("grade", "--bench", "g", "--store", str(db))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err.decode()[-2000:]
    conn = check_store(db)
    assert conn.execute("SELECT COUNT(*), SUM(score) FROM grades").fetchone() == (2 * n, 2 * n)


# -- import -----------------------------------------------------------------------------------


def _release(root: Path, n: int) -> Path:
    for model in ("big", "small"):
        folder = root / "results" / "bench" / "aime" / "test" / model
        folder.mkdir(parents=True)
        records = [{"index": i, "origin_query": f"q{i}", "prompt": f"q{i} " + "x" * 100,
                    "prediction": "1", "ground_truth": "1", "score": 1.0, "prompt_tokens": 5,
                    "completion_tokens": 7, "cost": 0.01, "raw_output": "y" * 200}
                   for i in range(n)]
        (folder / f"{model}_20250101_120000.json").write_text(json.dumps(
            {"dataset_name": "aime", "split": "test", "model_name": model, "records": records}))
    return root


@pytest.mark.parametrize("delay", [0.6, 1.2])
def test_kill_import_is_all_or_nothing(tmp_path: Path, delay: float) -> None:
    db = tmp_path / "i.db"
    _answered_bench(db, 5)  # a bench that was there before must survive untouched
    # big enough that the import still runs 1.2 s after its start on a fast machine (100,000
    # records took 2.6 s here; 30,000 took about 1.2 s)
    n = 80_000
    release = _release(tmp_path / "rel", n)
    args = [sys.executable, "-m", "routerbench_core.commands.app", "--store", str(db), "data",
            "import", "llmrouterbench", str(release), "--name", "big"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    started = time.monotonic()
    kill_when(proc, lambda: time.monotonic() - started >= delay, f"import +{delay}s")
    conn = check_store(db)
    rows = [r[0] for r in conn.execute("SELECT name FROM benches ORDER BY name")]
    # a killed streamed import may leave its hidden staging bench, never a partial "big"
    names = [n for n in rows if not n.startswith(".importing/")]
    assert names in (["g"], ["big", "g"])
    with Store(db) as store:
        assert store.bench_names() == names  # staging benches are never listed
    if "big" in names:  # all of it, or none of it
        assert conn.execute("SELECT COUNT(*) FROM responses r JOIN benches b ON b.id="
                            "r.bench_id WHERE b.name='big'").fetchone()[0] == 2 * n
    assert conn.execute("SELECT COUNT(*) FROM responses r JOIN benches b ON b.id=r.bench_id "
                        "WHERE b.name='g'").fetchone()[0] == 10
    conn.close()
    if "big" not in names:  # the rerun imports it whole
        proc = subprocess.run(args, capture_output=True, env=ENV, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    conn = check_store(db)
    assert conn.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == 2 * n + 10
    assert [r[0] for r in conn.execute("SELECT name FROM benches ORDER BY name")] == ["big", "g"]


# -- route ------------------------------------------------------------------------------------


ROUTE_ARGS = ("route", "-r", "avengers", "-r", "best-single", "--bench", "synthetic",
              "--embedder", "hashing", "--seeds", "42,999,2024,2025,3407")


def synthetic_store(tmp_path: Path) -> Path:
    """A store holding the synthetic bench (240 queries × 4 models) to route."""
    from routerbench_core.testing.synthetic import make_synthetic_bench, store_matrix

    db = tmp_path / "r.db"
    with Store(db) as s:
        store_matrix(s, make_synthetic_bench(seed=3, queries_per_cluster=60).matrix)
    return db


def start_route(db: Path) -> tuple[list[str], dict[str, str], subprocess.Popen[bytes]]:
    """A real ``rbench route`` on the synthetic store, with the installed plugins."""
    args = [sys.executable, "-m", "routerbench_core.commands.app", "--store", str(db),
            *ROUTE_ARGS]
    env = {k: v for k, v in os.environ.items() if k != "RBENCH_DISABLE_PLUGIN_AUTOLOAD"}
    return args, env, subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                       env=env)


def has_embeddings(db: Path) -> bool:
    """Whether the route has cached any embedding yet: a point every run passes."""
    with contextlib.closing(sqlite3.connect(db, timeout=5)) as c:
        try:
            return c.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] > 0
        except sqlite3.OperationalError:  # locked or not created yet
            return False


def test_kill_route_after_embedding(tmp_path: Path) -> None:
    """SIGKILL once the embeddings are cached, while routers train: a point the run always
    passes, however fast the machine (a fixed delay is not)."""
    db = synthetic_store(tmp_path)
    conn = check_store(db)
    before = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
              for t in ("queries", "responses", "grades")]
    conn.close()
    args, env, proc = start_route(db)
    kill_when(proc, lambda: has_embeddings(db), "route after embedding")
    conn = check_store(db)
    assert [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("queries", "responses", "grades")] == before
    for dim, size in conn.execute("SELECT dim, length(vector) FROM embeddings"):
        assert size == 4 * dim  # no torn vector
    conn.close()
    proc = subprocess.run(args, capture_output=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert b"avengers" in proc.stdout


def test_ctrl_c_during_route_says_what_is_kept_and_how_to_resume(tmp_path: Path) -> None:
    db = synthetic_store(tmp_path)
    _, _, proc = start_route(db)
    wait_until(proc, lambda: has_embeddings(db), "route before its embeddings were cached")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the run finished before the interrupt arrived")
    assert proc.returncode == 130, err.decode()[-1500:]
    assert b"interrupted" in err and b"run the same command again" in err
    assert b"Traceback" not in err
    with contextlib.closing(sqlite3.connect(db)) as c:
        assert c.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] > 0
