"""A real OpenAI-compatible HTTP server on loopback, with fault injection, for tests and benches.

Why not mock the client: the retry, timeout, cache and resume paths only mean something over a
real socket (real status codes, real Retry-After headers, real dropped connections). The server
speaks HTTP/1.1 with keep-alive on ``asyncio`` streams, runs its event loop in a background
thread (or as a process: ``python -m routerbench_core.testing.openai_server``), and records every
request it receives so a test can count calls.

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``GET /v1/models``.

Answers are deterministic: by default ``"echo: <last user message>"`` (or ``reply(body)``);
``usage`` counts whitespace-separated words, plus configured reasoning and cached tokens, and
carries ``cost`` (like OpenRouter) when ``cost_per_token`` is set.

Faults are queued with :meth:`OpenAIServer.inject` and fire on the next matching requests:
``"429"`` (with ``Retry-After``), ``"500"``, ``"503"``, ``"400"``, ``"401"``, ``"timeout"``
(the server stalls for ``hang_s`` before answering), ``"disconnect"`` (the connection is closed
without an answer), ``"malformed"`` (200 with a truncated JSON body) and ``"no-choices"``
(200 with valid JSON lacking ``choices``), ``"invalid-utf8"`` (200 whose answer text starts
with the raw bytes ``ff fe``, which are not UTF-8) and ``"negative-usage"`` (200 reporting
``prompt_tokens: -5``). A ``reply`` may also return text with lone surrogates (``"\udcff"``):
the JSON body then carries them as ``\udcff`` escapes, as a buggy server would.

``"stream": true`` is answered as server-sent events in OpenAI's chunk format (HTTP chunked
transfer): a role chunk, the answer one word per chunk (``stream_delay`` seconds apart, after
``latency`` before the first), a finish chunk, a usage chunk when ``stream_options.
include_usage`` is set, then ``data: [DONE]``. The ``"stream-cut"`` fault closes the
connection after the first word, as a crashed upstream would.

Example::

    with OpenAIServer(latency=0.01) as server:
        server.inject("429", times=2, retry_after=0.2)
        backend = OpenAIBackend(base_url=server.url, api_key="x")
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

FAULT_KINDS = ("429", "500", "503", "400", "401", "timeout", "disconnect", "malformed",
               "no-choices", "invalid-utf8", "negative-usage", "stream-cut")

_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
            429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass
class Fault:
    """A queued fault: fires on the next ``times`` requests whose text contains ``match``."""

    kind: str
    times: int = 1
    match: str | None = None
    retry_after: float | None = None
    fired: int = 0


@dataclass
class RecordedRequest:
    """One request the server received, and what it did with it."""

    path: str
    body: Any
    headers: dict[str, str]
    received_at: float
    outcome: str = "pending"  # "ok", a fault kind, or "error"

    @property
    def text(self) -> str:
        """All message contents (or embedding inputs), joined: what ``match`` looks in."""
        if not isinstance(self.body, dict):
            return ""
        if "messages" in self.body:
            return "\n".join(str(m.get("content", "")) for m in self.body["messages"]
                             if isinstance(m, dict))
        inp = self.body.get("input")
        return "\n".join(inp) if isinstance(inp, list) else str(inp or "")


@dataclass
class OpenAIServer:
    """The loopback server. Use as a context manager, or call :meth:`start` / :meth:`stop`.

    :param latency: seconds every answer takes (``latency_fn(body)`` overrides it per request).
    :param model_field: the ``model`` reported in answers (default: the requested model); an
        online router such as ``openrouter/auto`` reports the model it picked here.
    :param cost_per_token: when set, ``usage.cost`` = total tokens × this (USD), as OpenRouter.
    :param reasoning_tokens: added to completion tokens and reported in
        ``completion_tokens_details.reasoning_tokens``.
    :param cached_tokens: reported in ``prompt_tokens_details.cached_tokens``.
    :param reply: ``reply(body) -> str`` for the answer text.
    :param hang_s: how long a ``"timeout"`` fault stalls.
    :param api_key: when set, requests without ``Authorization: Bearer <api_key>`` get 401.
    :param embedding_dim: size of the deterministic embedding vectors.
    :param stream_delay: seconds between two streamed words.
    """

    latency: float = 0.0
    model_field: str | None = None
    cost_per_token: float | None = None
    reasoning_tokens: int = 0
    cached_tokens: int = 0
    reply: Callable[[dict[str, Any]], str] | None = None
    latency_fn: Callable[[dict[str, Any]], float] | None = None
    hang_s: float = 30.0
    api_key: str | None = None
    embedding_dim: int = 8
    stream_delay: float = 0.0
    host: str = "127.0.0.1"
    port: int = 0
    record: bool = True
    requests: list[RecordedRequest] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.AbstractServer | None = None
        self._ready = threading.Event()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._count = 0

    # -- control (any thread) --------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL clients use (``http://127.0.0.1:PORT/v1``)."""
        return f"http://{self.host}:{self.port}/v1"

    def inject(self, kind: str, *, times: int = 1, match: str | None = None,
               retry_after: float | None = None) -> Fault:
        """Queue a fault for the next ``times`` matching requests."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; choose one of {', '.join(FAULT_KINDS)}")
        fault = Fault(kind=kind, times=times, match=match, retry_after=retry_after)
        with self._lock:
            self.faults.append(fault)
        return fault

    def count(self, match: str | None = None, *, path: str | None = None,
              outcome: str | None = None) -> int:
        """How many requests were received (containing ``match``, on ``path``, with
        ``outcome``). Counts every request even when ``record`` is off and nothing filters."""
        if match is None and path is None and outcome is None:
            return self._count
        with self._lock:
            return sum(
                1 for r in self.requests
                if (match is None or match in r.text) and (path is None or r.path == path)
                and (outcome is None or r.outcome == outcome)
            )

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.faults.clear()
            self._count = 0

    def start(self) -> OpenAIServer:
        self._thread = threading.Thread(target=self._run, name="openai-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test OpenAI server did not start within 10 s")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        with contextlib.suppress(Exception):
            fut.result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        self._loop = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the event loop thread -------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, self.port, backlog=1024)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            loop.close()

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                request_line = await reader.readline()
                if not request_line:
                    break
                try:
                    method, target, _ = request_line.decode("latin-1").split(" ", 2)
                except ValueError:
                    break
                headers: dict[str, str] = {}
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b"\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length") or 0)
                raw = await reader.readexactly(length) if length else b""
                keep = await self._respond(method, target.split("?")[0], headers, raw, writer)
                if not keep or headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.CancelledError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._handlers.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    def _take_fault(self, req: RecordedRequest) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.fired < fault.times and (fault.match is None or fault.match in req.text):
                    fault.fired += 1
                    return fault
        return None

    @staticmethod
    def _send(writer: asyncio.StreamWriter, status: int, payload: bytes,
              extra: dict[str, str] | None = None) -> None:
        head = [f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
                "Content-Type: application/json", f"Content-Length: {len(payload)}",
                "Connection: keep-alive"]
        head += [f"{k}: {v}" for k, v in (extra or {}).items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload)

    async def _respond(self, method: str, path: str, headers: dict[str, str], raw: bytes,
                       writer: asyncio.StreamWriter) -> bool:
        try:
            body: Any = json.loads(raw) if raw else {}
        except ValueError:
            body = None
        req = RecordedRequest(path=path, body=body, headers=headers, received_at=time.time())
        with self._lock:
            self._count += 1
            if self.record:
                self.requests.append(req)

        def error(status: int, message: str, extra: dict[str, str] | None = None) -> bool:
            req.outcome = str(status)
            self._send(writer, status, json.dumps(
                {"error": {"message": message, "type": "test_server", "code": status}}
            ).encode(), extra)
            return True

        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            return error(401, "invalid api key")  # as real servers, for every route
        if method == "GET" and path.rstrip("/").endswith("/models"):
            req.outcome = "ok"
            self._send(writer, 200, json.dumps({"object": "list", "data": [
                {"id": self.model_field or "test-model", "object": "model"}]}).encode())
            return True
        if method != "POST" or not (path.endswith("/chat/completions")
                                    or path.endswith("/embeddings")):
            return error(404, f"no route {method} {path}")
        if not isinstance(body, dict):
            return error(400, "request body is not a JSON object")

        fault = self._take_fault(req)
        delay = self.latency_fn(body) if self.latency_fn else self.latency
        if fault is not None:
            kind = fault.kind
            if kind == "timeout":
                req.outcome = "timeout"
                await asyncio.sleep(self.hang_s)
            elif kind == "disconnect":
                req.outcome = "disconnect"
                return False
            elif kind == "429":
                extra = {} if fault.retry_after is None else {"Retry-After": _fmt(fault.retry_after)}
                return error(429, "rate limited", extra)
            elif kind in ("500", "503", "400", "401"):
                return error(int(kind), f"injected {kind}")
            elif kind == "malformed":
                if delay:
                    await asyncio.sleep(delay)
                req.outcome = "malformed"
                self._send(writer, 200, b'{"id": "x", "choices": [{"message": {"content": "tru')
                return True
            elif kind == "no-choices":
                req.outcome = "no-choices"
                self._send(writer, 200, b'{"id": "x", "object": "chat.completion"}')
                return True
        if delay:
            await asyncio.sleep(delay)
        if path.endswith("/embeddings"):
            payload = self._embeddings(body)
        else:
            payload = self._completion(body)
        if req.outcome == "pending":
            req.outcome = "ok"
        kind = fault.kind if fault is not None else None
        if kind == "negative-usage" and "usage" in payload:
            payload["usage"]["prompt_tokens"] = -5
            req.outcome = kind
        if body.get("stream") and path.endswith("/chat/completions"):
            if kind == "stream-cut":
                req.outcome = kind
            return await self._send_stream(writer, payload, body, cut=kind == "stream-cut")
        raw = json.dumps(payload).encode()
        if kind == "invalid-utf8":
            raw = raw.replace(b'"content": "', b'"content": "\xff\xfe', 1)
            req.outcome = kind
        self._send(writer, 200, raw)
        return True

    async def _send_stream(self, writer: asyncio.StreamWriter, payload: dict[str, Any],
                           body: dict[str, Any], *, cut: bool) -> bool:
        """The completion as OpenAI's server-sent events, one word per chunk."""
        head = ["HTTP/1.1 200 OK", "Content-Type: text/event-stream", "Cache-Control: no-cache",
                "Transfer-Encoding: chunked", "Connection: keep-alive"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        base = {"id": payload["id"], "object": "chat.completion.chunk",
                "created": payload["created"], "model": payload["model"]}

        def event(data: Any) -> None:
            line = b"data: " + (data if isinstance(data, bytes) else json.dumps(data).encode())
            line += b"\n\n"
            writer.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> None:
            event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})

        chunk({"role": "assistant", "content": ""})
        words = payload["choices"][0]["message"]["content"].split(" ")
        for i, word in enumerate(words):
            if i and self.stream_delay:
                await asyncio.sleep(self.stream_delay)
            chunk({"content": word if i == len(words) - 1 else word + " "})
            await writer.drain()
            if cut:
                writer.transport.abort()  # no final chunk: the reader sees a broken body
                return False
        chunk({}, "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            event({**base, "choices": [], "usage": payload["usage"]})
        event(b"[DONE]")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    # -- payloads --------------------------------------------------------------------------

    def _completion(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body.get("messages") or []
        last_user = next((str(m.get("content", "")) for m in reversed(messages)
                          if isinstance(m, dict) and m.get("role") == "user"), "")
        text = self.reply(body) if self.reply else f"echo: {last_user}"
        prompt = sum(len(str(m.get("content", "")).split()) for m in messages
                     if isinstance(m, dict))
        completion = len(text.split()) + self.reasoning_tokens
        usage: dict[str, Any] = {
            "prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "completion_tokens_details": {"reasoning_tokens": self.reasoning_tokens},
            "prompt_tokens_details": {"cached_tokens": min(self.cached_tokens, prompt)},
        }
        if self.cost_per_token is not None:
            usage["cost"] = (prompt + completion) * self.cost_per_token
        n = int(body.get("n") or 1)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        if self.reasoning_tokens:
            message["reasoning_content"] = "thinking " * min(self.reasoning_tokens, 8)
        return {
            "id": "chatcmpl-" + hashlib.sha1(json.dumps(body, sort_keys=True).encode())
            .hexdigest()[:12],
            "object": "chat.completion", "created": int(time.time()),
            "model": self.model_field or body.get("model", "test-model"),
            "choices": [{"index": i, "message": dict(message), "finish_reason": "stop"}
                        for i in range(n)],
            "usage": usage,
        }

    def _embeddings(self, body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input")
        texts = inputs if isinstance(inputs, list) else [inputs]
        data = []
        for i, t in enumerate(texts):
            digest = hashlib.sha256(str(t).encode()).digest()
            vec = [(digest[j % len(digest)] - 127.5) / 127.5 for j in range(self.embedding_dim)]
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            data.append({"object": "embedding", "index": i, "embedding": [v / norm for v in vec]})
        tokens = sum(len(str(t).split()) for t in texts)
        usage: dict[str, Any] = {"prompt_tokens": tokens, "total_tokens": tokens}
        if self.cost_per_token is not None:
            usage["cost"] = tokens * self.cost_per_token
        return {"object": "list", "data": data,
                "model": self.model_field or body.get("model", "test-embedder"), "usage": usage}


def _fmt(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def main(argv: list[str] | None = None) -> None:
    """Run the server in the foreground; prints its base URL on the first line of stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--model-field", default=None)
    parser.add_argument("--cost-per-token", type=float, default=None)
    args = parser.parse_args(argv)
    server = OpenAIServer(latency=args.latency, model_field=args.model_field,
                          cost_per_token=args.cost_per_token, port=args.port, record=False)
    server.start()
    print(server.url, flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
