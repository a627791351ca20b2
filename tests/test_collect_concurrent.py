"""Two identical ``rbench collect`` processes on one store pay once.

Real processes, a real loopback server counting every request, one store file: each request
is claimed in the store (a lease) before it is sent, so the second collector asks only what
the first has not claimed, waits for the rest and takes those answers from the cache.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from routerbench_core.data.store import Store
from routerbench_core.testing.openai_server import OpenAIServer

SUPPORT = Path(__file__).with_name("test_collect_support.py")
N = 300


def _reply(body: dict) -> str:
    i = int(re.match(r"q(\d+):", body["messages"][-1]["content"]).group(1))  # type: ignore[union-attr]
    return f"q{i}: {2 * i}"


def _collect(config: Path, db: Path, bench: str, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(SUPPORT), "collect", "--config", str(config), "--store", str(db),
         "--bench", bench, "--no-progress", "--no-grade", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "RBENCH_DISABLE_PLUGIN_AUTOLOAD": "1"},
    )


def _config(tmp_path: Path, url: str) -> Path:
    config = tmp_path / "run.yaml"
    config.write_text(
        f"models:\n  - {{name: toy, base_url: '{url}', input_price: 1, output_price: 1}}\n"
        f"datasets:\n  - {{name: toyadd, options: {{n: {N}}}}}\nrun: {{concurrency: 8}}\n"
    )
    return config


def _run_pair(tmp_path: Path, benches: tuple[str, str], *extra: str, before: bool = False,
              latency: float = 0.01) -> tuple[OpenAIServer, list[str]]:
    db = tmp_path / "shared.db"
    delay = {"s": 0.005 if before else latency}
    with OpenAIServer(reply=_reply, latency_fn=lambda body: delay["s"]) as server:
        config = _config(tmp_path, server.url)
        if before:  # a finished run first (fast), so everything is cached
            assert _collect(config, db, benches[0]).wait(120) == 0
            server.reset()
            delay["s"] = latency
        procs = [_collect(config, db, b, *extra) for b in benches]
        outs = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err.decode()[-2000:]
            outs.append(out.decode())
    return server, outs


def test_two_identical_collects_send_each_request_once(tmp_path: Path) -> None:
    server, outs = _run_pair(tmp_path, ("same", "same"))
    sent = Counter(r.text.split("\n")[-1] for r in server.requests)
    assert len(sent) == N, f"expected every query asked, got {len(sent)}"
    twice = [k for k, n in sent.items() if n > 1]
    assert not twice, f"{len(twice)} requests were sent by both collectors, e.g. {twice[:3]}"
    with Store(tmp_path / "shared.db") as store:
        rows = list(store.responses("same"))
        assert store.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0
    assert len(rows) == N and all(r.ok for r in rows)
    assert len({r.query_key for r in rows}) == N


def test_two_collects_into_different_benches_share_the_answers(tmp_path: Path) -> None:
    server, outs = _run_pair(tmp_path, ("a", "b"))
    assert server.count() == N
    with Store(tmp_path / "shared.db") as store:
        a = {r.query_key: r.raw_output for r in store.responses("a")}
        b = {r.query_key: r.raw_output for r in store.responses("b")}
    assert len(a) == N and a == b


def test_two_concurrent_refresh_runs_ask_each_request_once(tmp_path: Path) -> None:
    # slow answers (300 × 80 ms / 8 ≈ 3 s of work), so the two runs surely overlap: a refresh
    # that starts after another has finished asks everything again, as it should
    server, outs = _run_pair(tmp_path, ("same", "same"), "--refresh", before=True,
                             latency=0.08)
    sent = Counter(r.text.split("\n")[-1] for r in server.requests)
    assert len(sent) == N and max(sent.values()) == 1
