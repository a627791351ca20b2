"""Registers the EmbedLLM router (light: nothing heavy is imported here)."""

from __future__ import annotations

from routerbench_core import hookimpl


@hookimpl
def register_routers(register):  # type: ignore[no-untyped-def]
    register(
        "embedllm",
        "rbench_router_embedllm.router:EmbedLLMRouter",
        "EmbedLLM: matrix factorisation of query embeddings x learned model embeddings "
        "-> P(correct); picks the most likely correct model",
        capabilities={"settings": ["perf"], "trained": True, "devices": ["cpu", "cuda"]},
        requires=["torch"],
    )
