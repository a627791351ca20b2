"""BackendConformance: the contract every generation backend honours, as reusable tests.

A backend plugin (ours or a third party's) subclasses :class:`BackendConformance` in its test
suite and implements :meth:`make_backend` (a backend answering the loopback server's model) —
HTTP backends point at the :class:`~routerbench_core.testing.openai_server.OpenAIServer` given
to them; in-process backends (vLLM) may ignore it. Then pytest runs the checks below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from routerbench_core.collection.backends import Backend
from routerbench_core.schema import GenerationRequest, ModelSpec, Response
from routerbench_core.testing.openai_server import OpenAIServer


class BackendConformance:
    """Subclass in a ``Test...`` class and implement :meth:`make_backend`."""

    #: Whether the backend talks to the loopback server (fault-injection checks need it).
    uses_http: bool = True

    def make_backend(self, server: OpenAIServer) -> Backend:
        raise NotImplementedError

    def model_spec(self) -> ModelSpec:
        return ModelSpec(name="conformance-model", input_price=1.0, output_price=2.0)

    @pytest.fixture
    def conformance_server(self) -> Iterator[OpenAIServer]:
        with OpenAIServer() as server:
            yield server

    def _request(self, i: int) -> GenerationRequest:
        return GenerationRequest(model=self.model_spec(), query_key=f"conf/{i}",
                                 messages=[{"role": "user", "content": f"item {i}"}],
                                 params={"temperature": 0.0, "max_tokens": 16})

    def test_answers_carry_query_key_model_and_tokens(self, conformance_server: Any) -> None:
        backend = self.make_backend(conformance_server)
        response = backend.generate(self._request(1))
        assert isinstance(response, Response)
        assert response.ok, response.error
        assert response.query_key == "conf/1" and response.model == "conformance-model"
        assert isinstance(response.raw_output, str)
        assert response.prompt_tokens is not None and response.completion_tokens is not None
        assert response.cost is not None and response.cost >= 0 and response.cost_source

    def test_many_keeps_order_and_stream_yields_each_once(self, conformance_server: Any) -> None:
        backend = self.make_backend(conformance_server)
        requests = [self._request(i) for i in range(12)]

        async def run() -> tuple[list[Response], list[int]]:
            try:
                many = await backend.agenerate_many(requests, concurrency=4)
                positions = [p async for p, _ in backend.astream(requests, concurrency=3)]
                return many, positions
            finally:
                await backend.aclose()

        many, positions = asyncio.run(run())
        assert [r.query_key for r in many] == [f"conf/{i}" for i in range(12)]
        assert sorted(positions) == list(range(12))

    def test_failed_call_is_a_response_with_error(self, conformance_server: Any) -> None:
        if not self.uses_http:
            pytest.skip("backend does not use the loopback server")
        conformance_server.inject("400")
        response = self.make_backend(conformance_server).generate(self._request(2))
        assert not response.ok and response.error
        assert response.cost is None, "a failed call must never be priced as $0"

    def test_cache_identity_names_the_backend(self, conformance_server: Any) -> None:
        backend = self.make_backend(conformance_server)
        assert backend.cache_identity().get("backend") == backend.name
