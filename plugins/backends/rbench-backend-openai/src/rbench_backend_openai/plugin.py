"""Entry point of rbench-backend-openai: registers the ``openai`` backend (imported lazily)."""

from __future__ import annotations

from routerbench_core import Register, hookimpl


@hookimpl
def register_backends(register: Register) -> None:
    register(
        "openai",
        "rbench_backend_openai.backend:OpenAIBackend",
        "Any OpenAI-compatible chat-completions API (OpenAI, OpenRouter, vLLM/llama.cpp servers)",
        capabilities={"async": True, "retries": True, "embeddings": True, "reported_cost": True},
        requires=["aiohttp"],
    )
