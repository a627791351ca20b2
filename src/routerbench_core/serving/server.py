"""``rbench serve``: a saved router behind an OpenAI-compatible HTTP API (aiohttp).

Per request: resolve the operating point named in ``model``, check the client key and its
budget, embed the query (in-memory LRU cache), route, then call the chosen pool model through
its rbench backend; on a 429, a 5xx, a timeout or a dropped connection the next-best allowed
model is tried (at most ``max_fallbacks`` times) and every failed attempt is recorded. The
answer carries the model that produced it in ``model`` and in the ``x-rbench-model`` header.

Why aiohttp: the OpenAI backend already speaks aiohttp (one async stack, one dependency), and
its C HTTP parser keeps the per-request cost of the stack itself near 0.3 ms of CPU (the bare
proxy in bench/serve_overhead.py).

Streaming (``stream: true``) is relayed as the model writes it, as server-sent events in the
OpenAI chunk format (``Backend.agenerate_text_stream``): time to first token is the model's.
A model that fails before its first text piece is replaced by the next candidate; once text was
sent nothing can be replaced, so a stream that breaks ends with an ``error`` event and is
recorded as a 502.

Queries are embedded and routed in micro-batches, one per turn of the event loop (see
RoutingService); ``--workers N`` runs N such servers on one port (serving/workers.py).

Every request, answered or refused, is recorded in the store's ``served`` table (written in
batches off the event loop), so served traffic can become a bench (``rbench data
from-served``) and be evaluated like one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from aiohttp import web

from routerbench_core.data.jsonio import json_dumps, json_loads
from routerbench_core.data.store import spend_by_key, text_hash
from routerbench_core.routing.router import QuerySet, RouterError
from routerbench_core.schema import GenerationRequest, ModelSpec, Response
from routerbench_core.serving.config import ServeConfig, ServeConfigError
from routerbench_core.serving.points import PointError, Resolved, resolve, served_id, sweep_keys

if TYPE_CHECKING:
    from routerbench_core.data.store import Store
    from routerbench_core.embedding.base import Embedder
    from routerbench_core.serving.artefact import LoadedArtefact

LOG = logging.getLogger("rbench.serve")
T = TypeVar("T")
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
#: Request fields forwarded to the upstream model (sampling parameters).
FORWARDED = ("temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed",
             "presence_penalty", "frequency_penalty", "logit_bias", "response_format",
             "reasoning_effort", "user")
#: Request fields refused with a clear 400 (the server cannot honour them yet).
UNSUPPORTED = ("tools", "functions", "tool_choice", "function_call")
#: Upstream failures that mean the *request* is bad: returned to the client, no fallback.
CLIENT_ERRORS = ("HTTP 400", "HTTP 413", "HTTP 422")
#: ``asyncio.timeout`` (3.11+): bounds a request without the extra task ``wait_for`` makes
_timeout = getattr(asyncio, "timeout", None)
#: Embedders faster than this per text run on the event loop (see RoutingService.inline).
INLINE_EMBED_S = 0.001


class ServeError(RuntimeError):
    """The server cannot start (bad artefact/config combination, unsafe bind)."""


def openai_error(status: int, message: str, *, type_: str = "invalid_request_error",
                 code: str | None = None, param: str | None = None,
                 headers: Mapping[str, str] | None = None) -> web.Response:
    """An error in the OpenAI format: ``{"error": {"message", "type", "param", "code"}}``."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=dict(headers or {}))




def query_text(messages: list[dict[str, Any]]) -> str:
    """What is embedded: the last user message (text parts joined)."""
    for m in reversed(messages):
        if isinstance(m, dict) and m.get("role") == "user":
            content = m.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "\n".join(str(p.get("text", "")) for p in content
                                 if isinstance(p, dict) and p.get("type") == "text")
    raise ValueError("messages: no user message to route")


class JsonLogFormatter(logging.Formatter):
    """One JSON object per line: the structured fields of a record plus time and level (and
    ``static`` fields on every line, e.g. the worker's index)."""

    def __init__(self, static: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        self.static = dict(static or {})

    def format(self, record: logging.LogRecord) -> str:
        payload = {"ts": round(record.created, 3), "level": record.levelname.lower(),
                   "event": record.getMessage(), **self.static}
        payload.update(getattr(record, "fields", {}))
        return json.dumps(payload, default=str)


def _log(event: str, level: int = logging.INFO, **fields: Any) -> None:
    if LOG.isEnabledFor(level):
        LOG.log(level, event, extra={"fields": fields})


# -- the CPU part of a request: embed, route, order fallbacks ------------------------------------


class RoutingService:
    """Embeds queries (LRU cache) and routes them with the loaded router, in micro-batches.

    Why batches: under load many requests arrive in one turn of the event loop, and a router's
    per-call cost (numpy set-up, a few small matrix products) dwarfs its per-query cost, so one
    call for 64 queries costs about what one call for one query does. A request's query joins
    the batch of the loop turn it arrives in; the batch is routed at the start of the next turn
    (grouped by operating point), so a lone request waits one loop turn, not a timer. Routers
    decide each query on its own (the protocol's rule), so a batch routes exactly as one-by-one
    calls would (tested). Texts not in the cache are embedded the same way: in one call per
    turn, on the event loop for an embedder faster than :data:`INLINE_EMBED_S` per text, else
    on one worker thread, so a neural embedder never stalls other requests.
    """

    def __init__(self, artefact: LoadedArtefact, embedder: Embedder | None,
                 cache_size: int = 100_000) -> None:
        self.artefact = artefact
        self.meta = artefact.meta
        self.router = artefact.router
        self.embedder = embedder
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rbench-embed")
        self.hits = self.misses = 0
        #: Embed on the event loop when one text takes under INLINE_EMBED_S (the hashing
        #: embedder: a thread hop would cost more than the work); else on the worker thread.
        self.inline = False
        #: queries waiting for the next routing batch, per operating point
        self._to_route: dict[str, tuple[dict[str, Any] | None,
                                        list[tuple[str, np.ndarray | None, asyncio.Future[str]]]]] = {}
        #: texts waiting for the next embedding batch: cache key -> (text, waiters)
        self._to_embed: dict[str, tuple[str, list[asyncio.Future[np.ndarray]]]] = {}
        self._route_scheduled = self._embed_scheduled = False
        #: size of every routing batch so far (the server reports its mean)
        self.batches = self.batched = 0
        if self.router.needs_embeddings and embedder is None:
            raise ServeError(f"router {self.meta.router!r} needs embeddings but the artefact "
                             "names no embedder")

    def _embed_now(self, text: str) -> np.ndarray:
        return self._embed_many([text])[0]

    def _embed_many(self, texts: list[str]) -> np.ndarray:
        from routerbench_core.embedding.base import l2_normalise

        assert self.embedder is not None
        return l2_normalise(np.asarray(self.embedder.embed(texts), dtype=np.float32))

    def _embed_each(self, texts: list[str]) -> list[np.ndarray | BaseException]:
        """One call for the batch; if it fails, each text alone, so one bad text fails only its
        own request."""
        try:
            return list(self._embed_many(texts))
        except Exception as exc:
            if len(texts) == 1:
                return [exc]
        out: list[np.ndarray | BaseException] = []
        for text in texts:
            try:
                out.append(self._embed_many([text])[0])
            except Exception as exc:
                out.append(exc)
        return out

    async def embed(self, text: str, key: str | None = None) -> np.ndarray:
        """The text's embedding; ``key`` is its :func:`text_hash` when the caller has it."""
        key = key or text_hash(text)
        vec = self._cache.get(key)
        if vec is not None:
            self._cache.move_to_end(key)
            self.hits += 1
            return vec
        self.misses += 1
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[np.ndarray] = loop.create_future()
        waiting = self._to_embed.get(key)
        if waiting is None:
            self._to_embed[key] = (text, [waiter])
        else:
            waiting[1].append(waiter)
        if not self._embed_scheduled:
            self._embed_scheduled = True
            loop.call_soon(lambda: asyncio.ensure_future(self._embed_waiting()))
        return await waiter

    async def _embed_waiting(self) -> None:
        self._embed_scheduled = False
        batch, self._to_embed = self._to_embed, {}
        texts = [text for text, _ in batch.values()]
        try:
            vecs: list[np.ndarray | BaseException] = list(
                self._embed_each(texts) if self.inline else
                await asyncio.get_running_loop().run_in_executor(self._pool, self._embed_each,
                                                                 texts))
        except Exception as exc:  # the executor itself is gone (shutting down)
            vecs = [exc] * len(texts)
        for (key, (_, waiters)), vec in zip(batch.items(), vecs, strict=True):
            if isinstance(vec, BaseException):
                _fail(waiters, vec)
                continue
            if self.cache_size:
                self._cache[key] = vec
                if len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(vec)

    def route(self, text: str, vec: np.ndarray | None, config: dict[str, Any] | None) -> str:
        """The model the router picks for one query at ``config`` (no batching)."""
        return self.route_many([text], None if vec is None else vec[None, :], config)[0]

    def route_many(self, texts: list[str], vecs: np.ndarray | None,
                   config: dict[str, Any] | None) -> list[str]:
        """The models the router picks for several queries at one ``config`` (one call)."""
        models = self.artefact.models
        n = len(texts)
        queries = QuerySet(
            keys=np.array(["served"] * n), datasets=np.array(["served"] * n), texts=texts,
            models=models, _embed=None if vecs is None else (lambda _texts: vecs),
        )
        routing = self.router.route(queries, config)
        if routing.external_model is not None or routing.score is not None:
            raise RouterError(f"router {self.meta.router!r} answers from outside the pool and "
                              "cannot be served")
        return [models[int(j)] for j in np.asarray(routing.choice)]

    async def decide(self, text: str, config: dict[str, Any] | None,
                     key: str | None = None) -> str:
        """The model for one query, routed in the batch of the loop turn it arrives in
        (``key``: the text's :func:`text_hash`, when the caller has it)."""
        vec = await self.embed(text, key) if self.router.needs_embeddings else None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[str] = loop.create_future()
        point = "" if not config else json.dumps(config, sort_keys=True, default=str)
        group = self._to_route.get(point)
        if group is None:
            group = self._to_route[point] = (config, [])
        group[1].append((text, vec, waiter))
        if not self._route_scheduled:
            self._route_scheduled = True
            loop.call_soon(self._route_waiting)
        return await waiter

    def _route_waiting(self) -> None:
        self._route_scheduled = False
        groups, self._to_route = self._to_route, {}
        for config, items in groups.values():
            try:
                vecs = None if items[0][1] is None else np.stack([v for _, v, _ in items])
                models = self.route_many([text for text, _, _ in items], vecs, config)
            except Exception as exc:
                if len(items) == 1:
                    _fail([items[0][2]], exc)
                    continue
                # one query the router rejects must not fail the others: route each alone
                for text, vec, waiter in items:
                    try:
                        model = self.route(text, vec, config)
                    except Exception as one_exc:
                        _fail([waiter], one_exc)
                    else:
                        if not waiter.done():
                            waiter.set_result(model)
                continue
            self.batches += 1
            self.batched += len(items)
            for (_, _, waiter), model in zip(items, models, strict=True):
                if not waiter.done():  # a request that timed out meanwhile
                    waiter.set_result(model)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


def _fail(waiters: list[asyncio.Future[Any]], exc: BaseException) -> None:
    """Every request in a failed batch gets the batch's error."""
    for waiter in waiters:
        if not waiter.done():
            waiter.set_exception(exc)


# -- recording -----------------------------------------------------------------------------------


class Recorder:
    """Writes served-request records to the store in batches, on a worker thread."""

    def __init__(self, store: Store, interval: float = 0.05) -> None:
        self.store = store
        self.interval = interval
        self._buffer: list[dict[str, Any]] = []
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rbench-record")
        self._task: asyncio.Task[None] | None = None
        self._lock = threading.Lock()
        self.written = 0

    def add(self, record: dict[str, Any]) -> None:
        with self._lock:
            self._buffer.append(record)

    def _write(self) -> None:
        with self._lock:
            rows, self._buffer = self._buffer, []
        if rows:
            self.written += self.store.record_served(rows)

    async def flush(self) -> None:
        await asyncio.get_running_loop().run_in_executor(self._pool, self._write)

    async def read(self, query: Callable[[], T]) -> T:
        """Run a store read on the recorder's thread (the store's one connection is used by
        one thread at a time)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, query)

    def pending_spend(self) -> dict[str, float]:
        """USD per key in the records not yet written."""
        with self._lock:
            return spend_by_key(self._buffer)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.flush()
            except Exception as exc:  # a failed write is logged loudly and retried next tick
                _log("store-write-failed", logging.ERROR, error=f"{type(exc).__name__}: {exc}")

    def start(self) -> None:
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
        self._pool.shutdown(wait=True)


# -- the server ------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """One request's forwarding result."""

    response: Response | None
    routed: str
    tried: list[dict[str, Any]] = field(default_factory=list)
    client_error: str | None = None
    #: streaming: the model answering, its first text piece and the rest of its stream
    stream: tuple[str, str, AsyncIterator[str | Response]] | None = None


class RouterServer:
    """The aiohttp application around one loaded artefact.

    :param api_key: a key every client must send (``--api-key-env``); configured ``keys``
        (with budgets) are accepted too. With neither, the server is open and must bind to a
        loopback address.
    """

    def __init__(self, artefact: LoadedArtefact, config: ServeConfig, store: Store, *,
                 host_plugins: Any, embedder: Embedder | None = None, bind: str = "127.0.0.1",
                 port: int = 8000, api_key: str | None = None, worker: int | None = None
                 ) -> None:
        self.artefact = artefact
        self.meta = artefact.meta
        self.artefact_id = artefact.meta.artefact_id
        self.config = config
        self.store = store
        self.bind = bind
        self.port = port
        #: this process's index among ``--workers`` (None: the only server on its port)
        self.worker = worker
        if bind not in LOOPBACK and not api_key:
            raise ServeError(
                f"refusing to bind {bind}: a server reachable from other machines needs a key "
                "of its own; pass --api-key-env VAR (clients then send Authorization: Bearer "
                "$VAR), or bind 127.0.0.1"
            )
        self.specs: dict[str, ModelSpec] = config.specs(self.meta.models)
        self.allowed = [m for m in config.allowed if m in self.specs]
        self._orders: dict[str, list[str]] = {}  # routed model -> models to try, in order
        if not self.allowed:
            raise ServeConfigError("allow: no allowed model is configured")
        self.keys: dict[str, tuple[str, float | None]] = {}  # secret -> (name, budget)
        if api_key:
            self.keys[api_key] = ("default", None)
        for name, client in config.keys.items():
            secret = os.environ.get(client.key_env)
            if not secret:
                raise ServeConfigError(f"keys.{name}.key_env: environment variable "
                                       f"{client.key_env} is not set")
            if secret in self.keys:
                raise ServeConfigError(f"keys.{name}: the same secret is configured twice")
            self.keys[secret] = (name, client.budget_usd)
        self.backends = {
            name: host_plugins.load("backend", route.backend)(
                **{"timeout": config.upstream_timeout_s, "max_retries": route.max_retries,
                   "concurrency": config.max_concurrency,
                   **({"base_url": route.base_url} if route.base_url else {}),
                   **({"api_key_env": route.api_key_env} if route.api_key_env else
                      {"api_key": "none"}),
                   **route.options})
            for name, route in config.models.items()
        }
        self.service = RoutingService(artefact, embedder, config.embed_cache)
        self.recorder = Recorder(store)
        self.spend: dict[str, float] = {}
        self.gate = asyncio.Semaphore(config.max_concurrency)
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._shadow_tasks: set[asyncio.Task[Any]] = set()
        self._sync_task: asyncio.Task[None] | None = None
        self._check_route()

    def _check_route(self) -> None:
        """Route a probe query once at start-up: a router that cannot serve fails now."""
        vec = None
        if self.artefact.router.needs_embeddings:
            self.service._embed_now("rbench serve start-up probe")  # loads the model
            t0 = time.perf_counter()
            vec = self.service._embed_now("rbench serve start-up probe, timed")
            self.service.inline = time.perf_counter() - t0 < INLINE_EMBED_S
        try:
            self.service.route("rbench serve start-up probe", vec, None)
        except RouterError as exc:
            raise ServeError(f"router {self.meta.router!r} cannot route live queries: {exc} "
                             "(a cascade that reads its models' answers cannot be served yet)"
                             ) from None

    # -- app -------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_get("/health", self.health)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/chat/completions", self.chat)
        if self.worker is not None:
            app.on_response_prepare.append(self._worker_header)
        return app

    async def _worker_header(self, request: web.Request, response: web.StreamResponse) -> None:
        """With --workers, every answer (errors too) names the worker that gave it."""
        response.headers["x-rbench-worker"] = str(self.worker)

    @property
    def url(self) -> str:
        return f"http://{self.bind}:{self.port}/v1"

    async def start(self) -> None:
        self.gate = asyncio.Semaphore(self.config.max_concurrency)
        self.spend = self.store.served_spend()
        self.recorder.start()
        if self.worker is not None and any(b is not None for _, b in self.keys.values()):
            self._sync_task = asyncio.ensure_future(self._sync_spend())
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind, self.port, backlog=1024,
                           reuse_port=self.worker is not None)
        await site.start()
        server = site._server
        if server is not None and getattr(server, "sockets", None):
            self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
        _log("serving", router=self.meta.router, artefact=self.meta.artefact_id, url=self.url,
             models=self.allowed)

    async def _sync_spend(self) -> None:
        """With several workers, each one's spend per key is the store's total (every worker's
        flushed records) plus its own records not yet written, re-read every
        ``budget_sync_s``: a key can overshoot its budget by what the other workers spend in
        one interval, never by more."""
        while True:
            await asyncio.sleep(self.config.budget_sync_s)
            try:
                await self.recorder.flush()
                stored = await self.recorder.read(self.store.served_spend)
            except Exception as exc:  # logged; the last known spend stays in force
                _log("budget-sync-failed", logging.ERROR, error=f"{type(exc).__name__}: {exc}")
                continue
            pending = self.recorder.pending_spend()
            self.spend = {k: stored.get(k, 0.0) + pending.get(k, 0.0)
                          for k in set(stored) | set(pending)}

    async def stop(self) -> None:
        if self._sync_task is not None:
            self._sync_task.cancel()
            await asyncio.gather(self._sync_task, return_exceptions=True)
        if self._shadow_tasks:
            await asyncio.gather(*self._shadow_tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        await self.recorder.stop()
        for backend in self.backends.values():
            await backend.aclose()
        self.service.close()

    # background-thread mode (tests, benches) ---------------------------------------------

    def start_in_thread(self) -> RouterServer:
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="rbench-serve", daemon=True)
        self._thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        return self

    def stop_thread(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def __enter__(self) -> RouterServer:
        return self.start_in_thread()

    def __exit__(self, *exc: object) -> None:
        self.stop_thread()

    # -- handlers --------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        return web.json_response({
            "status": "ok", "router": self.meta.router, "artefact": self.meta.artefact_id,
            "models": self.allowed, "embed_cache": {"hits": self.service.hits,
                                                    "misses": self.service.misses},
            "routing_batches": {"batches": self.service.batches,
                                "queries": self.service.batched},
        })

    async def models(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)[1]) is not None:
            return denied
        entry = {
            "id": served_id(self.meta), "object": "model", "created": int(self.meta.created_at),
            "owned_by": "rbench",
            "rbench": {
                "router": self.meta.router, "pool": self.allowed,
                "operating_points": [p.name for p in self.meta.points],
                "default_point": self.meta.default_point,
                "sweep_keys": {k: list(v) for k, v in sweep_keys(self.meta).items()},
                "bench": self.meta.bench.name, "bench_fingerprint": self.meta.bench.fingerprint,
            },
        }
        return web.json_response({"object": "list", "data": [entry]})

    def _auth(self, request: web.Request) -> tuple[tuple[str, float | None] | None,
                                                   web.Response | None]:
        if not self.keys:
            return None, None
        header = request.headers.get("Authorization", "")
        secret = header[7:].strip() if header.lower().startswith("bearer ") else ""
        who = self.keys.get(secret)
        if who is None:
            return None, openai_error(401, "invalid or missing API key (send Authorization: "
                                      "Bearer KEY)", code="invalid_api_key")
        return who, None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        t0 = time.perf_counter()
        rid = "chatcmpl-rbench-" + os.urandom(10).hex()
        who, denied = self._auth(request)
        if denied is not None:
            return denied
        key_name = who[0] if who else None
        record: dict[str, Any] = {"request_id": rid, "created_at": time.time(), "api_key": key_name,
                                  "router": self.meta.router, "artefact": self.artefact_id,
                                  "fallbacks": [], "stream": 0}
        try:
            body = json_loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return openai_error(400, "request body is not valid JSON")
        if not isinstance(body, dict):
            return openai_error(400, "request body must be a JSON object")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return openai_error(400, "messages: a non-empty list of chat messages is required",
                                param="messages")
        try:
            text = query_text(messages)
        except ValueError as exc:
            return openai_error(400, str(exc), param="messages")
        for name in UNSUPPORTED:
            if body.get(name):
                return openai_error(400, f"{name}: not supported by rbench serve yet",
                                    param=name, code="unsupported_parameter")
        if int(body.get("n") or 1) != 1:
            return openai_error(400, "n: only n=1 is supported", param="n")
        stream = bool(body.get("stream"))
        record.update(stream=int(stream),
                      query_hash=text_hash(text))
        if self.config.record_text:
            record.update(query_text=text, messages=messages)
        try:
            point = resolve(self.meta, body.get("model"))
        except PointError as exc:
            self._finish(record, t0, status=400, error=str(exc))
            return openai_error(400, str(exc), param="model", code=exc.code)
        record["operating_point"] = {"label": point.label, "config": point.config}
        if who is not None and who[1] is not None and self.spend.get(who[0], 0.0) >= who[1]:
            message = (f"API key {who[0]!r} has spent ${self.spend.get(who[0], 0.0):.4f} of its "
                       f"${who[1]:.4f} budget")
            self._finish(record, t0, status=429, error=message)
            return openai_error(429, message, type_="insufficient_quota",
                                code="insufficient_quota")
        async with self.gate:  # held while the answer is relayed, streamed or not
            return await self._respond(request, rid, t0, text, messages, body, point, record,
                                       key_name, stream)

    async def _respond(self, request: web.Request, rid: str, t0: float, text: str,
                       messages: list[dict[str, Any]], body: dict[str, Any], point: Resolved,
                       record: dict[str, Any], key_name: str | None, stream: bool
                       ) -> web.StreamResponse:
        try:  # the timeout bounds the wait for the answer (streaming: for its first piece)
            answer = self._answer(text, messages, body, point, record, stream=stream)
            if _timeout is None:  # Python 3.10
                outcome = await asyncio.wait_for(answer, self.config.request_timeout_s)
            else:  # no task per request (wait_for makes one)
                async with _timeout(self.config.request_timeout_s):
                    outcome = await answer
        except asyncio.TimeoutError:
            message = f"request timed out after {self.config.request_timeout_s:g} s"
            self._finish(record, t0, status=504, error=message)
            return openai_error(504, message, type_="timeout", code="timeout")
        except RouterError as exc:
            self._finish(record, t0, status=500, error=str(exc))
            return openai_error(500, f"routing failed: {exc}", type_="server_error")
        if outcome.client_error is not None:
            self._finish(record, t0, status=400, error=outcome.client_error)
            return openai_error(400, f"the model rejected the request: {outcome.client_error}",
                                code="upstream_rejected")
        resp = outcome.response
        if outcome.stream is None and (resp is None or not resp.ok):
            errors = "; ".join(f"{t['model']}: {t['error']}" for t in outcome.tried)
            message = f"every model tried failed ({errors})"
            self._finish(record, t0, status=502, error=message)
            return openai_error(502, message, type_="upstream_error", code="upstream_failed")
        if stream:
            if outcome.stream is None:  # an answer without text: only its end to relay
                assert resp is not None
                outcome.stream = (resp.model, "", _only(resp))
            return await self._relay(request, rid, t0, text, messages, body, point, record,
                                     key_name, outcome)
        assert resp is not None
        served = resp.model
        self._account(record, key_name, resp)
        headers = self._headers(rid, served, point, outcome)
        payload = _completion(rid, served, resp)
        self._maybe_shadow(text, messages, body, served, record, t0)
        return web.Response(body=json_dumps(payload), headers=headers,
                            content_type="application/json")

    def _account(self, record: dict[str, Any], key_name: str | None, resp: Response) -> None:
        """Charge the key and fill the record from a successful answer."""
        served = resp.model
        if key_name is not None:
            self.spend[key_name] = self.spend.get(key_name, 0.0) + (resp.cost or 0.0)
        metadata = {"cost_source": resp.cost_source,
                    "finish_reason": resp.metadata.get("finish_reason"),
                    "prices": {served: _prices(self.specs[served])}}
        if "first_piece_s" in resp.metadata:
            metadata["upstream_first_piece_s"] = resp.metadata["first_piece_s"]
        record.update(model=served, prompt_tokens=resp.prompt_tokens,
                      completion_tokens=resp.completion_tokens, cost=resp.cost,
                      upstream_latency=resp.latency_s,
                      metadata={**(record.get("metadata") or {}), **metadata})
        if self.config.record_text:
            record["answer"] = resp.raw_output

    def _headers(self, rid: str, served: str, point: Resolved, outcome: _Outcome
                 ) -> dict[str, str]:
        return {"x-rbench-model": served, "x-rbench-router": self.meta.router,
                "x-rbench-operating-point": point.label,
                "x-rbench-fallbacks": str(len(outcome.tried)), "x-request-id": rid}

    async def _answer(self, text: str, messages: list[dict[str, Any]], body: dict[str, Any],
                      point: Resolved, record: dict[str, Any], *, stream: bool = False
                      ) -> _Outcome:
        """Route, then ask the candidates in turn until one answers. Streaming, a model has
        answered once its first text piece arrived: from then on it cannot be replaced."""
        r0 = time.perf_counter()
        routed = await self.service.decide(text, point.config, record["query_hash"])
        record["route_latency"] = time.perf_counter() - r0
        record["routed_model"] = routed
        outcome = _Outcome(response=None, routed=routed)
        for model in self._candidates(routed):
            if stream:
                pieces = self._call_stream(model, messages, body)
                try:
                    first = await pieces.__anext__()
                except asyncio.CancelledError:  # the request's time limit: free the connection
                    await pieces.aclose()
                    raise
                if isinstance(first, str):
                    outcome.stream = (model, first, pieces)
                    return outcome
                await pieces.aclose()
                resp = first  # failed before any text, or an empty answer
            else:
                resp = await self._call(model, messages, body)
            if resp.ok:
                outcome.response = resp
                return outcome
            error = resp.error or "unknown error"
            if error.startswith(CLIENT_ERRORS):
                outcome.client_error = error
                return outcome
            outcome.tried.append({"model": model, "error": error,
                                  "latency": resp.latency_s})
            record["fallbacks"] = outcome.tried
            _log("fallback", logging.WARNING, request=record["request_id"], model=model,
                 error=error)
        return outcome

    def _candidates(self, routed: str) -> list[str]:
        """The routed model, then the next best on validation, among the allowed ones."""
        order = self._orders.get(routed)
        if order is None:
            order = [routed] + [m for m in self.meta.fallback_order if m != routed]
            order += [m for m in self.allowed if m not in order]
            order = [m for m in order if m in self.allowed][: 1 + self.config.max_fallbacks]
            self._orders[routed] = order
        return order

    def _request(self, model: str, messages: list[dict[str, Any]], body: dict[str, Any]
                 ) -> GenerationRequest:
        params = {k: body[k] for k in FORWARDED if body.get(k) is not None}
        params["timeout"] = self.config.upstream_timeout_s
        return GenerationRequest(model=self.specs[model], messages=messages, params=params)

    async def _call(self, model: str, messages: list[dict[str, Any]],
                    body: dict[str, Any]) -> Response:
        try:
            return await self.backends[model].agenerate(self._request(model, messages, body))
        except Exception as exc:  # a misbehaving backend is one failed attempt, not a crash
            return Response(query_key="", model=model, error=f"{type(exc).__name__}: {exc}")

    async def _call_stream(self, model: str, messages: list[dict[str, Any]],
                           body: dict[str, Any]) -> AsyncIterator[str | Response]:
        """The backend's text stream; whatever it raises ends the stream as a failed
        Response (one failed attempt, not a crash)."""
        try:
            async for item in self.backends[model].agenerate_text_stream(
                    self._request(model, messages, body)):
                yield item
        except Exception as exc:
            yield Response(query_key="", model=model, error=f"{type(exc).__name__}: {exc}")

    async def _relay(self, request: web.Request, rid: str, t0: float, text: str,
                     messages: list[dict[str, Any]], body: dict[str, Any], point: Resolved,
                     record: dict[str, Any], key_name: str | None, outcome: _Outcome
                     ) -> web.StreamResponse:
        """Relay the chosen model's stream as OpenAI chunks while it is generated. Past the
        first piece nothing can fall back: a stream that breaks ends with an ``error`` event
        (which the OpenAI SDK raises) and is recorded as a 502 with what had been sent."""
        assert outcome.stream is not None
        served, first, pieces = outcome.stream
        out = web.StreamResponse(headers={**self._headers(rid, served, point, outcome),
                                          "Content-Type": "text/event-stream",
                                          "Cache-Control": "no-cache"})
        base = {"id": rid, "object": "chat.completion.chunk", "created": int(time.time()),
                "model": served}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return b"data: " + json_dumps({**base, "choices": [
                {"index": 0, "delta": delta, "finish_reason": finish}]}) + b"\n\n"

        final: Response | None = None
        sent = 0
        try:
            await out.prepare(request)
            opening = chunk({"role": "assistant", "content": ""})
            if first:
                opening += chunk({"content": first})
                record["metadata"] = {"first_piece_s": round(time.perf_counter() - t0, 6)}
                sent = 1
            await out.write(opening)
            async for item in pieces:
                if isinstance(item, str):
                    await out.write(chunk({"content": item}))
                    sent += 1
                else:
                    final = item
        except ConnectionError as exc:  # the client went away
            await pieces.aclose()
            record["model"] = served
            self._finish(record, t0, status=499,
                         error=f"client disconnected after {sent} piece(s): {exc}")
            return out
        if final is None or not final.ok:
            message = (final.error if final is not None else None) or "the stream ended early"
            record["model"] = served
            self._finish(record, t0, status=502, error=f"{served}: {message}")
            with contextlib.suppress(ConnectionError):
                await out.write(b"data: " + json_dumps({"error": {
                    "message": f"the model's stream broke after {sent} piece(s): {message}",
                    "type": "upstream_error", "param": None, "code": "stream_broken"}}) + b"\n\n")
                await out.write_eof()
            return out
        self._account(record, key_name, final)
        tail = chunk({}, final.metadata.get("finish_reason") or "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = _completion(rid, served, final)["usage"]
            tail += b"data: " + json_dumps({**base, "choices": [], "usage": usage}) + b"\n\n"
        self._maybe_shadow(text, messages, body, served, record, t0)
        with contextlib.suppress(ConnectionError):
            await out.write(tail + b"data: [DONE]\n\n")
            await out.write_eof()
        return out

    def _maybe_shadow(self, text: str, messages: list[dict[str, Any]], body: dict[str, Any],
                      served: str, record: dict[str, Any], t0: float) -> None:
        shadow = self.config.shadow
        if shadow is None or shadow == served:
            self._finish(record, t0, status=200)
            return
        record["shadow_model"] = shadow
        latency = time.perf_counter() - t0

        async def run() -> None:
            resp = await self._call(shadow, messages, body)
            record.update(shadow_cost=resp.cost, shadow_error=resp.error)
            if self.config.record_text:
                record["shadow_answer"] = resp.raw_output
            if record.get("api_key") is not None and resp.cost:
                self.spend[record["api_key"]] = self.spend.get(record["api_key"], 0.0) + resp.cost
            self._finish(record, t0, status=200, latency=latency)

        task = asyncio.ensure_future(run())
        self._shadow_tasks.add(task)
        task.add_done_callback(self._shadow_tasks.discard)

    def _finish(self, record: dict[str, Any], t0: float, *, status: int,
                error: str | None = None, latency: float | None = None) -> None:
        record.setdefault("query_hash", "")
        record.update(status=status, error=error,
                      latency=latency if latency is not None else time.perf_counter() - t0)
        self.recorder.add(record)
        if not LOG.isEnabledFor(logging.INFO if status < 400 else logging.WARNING):
            return
        _log("request", logging.INFO if status < 400 else logging.WARNING,
             request=record["request_id"], key=record.get("api_key"), status=status,
             router=record["router"], point=(record.get("operating_point") or {}).get("label"),
             routed=record.get("routed_model"), model=record.get("model"),
             fallbacks=len(record.get("fallbacks") or []), latency_ms=round(1000 * record["latency"], 2),
             route_ms=None if record.get("route_latency") is None
             else round(1000 * record["route_latency"], 3),
             tokens=[record.get("prompt_tokens"), record.get("completion_tokens")],
             cost=record.get("cost"), error=error)


async def _only(resp: Response) -> AsyncIterator[str | Response]:
    """A stream of one finished answer (no text pieces: the answer was empty)."""
    yield resp


def _prices(spec: ModelSpec) -> dict[str, float]:
    return {k: v for k in ("input_price", "output_price")
            if (v := getattr(spec, k)) is not None}


def _completion(rid: str, model: str, resp: Response) -> dict[str, Any]:
    pt, ct = resp.prompt_tokens, resp.completion_tokens
    usage = {"prompt_tokens": pt or 0, "completion_tokens": ct or 0,
             "total_tokens": (pt or 0) + (ct or 0)}
    if resp.cost is not None:
        usage["cost"] = resp.cost
    return {
        "id": rid, "object": "chat.completion", "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": resp.raw_output},
                     "finish_reason": resp.metadata.get("finish_reason") or "stop"}],
        "usage": usage,
    }


def log_to_stderr(level: str, **static: Any) -> None:
    """The server's log as JSON lines on stderr at ``level`` (``static`` fields on every line,
    e.g. a worker's index); once per process."""
    import sys

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLogFormatter(static=static))
    LOG.handlers[:] = [handler]
    LOG.setLevel(level.upper())
    LOG.propagate = False


def serve_until_signalled(server: RouterServer,
                          on_started: Callable[[RouterServer], None]) -> None:
    """Start ``server``, call ``on_started`` once it listens, and serve until SIGINT or
    SIGTERM; then finish the requests in flight and flush the records. Runs on uvloop's event
    loop when installed (the ``serve`` extra), which cuts the server's CPU per request. An
    ``OSError`` from binding the port propagates."""
    import signal

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await server.start()
        on_started(server)
        try:
            await stop.wait()
        finally:
            await server.stop()

    try:
        import uvloop
    except ImportError:
        asyncio.run(run())
    else:
        uvloop.run(run())


def build_server(artefact_dir: str, config: ServeConfig, store: Store, host_plugins: Any, *,
                 bind: str = "127.0.0.1", port: int = 8000, api_key: str | None = None,
                 worker: int | None = None) -> RouterServer:
    """Load the artefact and its embedder and make the server (not started)."""
    from routerbench_core.embedding.base import load_embedder
    from routerbench_core.serving.artefact import ArtefactError, load_artefact

    artefact = load_artefact(artefact_dir, host_plugins)
    embedder = None
    info = artefact.meta.embedder
    if artefact.router.needs_embeddings:
        if info is None:
            raise ArtefactError(f"{artefact_dir}: the router needs embeddings but the artefact "
                                "names no embedder")
        embedder = load_embedder(host_plugins, info.name, dict(info.options))
        if embedder.cache_id != info.cache_id:
            raise ArtefactError(
                f"{artefact_dir}: embedder {info.name!r} now gives embedding space "
                f"{embedder.cache_id!r}, the router was fitted in {info.cache_id!r}; install the "
                "embedder version it was trained with, or retrain"
            )
    return RouterServer(artefact, config, store, host_plugins=host_plugins, embedder=embedder,
                        bind=bind, port=port, api_key=api_key, worker=worker)
