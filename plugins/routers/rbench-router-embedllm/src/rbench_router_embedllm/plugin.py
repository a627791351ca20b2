"""Registers the EmbedLLM router (light: nothing heavy is imported here)."""

from __future__ import annotations

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {"settings": ["perf"], "trained": True, "devices": ["cpu", "cuda"]}


@hookimpl
def register_routers(register):  # type: ignore[no-untyped-def]
    register(
        "embedllm",
        "rbench_router_embedllm.router:EmbedLLMRouter",
        "EmbedLLM: matrix factorisation of query embeddings x learned model embeddings "
        "-> P(correct); picks the most likely correct model",
        capabilities=CAPABILITIES,
        requires=["torch"],
    )
