"""OpenRouter router against the loopback OpenAI-protocol server (never the real service)."""

from __future__ import annotations

import numpy as np
import pytest
from rbench_router_openrouter.router import OpenRouterRouter

from routerbench_core import Grade, ModelSpec, Query, Response, RouterError
from routerbench_core.testing import Evaluator, Store
from routerbench_core.testing.openai_server import OpenAIServer

N = 30


@pytest.fixture()
def store_path(tmp_path):
    """A bench of MATH-500-style items: even ones ask 2+2, odd ones 3+3; two pool models."""
    path = tmp_path / "rbench.db"
    store = Store(path)
    queries = [Query(dataset="math500", id=str(i),
                     text=f"Problem {i}: what is {'2+2' if i % 2 == 0 else '3+3'}?",
                     ground_truth="4" if i % 2 == 0 else "6") for i in range(N)]
    with store.transaction() as conn:
        store.create_bench("mini", source="test", conn=conn)
        store.add_models("mini", [ModelSpec(name="a", input_price=1, output_price=1),
                                  ModelSpec(name="b", input_price=2, output_price=2)], conn=conn)
        store.add_queries("mini", queries, conn=conn)
    store.put_responses("mini", [Response(query_key=q.key, model=m, raw_output="x", cost=c)
                                 for q in queries for m, c in (("a", 0.001), ("b", 0.002))])
    store.put_grades("mini", [Grade(query_key=q.key, model=m, score=s, grader="t",
                                    grader_version="1")
                              for i, q in enumerate(queries)
                              for m, s in (("a", float(i % 2)), ("b", 1.0))])
    store.close()
    return path


def _answer(body):
    last = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
    return "The sum is \\boxed{4}." if "2+2" in last else "I think \\boxed{5}."


def _evaluator(store_path):
    store = Store(store_path)
    try:
        matrix = store.load_matrix("mini")
    finally:
        store.close()
    return Evaluator(matrix, seeds=[42], setting="perf-cost")


def _needs_online_plugins():
    pytest.importorskip("rbench_backend_openai", reason="online mode needs rbench-backend-openai")
    pytest.importorskip("rbench_dataset_math500", reason="the test grades with rbench-dataset-math500")


def test_online_records_chosen_model_cost_and_grades_then_replays(store_path):
    _needs_online_plugins()
    ev = _evaluator(store_path)
    test_keys = ev.matrix.keys[ev.split(42).test].tolist()
    with OpenAIServer(model_field="anthropic/claude-sonnet-x", cost_per_token=1e-6,
                      reply=_answer, api_key="secret") as server:
        run = ev.run(OpenRouterRouter, name="openrouter", params={
            "mode": "online", "base_url": server.url, "api_key": "secret",
            "store": str(store_path), "max_retries": 0})
        assert server.count() == len(test_keys)  # one call per test query, nothing else
        bodies = [r.body for r in server.requests]
    assert {b["model"] for b in bodies} == {"openrouter/auto"}
    point = run.seeds[0].points[0]
    even = np.array([int(k.split("/")[1]) % 2 == 0 for k in test_keys])
    # graded by the math500 grader: right exactly on the 2+2 items
    assert point.avg_acc == pytest.approx(even.mean())
    assert point.cost > 0 and point.n_missing_cost == 0
    d = run.seeds[0].describe
    assert d["chosen_models"] == {"anthropic/claude-sonnet-x": len(test_keys)}
    assert d["saved_to"] == "mini-openrouter"
    # the recorded answers replay without any call, to the same figures
    replay = ev.run(OpenRouterRouter, name="openrouter", params={"store": str(store_path)})
    rp = replay.seeds[0].points[0]
    assert rp.avg_acc == pytest.approx(point.avg_acc) and rp.cost == pytest.approx(point.cost)
    # and the replay bench never entered the pool of the routed bench
    assert ev.matrix.models == ["a", "b"]


def test_failed_calls_are_failures_not_zero_cost(store_path):
    _needs_online_plugins()
    ev = _evaluator(store_path)
    with OpenAIServer(model_field="x/y", cost_per_token=1e-6, reply=_answer) as server:
        server.inject("400", times=1000)
        run = ev.run(OpenRouterRouter, name="openrouter", params={
            "mode": "online", "base_url": server.url, "api_key": "k",
            "store": str(store_path), "max_retries": 0, "save": False})
    point = run.seeds[0].points[0]
    n_test = len(ev.split(42).test)
    assert point.n_missing_choice == n_test and point.n_missing_cost == n_test
    assert run.seeds[0].describe["n_failed"] == n_test


def test_replay_errors_name_what_to_do(store_path):
    ev = _evaluator(store_path)
    with pytest.raises(RouterError, match="mini-openrouter"):
        ev.run(OpenRouterRouter, name="openrouter", params={"store": str(store_path)})
    with pytest.raises(RouterError, match="mode"):
        OpenRouterRouter(ev.context(42), mode="magic")
