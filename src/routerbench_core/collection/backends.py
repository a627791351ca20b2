"""The backend interface: send generation requests to models and return :class:`Response`s.

A backend never raises for a failed API call: it returns a ``Response`` with ``error`` set, so
the collector records it as a failure (never a 0 score at $0). Configuration errors (unknown
model, no price, bad options) do raise, before any request is sent.

Shared by every backend (so no plugin re-implements them): the request-cache key
(:func:`request_hash`), the retry schedule (:class:`RetryPolicy`) and the cost rule
(:func:`response_cost`: the API's reported cost when given, else tokens × the model's price).
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import json
import random
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from routerbench_core.schema import (
    CostSource,
    GenerationRequest,
    ModelSpec,
    Response,
    UnpricedModelError,
)

#: Sampling parameters that change what a model answers, hence part of the cache key.
OUTPUT_PARAMS: tuple[str, ...] = (
    "temperature", "top_p", "top_k", "min_p", "max_tokens", "max_completion_tokens", "seed",
    "n", "stop", "presence_penalty", "frequency_penalty", "repetition_penalty",
    "reasoning_effort", "logit_bias", "response_format", "tools", "tool_choice",
)

#: ``extra_body`` keys that only change bookkeeping, not the answer (OpenRouter's
#: ``usage: {include: true}``, end-user ids, tracing metadata): left out of the cache key.
NON_OUTPUT_EXTRA_BODY: frozenset[str] = frozenset(
    {"usage", "user", "metadata", "stream_options", "store", "trace", "session_id"}
)


class BackendError(RuntimeError):
    """A backend is misconfigured; the message names the option and what to do."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=str)


def request_hash(
    identity: Mapping[str, Any],
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any] | None = None,
) -> str:
    """The request-cache key: sha256 over what decides the answer.

    ``identity`` is the backend's :meth:`Backend.cache_identity` (backend name, endpoint, ...);
    ``params`` are filtered to :data:`OUTPUT_PARAMS` plus ``extra_body`` without the
    :data:`NON_OUTPUT_EXTRA_BODY` keys, so a timeout or a usage flag never splits the cache.
    """
    params = dict(params or {})
    kept = {k: params[k] for k in OUTPUT_PARAMS if params.get(k) is not None}
    extra = params.get("extra_body") or {}
    extra = {k: v for k, v in extra.items() if k not in NON_OUTPUT_EXTRA_BODY}
    if extra:
        kept["extra_body"] = extra
    payload = {"identity": dict(identity), "model": model, "messages": list(messages),
               "params": kept}
    return hashlib.sha256(_canonical(payload).encode("utf-8")).hexdigest()


def api_model_name(spec: ModelSpec) -> str:
    """The provider's model id: ``api_model`` (or the seed project's ``api_model_name``)."""
    extra = spec.model_extra or {}
    return str(extra.get("api_model") or extra.get("api_model_name") or spec.name)


def has_price(spec: ModelSpec) -> bool:
    """Whether a per-request cost can be computed for ``spec`` without the API reporting one:
    token prices, or a stated ``free`` (a GPU-hour price is the vLLM backend's own rule)."""
    return spec.priced or bool((spec.model_extra or {}).get("free"))


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring the server's Retry-After.

    Delay before retry ``attempt`` (0-based) is ``min(max_delay, base * 2**attempt)`` scaled by
    a random factor in [0.5, 1] (so many clients hit by one 429 do not come back together), or
    the server's Retry-After when it gives one (capped at ``max_retry_after``).
    """

    max_retries: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 300.0

    def delay(self, attempt: int, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, self.max_retry_after)
        r = (rng or random).random()
        return min(self.max_delay, self.base_delay * (2 ** attempt)) * (0.5 + 0.5 * r)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date)."""
    lower = {k.lower(): v for k, v in headers.items()}
    raw_ms = lower.get("retry-after-ms")
    if raw_ms:
        try:
            return max(0.0, float(raw_ms) / 1000.0)
        except ValueError:
            pass
    raw = lower.get("retry-after")
    if not raw:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def response_cost(
    spec: ModelSpec,
    prompt_tokens: int | None,
    completion_tokens: int | None,
    *,
    cached_tokens: int | None = None,
    reported_cost: float | None = None,
    allow_unpriced: bool = False,
) -> tuple[float | None, CostSource | None]:
    """USD for one answered request and where the number came from.

    The API's own figure wins (OpenRouter reports ``usage.cost``); a model configured as
    ``free`` (own hardware, stated so in the config) costs $0; otherwise tokens × the model's
    price, with cached prompt tokens at ``cached_input_price`` when the model has one.
    A model with no price raises :class:`UnpricedModelError` unless ``allow_unpriced``, in
    which case the cost is unknown (``None``), never $0.
    """
    if reported_cost is not None:
        return float(reported_cost), "reported"
    if (spec.model_extra or {}).get("free"):
        return 0.0, "free"
    if not spec.priced:
        if allow_unpriced:
            return None, None
        raise UnpricedModelError(
            f"model {spec.name!r} has no price and the API reported no cost; add "
            "input_price/output_price (USD per million tokens) to its config, or pass "
            "--allow-unpriced"
        )
    if prompt_tokens is None or completion_tokens is None:
        return None, None
    cached_price = (spec.model_extra or {}).get("cached_input_price")
    if cached_tokens and cached_price is not None:
        assert spec.input_price is not None and spec.output_price is not None
        uncached = max(0, prompt_tokens - cached_tokens)
        usd = (uncached * spec.input_price + cached_tokens * float(cached_price)
               + completion_tokens * spec.output_price) / 1_000_000 + spec.request_price
        return usd, "priced"
    return spec.cost(prompt_tokens, completion_tokens), "priced"


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def failed_response(request: GenerationRequest, error: str, *, latency_s: float | None = None,
                    **metadata: Any) -> Response:
    """The record of a call that did not produce an answer (never graded, never $0)."""
    return Response(
        query_key=request.query_key or "", model=request.model.name, error=error,
        latency_s=latency_s, metadata=metadata,
    )


class Backend(ABC):
    """Base class of generation backends (OpenAI-compatible, vLLM, ...)."""

    name: ClassVar[str]

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    async def agenerate(self, request: GenerationRequest) -> Response:
        """Answer one request; failures come back as a Response with ``error`` set."""

    async def agenerate_text_stream(self, request: GenerationRequest
                                    ) -> AsyncIterator[str | Response]:
        """Answer one request as it is generated: yield the answer's text pieces (``str``) as
        they arrive, then the full :class:`Response` (usage, cost, finish reason) last.

        A failure before the first piece yields only a failed Response, so a caller
        (``rbench serve``) can still try another model; a failure after it yields a failed
        Response after the pieces. This default has no pieces to give early: it answers with
        :meth:`agenerate` and yields the whole text at once. Backends whose API streams
        (OpenAI-compatible servers) override it, so time to first token is the model's.

        .. versionadded:: 0.2
        """
        response = await self.agenerate(request)
        if response.ok and response.raw_output:
            yield response.raw_output
        yield response

    async def agenerate_many(
        self, requests: Sequence[GenerationRequest], concurrency: int = 16
    ) -> list[Response]:
        """Answer many requests with bounded concurrency (batch backends override this)."""
        gate = asyncio.Semaphore(concurrency)

        async def one(request: GenerationRequest) -> Response:
            async with gate:
                return await self.agenerate(request)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def astream(
        self, requests: Iterable[GenerationRequest], concurrency: int = 16
    ) -> AsyncIterator[tuple[int, Response]]:
        """Answer requests, yielding ``(position, response)`` as each one finishes.

        The collector stores every answer the moment it arrives, so a killed run loses at most
        what was in flight. This default runs ``concurrency`` workers over :meth:`agenerate`;
        batch backends (vLLM) override it to yield batch by batch.

        .. versionadded:: 0.1
        """
        items = iter(enumerate(requests))
        done: asyncio.Queue[tuple[int, Response] | BaseException | None] = asyncio.Queue()

        async def worker() -> None:
            try:
                for position, request in items:
                    done.put_nowait((position, await self._answer(request)))
            except BaseException as exc:  # surfaced to the consumer, never swallowed
                done.put_nowait(exc)
            finally:
                done.put_nowait(None)

        workers = [asyncio.ensure_future(worker()) for _ in range(max(1, concurrency))]
        running = len(workers)
        try:
            while running:
                item = await done.get()
                if item is None:
                    running -= 1
                elif isinstance(item, BaseException):
                    raise item
                else:
                    yield item
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)

    async def _answer(self, request: GenerationRequest) -> Response:
        """:meth:`agenerate`, where an answer the backend could not turn into a Response (a
        ValueError: bad text, impossible numbers) is a failure of that one request with the
        reason, so one bad answer never stops a run. A missing price still stops it."""
        try:
            return await self.agenerate(request)
        except UnpricedModelError:
            raise
        except ValueError as exc:
            return failed_response(request, f"malformed answer: {type(exc).__name__}: "
                                   f"{_one_line(str(exc))}")

    def generate(self, request: GenerationRequest) -> Response:
        """Synchronous single request (judges and online routers use this)."""
        return asyncio.run(self.agenerate(request))

    def cache_identity(self) -> dict[str, Any]:
        """Options that change outputs and so belong in the request-cache key."""
        return {"backend": self.name}

    def cost_note(self, spec: ModelSpec) -> str:
        """One line saying how this backend prices ``spec``'s answers (shown after a run)."""
        if (spec.model_extra or {}).get("free"):
            return "free: recorded as $0 (own hardware, as configured)"
        if spec.priced:
            return (f"API-reported cost when given, else tokens × ${spec.input_price}/M in, "
                    f"${spec.output_price}/M out")
        return "API-reported cost only (model has no price)"

    async def apreflight(self, spec: ModelSpec) -> str | None:
        """Check before a run that ``spec``'s endpoint answers (one cheap call, no retries):
        None when it does, else the reason, in the server's words where it gave some.

        The collector calls it once per backend instance and model, unless the user skips it
        (``--no-preflight``). Backends with nothing to reach (local engines) keep this default.
        """
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections/GPU memory."""
