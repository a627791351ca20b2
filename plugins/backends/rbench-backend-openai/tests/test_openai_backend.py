"""rbench-backend-openai over real loopback HTTP: retries, backoff, Retry-After, usage, cost."""

from __future__ import annotations

import asyncio
import math

import pytest
from rbench_backend_openai.backend import OpenAIBackend

from routerbench_core import BackendError, GenerationRequest, ModelSpec, UnpricedModelError
from routerbench_core.testing.backends import BackendConformance
from routerbench_core.testing.openai_server import OpenAIServer

PRICED = ModelSpec(name="m", api_model="vendor/m", input_price=1.0, output_price=2.0)


def req(text: str = "hello world", spec: ModelSpec = PRICED, **params) -> GenerationRequest:
    return GenerationRequest(model=spec, messages=[{"role": "user", "content": text}],
                             params=params, query_key="k")


@pytest.fixture
def server():
    with OpenAIServer() as s:
        yield s


def backend(server: OpenAIServer, **options) -> OpenAIBackend:
    options.setdefault("backoff_base", 0.01)
    return OpenAIBackend(base_url=server.url, api_key="test", **options)


class TestConformance(BackendConformance):
    def make_backend(self, server: OpenAIServer) -> OpenAIBackend:
        return backend(server)


def test_retry_after_is_honoured(server) -> None:
    server.inject("429", retry_after=1)
    r = backend(server, backoff_base=0.001).generate(req())
    assert r.ok and r.metadata["attempts"] == 2
    first, second = server.requests
    assert second.received_at - first.received_at >= 0.95


def test_exponential_backoff_on_5xx(server) -> None:
    server.inject("500", times=2)
    server.inject("503", times=1)
    r = backend(server, backoff_base=0.1).generate(req())
    assert r.ok and r.metadata["attempts"] == 4
    t = [x.received_at for x in server.requests]
    gaps = [b - a for a, b in zip(t, t[1:], strict=False)]
    # delay k is in [0.5, 1] x 0.1 x 2^k
    for k, gap in enumerate(gaps):
        assert gap >= 0.5 * 0.1 * 2**k - 0.01, gaps


@pytest.mark.parametrize("kind", ["400", "401"])
def test_no_retry_on_other_4xx(server, kind) -> None:
    server.inject(kind)
    r = backend(server).generate(req())
    assert not r.ok and f"HTTP {kind}" in r.error
    assert server.count() == 1


def test_gives_up_after_max_retries_with_the_last_error(server) -> None:
    server.inject("500", times=10)
    r = backend(server, max_retries=2).generate(req())
    assert not r.ok and "HTTP 500" in r.error and "3 attempts" in r.error
    assert server.count() == 3 and r.cost is None


def test_timeout_is_retried(server) -> None:
    server.hang_s = 5
    server.inject("timeout")
    r = backend(server, timeout=0.3).generate(req())
    assert r.ok and r.metadata["attempts"] == 2


def test_disconnect_and_refused_connections_are_retried(server) -> None:
    server.inject("disconnect")
    assert backend(server).generate(req()).metadata["attempts"] == 2
    dead = OpenAIBackend(base_url="http://127.0.0.1:9/v1", max_retries=1, backoff_base=0.01)
    r = dead.generate(req())
    assert not r.ok and "connection error" in r.error


def test_malformed_bodies_are_failures(server) -> None:
    server.inject("malformed")
    server.inject("no-choices")
    b = backend(server)
    assert "not JSON" in b.generate(req()).error
    assert "no choices" in b.generate(req()).error


def test_usage_reasoning_cached_and_reported_cost(server) -> None:
    server.reasoning_tokens, server.cached_tokens, server.cost_per_token = 5, 1, 1e-4
    server.model_field = "chosen/model"
    r = backend(server).generate(req("one two three"))
    assert (r.prompt_tokens, r.completion_tokens) == (3, 4 + 5)
    assert r.reasoning_tokens == 5 and r.cached_tokens == 1
    assert r.cost_source == "reported" and r.cost == pytest.approx(12 * 1e-4)
    assert r.metadata["response_model"] == "chosen/model" and r.metadata["reasoning"]


def test_priced_cost_with_cached_price(server) -> None:
    server.cached_tokens = 2
    spec = ModelSpec(name="m", input_price=1.0, output_price=2.0, cached_input_price=0.1)
    r = backend(server).generate(req("a b c d", spec=spec))  # 4 prompt, 5 completion
    assert r.cost_source == "priced"
    assert r.cost == pytest.approx((2 * 1.0 + 2 * 0.1 + 5 * 2.0) / 1e6)


def test_body_carries_model_sampling_and_extra_body(server) -> None:
    backend(server).generate(req(temperature=0.3, reasoning_effort="low", timeout=30,
                                 extra_body={"provider": {"only": ["x"]}}))
    body = server.requests[0].body
    assert body["model"] == "vendor/m" and body["temperature"] == 0.3
    assert body["reasoning_effort"] == "low" and body["provider"] == {"only": ["x"]}
    assert "timeout" not in body and "extra_body" not in body
    assert server.requests[0].headers["authorization"] == "Bearer test"


def test_unpriced_model_raises_before_any_call(server) -> None:
    with pytest.raises(UnpricedModelError, match="--allow-unpriced"):
        backend(server).generate(req(spec=ModelSpec(name="free-lunch")))
    assert server.count() == 0
    r = backend(server, allow_unpriced=True).generate(req(spec=ModelSpec(name="x")))
    assert r.ok and r.cost is None and r.cost_source is None


def test_api_key_from_env(server, monkeypatch) -> None:
    server.api_key = "sekret"
    monkeypatch.setenv("MY_KEY", "sekret")
    b = OpenAIBackend(base_url=server.url, api_key_env="MY_KEY")
    assert b.generate(req()).ok
    monkeypatch.delenv("MY_KEY")
    with pytest.raises(BackendError, match="MY_KEY is not set"):
        OpenAIBackend(base_url=server.url, api_key_env="MY_KEY")


def test_embeddings(server) -> None:
    b = backend(server)
    vectors = b.embed(["a", "b", "a"], "emb", batch_size=2)
    assert len(vectors) == 3 and len(vectors[0]) == 8
    assert vectors[0] == vectors[2] and vectors[0] != vectors[1]
    assert math.isclose(sum(v * v for v in vectors[0]), 1.0, rel_tol=1e-6)
    assert server.count(path="/v1/embeddings") == 2
    server.inject("400")
    with pytest.raises(BackendError, match="embedding 1 texts"):
        b.embed(["z"], "emb")


def test_concurrency_is_bounded(server) -> None:
    server.latency = 0.05
    b = backend(server)
    requests = [req(f"item {i}") for i in range(24)]
    in_flight, peak = 0, 0
    original = b.agenerate

    async def counting(request):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            return await original(request)
        finally:
            in_flight -= 1

    b.agenerate = counting  # type: ignore[method-assign]

    async def run():
        try:
            return [x async for x in b.astream(requests, concurrency=5)]
        finally:
            await b.aclose()

    out = asyncio.run(run())
    assert len(out) == 24 and peak == 5


def test_preflight_passes_a_healthy_server_and_reports_refusals_in_its_words() -> None:
    import socket
    import time

    async def check(b: OpenAIBackend) -> str | None:
        try:
            return await b.apreflight(PRICED)
        finally:
            await b.aclose()

    with OpenAIServer(api_key="right") as s:
        assert asyncio.run(check(OpenAIBackend(base_url=s.url, api_key="right"))) is None
        reason = asyncio.run(check(OpenAIBackend(base_url=s.url, api_key="wrong")))
        assert reason is not None and "HTTP 401" in reason and "invalid api key" in reason
        assert s.count(path="/v1/models") == 2 and s.count(path="/v1/chat/completions") == 0
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        t0 = time.monotonic()
        reason = asyncio.run(check(OpenAIBackend(base_url=f"http://127.0.0.1:{port}/v1",
                                                 api_key="x")))
    assert reason is not None and reason.startswith(f"cannot reach http://127.0.0.1:{port}/v1")
    assert time.monotonic() - t0 < 5  # one attempt, no retries


# -- streaming (rbench serve) ---------------------------------------------------------------------


async def _stream(b: OpenAIBackend, request: GenerationRequest) -> list:
    try:
        return [item async for item in b.agenerate_text_stream(request)]
    finally:
        await b.aclose()


def test_text_stream_gives_pieces_then_the_priced_response(server) -> None:
    streamed = asyncio.run(_stream(backend(server), req("one two three")))
    *pieces, final = streamed
    plain = asyncio.run(backend(server).agenerate(req("one two three")))
    assert pieces == ["echo: ", "one ", "two ", "three"]
    assert final.ok and final.raw_output == plain.raw_output == "echo: one two three"
    assert (final.prompt_tokens, final.completion_tokens) == (plain.prompt_tokens,
                                                              plain.completion_tokens)
    assert final.cost == pytest.approx(plain.cost) and final.metadata["streamed"] is True
    assert final.metadata["finish_reason"] == "stop"
    sent = server.requests[0].body
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}


def test_text_stream_retries_before_the_first_piece_and_reports_a_break_after(server) -> None:
    server.inject("503")
    *pieces, final = asyncio.run(_stream(backend(server, max_retries=1), req("a b")))
    assert final.ok and "".join(pieces) == "echo: a b" and server.count() == 2
    server.inject("stream-cut")
    *pieces, final = asyncio.run(_stream(backend(server, max_retries=3), req("a b")))
    assert pieces == ["echo: "] and not final.ok
    assert "stream broken after 1 piece" in final.error and final.metadata["partial"] == "echo: "
    assert server.count() == 3, "a stream that broke after text was sent is not retried"


def test_text_stream_failure_before_any_text_is_one_failed_response(server) -> None:
    server.inject("400")
    streamed = asyncio.run(_stream(backend(server), req()))
    assert len(streamed) == 1 and streamed[0].error.startswith("HTTP 400")
    with pytest.raises(UnpricedModelError):
        asyncio.run(_stream(backend(server), req(spec=ModelSpec(name="free?"))))
