"""`rbench grade --judge-model ...` grades judged datasets through a real OpenAI-protocol judge on
loopback HTTP; a regrade is answered from the store's cache; without a judge the answers stay
ungraded (never 0)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from routerbench_core.data.store import Store
from routerbench_core.schema import ModelSpec, Query, Response
from routerbench_core.testing import CliResult, run_cli

pytest.importorskip("rbench_backend_openai")
pytest.importorskip("rbench_dataset_simpleqa")


def judge_reply(body: dict) -> str:
    user = body["messages"][-1]["content"]
    gold = re.search(r"Gold target: (.*?)\n\nPredicted answer:", user, re.S).group(1).strip()
    pred = re.search(r"Predicted answer: (.*?)\n\nGrade the", user, re.S).group(1)
    return "Verdict: " + ("CORRECT" if gold.lower() in pred.lower() else "INCORRECT")


def _rbench(store: Path, *args: str) -> CliResult:
    return run_cli("--store", store, *args,
                   env={k: None for k in os.environ if k.startswith("OPENAI_")})


def test_grade_with_a_judge_over_loopback(tmp_path: Path) -> None:
    from routerbench_core.testing.openai_server import OpenAIServer

    db = tmp_path / "rbench.db"
    queries = [
        Query(dataset="simpleqa", id="0", text="Capital of Australia?", ground_truth="Canberra"),
        Query(dataset="simpleqa", id="1", text="Capital of France?", ground_truth="Paris"),
    ]
    with Store(db) as store:
        bench_id = store.ensure_bench("judged")
        with store.transaction() as conn:
            store.add_models(bench_id, [ModelSpec(name="m", input_price=1, output_price=1)],
                             conn=conn)
            store.add_queries(bench_id, queries, conn=conn)
        store.put_responses("judged", [
            Response(query_key="simpleqa/0", model="m", raw_output="It is Canberra."),
            Response(query_key="simpleqa/1", model="m", raw_output="Lyon"),
        ])

    without = _rbench(db, "grade", "--bench", "judged")
    assert without.returncode == 1, without.stdout + without.stderr
    assert "--judge-model" in without.stdout
    with Store(db) as store:
        assert list(store.grades("judged")) == [], "no judge: answers stay ungraded, never 0"

    with OpenAIServer(reply=judge_reply) as server:
        args = ["grade", "--bench", "judged", "--judge-model", "judge-1",
                "--judge-base-url", server.url, "--judge-input-price", "0.1",
                "--judge-output-price", "0.4"]
        first = _rbench(db, *args)
        assert first.returncode == 0, first.stdout + first.stderr
        calls = len(server.requests)
        assert calls == 2
        again = _rbench(db, *args, "--regrade")
        assert again.returncode == 0, again.stdout + again.stderr
        assert len(server.requests) == calls, "a regrade must be answered from the judge cache"

    with Store(db) as store:
        grades = {g.query_key: g for g in store.grades("judged")}
    assert grades["simpleqa/0"].score == 1.0 and grades["simpleqa/1"].score == 0.0
    assert "simpleqa@" in grades["simpleqa/0"].grader_version
