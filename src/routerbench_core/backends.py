"""The backend interface: send generation requests to models and return :class:`Response`s.

A backend never raises for a failed API call: it returns a ``Response`` with ``error`` set, so
the collector records it as a failure (never a 0 score at $0). Configuration errors (unknown
model, no price, bad options) do raise, before any request is sent.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

from routerbench_core.schema import GenerationRequest, Response


class BackendError(RuntimeError):
    """A backend is misconfigured; the message names the option and what to do."""


class Backend(ABC):
    """Base class of generation backends (OpenAI-compatible, vLLM, ...)."""

    name: ClassVar[str]

    def __init__(self, **options: Any) -> None:
        self.options = options

    @abstractmethod
    async def agenerate(self, request: GenerationRequest) -> Response:
        """Answer one request; failures come back as a Response with ``error`` set."""

    async def agenerate_many(
        self, requests: Sequence[GenerationRequest], concurrency: int = 16
    ) -> list[Response]:
        """Answer many requests with bounded concurrency (batch backends override this)."""
        gate = asyncio.Semaphore(concurrency)

        async def one(request: GenerationRequest) -> Response:
            async with gate:
                return await self.agenerate(request)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    def generate(self, request: GenerationRequest) -> Response:
        """Synchronous single request (judges and online routers use this)."""
        return asyncio.run(self.agenerate(request))

    def cache_identity(self) -> dict[str, Any]:
        """Options that change outputs and so belong in the request-cache key."""
        return {"backend": self.name}

    async def aclose(self) -> None:
        """Release connections/GPU memory."""
