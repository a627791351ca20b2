"""The OpenAI-compatible backend: chat completions and embeddings over plain ``aiohttp``.

Why not the ``openai`` client: we need the raw status, headers (Retry-After) and JSON
(OpenRouter's ``usage.cost``, vLLM's extra fields) and our own retry schedule; the official
client hides or duplicates all three. Why ``aiohttp`` and not ``httpx``: at 64 requests in
flight httpx's connection pool spends its time rescanning connections (measured here: ~70
requests/s against a loopback server that aiohttp drives at ~3,000/s).

Retries (exponential backoff with jitter, Retry-After honoured) on 429, 5xx, timeouts and
connection errors; any other 4xx fails at once. A call that still fails comes back as a
``Response`` with ``error`` set — recorded as a failure, never scored.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, ClassVar, NoReturn, TypeVar

import aiohttp

from routerbench_core import (
    Backend,
    BackendError,
    GenerationRequest,
    ModelSpec,
    Response,
    RetryPolicy,
    UnpricedModelError,
    api_model_name,
    failed_response,
    has_price,
    json_dumps,
    json_loads,
    parse_retry_after,
    response_cost,
)

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: A response body not parsed yet (JSON ``null`` parses to None).
_UNREAD = object()
#: Request parameters that configure the call rather than go into the JSON body.
_NOT_BODY = frozenset({"extra_body", "timeout"})
T = TypeVar("T")


#: Seconds the endpoint check before a run waits for the server (connect: at most 5).
PREFLIGHT_TIMEOUT_S = 15.0


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class _Fatal(Exception):
    pass


def _raise_for_status(status: int, text: str, headers: dict[str, str]) -> NoReturn:
    """An HTTP error answer: 429 and 5xx are worth retrying (with the server's Retry-After),
    any other 4xx is the request's fault."""
    if status == 429 or status >= 500:
        raise _Retryable(f"HTTP {status}: {_snippet(text)}", parse_retry_after(headers))
    raise _Fatal(f"HTTP {status}: {_snippet(text)}")


class OpenAIBackend(Backend):
    """Talks to any OpenAI-compatible server.

    Options (all keyword): ``base_url`` (default ``$OPENAI_BASE_URL`` or OpenAI's),
    ``api_key`` (programmatic use) or ``api_key_env`` (the variable holding it; default
    ``OPENAI_API_KEY`` if set, else no key — local servers need none), ``timeout`` (s per
    attempt, default 600), ``max_retries`` (5), ``backoff_base`` (0.5 s), ``backoff_max``
    (30 s), ``max_retry_after`` (300 s), ``concurrency`` (connection pool size, 64),
    ``allow_unpriced`` (False), ``headers`` (extra HTTP headers).
    """

    name: ClassVar[str] = "openai"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        base = options.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        self.base_url = str(base).rstrip("/")
        self.api_key = self._resolve_key(options)
        self.timeout = float(options.get("timeout", 600.0))
        self.retry = RetryPolicy(
            max_retries=int(options.get("max_retries", 5)),
            base_delay=float(options.get("backoff_base", 0.5)),
            max_delay=float(options.get("backoff_max", 30.0)),
            max_retry_after=float(options.get("max_retry_after", 300.0)),
        )
        self.pool_size = int(options.get("concurrency", 64))
        self.allow_unpriced = bool(options.get("allow_unpriced", False))
        self.headers = {"Content-Type": "application/json", **dict(options.get("headers") or {})}
        if self.api_key:
            self.headers["Authorization"] = f"Bearer {self.api_key}"
        self._clients: dict[int, aiohttp.ClientSession] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}

    @staticmethod
    def _resolve_key(options: dict[str, Any]) -> str | None:
        if options.get("api_key"):
            return str(options["api_key"])
        env = options.get("api_key_env")
        if env:
            value = os.environ.get(str(env))
            if not value:
                raise BackendError(
                    f"api_key_env {env!r}: environment variable {env} is not set; export it "
                    "(or remove api_key_env for a local server that needs no key)"
                )
            return value
        return os.environ.get("OPENAI_API_KEY") or None

    # -- plumbing --------------------------------------------------------------------------

    def _client(self) -> aiohttp.ClientSession:
        """One pooled session per event loop (``generate`` runs a fresh loop each call)."""
        loop = asyncio.get_running_loop()
        client = self._clients.get(id(loop))
        if client is None or client.closed:
            client = aiohttp.ClientSession(
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout,
                                              sock_connect=min(self.timeout, 30.0)),
                connector=aiohttp.TCPConnector(limit=self.pool_size),
            )
            self._clients = {id(loop): client}
        return client

    def cache_identity(self) -> dict[str, Any]:
        return {"backend": self.name, "base_url": self.base_url}

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            try:
                await client.close()
            except RuntimeError:  # created on another, already closed loop
                pass

    async def _retrying(self, attempt_once: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """``attempt_once`` until it does not raise _Retryable, as the retry policy allows;
        returns (its result, attempts) or raises _Fatal with the last error."""
        attempt = 0
        while True:
            try:
                return await attempt_once(), attempt + 1
            except _Retryable as exc:
                if attempt >= self.retry.max_retries:
                    raise _Fatal(f"{exc} (gave up after {attempt + 1} attempts)") from None
                await asyncio.sleep(self.retry.delay(attempt, exc.retry_after))
                attempt += 1

    async def _post(self, path: str, body: dict[str, Any], timeout: float | None
                    ) -> tuple[dict[str, Any], int]:
        """POST with retries; returns (JSON, attempts) or raises _Fatal with the last error."""
        client = self._client()
        return await self._retrying(lambda: self._attempt(client, path, body, timeout))

    async def _attempt(self, client: aiohttp.ClientSession, path: str, body: dict[str, Any],
                       timeout: float | None) -> dict[str, Any]:
        url = self.base_url + path
        kwargs: dict[str, Any] = {}
        if timeout is not None:
            kwargs["timeout"] = self._timeouts.get(timeout) or self._timeouts.setdefault(
                timeout, aiohttp.ClientTimeout(total=float(timeout)))
        try:
            async with client.post(url, data=json_dumps(body), **kwargs) as r:
                status = r.status
                raw = await r.read()
                charset = r.charset
                headers = dict(r.headers) if status >= 400 else {}
        except asyncio.TimeoutError:
            raise _Retryable(f"timeout after {timeout or self.timeout:g} s calling {url}"
                             ) from None
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise _Retryable(
                f"connection error ({type(exc).__name__}: {exc}) calling {url}"
            ) from None
        data: Any = _UNREAD
        if charset in (None, "utf-8", "UTF-8") and status < 400:
            with contextlib.suppress(ValueError):  # not UTF-8, or not JSON: read below
                data = json_loads(raw)
        if data is _UNREAD:
            # JSON is UTF-8; bytes that are not decode to lone surrogates (kept exactly, the
            # collector records them) instead of failing the whole call
            text = raw.decode(charset or "utf-8", "surrogateescape")
            if status >= 400:
                _raise_for_status(status, text, headers)
            try:
                data = json.loads(text)
            except ValueError:
                raise _Fatal(f"malformed response body (not JSON): {_snippet(text)}") from None
        if not isinstance(data, dict):
            raise _Fatal("malformed response body (not an object): "
                         f"{_snippet(raw.decode(charset or 'utf-8', 'surrogateescape'))}")
        return data

    async def apreflight(self, spec: ModelSpec) -> str | None:
        """One ``GET /models`` (free, answered by OpenAI, vLLM, llama.cpp, OpenRouter...), one
        attempt, a short timeout: an unreachable server or a refused key is reported in seconds
        with the server's own words instead of after every request's retries. A server with no
        model listing (404/405) answered, so it passes."""
        url = self.base_url + "/models"
        timeout = min(self.timeout, PREFLIGHT_TIMEOUT_S)
        try:
            async with self._client().get(
                url, timeout=aiohttp.ClientTimeout(total=timeout,
                                                   sock_connect=min(timeout, 5.0))) as r:
                status = r.status
                text = (await r.read()).decode(r.charset or "utf-8", "replace")
        except asyncio.TimeoutError:
            return f"no answer from {url} within {timeout:g} s"
        except aiohttp.ClientError as exc:
            return f"cannot reach {url} ({type(exc).__name__}: {exc})"
        if status in (404, 405) or status < 400:
            return None
        return f"GET {url}: HTTP {status}: {_snippet(text)}"

    # -- chat completions ------------------------------------------------------------------

    def build_body(self, request: GenerationRequest) -> dict[str, Any]:
        """The JSON body: model, messages, sampling parameters, then ``extra_body`` merged."""
        body: dict[str, Any] = {"model": api_model_name(request.model),
                                "messages": request.messages}
        for key, value in request.params.items():
            if key not in _NOT_BODY and value is not None:
                body[key] = value
        body.update(request.params.get("extra_body") or {})
        return body

    def _check_priced(self, spec: ModelSpec) -> None:
        if not has_price(spec) and not self.allow_unpriced:
            raise UnpricedModelError(
                f"model {spec.name!r} has no price (input_price/output_price, USD per million "
                "tokens); add one to its config, or pass --allow-unpriced to record the "
                "API-reported cost when there is one and leave it unknown otherwise"
            )

    async def agenerate(self, request: GenerationRequest) -> Response:
        self._check_priced(request.model)
        body = self.build_body(request)
        timeout = request.params.get("timeout")
        start = time.perf_counter()
        try:
            data, attempts = await self._post("/chat/completions", body, timeout)
        except _Fatal as exc:
            return failed_response(request, str(exc), latency_s=time.perf_counter() - start)
        latency = time.perf_counter() - start
        try:
            return self._parse(request, data, latency, attempts)
        except (_Fatal, UnpricedModelError) as exc:
            return failed_response(request, str(exc), latency_s=latency)

    async def _open_stream(self, client: aiohttp.ClientSession, path: str, body: dict[str, Any],
                           timeout: float | None) -> aiohttp.ClientResponse:
        """POST with ``stream: true``; the open response once the server answered 2xx. Errors
        before that are retried (429/5xx/connection, as :meth:`_post`) or fatal (4xx)."""
        url = self.base_url + path
        # the whole answer may take longer than ``timeout``: it bounds each read instead
        limit = float(timeout or self.timeout)

        async def attempt_once() -> aiohttp.ClientResponse:
            try:
                r = await client.post(url, data=json_dumps(body), timeout=aiohttp.ClientTimeout(
                    total=None, sock_connect=min(limit, 30.0), sock_read=limit))
            except asyncio.TimeoutError:
                raise _Retryable(f"timeout after {limit:g} s calling {url}") from None
            except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
                raise _Retryable(f"connection error ({type(exc).__name__}: {exc}) calling "
                                 f"{url}") from None
            if r.status < 400:
                return r
            try:
                text = (await r.read()).decode(r.charset or "utf-8", "replace")
            except (asyncio.TimeoutError, aiohttp.ClientError):
                text = ""
            finally:
                r.release()
            _raise_for_status(r.status, text, dict(r.headers))

        return (await self._retrying(attempt_once))[0]

    async def agenerate_text_stream(self, request: GenerationRequest
                                    ) -> AsyncIterator[str | Response]:
        """The answer as the server streams it (``stream: true`` and ``include_usage``): text
        pieces as they arrive, then the Response built from the pieces and the usage chunk,
        priced as :meth:`agenerate` prices."""
        self._check_priced(request.model)
        body = self.build_body(request)
        body["stream"] = True
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
        start = time.perf_counter()
        try:
            r = await self._open_stream(self._client(), "/chat/completions", body,
                                        request.params.get("timeout"))
        except _Fatal as exc:
            yield failed_response(request, str(exc), latency_s=time.perf_counter() - start)
            return
        pieces: list[str] = []
        data: dict[str, Any] = {"choices": [{"message": {"content": ""}, "finish_reason": None}]}
        first: float | None = None
        try:
            async for raw in r.content:
                line = raw.strip()
                if not line.startswith(b"data:"):
                    continue  # blank separators, comments, "event:" lines
                value = line[5:].strip()
                if value == b"[DONE]":
                    break
                try:
                    event = json.loads(value.decode("utf-8", "surrogateescape"))
                except ValueError:
                    raise _Fatal(f"malformed stream event (not JSON): {_snippet(value.decode('utf-8', 'replace'))}") from None
                if not isinstance(event, dict):
                    raise _Fatal("malformed stream event (not an object)")
                if "error" in event:
                    raise _Fatal(f"API error in the stream: {_snippet(json.dumps(event['error']))}")
                for key in ("id", "model"):
                    if event.get(key):
                        data[key] = event[key]
                if event.get("usage"):
                    data["usage"] = event["usage"]
                for choice in event.get("choices") or []:
                    if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                        continue
                    piece = (choice.get("delta") or {}).get("content")
                    if piece:
                        if first is None:
                            first = time.perf_counter() - start
                        pieces.append(str(piece))
                        yield str(piece)
                    if choice.get("finish_reason"):
                        data["choices"][0]["finish_reason"] = choice["finish_reason"]
            else:
                raise _Fatal("the stream ended without its final [DONE] event")
        except _Fatal as exc:
            yield failed_response(request, f"{exc} after {len(pieces)} piece(s)",
                                  latency_s=time.perf_counter() - start, partial="".join(pieces))
            return
        except (asyncio.TimeoutError, aiohttp.ClientError, ValueError) as exc:
            # ValueError: a line longer than the reader's limit
            yield failed_response(
                request, f"stream broken after {len(pieces)} piece(s) "
                f"({type(exc).__name__}: {exc or 'timeout'})",
                latency_s=time.perf_counter() - start, partial="".join(pieces))
            return
        finally:
            r.release()
        data["choices"][0]["message"]["content"] = "".join(pieces)
        try:
            response = self._parse(request, data, time.perf_counter() - start, 1)
        except (_Fatal, UnpricedModelError) as exc:
            yield failed_response(request, str(exc), latency_s=time.perf_counter() - start)
            return
        response.metadata["streamed"] = True
        if first is not None:
            response.metadata["first_piece_s"] = first
        yield response

    def _parse(self, request: GenerationRequest, data: dict[str, Any], latency: float,
               attempts: int) -> Response:
        choices = data.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            if "error" in data:
                raise _Fatal(f"API error in a 200 answer: {_snippet(json.dumps(data['error']))}")
            raise _Fatal(f"malformed response body (no choices): {_snippet(json.dumps(data))}")
        message = choices[0].get("message") or {}
        content = message.get("content")
        usage = data.get("usage") or {}
        prompt = _int(usage.get("prompt_tokens"))
        completion = _int(usage.get("completion_tokens"))
        reasoning = _int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens"))
        cached = _int((usage.get("prompt_tokens_details") or {}).get("cached_tokens"))
        if cached is None:  # Anthropic-style gateways
            cached = _int(usage.get("cache_read_input_tokens"))
        counts = {"prompt_tokens": prompt, "completion_tokens": completion,
                  "reasoning_tokens": reasoning, "cached_tokens": cached}
        impossible = {k: v for k, v in counts.items() if v is not None and v < 0}
        if impossible:
            raise _Fatal("impossible usage numbers in the answer: " + ", ".join(
                f"{k}={v}" for k, v in impossible.items()) + " (negative)")
        reported = usage.get("cost")
        reported = float(reported) if isinstance(reported, int | float) else None
        cost, source = response_cost(
            request.model, prompt, completion, cached_tokens=cached, reported_cost=reported,
            allow_unpriced=self.allow_unpriced,
        )
        metadata: dict[str, Any] = {"finish_reason": choices[0].get("finish_reason"),
                                    "attempts": attempts}
        if data.get("model"):
            metadata["response_model"] = data["model"]
        if data.get("id"):
            metadata["response_id"] = data["id"]
        thinking = message.get("reasoning_content") or message.get("reasoning")
        if thinking:
            metadata["reasoning"] = thinking
        if len(choices) > 1:
            metadata["choices"] = [(c.get("message") or {}).get("content") for c in choices]
        if not usage:
            metadata["usage_missing"] = True
        return Response(
            query_key=request.query_key or "", model=request.model.name,
            raw_output="" if content is None else str(content),
            prompt_tokens=prompt, completion_tokens=completion, reasoning_tokens=reasoning,
            cached_tokens=cached, cost=cost, cost_source=source, latency_s=latency,
            metadata=metadata,
        )

    def cost_note(self, spec: ModelSpec) -> str:
        note = super().cost_note(spec)
        return f"{note} (endpoint {self.base_url})"

    # -- embeddings ------------------------------------------------------------------------

    async def aembed(self, texts: Sequence[str], model: str, *, batch_size: int = 64,
                     dimensions: int | None = None) -> list[list[float]]:
        """Embed ``texts`` with an OpenAI-compatible ``/embeddings`` endpoint.

        Unlike chat calls, an embedding failure raises :class:`BackendError` (a router cannot
        train on a missing vector); retries follow the same policy.
        """
        out: list[list[float]] = []
        for i in range(0, len(texts), batch_size):
            batch = list(texts[i: i + batch_size])
            body: dict[str, Any] = {"model": model, "input": batch}
            if dimensions is not None:
                body["dimensions"] = dimensions
            try:
                data, _ = await self._post("/embeddings", body, None)
            except _Fatal as exc:
                raise BackendError(f"embedding {len(batch)} texts with {model!r} failed: {exc}"
                                   ) from None
            rows = data.get("data")
            if not isinstance(rows, list) or len(rows) != len(batch):
                raise BackendError(
                    f"embedding endpoint returned {len(rows) if isinstance(rows, list) else 0} "
                    f"vectors for {len(batch)} texts"
                )
            rows = sorted(rows, key=lambda r: r.get("index", 0))
            out.extend([float(v) for v in r["embedding"]] for r in rows)
        return out

    def embed(self, texts: Sequence[str], model: str, **kwargs: Any) -> list[list[float]]:
        """Synchronous :meth:`aembed`."""
        async def run() -> list[list[float]]:
            try:
                return await self.aembed(texts, model, **kwargs)
            finally:
                await self.aclose()

        return asyncio.run(run())

    def generate(self, request: GenerationRequest) -> Response:
        async def run() -> Response:
            try:
                return await self.agenerate(request)
            finally:
                await self.aclose()

        return asyncio.run(run())


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _snippet(text: str, limit: int = 300) -> str:
    text = text.strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"
