"""The OpenAI-compatible embedder against a real HTTP server on loopback."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from routerbench_core.embedding.base import cached_embed, load_embedder
from routerbench_core.embedding.openai_compat import EmbeddingEndpointError, OpenAIEmbedder

pytest.importorskip("httpx", reason="the openai embedder needs httpx (pip install rbench[embed])")


class _Server:
    """Answers POST /v1/embeddings with hash-derived vectors; fails on demand."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail_next: list[int] = []
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep pytest output clean
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                state.requests.append({"path": self.path, "body": body,
                                       "auth": self.headers.get("Authorization")})
                if state.fail_next:
                    code = state.fail_next.pop(0)
                    self.send_response(code)
                    self.end_headers()
                    self.wfile.write(b'{"error": "injected"}')
                    return
                data = []
                for i, text in enumerate(body["input"]):
                    d = hashlib.sha256(text.encode()).digest()
                    data.append({"index": i, "embedding": [b / 255 for b in d[:8]]})
                data.reverse()  # order must come from "index", not position
                payload = json.dumps({"data": data, "model": body["model"]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    try:
        yield s
    finally:
        s.close()


def _expected(text: str) -> np.ndarray:
    return np.array([b / 255 for b in hashlib.sha256(text.encode()).digest()[:8]], np.float32)


def test_embeds_in_batches_in_order(server, monkeypatch):
    monkeypatch.setenv("RB_TEST_KEY", "sk-test")
    e = OpenAIEmbedder(model="gte", base_url=server.url, api_key_env="RB_TEST_KEY", batch_size=2)
    texts = [f"text {i}" for i in range(5)]
    v = e.embed(texts)
    assert v.shape == (5, 8)
    for t, row in zip(texts, v, strict=True):
        np.testing.assert_allclose(row, _expected(t), rtol=1e-6)
    # batches of 2 (sent concurrently, so they may arrive in any order)
    assert sorted(len(r["body"]["input"]) for r in server.requests) == [1, 2, 2]
    assert all(r["path"] == "/v1/embeddings" and r["auth"] == "Bearer sk-test"
               for r in server.requests)
    assert server.requests[0]["body"]["model"] == "gte"


def test_retries_server_errors_then_fails_loudly(server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    e = OpenAIEmbedder(model="gte", base_url=server.url, retries=2, backoff=0.01)
    server.fail_next = [503, 429]
    assert e.embed(["a"]).shape == (1, 8)
    assert len(server.requests) == 3 and server.requests[0]["auth"] is None
    server.fail_next = [400]
    with pytest.raises(EmbeddingEndpointError, match="HTTP 400"):
        e.embed(["b"])
    assert len(server.requests) == 4  # a 400 is not retried


def test_unreachable_endpoint_is_an_error():
    e = OpenAIEmbedder(model="gte", base_url="http://127.0.0.1:9/v1", retries=0, timeout=2)
    with pytest.raises(EmbeddingEndpointError, match="failed"):
        e.embed(["x"])


def test_second_run_embeds_nothing(server, rbench_store):
    e = OpenAIEmbedder(model="gte", base_url=server.url)
    texts = ["alpha", "beta", "alpha", "gamma"]
    first = cached_embed(e, rbench_store, texts)
    n = len(server.requests)
    assert sum(len(r["body"]["input"]) for r in server.requests) == 3  # duplicates once
    second = cached_embed(OpenAIEmbedder(model="gte", base_url=server.url), rbench_store, texts)
    assert len(server.requests) == n
    np.testing.assert_array_equal(first, second)
    other = OpenAIEmbedder(model="other", base_url=server.url)
    cached_embed(other, rbench_store, texts)  # another model is another cache space
    assert len(server.requests) == n + 1


def test_registered_and_options_checked(rbench_host, server):
    e = load_embedder(rbench_host, "openai", {"model": "gte", "base_url": server.url})
    assert isinstance(e, OpenAIEmbedder)
    with pytest.raises(ValueError, match="needs model"):
        load_embedder(rbench_host, "openai", {})
    with pytest.raises(ValueError, match="unknown option"):
        load_embedder(rbench_host, "openai", {"model": "m", "colour": "red"})
