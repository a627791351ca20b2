"""The vLLM backend: in-process ``vllm.LLM`` batch generation for local GPU models.

Why in-process batches rather than a server: for a benchmark sweep the whole query set is known
up front, and vLLM's offline ``LLM.generate`` schedules a big batch better than any number of
concurrent HTTP calls. (To use a ``vllm serve`` endpoint instead, point the ``openai`` backend
at it: see the README's "server mode".)

Prompts are rendered with the model's own chat template (``tokenizer.apply_chat_template``);
sampling parameters map onto ``vllm.SamplingParams``; token counts come from vLLM's outputs.
Many GPUs or machines: vLLM's own tensor/pipeline/data parallelism (Ray), passed through as
engine options — no home-made scheduler.

Cost is stated, never silently $0: ``gpu_hour_price`` (USD per GPU-hour) prices each batch's
wall time × the GPUs it used, shared among the batch's requests by their token counts
(cost source ``gpu-hours``); ``free: true`` records $0 (source ``free``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, ClassVar

from routerbench_core import (
    Backend,
    BackendError,
    GenerationRequest,
    ModelSpec,
    Response,
    UnpricedModelError,
    api_model_name,
    failed_response,
)

#: Options handed to ``vllm.LLM(...)`` as they are.
ENGINE_OPTIONS = (
    "tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size",
    "gpu_memory_utilization", "max_model_len", "dtype", "quantization", "trust_remote_code",
    "seed", "enforce_eager", "download_dir", "revision", "tokenizer", "max_num_seqs",
    "distributed_executor_backend", "swap_space", "enable_prefix_caching",
)
#: Engine options that change the answers, hence part of the request-cache key.
OUTPUT_ENGINE_OPTIONS = ("dtype", "quantization", "revision", "tokenizer", "max_model_len")
#: Request parameters that map onto ``SamplingParams`` fields of the same name.
SAMPLING_FIELDS = (
    "n", "temperature", "top_p", "top_k", "min_p", "max_tokens", "seed", "stop",
    "presence_penalty", "frequency_penalty", "repetition_penalty",
)


class VLLMBackend(Backend):
    """Generates with one ``vllm.LLM`` per backend instance (created on first use).

    Options: the engine options in :data:`ENGINE_OPTIONS` plus ``engine_args`` (a dict of any
    other ``LLM(...)`` arguments), ``model`` (default: the request model's ``api_model``),
    ``batch_size`` (requests per ``generate`` call, default 256: answers are stored after
    each batch), ``chat_template_kwargs`` (e.g. ``{"enable_thinking": false}``),
    ``gpu_hour_price`` or ``free``, and ``allow_unpriced``.
    """

    name: ClassVar[str] = "vllm"

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.engine = {k: options[k] for k in ENGINE_OPTIONS if options.get(k) is not None}
        self.engine.update(options.get("engine_args") or {})
        self.model = options.get("model")
        self.batch_size = int(options.get("batch_size", 256))
        if self.batch_size < 1:
            raise BackendError(f"batch_size must be at least 1, got {self.batch_size}")
        self.chat_template_kwargs = dict(options.get("chat_template_kwargs") or {})
        price = options.get("gpu_hour_price")
        self.gpu_hour_price = None if price is None else float(price)
        self.free = bool(options.get("free", False))
        self.allow_unpriced = bool(options.get("allow_unpriced", False))
        self._llm: Any = None
        self._llm_model: str | None = None
        self._vllm: Any = None

    # -- engine ----------------------------------------------------------------------------

    @property
    def n_gpus(self) -> int:
        """GPUs one engine occupies: tensor × pipeline × data parallel sizes."""
        n = 1
        for key in ("tensor_parallel_size", "pipeline_parallel_size", "data_parallel_size"):
            n *= int(self.engine.get(key) or 1)
        return n

    def _import(self) -> Any:
        if self._vllm is None:
            try:
                import vllm
            except ImportError as exc:
                raise BackendError(
                    "the vllm backend needs the vllm package (a GPU machine): "
                    "`pip install rbench-backend-vllm[vllm]`; or run `vllm serve MODEL` "
                    "elsewhere and use --backend openai --base-url http://HOST:8000/v1"
                ) from exc
            self._vllm = vllm
        return self._vllm

    def llm(self, model: str) -> Any:
        """The engine for ``model`` (one engine per backend: a second model is an error)."""
        if self._llm is None:
            vllm = self._import()
            self._llm = vllm.LLM(model=model, **self.engine)
            self._llm_model = model
        elif model != self._llm_model:
            raise BackendError(
                f"this vllm backend already holds {self._llm_model!r}; use one backend per "
                f"model (asked for {model!r})"
            )
        return self._llm

    def cache_identity(self) -> dict[str, Any]:
        ident: dict[str, Any] = {"backend": self.name}
        for key in OUTPUT_ENGINE_OPTIONS:
            if key in self.engine:
                ident[key] = self.engine[key]
        if self.chat_template_kwargs:
            ident["chat_template_kwargs"] = self.chat_template_kwargs
        return ident

    def cost_note(self, spec: ModelSpec) -> str:
        if self.free or (spec.model_extra or {}).get("free"):
            return "free: recorded as $0 (own hardware, as configured)"
        price = self._price(spec)
        if price is not None:
            return (f"GPU time: batch wall time × {self.n_gpus} GPU(s) × ${price}/GPU-hour, "
                    "shared among the batch's requests by tokens")
        return "unknown: no gpu_hour_price and not free (--allow-unpriced)"

    def _price(self, spec: ModelSpec) -> float | None:
        if self.gpu_hour_price is not None:
            return self.gpu_hour_price
        value = (spec.model_extra or {}).get("gpu_hour_price")
        return None if value is None else float(value)

    def _check_priced(self, spec: ModelSpec) -> None:
        if self.free or (spec.model_extra or {}).get("free") or self._price(spec) is not None:
            return
        if not self.allow_unpriced:
            raise UnpricedModelError(
                f"model {spec.name!r} on vllm has no cost rule: set gpu_hour_price (USD per "
                "GPU-hour) or `free: true`, or pass --allow-unpriced"
            )

    # -- requests --------------------------------------------------------------------------

    def sampling_params(self, request: GenerationRequest) -> Any:
        vllm = self._import()
        fields = {k: request.params[k] for k in SAMPLING_FIELDS
                  if request.params.get(k) is not None}
        if "max_completion_tokens" in request.params and "max_tokens" not in fields:
            fields["max_tokens"] = request.params["max_completion_tokens"]
        if isinstance(fields.get("stop"), str):
            fields["stop"] = [fields["stop"]]
        return vllm.SamplingParams(**fields)

    def render(self, llm: Any, messages: Sequence[dict[str, Any]]) -> str:
        """The prompt text: the model's chat template with the generation prompt appended."""
        tokenizer = llm.get_tokenizer()
        return tokenizer.apply_chat_template(
            list(messages), tokenize=False, add_generation_prompt=True,
            **self.chat_template_kwargs,
        )

    async def agenerate(self, request: GenerationRequest) -> Response:
        return (await self._run_batch([request]))[0]

    async def agenerate_many(self, requests: Sequence[GenerationRequest],
                             concurrency: int = 16) -> list[Response]:
        out: list[Response | None] = [None] * len(requests)
        async for position, response in self.astream(requests, concurrency):
            out[position] = response
        return [r for r in out if r is not None]

    async def astream(self, requests: Iterable[GenerationRequest], concurrency: int = 16
                      ) -> AsyncIterator[tuple[int, Response]]:
        """Batches of ``batch_size`` (``concurrency`` is vLLM's own business: ignored)."""
        batch: list[tuple[int, GenerationRequest]] = []
        for item in enumerate(requests):
            batch.append(item)
            if len(batch) >= self.batch_size:
                for pair in await self._positions(batch):
                    yield pair
                batch = []
        if batch:
            for pair in await self._positions(batch):
                yield pair

    async def _positions(self, batch: list[tuple[int, GenerationRequest]]
                         ) -> list[tuple[int, Response]]:
        responses = await self._run_batch([r for _, r in batch])
        return [(p, r) for (p, _), r in zip(batch, responses, strict=True)]

    async def _run_batch(self, requests: Sequence[GenerationRequest]) -> list[Response]:
        for request in requests:
            self._check_priced(request.model)
        return await asyncio.to_thread(self._generate_sync, list(requests))

    def _generate_sync(self, requests: list[GenerationRequest]) -> list[Response]:
        model = self.model or api_model_name(requests[0].model)
        llm = self.llm(model)
        prompts = [self.render(llm, r.messages) for r in requests]
        params = [self.sampling_params(r) for r in requests]
        start = time.perf_counter()
        try:
            outputs = llm.generate(prompts, params, use_tqdm=False)
        except Exception as batch_error:  # isolate the bad request(s): retry one by one
            if len(requests) == 1:
                return [failed_response(requests[0], f"vllm generate failed: "
                                        f"{type(batch_error).__name__}: {batch_error}")]
            return [r for request in requests for r in self._generate_sync([request])]
        elapsed = time.perf_counter() - start
        if len(outputs) != len(requests):
            raise BackendError(f"vllm returned {len(outputs)} outputs for {len(requests)} "
                               "prompts")
        return self._responses(requests, outputs, elapsed)

    def _responses(self, requests: list[GenerationRequest], outputs: list[Any],
                   elapsed: float) -> list[Response]:
        counted = []
        for output in outputs:
            prompt = len(output.prompt_token_ids or [])
            completion = sum(len(c.token_ids or []) for c in output.outputs)
            counted.append((prompt, completion))
        total_tokens = sum(p + c for p, c in counted) or 1
        out = []
        for request, output, (prompt, completion) in zip(requests, outputs, counted,
                                                         strict=True):
            spec = request.model
            if self.free or (spec.model_extra or {}).get("free"):
                cost, source = 0.0, "free"
            elif (price := self._price(spec)) is not None:
                share = (prompt + completion) / total_tokens
                cost, source = elapsed / 3600.0 * self.n_gpus * price * share, "gpu-hours"
            else:
                cost, source = None, None
            choices = output.outputs
            if not choices:
                out.append(failed_response(request, "vllm returned no completion",
                                           latency_s=elapsed))
                continue
            metadata: dict[str, Any] = {"finish_reason": choices[0].finish_reason,
                                        "batch_size": len(requests),
                                        "batch_latency_s": elapsed}
            if len(choices) > 1:
                metadata["choices"] = [c.text for c in choices]
            out.append(Response(
                query_key=request.query_key or "", model=spec.name, raw_output=choices[0].text,
                prompt_tokens=prompt, completion_tokens=completion, cost=cost,
                cost_source=source, latency_s=elapsed, metadata=metadata,
            ))
        return out

    async def aclose(self) -> None:
        """Drop the engine so its GPU memory can be freed."""
        self._llm = None
        self._llm_model = None
