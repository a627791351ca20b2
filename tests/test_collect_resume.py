"""Kill a real ``rbench collect`` process mid-run (SIGKILL) over real HTTP, then resume.

Checks the promise of the collector: nothing that was stored is asked again, nothing is lost,
nothing is duplicated — counted at the server, which sees every request.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from routerbench_core.data.store import Store
from routerbench_core.testing.openai_server import OpenAIServer

SUPPORT = Path(__file__).with_name("test_collect_support.py")
N = 600


def _reply(body: dict) -> str:
    text = body["messages"][-1]["content"]
    i = int(re.match(r"q(\d+):", text).group(1))  # type: ignore[union-attr]
    return f"q{i}: {2 * i}"


def _key(text: str) -> str:
    return "toyadd/" + re.search(r"q(\d+):", text).group(1)  # type: ignore[union-attr]


def _run(config: Path, db: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(SUPPORT), "collect", "--config", str(config), "--store", str(db),
         "--bench", "r", "--no-progress", "--no-grade"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "RBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_run_then_resume_asks_only_what_was_not_stored(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    with OpenAIServer(reply=_reply, latency=0.02) as server:
        config = tmp_path / "run.yaml"
        config.write_text(
            "models:\n"
            f"  - {{name: toy, base_url: '{server.url}', input_price: 1, output_price: 1}}\n"
            f"datasets:\n  - {{name: toyadd, options: {{n: {N}}}}}\n"
            "run: {concurrency: 8}\n"
        )
        proc = _run(config, db)
        deadline = time.monotonic() + 60
        while server.count() < N // 3:
            if proc.poll() is not None:
                out, err = proc.communicate()
                pytest.fail(f"collector exited before the kill: {err.decode()[-2000:]}")
            assert time.monotonic() < deadline, "collector made no progress"
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        assert proc.returncode == -signal.SIGKILL

        phase1 = list(server.requests)
        chat1 = [r for r in phase1 if r.path.endswith("/chat/completions")]
        answered_by_server = {_key(r.text) for r in chat1 if r.outcome == "ok"}
        with Store(db) as store:
            before = {r.query_key: r for r in store.responses("r")}
        assert before, "nothing was stored before the kill: the test killed too early"
        assert len(before) < N, "everything finished before the kill: the test killed too late"
        assert set(before) <= answered_by_server
        assert all(r.ok for r in before.values())

        proc = _run(config, db)
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()[-2000:]
        phase2 = [_key(r.text) for r in server.requests[len(phase1):]
                  if r.path.endswith("/chat/completions")]

    assert not set(phase2) & set(before), "a stored answer was asked again"
    assert len(phase2) == len(set(phase2)), "a request was sent twice in the resumed run"
    assert set(phase2) == {f"toyadd/{i}" for i in range(N)} - set(before)
    with Store(db) as store:
        after = {r.query_key: r for r in store.responses("r")}
        rows = store.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    assert rows == N and len(after) == N
    for key, r in after.items():
        i = int(key.split("/")[1])
        assert r.ok and r.raw_output == f"q{i}: {2 * i}", key
    for key, r in before.items():  # stored answers survived untouched
        assert after[key].created_at == r.created_at
        assert after[key].request_hash == r.request_hash
    assert f"{len(before)} already stored" in out.decode()
