"""`rbench train` + `rbench serve` done-when checks, on loopback only.

Routers are fitted on the real nim9 bench (shared data; skipped without it) with the hashing
embedder, saved, loaded and served; the official ``openai`` SDK talks to the server, and the
pool models are a stub OpenAI-compatible upstream (routerbench_core.testing.openai_server).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from routerbench_core.data.importers import import_bench
from routerbench_core.data.store import Store
from routerbench_core.embedding.hashing import HashingEmbedder
from routerbench_core.plugins.manager import make_plugin_manager
from routerbench_core.routing.evaluate import Evaluator
from routerbench_core.serving.artefact import (
    ArtefactError,
    EmbedderInfo,
    load_artefact,
    read_meta,
    save_artefact,
)
from routerbench_core.serving.config import ServeConfigError, load_config
from routerbench_core.serving.server import RouterServer, ServeError, build_server
from routerbench_core.serving.train import train_artefact
from routerbench_core.testing import shared_data_dir
from routerbench_core.testing.openai_server import OpenAIServer

openai = pytest.importorskip("openai")

ROUTERS = {  # name -> (setting, params): one neural router, kept short
    "avengers": ("perf", {"k": 20, "top_k": 3, "beta": 9.0}),
    "avengers-pro": ("perf-cost", {"k": 20}),
    "embedllm": ("perf", {"max_steps": 150, "eval_every": 50}),
}
QUESTION = "What is the derivative of x squared with respect to x? Show the steps."


@pytest.fixture(scope="module")
def nim9(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = shared_data_dir()
    if data is None or not (data / "llmrouter-nim9").is_dir():
        pytest.skip("shared data llmrouter-nim9 not found (set RBENCH_SHARED_DATA)")
    base = tmp_path_factory.mktemp("serve")
    store = Store(base / "rbench.db")
    import_bench(store, "llmrouter", data / "llmrouter-nim9", "nim9")
    matrix = store.load_matrix("nim9")
    host = make_plugin_manager()
    emb = HashingEmbedder()
    info = EmbedderInfo(name="hashing", cache_id=emb.cache_id)
    artefacts: dict[str, Path] = {}
    for name, (setting, params) in ROUTERS.items():
        ev = Evaluator(matrix, setting=setting, seeds=[42], embedder=emb, store=store)  # type: ignore[arg-type]
        extra = {"target_share": 0.3, "share_model_name": "llama3-chatqa-1.5-70b"} \
            if setting == "perf-cost" else {}
        router, meta = train_artefact(ev, host, name, params, 42, embedder=info, **extra)
        artefacts[name] = save_artefact(base / name, meta, router)
    yield {"store": store, "matrix": matrix, "host": host, "artefacts": artefacts, "base": base}
    store.close()


@pytest.fixture
def upstream() -> OpenAIServer:
    with OpenAIServer(latency=0.0, hang_s=3.0) as server:
        yield server


def config(matrix: Any, url: str, **extra: Any) -> Any:
    return load_config(None, {"models": {m: {"base_url": url} for m in matrix.models}, **extra})


def serve(nim9: dict[str, Any], name: str, upstream: OpenAIServer, *, api_key: str | None = None,
          **extra: Any) -> RouterServer:
    cfg = config(nim9["matrix"], upstream.url, **extra)
    return build_server(str(nim9["artefacts"][name]), cfg, nim9["store"], nim9["host"], port=0,
                        api_key=api_key)


def client(server: RouterServer, key: str = "unused") -> Any:
    return openai.OpenAI(base_url=server.url, api_key=key, max_retries=0, timeout=30)


def served_since(store: Store, t0: float) -> list[dict[str, Any]]:
    return [r for r in store.served() if r["created_at"] >= t0]


# -- artefacts -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ROUTERS))
def test_artefact_round_trip_routes_identically(nim9: dict[str, Any], name: str) -> None:
    """The loaded router decides exactly as the fitted one on every test query and point."""
    path = nim9["artefacts"][name]
    meta = read_meta(path)
    assert meta.router == name and meta.bench.name == "nim9"
    assert len(meta.bench.fingerprint) == 64
    assert [m.name for m in meta.models] == list(nim9["matrix"].models)
    assert all(m.priced for m in meta.models), "the pool's prices travel with the artefact"
    assert meta.embedder is not None and meta.embedder.name == "hashing"
    default = meta.point(meta.default_point)
    assert default.test is not None and 0.3 < (default.test.avg_acc or 0) < 1.0
    assert sorted(p.name for p in path.iterdir()) == ["arrays.npz", "artefact.json", "state.json"]
    setting, params = ROUTERS[name]
    ev = Evaluator(nim9["matrix"], setting=setting, seeds=[42], embedder=HashingEmbedder(),  # type: ignore[arg-type]
                   store=nim9["store"])
    fresh, _ = train_artefact(ev, nim9["host"], name, params, 42, embedder=meta.embedder)
    loaded = load_artefact(path, nim9["host"]).router
    _, _, test = ev.views(42)
    for cfg in [None, *meta.sweep]:
        np.testing.assert_array_equal(fresh.route(test, cfg).choice, loaded.route(test, cfg).choice)


def test_calibration_meets_target_share_on_validation(nim9: dict[str, Any]) -> None:
    meta = read_meta(nim9["artefacts"]["avengers-pro"])
    cal = meta.calibration
    assert cal is not None and cal.target == "share" and meta.default_point == "calibrated"
    point = meta.point("calibrated")
    assert point.valid is not None and point.config is not None
    share = point.valid.distribution["llama3-chatqa-1.5-70b"]
    assert share == pytest.approx(cal.achieved_valid) and share <= 0.3
    # it is the largest share within the target among the swept points
    shares = [p.valid.distribution["llama3-chatqa-1.5-70b"] for p in meta.points
              if p.config and p.valid is not None]
    assert share == max(s for s in shares if s <= 0.3)


def test_artefact_refuses_pickled_arrays_and_newer_format(nim9: dict[str, Any],
                                                          tmp_path: Path) -> None:
    import shutil

    src = nim9["artefacts"]["avengers"]
    bad = tmp_path / "bad"
    shutil.copytree(src, bad)
    with open(bad / "arrays.npz", "wb") as fh:
        np.savez(fh, **{"profile.centroids": np.array([object()], dtype=object)})
    with pytest.raises(ArtefactError, match="pickle"):
        load_artefact(bad, nim9["host"])
    newer = tmp_path / "newer"
    shutil.copytree(src, newer)
    raw = json.loads((newer / "artefact.json").read_text())
    raw["format_version"] = 99
    (newer / "artefact.json").write_text(json.dumps(raw))
    with pytest.raises(ArtefactError, match="newer than this rbench"):
        read_meta(newer)
    with pytest.raises(ArtefactError, match="not a router artefact"):
        read_meta(tmp_path)


# -- serving -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ROUTERS))
def test_openai_sdk_gets_a_pool_model_answer_and_the_decision_is_stored(
        nim9: dict[str, Any], upstream: OpenAIServer, name: str) -> None:
    t0 = time.time()
    server = serve(nim9, name, upstream)
    with server:
        raw = client(server).chat.completions.with_raw_response.create(
            model=f"rbench/{name}", messages=[{"role": "user", "content": QUESTION}])
        resp = raw.parse()
    pool = list(nim9["matrix"].models)
    assert resp.model in pool
    assert raw.headers["x-rbench-model"] == resp.model
    assert raw.headers["x-rbench-router"] == name
    assert resp.choices[0].message.content == f"echo: {QUESTION}"
    assert resp.usage.prompt_tokens > 0
    # the upstream got the chosen model, under the provider's id
    spec = nim9["matrix"].model_specs[resp.model]
    assert upstream.requests[-1].body["model"] == (spec.model_extra or {}).get("api_model", spec.name)
    # the router's own decision for this text, computed offline from the artefact
    loaded = load_artefact(nim9["artefacts"][name], nim9["host"])
    offline = server.service.route(QUESTION, server.service._embed_now(QUESTION), None)
    assert offline == resp.model
    assert loaded.models == pool
    rows = served_since(nim9["store"], t0)
    assert len(rows) == 1
    row = rows[0]
    assert row["router"] == name and row["status"] == 200
    assert row["routed_model"] == row["model"] == resp.model
    assert row["query_text"] is None and len(row["query_hash"]) == 64  # hash only by default
    assert row["cost"] > 0 and row["prompt_tokens"] == resp.usage.prompt_tokens
    assert row["fallbacks"] == [] and row["error"] is None


def test_streaming_with_the_sdk(nim9: dict[str, Any], upstream: OpenAIServer) -> None:
    with serve(nim9, "avengers", upstream) as server:
        chunks = list(client(server).chat.completions.create(
            model="rbench/avengers", messages=[{"role": "user", "content": QUESTION}],
            stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == f"echo: {QUESTION}"
    models = {c.model for c in chunks}
    assert len(models) == 1 and models <= set(nim9["matrix"].models)
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"


def test_streaming_relays_each_piece_as_the_model_writes_it(nim9: dict[str, Any]) -> None:
    """Time to first token is the model's, not its whole answer's: the upstream writes one
    word every 0.2 s and the first one reaches the SDK long before the last."""
    t0 = time.time()
    with OpenAIServer(stream_delay=0.2) as slow, serve(nim9, "avengers", slow) as server:
        start = time.perf_counter()
        arrivals, text = [], []
        for c in client(server).chat.completions.create(
                model="rbench/avengers", messages=[{"role": "user", "content": QUESTION}],
                stream=True):
            if c.choices and c.choices[0].delta.content:
                arrivals.append(time.perf_counter() - start)
                text.append(c.choices[0].delta.content)
        assert slow.count(path="/v1/chat/completions") == 1
        assert slow.requests[-1].body["stream"] is True
    words = len(f"echo: {QUESTION}".split(" "))
    assert "".join(text) == f"echo: {QUESTION}" and len(arrivals) == words
    assert arrivals[-1] >= 0.2 * (words - 1) * 0.9
    assert arrivals[0] < arrivals[-1] / 2, arrivals
    row = served_since(nim9["store"], t0)[-1]
    assert row["status"] == 200 and row["stream"] == 1 and row["completion_tokens"] > 0
    assert row["metadata"]["first_piece_s"] < row["latency"] / 2


def test_streaming_falls_back_before_the_first_piece(nim9: dict[str, Any],
                                                     upstream: OpenAIServer) -> None:
    t0 = time.time()
    upstream.inject("503")
    with serve(nim9, "avengers", upstream) as server:
        raw = client(server).chat.completions.with_raw_response.create(
            model="rbench/avengers", messages=[{"role": "user", "content": QUESTION}],
            stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    assert text == f"echo: {QUESTION}"
    assert raw.headers["x-rbench-fallbacks"] == "1"
    row = served_since(nim9["store"], t0)[-1]
    assert row["status"] == 200 and len(row["fallbacks"]) == 1
    assert row["model"] != row["fallbacks"][0]["model"] and row["model"] == raw.headers["x-rbench-model"]


def test_a_stream_that_breaks_midway_ends_with_an_error_and_is_recorded(
        nim9: dict[str, Any], upstream: OpenAIServer) -> None:
    t0 = time.time()
    upstream.inject("stream-cut")
    with serve(nim9, "avengers", upstream) as server:
        got = []
        with pytest.raises(openai.APIError, match="stream broke after 1 piece"):
            for c in client(server).chat.completions.create(
                    model="rbench/avengers", messages=[{"role": "user", "content": QUESTION}],
                    stream=True):
                got += [c.choices[0].delta.content or ""] if c.choices else []
    assert "".join(got) == "echo: ", "the piece sent before the break reached the client"
    row = served_since(nim9["store"], t0)[-1]
    assert row["status"] == 502 and "after 1 piece" in row["error"] and row["cost"] is None
    assert upstream.count(path="/v1/chat/completions") == 1, "no fallback once text was sent"


def test_models_and_health(nim9: dict[str, Any], upstream: OpenAIServer) -> None:
    with serve(nim9, "avengers-pro", upstream) as server:
        listed = client(server).models.list()
        with urllib.request.urlopen(server.url.removesuffix("/v1") + "/health", timeout=10) as r:
            health = json.loads(r.read())
    assert [m.id for m in listed.data] == ["rbench/avengers-pro"]
    extra = listed.data[0].model_extra["rbench"]
    assert extra["sweep_keys"] == {"alpha": [0.0, 1.0]} and "calibrated" in extra["operating_points"]
    assert health["status"] == "ok" and health["router"] == "avengers-pro"


def test_operating_point_in_the_model_name(nim9: dict[str, Any], upstream: OpenAIServer) -> None:
    t0 = time.time()
    prompts = [f"{QUESTION} variant {i}" for i in range(3)] + [
        "Which planet is known as the red planet?", "Write a Python function that reverses a list."]
    got: dict[str, list[str]] = {}
    with serve(nim9, "avengers-pro", upstream) as server:
        c = client(server)
        for model in ("rbench/avengers-pro?alpha=0", "rbench/avengers-pro-1", "avengers-pro"):
            got[model] = [c.chat.completions.create(
                model=model, messages=[{"role": "user", "content": p}]).model for p in prompts]
        for bad, needle in (("rbench/avengers-pro?beta=1", "known: alpha"),
                            ("rbench/avengers-pro?alpha=2", "outside the swept range"),
                            ("rbench/avengers-pro?alpha=abc", "not a number")):
            with pytest.raises(openai.BadRequestError) as err:
                c.chat.completions.create(model=bad, messages=[{"role": "user", "content": "x"}])
            assert needle in err.value.body["message"]
    meta = server.meta
    cheapest = min(meta.models, key=lambda m: (m.input_price or 0) + (m.output_price or 0)).name
    # alpha=0 is pure cost: every query to the per-cluster cheapest model, which on nim9 is
    # the cheapest model overall for most clusters; alpha=1 is pure accuracy
    assert got["rbench/avengers-pro?alpha=0"].count(cheapest) >= 3
    assert got["rbench/avengers-pro?alpha=0"] != got["rbench/avengers-pro-1"]
    rows = served_since(nim9["store"], t0)
    points = [r["operating_point"] for r in rows if r["status"] == 200]
    assert points[0] == {"label": "alpha=0", "config": {"alpha": 0.0}}
    assert points[len(prompts)] == {"label": "alpha=1", "config": {"alpha": 1.0}}
    assert points[-1]["label"] == "calibrated"
    assert points[-1]["config"] == meta.point("calibrated").config


def test_unknown_model_is_a_400_in_openai_format(nim9: dict[str, Any],
                                                 upstream: OpenAIServer) -> None:
    with serve(nim9, "avengers", upstream) as server:
        with pytest.raises(openai.BadRequestError) as err:
            client(server).chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
        req = urllib.request.Request(server.url + "/chat/completions", method="POST",
                                     data=json.dumps({"model": "nope", "messages": [
                                         {"role": "user", "content": "x"}]}).encode(),
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as http:
            urllib.request.urlopen(req, timeout=10)
        body = json.loads(http.value.read())
    assert err.value.status_code == 400 and err.value.code == "model_not_found"
    assert "rbench/avengers" in err.value.body["message"]
    assert http.value.code == 400
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert body["error"]["type"] == "invalid_request_error" and body["error"]["param"] == "model"
    assert upstream.count(path="/v1/chat/completions") == 0, "no model was called"


@pytest.mark.parametrize("fault", ["503", "429", "timeout"])
def test_failing_upstream_falls_back_and_is_recorded(nim9: dict[str, Any], upstream: OpenAIServer,
                                                     fault: str) -> None:
    t0 = time.time()
    upstream.inject(fault, times=1)
    with serve(nim9, "avengers", upstream, upstream_timeout_s=0.5) as server:
        raw = client(server).chat.completions.with_raw_response.create(
            model="rbench/avengers", messages=[{"role": "user", "content": QUESTION}])
        resp = raw.parse()
    assert raw.headers["x-rbench-fallbacks"] == "1"
    row = served_since(nim9["store"], t0)[-1]
    assert row["status"] == 200 and row["model"] == resp.model
    assert row["routed_model"] != resp.model, "the routed model failed; another answered"
    assert [f["model"] for f in row["fallbacks"]] == [row["routed_model"]]
    expected = {"503": "HTTP 503", "429": "HTTP 429", "timeout": "timeout"}[fault]
    assert expected in row["fallbacks"][0]["error"]
    assert resp.model == next(m for m in server.meta.fallback_order if m != row["routed_model"])
    assert resp.choices[0].message.content == f"echo: {QUESTION}"


def test_every_model_failing_is_a_502_and_recorded(nim9: dict[str, Any],
                                                   upstream: OpenAIServer) -> None:
    t0 = time.time()
    upstream.inject("500", times=10)
    with serve(nim9, "avengers", upstream, max_fallbacks=2) as server:
        with pytest.raises(openai.InternalServerError) as err:
            client(server).chat.completions.create(
                model="rbench/avengers", messages=[{"role": "user", "content": QUESTION}])
    assert err.value.status_code == 502 and err.value.code == "upstream_failed"
    row = served_since(nim9["store"], t0)[-1]
    assert row["status"] == 502 and row["model"] is None and len(row["fallbacks"]) == 3
    assert upstream.count(path="/v1/chat/completions") == 3


def test_over_budget_key_is_refused_and_stays_refused(nim9: dict[str, Any],
                                                      upstream: OpenAIServer,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RBENCH_TEST_TEAM_KEY", "team-secret")
    monkeypatch.setenv("RBENCH_TEST_RICH_KEY", "rich-secret")
    keys = {"team": {"key_env": "RBENCH_TEST_TEAM_KEY", "budget_usd": 1e-9},
            "rich": {"key_env": "RBENCH_TEST_RICH_KEY", "budget_usd": 100.0}}
    msg = [{"role": "user", "content": QUESTION}]
    with serve(nim9, "avengers", upstream, keys=keys) as server:
        with pytest.raises(openai.AuthenticationError):
            client(server, "wrong").chat.completions.create(model="rbench/avengers", messages=msg)
        first = client(server, "team-secret").chat.completions.create(
            model="rbench/avengers", messages=msg)
        assert first.usage.cost > 1e-9  # the first request spends the whole budget
        with pytest.raises(openai.RateLimitError) as err:
            client(server, "team-secret").chat.completions.create(model="rbench/avengers",
                                                                  messages=msg)
        client(server, "rich-secret").chat.completions.create(model="rbench/avengers",
                                                              messages=msg)
    assert err.value.code == "insufficient_quota" and "team" in err.value.body["message"]
    calls = upstream.count(path="/v1/chat/completions")
    assert calls == 2, "the refused request never reached a model"
    # the spend is read back from the store: a restarted server still refuses the key
    with serve(nim9, "avengers", upstream, keys=keys) as server:
        with pytest.raises(openai.RateLimitError):
            client(server, "team-secret").chat.completions.create(model="rbench/avengers",
                                                                  messages=msg)
    assert upstream.count(path="/v1/chat/completions") == calls
    spend = nim9["store"].served_spend()
    assert spend["team"] == pytest.approx(first.usage.cost)


def test_binding_off_loopback_needs_a_key(nim9: dict[str, Any], upstream: OpenAIServer) -> None:
    cfg = config(nim9["matrix"], upstream.url)
    with pytest.raises(ServeError, match="--api-key-env"):
        build_server(str(nim9["artefacts"]["avengers"]), cfg, nim9["store"], nim9["host"],
                     bind="0.0.0.0", port=0)
    with serve(nim9, "avengers", upstream, api_key="s3cret") as server:
        with pytest.raises(openai.AuthenticationError):
            client(server, "nope").chat.completions.create(
                model="rbench/avengers", messages=[{"role": "user", "content": "x"}])
        ok = client(server, "s3cret").chat.completions.create(
            model="rbench/avengers", messages=[{"role": "user", "content": "x"}])
    assert ok.model in nim9["matrix"].models


def test_allow_list_keeps_the_router_inside_it(nim9: dict[str, Any],
                                               upstream: OpenAIServer) -> None:
    t0 = time.time()
    allowed = ["gemma-2-9b-it", "qwen2.5-7b-instruct"]
    with serve(nim9, "avengers", upstream, allow=allowed) as server:
        c = client(server)
        served = [c.chat.completions.create(model="rbench/avengers", messages=[
            {"role": "user", "content": f"{QUESTION} {i}"}]).model for i in range(4)]
    assert set(served) <= set(allowed)
    assert {r.body["model"] for r in upstream.requests} <= {
        (nim9["matrix"].model_specs[m].model_extra or {}).get("api_model", m) for m in allowed}
    assert len(served_since(nim9["store"], t0)) == 4


def test_config_errors_name_the_field(nim9: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ServeConfigError, match="allow"):
        load_config(None, {"models": {"a": {}}, "allow": ["b"]})
    with pytest.raises(ServeConfigError, match="models.a.bogus"):
        load_config(None, {"models": {"a": {"bogus": 1}}})
    cfg = load_config(None, {"models": {"not-in-pool": {"base_url": "http://127.0.0.1:9/v1"}}})
    with pytest.raises(ServeConfigError, match="not in the artefact's pool"):
        build_server(str(nim9["artefacts"]["avengers"]), cfg, nim9["store"], nim9["host"], port=0)
    with pytest.raises(ServeConfigError, match="file not found"):
        load_config(tmp_path / "missing.yaml")


def test_served_traffic_becomes_a_bench(nim9: dict[str, Any], upstream: OpenAIServer) -> None:
    t0 = time.time()
    prompts = ["Name the capital of France.", "What is 17 * 3?"]
    with serve(nim9, "avengers", upstream, record_text=True,
               shadow="llama3-chatqa-1.5-8b") as server:
        c = client(server)
        answers = [c.chat.completions.create(model="rbench/avengers", messages=[
            {"role": "user", "content": p}]) for p in prompts]
    rows = served_since(nim9["store"], t0)
    assert [r["query_text"] for r in rows] == prompts
    assert all(r["answer"].startswith("echo:") for r in rows)
    shadowed = [r for r in rows if r["shadow_model"]]
    assert all(r["shadow_answer"] == f"echo: {r['query_text']}" for r in shadowed)
    assert len(shadowed) == sum(a.model != "llama3-chatqa-1.5-8b" for a in answers)
    store = nim9["store"]
    n = store.served_to_bench("traffic", since=t0, router="avengers", replace=True)
    assert n == 2
    matrix = store.load_matrix("traffic")
    assert sorted(matrix.texts) == sorted(prompts)
    for a, p in zip(answers, prompts, strict=True):
        i = matrix.texts.index(p)
        j = matrix.models.index(a.model)
        assert matrix.cost[i, j] == pytest.approx(a.usage.cost)
    out = subprocess.run(
        [sys.executable, "-m", "routerbench_core.commands.app", "data", "from-served", "--name",
         "traffic-cli", "--router", "avengers", "--since", repr(t0)],
        env={**os.environ, "RBENCH_STORE": str(store.path)}, capture_output=True, text=True,
        timeout=120)
    assert out.returncode == 0, out.stderr
    assert "2 served queries" in out.stdout
    assert sorted(store.load_matrix("traffic-cli").texts) == sorted(prompts)


# -- the CLI -------------------------------------------------------------------------------------


def test_cli_train_then_serve_in_a_subprocess(nim9: dict[str, Any], upstream: OpenAIServer,
                                              tmp_path: Path) -> None:
    env = {**os.environ, "RBENCH_STORE": str(nim9["store"].path)}
    art = tmp_path / "art"
    out = subprocess.run(
        [sys.executable, "-m", "routerbench_core.commands.app", "train", "-r", "avengers-pro",
         "-b", "nim9", "--embedder", "hashing", "--setting", "perf-cost", "-p", "k=10",
         "-p", "alphas=5", "--target-cost", "0.0002", "--save", str(art)],
        env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "calibrated on validation: cost 0.0002" in out.stdout
    meta = read_meta(art)
    assert meta.calibration is not None and meta.point("calibrated").valid.cost_per_query <= 2e-4
    cfg = tmp_path / "serve.yaml"
    cfg.write_text(json.dumps({"models": {m: {"base_url": upstream.url}
                                          for m in nim9["matrix"].models}}))
    proc = subprocess.Popen(
        [sys.executable, "-m", "routerbench_core.commands.app", "serve", str(art), "--config",
         str(cfg), "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() else url
        resp = openai.OpenAI(base_url=url, api_key="x", max_retries=0).chat.completions.create(
            model="rbench/avengers-pro", messages=[{"role": "user", "content": QUESTION}])
        assert resp.model in nim9["matrix"].models
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    request = [entry for entry in logs if entry["event"] == "request"]
    assert request and request[0]["model"] == resp.model and request[0]["status"] == 200


def test_a_router_that_cannot_be_saved_says_why() -> None:
    from routerbench_core.routing.router import RouterContext, RouterError

    host = make_plugin_manager()
    ctx = RouterContext(models=["a", "b"], model_specs={})
    router = host.load("router", "openrouter")(ctx)
    with pytest.raises(RouterError, match="decisions are made online by OpenRouter"):
        router.save_state()


def test_concurrency_is_bounded(nim9: dict[str, Any]) -> None:
    """With max_concurrency 2 and a 0.3 s upstream, six simultaneous requests take three
    rounds, and the upstream never sees more than two at once."""
    import concurrent.futures

    with OpenAIServer(latency=0.3) as slow:
        with serve(nim9, "avengers", slow, max_concurrency=2) as server:
            c = client(server)

            def ask(i: int) -> str:
                return c.chat.completions.create(model="rbench/avengers", messages=[
                    {"role": "user", "content": f"{QUESTION} {i}"}]).model

            t0 = time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(6) as pool:
                models = list(pool.map(ask, range(6)))
            elapsed = time.perf_counter() - t0
        starts = sorted(r.received_at for r in slow.requests)
    assert len(models) == 6 and elapsed >= 0.85
    # at most two requests arrive within any 0.25 s window (each is held 0.3 s)
    assert all(starts[i + 2] - starts[i] >= 0.25 for i in range(len(starts) - 2))


def test_fit_on_all_refits_on_train_and_test(nim9: dict[str, Any], tmp_path: Path) -> None:
    ev = Evaluator(nim9["matrix"], seeds=[42], embedder=HashingEmbedder(), store=nim9["store"])
    info = EmbedderInfo(name="hashing", cache_id=HashingEmbedder().cache_id)
    params = {"k": 20, "top_k": 3, "beta": 9.0}
    split, meta_split = train_artefact(ev, nim9["host"], "avengers", params, 42, embedder=info)
    full, meta = train_artefact(ev, nim9["host"], "avengers", params, 42, embedder=info,
                                fit_on="all")
    assert "train + test" in meta.fitted_on and "train split" in meta_split.fitted_on
    assert meta.points[0].test == meta_split.points[0].test  # the split's measurement
    n_split = int(split.save_state().arrays["profile.sizes"].sum())
    n_full = int(full.save_state().arrays["profile.sizes"].sum())
    assert n_full - n_split == len(ev.split(42).test)
    save_artefact(tmp_path / "full", meta, full)
    _, _, test = ev.views(42)
    np.testing.assert_array_equal(full.route(test).choice,
                                  load_artefact(tmp_path / "full", nim9["host"]).router
                                  .route(test).choice)


# -- micro-batches, workers ----------------------------------------------------------------------


def _post(url: str, text: str, *, key: str | None = None, model: str = "rbench/avengers"
          ) -> tuple[int, dict[str, Any], dict[str, str]]:
    """One request on a new connection (so the kernel picks a worker for each)."""
    body = json.dumps({"model": model, "messages": [{"role": "user", "content": text}]})
    req = urllib.request.Request(url + "/chat/completions", data=body.encode(), method="POST",
                                 headers={"Content-Type": "application/json",
                                          **({"Authorization": f"Bearer {key}"} if key else {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read()), dict(r.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def _concurrently(url: str, texts: list[str]) -> list[tuple[int, dict[str, Any], dict[str, str]]]:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(texts)) as pool:
        return list(pool.map(lambda t: _post(url, t), texts))


def test_concurrent_requests_are_routed_in_batches_as_one_by_one(nim9: dict[str, Any],
                                                                 upstream: OpenAIServer) -> None:
    """Requests that arrive together are routed in one call, and each gets the model it would
    get alone (the protocol's per-query rule, checked here on the real router)."""
    texts = list(nim9["matrix"].texts[:48])
    with serve(nim9, "avengers", upstream) as server:
        answers = _concurrently(server.url, texts)
        alone = [server.service.route(t, server.service._embed_now(t), None) for t in texts]
        health = json.loads(urllib.request.urlopen(server.url[:-3] + "/health").read())
    assert [a[0] for a in answers] == [200] * len(texts)
    assert [a[2]["x-rbench-model"] for a in answers] == alone
    batches = health["routing_batches"]
    assert batches["queries"] == len(texts) and batches["batches"] < len(texts), batches


def test_a_query_the_router_rejects_fails_alone_not_its_batch(nim9: dict[str, Any],
                                                              upstream: OpenAIServer) -> None:
    from routerbench_core.routing.router import RouterError

    texts = [f"{QUESTION} variant {i}" for i in range(12)] + ["poison: the router refuses me"]
    with serve(nim9, "avengers", upstream) as server:
        real = server.service.router.route

        def route(queries: Any, config: Any = None) -> Any:
            if any("poison" in t for t in queries.texts):
                raise RouterError("refused a poisoned query")
            return real(queries, config)

        server.service.router.route = route  # type: ignore[method-assign]
        answers = _concurrently(server.url, texts)
    assert [a[0] for a in answers[:-1]] == [200] * 12
    status, body, _ = answers[-1]
    assert status == 500 and "refused a poisoned query" in body["error"]["message"]


def test_an_answer_that_is_not_utf8_is_relayed_with_escapes(nim9: dict[str, Any],
                                                            upstream: OpenAIServer) -> None:
    upstream.inject("invalid-utf8")
    with serve(nim9, "avengers", upstream) as server:
        status, body, _ = _post(server.url, QUESTION)
    assert status == 200
    assert body["choices"][0]["message"]["content"].startswith("\udcff\udcfe")


def _start_workers(nim9: dict[str, Any], upstream: OpenAIServer, tmp_path: Path, workers: int,
                   **extra: Any) -> tuple[subprocess.Popen[str], str]:
    cfg = tmp_path / "serve.yaml"
    cfg.write_text(json.dumps({"models": {m: {"base_url": upstream.url}
                                          for m in nim9["matrix"].models}, **extra}))
    env = {**os.environ, "RBENCH_STORE": str(nim9["store"].path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "routerbench_core.commands.app", "serve",
         str(nim9["artefacts"]["avengers"]), "--config", str(cfg), "--port", "0",
         "--workers", str(workers), "--log-level", "warning"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http://127.0.0.1:"):
        proc.kill()
        pytest.fail(f"serve --workers did not start: {proc.stderr.read()}")
    return proc, url


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(x) for x in path.read_text().split()] if path.exists() else []


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads worker pids from /proc")
def test_workers_share_one_port_record_every_request_and_stop_together(
        nim9: dict[str, Any], upstream: OpenAIServer, tmp_path: Path) -> None:
    t0 = time.time()
    proc, url = _start_workers(nim9, upstream, tmp_path, 2)
    try:
        kids = _children(proc.pid)
        assert len(kids) >= 2, "two worker processes"
        answers = [_post(url, f"{QUESTION} #{i}") for i in range(30)]
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert [a[0] for a in answers] == [200] * 30
    assert {a[2]["x-rbench-worker"] for a in answers} == {"0", "1"}, "both workers answered"
    assert not [k for k in kids if Path(f"/proc/{k}").exists()
                and "zombie" not in Path(f"/proc/{k}/status").read_text()], "workers stopped"
    rows = [r for r in served_since(nim9["store"], t0) if r["status"] == 200]
    assert sorted(r["request_id"] for r in rows) == sorted(a[1]["id"] for a in answers)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux")
def test_workers_enforce_one_budget_per_key_between_them(
        nim9: dict[str, Any], upstream: OpenAIServer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each worker re-reads the key's spend from the store: a key is refused once *all*
    workers together spent its budget, not once each of them did."""
    with serve(nim9, "avengers", upstream) as server:  # the cost of one answer to QUESTION
        cost = _post(server.url, QUESTION)[1]["usage"]["cost"]
    assert cost > 0
    monkeypatch.setenv("RBENCH_TEST_SHARED_KEY", "shared-secret")
    keys = {"shared": {"key_env": "RBENCH_TEST_SHARED_KEY", "budget_usd": 5.5 * cost}}
    proc, url = _start_workers(nim9, upstream, tmp_path, 2, keys=keys, budget_sync_s=0.05)
    try:
        answers = []
        for _ in range(16):
            answers.append(_post(url, QUESTION, key="shared-secret"))
            time.sleep(0.4)  # several syncs: every worker knows the spend so far
    finally:
        proc.terminate()
        proc.communicate(timeout=60)
    statuses = [a[0] for a in answers]
    # each worker alone would accept 6 answers: without the shared spend, a worker that gave
    # few of the first 6 would still accept after the other one refused
    assert statuses == [200] * 6 + [429] * 10, statuses
    assert {a[2]["x-rbench-worker"] for a in answers} == {"0", "1"}, "both workers answered"
    assert answers[6][1]["error"]["code"] == "insufficient_quota"


def test_a_backend_without_its_own_stream_streams_its_whole_answer_at_once() -> None:
    """The Backend default: one piece (the whole text) then the Response; a failure gives the
    failed Response alone, so the server can still fall back."""
    import asyncio

    from routerbench_core import Backend, GenerationRequest, ModelSpec, Response

    class Whole(Backend):
        name = "whole"

        async def agenerate(self, request: GenerationRequest) -> Response:
            text = request.messages[-1]["content"]
            if text == "fail":
                return Response(query_key="", model=request.model.name, error="HTTP 503: down")
            return Response(query_key="", model=request.model.name, raw_output=text.upper(),
                            cost=0.0)

    async def stream(text: str) -> list[Any]:
        request = GenerationRequest(model=ModelSpec(name="m", free=True),
                                    messages=[{"role": "user", "content": text}])
        return [item async for item in Whole().agenerate_text_stream(request)]

    ok = asyncio.run(stream("hi there"))
    assert ok[0] == "HI THERE" and ok[1].ok and len(ok) == 2
    failed = asyncio.run(stream("fail"))
    assert len(failed) == 1 and failed[0].error == "HTTP 503: down"


@pytest.mark.parametrize("stream", [False, True])
def test_a_request_over_its_time_limit_is_a_504_and_recorded(nim9: dict[str, Any],
                                                             upstream: OpenAIServer,
                                                             stream: bool) -> None:
    t0 = time.time()
    upstream.inject("timeout")  # the model stalls 3 s; the request may take 0.5 s
    with serve(nim9, "avengers", upstream, request_timeout_s=0.5,
               upstream_timeout_s=10) as server:
        start = time.perf_counter()
        with pytest.raises(openai.APIStatusError) as err:
            out = client(server).chat.completions.create(
                model="rbench/avengers", messages=[{"role": "user", "content": QUESTION}],
                stream=stream)
            list(out) if stream else None
        took = time.perf_counter() - start
    assert err.value.status_code == 504 and err.value.code == "timeout"
    assert took < 2.5, "answered at the limit, not when the model gave up"
    row = served_since(nim9["store"], t0)[-1]
    assert row["status"] == 504 and "timed out after 0.5 s" in row["error"]


def test_the_keys_spend_is_kept_with_the_records_and_summed_once_for_older_stores(
        tmp_path: Path) -> None:
    """served_spend reads per-key sums updated in the records' own transaction; a store
    written before the sums existed gets them from its records on first use."""
    import sqlite3

    def row(i: int, key: str | None, cost: float | None, shadow: float | None = None) -> dict:
        return {"request_id": f"r{i}", "created_at": float(i), "api_key": key, "router": "x",
                "query_hash": "h", "status": 200, "cost": cost, "shadow_cost": shadow}

    rows = [row(0, "a", 0.5), row(1, "a", 0.25, 0.125), row(2, "b", None), row(3, None, 9.0),
            row(4, "b", 1.0)]
    with Store(tmp_path / "s.db") as store:
        store.record_served(rows[:3])
        store.record_served(rows[3:])
        assert store.served_spend() == {"a": 0.875, "b": 1.0}
    # an older store: the same records, no sums table
    with Store(tmp_path / "old.db") as store:
        store.record_served(rows)
    conn = sqlite3.connect(tmp_path / "old.db")
    conn.execute("DROP TABLE served_spend")
    conn.commit()
    conn.close()
    with Store(tmp_path / "old.db", readonly=True) as store:
        assert store.served_spend() == {"a": 0.875, "b": 1.0}, "read-only: summed on the fly"
    with Store(tmp_path / "old.db") as store:
        assert store.served_spend() == {"a": 0.875, "b": 1.0}
        store.record_served([row(5, "a", 0.125)])
        assert store.served_spend() == {"a": 1.0, "b": 1.0}
    with pytest.raises(Exception, match="unknown field"), Store(tmp_path / "s.db") as store:
        store.record_served([{**row(6, "a", 1.0), "bogus": 1}])
    with Store(tmp_path / "s.db") as store:
        assert store.served_spend() == {"a": 0.875, "b": 1.0}, "a refused batch adds nothing"


def test_an_empty_answer_streams_as_an_opening_and_an_end(nim9: dict[str, Any]) -> None:
    t0 = time.time()
    with OpenAIServer(reply=lambda body: "") as quiet, serve(nim9, "avengers", quiet) as server:
        chunks = list(client(server).chat.completions.create(
            model="rbench/avengers", messages=[{"role": "user", "content": QUESTION}],
            stream=True, stream_options={"include_usage": True}))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == ""
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None and {c.model for c in chunks} <= set(nim9["matrix"].models)
    row = served_since(nim9["store"], t0)[-1]
    assert row["status"] == 200 and row["stream"] == 1 and row["cost"] is not None
