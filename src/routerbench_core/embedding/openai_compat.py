"""An OpenAI-compatible ``/embeddings`` endpoint (OpenAI, vLLM, TEI, llama.cpp servers, ...).

The paper embedded queries with gte-Qwen2-7B served this way. Texts go ``batch_size`` to a
request and up to ``concurrency`` requests are in flight at once (a served model batches
concurrent requests itself, so one-at-a-time leaves it idle between round trips); vectors come
back in input order. A failed call raises (it is never turned into a zero vector).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from routerbench_core.embedding.base import Embedder


class EmbeddingEndpointError(RuntimeError):
    """The embeddings endpoint failed or answered something unusable."""


class OpenAIEmbedder(Embedder):
    """Options: ``model`` (required), ``base_url`` (default ``$OPENAI_BASE_URL`` or
    https://api.openai.com/v1), ``api_key_env`` (name of the env var holding the key, default
    ``OPENAI_API_KEY``; no key is sent when it is unset), ``batch_size`` (default 128),
    ``timeout`` seconds (default 60), ``retries`` (default 3, on 429/5xx/timeouts) with
    exponential ``backoff`` (first wait 0.5 s), ``dimensions``, ``concurrency`` (requests in
    flight, default 4).
    """

    name: ClassVar[str] = "openai"

    def __init__(
        self, model: str | None = None, base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY", batch_size: int | str = 128,
        timeout: float | str = 60.0, retries: int | str = 3, dimensions: int | str | None = None,
        backoff: float | str = 0.5, concurrency: int | str = 4, **options: Any,
    ) -> None:
        if options:
            raise ValueError(
                f"openai embedder: unknown option(s) {', '.join(sorted(options))}; known: model, "
                "base_url, api_key_env, batch_size, timeout, retries, dimensions, backoff, "
                "concurrency"
            )
        if not model:
            raise ValueError("the openai embedder needs model=NAME (e.g. text-embedding-3-small)")
        self.model = str(model)
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL")
                         or "https://api.openai.com/v1").rstrip("/")
        self.api_key_env = api_key_env
        self.batch_size = int(batch_size)
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.concurrency = max(1, int(concurrency))
        if self.batch_size < 1:
            raise ValueError(f"openai embedder: batch_size must be >= 1, got {batch_size}")
        self.dimensions = None if dimensions in (None, "") else int(dimensions)  # type: ignore[arg-type]
        super().__init__(model=self.model, base_url=self.base_url, dimensions=self.dimensions)

    @property
    def cache_id(self) -> str:
        dims = f":dim={self.dimensions}" if self.dimensions else ""
        return f"openai:{self.base_url}:{self.model}{dims}"

    def _post(self, client: Any, texts: list[str]) -> np.ndarray:
        import httpx

        body: dict[str, Any] = {"model": self.model, "input": texts}
        if self.dimensions:
            body["dimensions"] = self.dimensions
        headers = {}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        last = ""
        for attempt in range(self.retries + 1):
            try:
                r = client.post(f"{self.base_url}/embeddings", json=body, headers=headers)
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if r.status_code == 200:
                    return self._parse(r.json(), len(texts))
                last = f"HTTP {r.status_code}: {r.text[:300]}"
                if r.status_code != 429 and r.status_code < 500:
                    break
            if attempt < self.retries:
                time.sleep(min(self.backoff * 2**attempt, 8.0))
        raise EmbeddingEndpointError(
            f"embeddings endpoint {self.base_url}/embeddings (model {self.model}) failed: {last}"
        )

    def _parse(self, payload: Any, n: int) -> np.ndarray:
        try:
            data = sorted(payload["data"], key=lambda d: d["index"])
            vectors = np.asarray([d["embedding"] for d in data], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbeddingEndpointError(
                f"embeddings endpoint {self.base_url} answered without data[].embedding: {exc}"
            ) from exc
        if vectors.ndim != 2 or len(vectors) != n:
            raise EmbeddingEndpointError(
                f"embeddings endpoint {self.base_url} returned {len(vectors)} vectors for {n} texts"
            )
        return vectors

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        import httpx

        batches = [list(texts[i : i + self.batch_size])
                   for i in range(0, len(texts), self.batch_size)]
        if not batches:
            return np.zeros((0, 0), dtype=np.float32)
        limits = httpx.Limits(max_connections=self.concurrency)
        with httpx.Client(timeout=self.timeout, limits=limits) as client:
            if self.concurrency == 1 or len(batches) == 1:
                chunks = [self._post(client, b) for b in batches]
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(max_workers=min(self.concurrency, len(batches))) as pool:
                    # map keeps input order; the first failure is raised here
                    chunks = list(pool.map(lambda b: self._post(client, b), batches))
        return np.concatenate(chunks)
