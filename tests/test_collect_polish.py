"""The collect/grade command's user-facing edges, over real HTTP and real processes.

Accuracy table at the end of ``rbench grade``, the ``--grade/--no-grade`` pair, one progress row
per model, Ctrl-C (a real SIGINT) with a resume hint, ``--dry-run`` and the endpoint pre-flight.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from routerbench_core.data.store import Store
from routerbench_core.testing.openai_server import OpenAIServer

SUPPORT = Path(__file__).with_name("test_collect_support.py")
ENV = {**os.environ, "RBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"}


def _reply(body: dict) -> str:
    """Right for even i, off by one for odd i (as the support module's toy model)."""
    text = body["messages"][-1]["content"]
    i = int(re.match(r"q(\d+):", text).group(1))  # type: ignore[union-attr]
    return f"q{i}: {2 * i if i % 2 == 0 else 2 * i + 1}"


def _key(text: str) -> str:
    return "toyadd/" + re.search(r"q(\d+):", text).group(1)  # type: ignore[union-attr]


def _config(tmp_path: Path, url: str, n: int, run: str = "{concurrency: 8}") -> Path:
    config = tmp_path / "run.yaml"
    config.write_text(
        "models:\n"
        f"  - {{name: toy, base_url: '{url}', input_price: 1, output_price: 2, max_tokens: 100,"
        " options: {backoff_base: 0.01}}\n"
        f"datasets:\n  - {{name: toyadd, options: {{n: {n}}}}}\n"
        f"run: {run}\n"
    )
    return config


def rbench(*args: str, timeout: float = 120, env: dict[str, str] | None = None
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SUPPORT), *args], capture_output=True,
                          text=True, env={**ENV, **(env or {})}, timeout=timeout)


def _row(out: str, model: str) -> list[str]:
    for line in out.splitlines():
        cols = line.split()
        if cols[:2] == ["toyadd", model]:
            return cols
    raise AssertionError(f"no accuracy row for toyadd × {model} in:\n{out}")


def test_grade_ends_with_accuracy_failures_and_not_gradable_apart(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with OpenAIServer(reply=_reply) as server:
        server.inject("400", times=1, match="q1:")  # one failed call (never a 0)
        config = _config(tmp_path, server.url, 10)
        res = rbench("collect", "-c", str(config), "--store", str(db), "--bench", "b",
                     "--no-progress", "--no-grade")
        assert res.returncode == 1, res.stderr  # one failure
        assert "accuracy per dataset" not in res.stdout  # --no-grade: no table
        res = rbench("grade", "--bench", "b", "--store", str(db))
    assert res.returncode == 0, res.stderr
    # 9 answers graded: 0 2 4 6 8 right, 3 5 7 9 wrong; q1 failed
    assert _row(res.stdout, "toy")[2:] == ["55.6%", "9", "1", "0", "0"]

    with Store(db) as store:  # one answer becomes not gradable with the current stamp
        g = next(x for x in store.grades("b") if x.query_key == "toyadd/0")
        store.grade_writer("b")(g.model_copy(update={"score": None, "prediction": None}))
    res = rbench("grade", "--bench", "b", "--store", str(db))
    assert res.returncode == 0, res.stderr
    # the not-gradable right answer leaves the mean, it does not count as 0 (4/8, not 4/9)
    assert _row(res.stdout, "toy")[2:] == ["50.0%", "8", "1", "1", "0"]


def test_grade_flag_pair_overrides_the_config(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with OpenAIServer(reply=_reply) as server:
        config = _config(tmp_path, server.url, 4, run="{grade: false}")
        res = rbench("collect", "-c", str(config), "--store", str(db), "--no-progress",
                     "--bench", "off")
        assert res.returncode == 0, res.stderr
        assert "graded" not in res.stdout
        res = rbench("collect", "-c", str(config), "--store", str(db), "--no-progress",
                     "--bench", "on", "--grade")
    assert res.returncode == 0, res.stderr
    assert _row(res.stdout, "toy")[2:] == ["50.0%", "4", "0", "0", "0"]
    with Store(db) as store:
        assert not list(store.grades("off"))
        assert len(list(store.grades("on"))) == 4


def test_progress_draws_one_row_per_model_and_zero_failures_plain() -> None:
    from io import StringIO

    from rich.console import Console

    from routerbench_core.commands.collect import RichProgress

    bar = RichProgress(console=Console(file=StringIO(), force_terminal=True, width=120))
    bar.start(10, "model-a")
    bar.advance(4, cost=0.1, failures=0)
    bar.finish()
    bar.start(6, "model-a")  # a second round of the same model (another collector's leftovers)
    bar.advance(6, cost=0.1, failures=0)
    bar.finish()
    bar.start(3, "model-b")
    bar.advance(3, cost=0.0, failures=2)
    bar.finish()
    tasks = bar.progress.tasks
    assert [t.description for t in tasks] == ["model-a", "model-b"]
    assert (tasks[0].completed, tasks[0].total) == (10, 10)
    assert tasks[0].fields["failed"] == "0 failed"  # no red markup for zero
    assert tasks[1].fields["failed"] == "[red]2 failed"
    assert bar.running
    bar.close()
    assert not bar.running


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_exits_130_with_a_resume_hint_and_the_rerun_asks_only_the_rest(
        tmp_path: Path) -> None:
    n = 400
    db = tmp_path / "int.db"
    with OpenAIServer(reply=_reply, latency=0.02) as server:
        config = _config(tmp_path, server.url, n)
        proc = subprocess.Popen(
            [sys.executable, str(SUPPORT), "collect", "--config", str(config), "--store",
             str(db), "--bench", "r", "--no-progress", "--no-grade"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
        deadline = time.monotonic() + 60
        while server.count(path="/v1/chat/completions") < n // 3:
            if proc.poll() is not None:
                pytest.fail(f"collector exited before Ctrl-C: {proc.communicate()[1][-2000:]}")
            assert time.monotonic() < deadline, "collector made no progress"
            time.sleep(0.005)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 130, err[-2000:]
        hint = [line for line in err.splitlines() if line.startswith("interrupted:")]
        assert len(hint) == 1, err[-2000:]
        assert "Traceback" not in err
        with Store(db) as store:
            before = {r.query_key for r in store.responses("r") if r.ok}
        assert 0 < len(before) < n, "Ctrl-C came too early or too late"
        assert f"interrupted: {len(before)} answer(s) of bench 'r'" in hint[0]
        command = shlex.split(hint[0].split("again): ", 1)[1])
        assert command[1:] == [str(SUPPORT), "collect", "--config", str(config), "--store",
                               str(db), "--bench", "r", "--no-progress", "--no-grade"]
        asked_before = len(server.requests)
        res = subprocess.run(command, capture_output=True, text=True, env=ENV, timeout=120)
        assert res.returncode == 0, res.stderr[-2000:]
        phase2 = [_key(r.text) for r in server.requests[asked_before:]
                  if r.path == "/v1/chat/completions"]
    assert sorted(phase2) == sorted({f"toyadd/{i}" for i in range(n)} - before)
    assert f"{len(before)} already stored" in res.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _prompt_tokens(n: int) -> int:
    """The dry run's estimate for the toy prompts: ceil(characters / 4) + 4 per message."""
    system = -(-len("Answer with a number.") // 4) + 4
    return sum(system + -(-len(f"q{i}: what is {i} + {i}?") // 4) + 4 for i in range(n))


def test_dry_run_counts_plans_and_bounds_cost_but_sends_and_creates_nothing(
        tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with OpenAIServer(reply=_reply) as server:
        config = _config(tmp_path, server.url, 10)
        res = rbench("collect", "-c", str(config), "--store", str(db), "--dry-run")
        assert res.returncode == 0, res.stderr
        assert server.count() == 0 and not db.exists()
        bound = (_prompt_tokens(10) * 1 + 10 * 100 * 2) / 1e6
        assert (f"toy [openai]: 10 requests — 0 already stored, 0 in the cache, 10 new "
                f"(~{_prompt_tokens(10)} prompt tokens, estimated); cost at most ${bound:.4f}"
                ) in res.stdout
        assert "(does not exist yet)" in res.stdout

        (tmp_path / "six").mkdir()
        six = _config(tmp_path / "six", server.url, 6)
        res = rbench("collect", "-c", str(six), "--store", str(db), "--bench", "b",
                     "--no-progress", "--no-grade")
        assert res.returncode == 0, res.stderr
        assert server.count(path="/v1/chat/completions") == 6
        asked = server.count()  # every path: a dry run sends no endpoint check either
        before = db.read_bytes()
        res = rbench("collect", "-c", str(config), "--store", str(db), "--bench", "b",
                     "--dry-run")
        assert res.returncode == 0, res.stderr
        assert "10 requests — 6 already stored, 0 in the cache, 4 new" in res.stdout
        res = rbench("collect", "-c", str(config), "--store", str(db), "--bench", "other",
                     "--dry-run")
        assert res.returncode == 0, res.stderr
        assert "10 requests — 0 already stored, 6 in the cache, 4 new" in res.stdout
        assert server.count() == asked  # nothing sent
    assert db.read_bytes() == before  # nothing written
    with Store(db) as store:
        assert store.bench_names() == ["b"]


def test_dry_run_without_max_tokens_says_the_output_cost_has_no_bound(tmp_path: Path) -> None:
    with OpenAIServer(reply=_reply) as server:
        res = rbench("collect", "-m", "toy", "-d", "toyadd", "--base-url", server.url,
                     "--input-price", "1", "--output-price", "2", "--limit", "3",
                     "--store", str(tmp_path / "s.db"), "--dry-run")
        assert server.count() == 0
    assert res.returncode == 0, res.stderr
    assert "cost not bounded: no max_tokens" in res.stdout
    assert "the cost has no bound" in res.stdout
    assert "$0.0000 (" not in res.stdout


def test_unreachable_endpoint_fails_in_seconds_and_leaves_no_store(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    url = f"http://127.0.0.1:{_free_port()}/v1"  # nothing listens there
    config = _config(tmp_path, url, 50)
    t0 = time.monotonic()
    res = rbench("collect", "-c", str(config), "--store", str(db), "--no-progress")
    elapsed = time.monotonic() - t0
    assert res.returncode != 0
    assert "endpoint check failed before any request was sent" in res.stderr
    assert f"cannot reach {url}/models" in res.stderr
    assert "--no-preflight" in res.stderr
    assert elapsed < 20, f"took {elapsed:.1f} s"
    assert not db.exists()


def test_endpoint_check_reports_the_servers_error_and_can_be_skipped(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    with OpenAIServer(reply=_reply, api_key="right-key") as server:
        config = _config(tmp_path, server.url, 3)
        text = config.read_text().replace("max_tokens: 100,", "max_tokens: 100, "
                                          "api_key_env: TOY_KEY,")
        config.write_text(text)
        res = rbench("collect", "-c", str(config), "--store", str(db), "--no-progress",
                     env={"TOY_KEY": "wrong-key"})
        assert res.returncode != 0
        assert "HTTP 401" in res.stderr and "invalid api key" in res.stderr  # the server's words
        assert server.count(path="/v1/chat/completions") == 0  # nothing asked
        assert not db.exists()

        res = rbench("collect", "-c", str(config), "--store", str(db), "--no-progress",
                     env={"TOY_KEY": "right-key"})
        assert res.returncode == 0, res.stderr  # the check passes against a healthy server
        assert server.count(path="/v1/models") == 2
        assert server.count(path="/v1/chat/completions") == 3

        res = rbench("collect", "-c", str(config), "--store", str(db), "--no-progress",
                     "--no-preflight", "--refresh", "--no-grade", env={"TOY_KEY": "right-key"})
        assert res.returncode == 0, res.stderr
        assert server.count(path="/v1/models") == 2  # skipped


def test_models_on_different_endpoints_run_concurrently_same_endpoint_in_turn(
        tmp_path: Path) -> None:
    from routerbench_core.collection.collector import collect
    from routerbench_core.collection.runconfig import parse_run_config

    spec = importlib.util.spec_from_file_location("rbench_test_collect_support", SUPPORT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def model(name: str, url: str, api: str) -> dict:
        return {"name": name, "api_model": api, "base_url": url, "input_price": 1,
                "output_price": 1}

    with OpenAIServer(reply=_reply, latency=0.05) as one, \
            OpenAIServer(reply=_reply, latency=0.05) as two:
        cfg = parse_run_config({
            "models": [model("a1", one.url, "x1"), model("a2", one.url, "x2"),
                       model("b", two.url, "y")],
            "datasets": [{"name": "toyadd", "options": {"n": 12}}],
            "run": {"bench": "c", "concurrency": 2},
        })
        with Store(tmp_path / "c.db") as store:
            report = collect(cfg, module.make_host(), store)
            assert len(list(store.responses("c"))) == 36
        at = {m: [r.received_at for r in server.requests if r.body.get("model") == m]
              for server, names in ((one, ("x1", "x2")), (two, ("y",))) for m in names}
    assert [m.asked for m in report.models] == [12, 12, 12]
    assert [m.model for m in report.models] == ["a1", "a2", "b"]  # config order
    # b (its own endpoint) ran while a1 was being asked: overlapping, not after both a's
    assert min(at["y"]) < max(at["x1"])
    # a1 and a2 share one endpoint and its limit: a2 starts after a1's last request
    assert max(at["x1"]) <= min(at["x2"])


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child is POSIX")
def test_ctrl_c_while_grading_exits_130_and_the_rerun_grades_only_the_rest(
        tmp_path: Path) -> None:
    import sqlite3

    n = 200
    db = tmp_path / "g.db"
    with OpenAIServer(reply=_reply) as server:
        config = tmp_path / "run.yaml"
        config.write_text(
            f"models:\n  - {{name: toy, base_url: '{server.url}', input_price: 1, "
            "output_price: 1}\n"
            f"datasets:\n  - {{name: toyadd, options: {{n: {n}, grade_delay: 0.02}}}}\n")
        res = rbench("collect", "-c", str(config), "--store", str(db), "--bench", "g",
                     "--no-progress", "--no-grade")
        assert res.returncode == 0, res.stderr

    def graded() -> int:
        try:
            with sqlite3.connect(db, timeout=0.05) as c:
                return int(c.execute("SELECT COUNT(*) FROM grades").fetchone()[0])
        except sqlite3.Error:
            return 0

    args = ["grade", "--bench", "g", "--store", str(db)]
    proc = subprocess.Popen([sys.executable, str(SUPPORT), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)
    deadline = time.monotonic() + 60
    while graded() < n // 4:
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "grading made no progress"
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err[-2000:]
    kept = graded()
    assert 0 < kept < n
    hint = [line for line in err.splitlines() if line.startswith("interrupted:")]
    assert len(hint) == 1 and f"interrupted: {kept} grade(s) of bench 'g'" in hint[0], err
    assert hint[0].endswith(shlex.join(args))
    res = rbench(*args)
    assert res.returncode == 0, res.stderr
    assert f"graded {n - kept} answer(s) in bench 'g' ({kept} already graded" in res.stdout
