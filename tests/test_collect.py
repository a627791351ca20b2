"""The collector over real HTTP: cache, refresh, failures, cost, pricing, grading hook-in."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from routerbench_core.collection.collector import CollectError, collect
from routerbench_core.collection.runconfig import parse_run_config
from routerbench_core.data.store import Store
from routerbench_core.scoring.grading import collect_and_grade
from routerbench_core.testing.openai_server import OpenAIServer

_spec = importlib.util.spec_from_file_location(
    "rbench_test_collect_support", Path(__file__).with_name("test_collect_support.py")
)
assert _spec and _spec.loader
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)


def config(server: OpenAIServer, n: int = 20, **run: Any) -> Any:
    model: dict[str, Any] = {"name": "toy-model", "api_model": "vendor/toy", "base_url": server.url,
                             "temperature": 0.0, "max_tokens": 64, "input_price": 1.0,
                             "output_price": 2.0, "options": {"backoff_base": 0.01}}
    model.update(run.pop("model", {}))
    return parse_run_config({
        "models": [model],
        "datasets": [{"name": "toyadd", "options": {"n": n}}],
        "run": {"bench": "b", "concurrency": 8, **run},
    })


@pytest.fixture
def server() -> Any:
    with OpenAIServer(reply=support.toy_reply) as s:
        yield s


@pytest.fixture
def host() -> Any:
    return support.make_host()


def test_collect_stores_answers_costs_and_grades(server, host, rbench_store: Store) -> None:
    report = collect_and_grade(config(server), host, rbench_store)
    assert server.count(path="/v1/chat/completions") == 20
    assert report.asked == 20 and report.failed == 0
    responses = list(rbench_store.responses("b"))
    assert len(responses) == 20
    r = next(x for x in responses if x.query_key == "toyadd/3")
    assert r.raw_output == "q3: 7"
    # prompt: "Answer with a number." (4 words) + "q3: what is 3 + 3?" (6) ; completion 2 words
    assert (r.prompt_tokens, r.completion_tokens) == (10, 2)
    assert r.cost == pytest.approx((10 * 1.0 + 2 * 2.0) / 1e6)
    assert r.cost_source == "priced"
    assert report.spend == pytest.approx(sum(x.cost for x in responses))
    assert server.requests[0].body["model"] == "vendor/toy"
    assert server.requests[0].body["temperature"] == 0.0
    matrix = rbench_store.load_matrix("b")
    assert matrix.score.shape == (20, 1)
    assert float(matrix.score.mean()) == pytest.approx(0.5)  # even i right, odd i wrong
    assert report.grading is not None and report.grading.graded == 20


def test_cached_rerun_of_2000_requests_makes_zero_http_calls(server, host, tmp_path) -> None:
    with Store(tmp_path / "s.db") as store:
        first = collect(config(server, n=2000, concurrency=64, grade=False), host, store)
        assert first.asked == 2000
        assert server.count() == 2000
        # same bench: everything is already stored
        again = collect(config(server, n=2000, concurrency=64, grade=False), host, store)
        assert again.models[0].already_done == 2000
        # a new bench: every answer comes from the request cache
        fresh = collect(config(server, n=2000, concurrency=64, grade=False, bench="other"),
                        host, store)
        assert fresh.models[0].from_cache == 2000 and fresh.asked == 0
        assert server.count() == 2000  # zero HTTP calls in the two re-runs
        a = {r.query_key: r.raw_output for r in store.responses("b")}
        b = {r.query_key: r.raw_output for r in store.responses("other")}
        assert a == b and len(b) == 2000
        assert all(r.metadata.get("from_cache") for r in store.responses("other"))


def test_changed_sampling_params_miss_the_cache_but_timeouts_do_not(server, host,
                                                                     rbench_store) -> None:
    collect(config(server, n=5), host, rbench_store)
    collect(config(server, n=5, model={"options": {"backoff_base": 0.01}, "timeout": 99}),
            host, rbench_store)
    assert server.count() == 5  # timeout is not an output-changing parameter
    collect(config(server, n=5, model={"temperature": 0.7}), host, rbench_store)
    assert server.count() == 10
    collect(config(server, n=5, model={"extra_body": {"usage": {"include": True}},
                                       "temperature": 0.7}), host, rbench_store)
    assert server.count() == 10  # OpenRouter's usage flag does not change answers
    collect(config(server, n=5, model={"extra_body": {"provider": {"only": ["x"]}},
                                       "temperature": 0.7}), host, rbench_store)
    assert server.count() == 15  # provider routing does
    assert server.requests[-1].body["provider"] == {"only": ["x"]}


def test_refresh_asks_again_and_replaces(server, host, rbench_store) -> None:
    collect_and_grade(config(server, n=6), host, rbench_store)
    server.reply = lambda body: "changed 0"
    report = collect_and_grade(config(server, n=6, refresh=True), host, rbench_store)
    assert server.count() == 12 and report.asked == 6
    assert {r.raw_output for r in rbench_store.responses("b")} == {"changed 0"}
    # grades follow the new answers (q0 expects 0: right; the rest wrong)
    scores = {g.query_key: g.score for g in rbench_store.grades("b")}
    assert scores["toyadd/0"] == 1.0 and scores["toyadd/2"] == 0.0


def test_failures_are_recorded_not_scored_and_retried_next_run(server, host,
                                                               rbench_store) -> None:
    server.inject("400", match="q1:")
    server.inject("malformed", match="q2:")
    report = collect_and_grade(config(server, n=5), host, rbench_store)
    assert report.failed == 2
    by_key = {r.query_key: r for r in rbench_store.responses("b")}
    assert "HTTP 400" in by_key["toyadd/1"].error
    assert "malformed" in by_key["toyadd/2"].error
    assert by_key["toyadd/1"].cost is None
    grades = {g.query_key for g in rbench_store.grades("b")}
    assert grades == {"toyadd/0", "toyadd/3", "toyadd/4"}  # failures never graded
    matrix = rbench_store.load_matrix("b")
    assert matrix.failed.sum() == 2
    assert not rbench_store.cache_hashes([r.request_hash for r in by_key.values()
                                          if r.error]), "failures must not be cached"
    # next run asks only the two failed ones, and they succeed now
    report2 = collect_and_grade(config(server, n=5), host, rbench_store)
    assert report2.asked == 2 and report2.failed == 0
    assert server.count() == 7
    assert all(r.ok for r in rbench_store.responses("b"))
    assert len(list(rbench_store.grades("b"))) == 5


def test_retries_429_and_500_over_http(server, host, rbench_store) -> None:
    server.inject("429", match="q0:", times=2, retry_after=0)
    server.inject("500", match="q1:")
    server.inject("disconnect", match="q2:")
    report = collect(config(server, n=3), host, rbench_store)
    assert report.failed == 0
    assert server.count("q0:") == 3 and server.count("q1:") == 2 and server.count("q2:") == 2
    attempts = {r.query_key: r.metadata["attempts"] for r in rbench_store.responses("b")}
    assert attempts == {"toyadd/0": 3, "toyadd/1": 2, "toyadd/2": 2}


def test_reported_cost_reasoning_and_cached_tokens(host, rbench_store) -> None:
    with OpenAIServer(reply=support.toy_reply, cost_per_token=1e-5, reasoning_tokens=7,
                      cached_tokens=4, model_field="routed/model-x") as s:
        collect(config(s, n=2), host, rbench_store)
    r = next(iter(rbench_store.responses("b")))
    assert r.cost_source == "reported"
    assert r.cost == pytest.approx((r.prompt_tokens + r.completion_tokens) * 1e-5)
    assert r.reasoning_tokens == 7 and r.cached_tokens == 4
    assert r.completion_tokens == 2 + 7
    assert r.metadata["response_model"] == "routed/model-x"


def test_unpriced_model_is_an_error_before_any_call(server, host, rbench_store) -> None:
    cfg = config(server, n=3, model={"input_price": None, "output_price": None})
    with pytest.raises(CollectError, match="no price.*--allow-unpriced"):
        collect(cfg, host, rbench_store)
    assert server.count() == 0
    assert rbench_store.bench_names() == []


def test_allow_unpriced_keeps_cost_unknown_not_zero(server, host, rbench_store) -> None:
    cfg = config(server, n=3, allow_unpriced=True,
                 model={"input_price": None, "output_price": None})
    report = collect(cfg, host, rbench_store)
    assert report.models[0].unknown_cost == 3
    assert all(r.cost is None and r.ok for r in rbench_store.responses("b"))


def test_free_model_costs_zero_stated(server, host, rbench_store) -> None:
    cfg = config(server, n=2, model={"input_price": None, "output_price": None, "free": True})
    report = collect(cfg, host, rbench_store)
    assert {(r.cost, r.cost_source) for r in rbench_store.responses("b")} == {(0.0, "free")}
    assert report.models[0].cost_note.startswith("free: recorded as $0")
    assert rbench_store.bench_metadata("b")["cost_notes"]["toy-model"].startswith("free")


def test_unknown_dataset_and_backend_name_the_key(server, host, rbench_store) -> None:
    cfg = parse_run_config({"models": [{"name": "m", "base_url": server.url, "input_price": 1,
                                        "output_price": 1}],
                            "datasets": [{"name": "toyad"}]})
    with pytest.raises(CollectError, match=r"datasets\[0\].name.*Did you mean toyadd"):
        collect(cfg, host, rbench_store)
    cfg = parse_run_config({"models": [{"name": "m", "backend": "opena", "input_price": 1,
                                        "output_price": 1}],
                            "datasets": [{"name": "toyadd"}]})
    with pytest.raises(CollectError, match=r"models\[0\].backend.*Did you mean openai"):
        collect(cfg, host, rbench_store)
    assert server.count() == 0


def test_cli_collect_and_grade(server, tmp_path, capsys) -> None:
    db = tmp_path / "cli.db"
    cfg = tmp_path / "run.yaml"
    cfg.write_text(
        "models:\n"
        f"  - name: toy\n    api_model_name: vendor/toy\n    base_url: {server.url}\n"
        "    pricing: {prompt_price_per_million: 0.5, completion_price_per_million: 1.5}\n"
        "datasets:\n  - dataset_id: toyadd\n    splits: [test]\n"
        "run:\n  concurrency: 4\n  demo_mode: true\n  demo_limit: 7\n"
    )
    support.run_cli(["collect", "--config", str(cfg), "--store", str(db), "--bench", "cli",
                     "--no-progress"])
    out = capsys.readouterr().out
    assert "7 asked, 0 failed" in out and "graded 7 answer(s)" in out
    with Store(db) as store:
        qs = store.queries("cli")
        assert len(qs) == 7 and {q.source_split for q in qs} == {"test"}
        assert qs[0].messages[0]["role"] == "system"
        specs = store.models("cli")
        assert specs[0].input_price == 0.5 and specs[0].model_extra["api_model"] == "vendor/toy"
    support.run_cli(["grade", "--store", str(db), "--bench", "cli"])
    assert "graded 0 answer(s)" in capsys.readouterr().out
    support.run_cli(["grade", "--store", str(db), "--bench", "cli", "--regrade"])
    assert "graded 7 answer(s)" in capsys.readouterr().out
    assert server.count() == 7


def test_cli_bad_config_names_the_key(tmp_path, capsys) -> None:
    cfg = tmp_path / "run.yaml"
    cfg.write_text("models:\n  - name: a\n    temprature: 0.2\ndatasets: [{name: toyadd}]\n")
    with pytest.raises(SystemExit) as exc:
        support.run_cli(["collect", "--config", str(cfg), "--store", str(tmp_path / "x.db")])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "models[0].temprature" in err and "unknown key" in err


def test_missing_api_key_variable_is_a_clear_cli_error(server, tmp_path, capsys,
                                                        monkeypatch) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    with pytest.raises(SystemExit) as exc:
        support.run_cli(["collect", "--model", "m", "--base-url", server.url, "--api-key-env",
                         "NO_SUCH_KEY_VAR", "--input-price", "1", "--output-price", "1",
                         "--dataset", "toyadd", "--store", str(tmp_path / "k.db")])
    assert exc.value.code == 2
    assert "NO_SUCH_KEY_VAR is not set" in capsys.readouterr().err
    assert server.count() == 0


def test_rich_progress_tracks_rate_spend_and_failures() -> None:
    from routerbench_core.commands.collect import RichProgress

    progress = RichProgress()
    progress.start(10, "m")
    progress.advance(4, cost=0.25, failures=1)
    progress.advance(2, cost=0.5, failures=0)
    task = progress.progress.tasks[-1]
    progress.finish()
    assert task.completed == 6 and task.total == 10
    assert task.fields["spend"] == pytest.approx(0.75) and task.fields["failures"] == 1
    assert task.fields["rate"].endswith("req/s")


def test_loopback_server_runs_as_a_process() -> None:
    import json
    import subprocess
    import sys
    import urllib.request

    proc = subprocess.Popen([sys.executable, "-m", "routerbench_core.testing.openai_server",
                             "--latency", "0", "--model-field", "picked", "--cost-per-token",
                             "0.5"], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        body = json.dumps({"model": "x", "messages": [{"role": "user", "content": "a b"}]})
        request = urllib.request.Request(url + "/chat/completions", data=body.encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as r:
            data = json.loads(r.read())
        assert data["model"] == "picked" and data["choices"][0]["message"]["content"] == "echo: a b"
        assert data["usage"]["cost"] == pytest.approx((2 + 3) * 0.5)
    finally:
        proc.terminate()
        proc.wait(10)


def test_changed_prompt_is_asked_again_and_stored(server, host, rbench_store) -> None:
    """A dataset whose prompt builder changed: the new prompt misses the cache, is sent, and
    the stored query messages become the prompt that was actually sent."""
    collect(config(server, n=4), host, rbench_store)
    before = {q.key: q.messages for q in rbench_store.queries("b")}
    assert before["toyadd/1"][0]["content"] == "Answer with a number."

    toy = host.load("dataset", "toyadd")
    original = toy.build_messages

    def terse(self, query):  # noqa: ANN001, ANN202
        return [{"role": "user", "content": query.text + " Reply with digits only."}]

    toy.build_messages = terse
    try:
        report = collect(config(server, n=4), host, rbench_store)
    finally:
        toy.build_messages = original
    assert report.asked == 4 and server.count() == 8
    after = {q.key: q.messages for q in rbench_store.queries("b")}
    assert after["toyadd/1"] == [{"role": "user",
                                  "content": "q1: what is 1 + 1? Reply with digits only."}]
    sent = {r.body["messages"][0]["content"] for r in server.requests[4:]}
    assert sent == {m[0]["content"] for m in after.values()}
