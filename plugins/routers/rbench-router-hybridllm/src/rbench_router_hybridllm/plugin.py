"""Entry point: registers the Hybrid LLM router (light; sklearn is imported only when used)."""

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {
    "settings": ["perf-cost", "perf"],
    "training": "sklearn",
    "embeddings": True,
    "sweep": "small_share",
}


@hookimpl
def register_routers(register):
    register(
        "hybridllm",
        "rbench_router_hybridllm.router:HybridLLMRouter",
        "Hybrid LLM: classifier of 'the small model is at least as good as the large one' "
        "(probabilistic labels, relaxation t); a threshold sweep gives the curve",
        capabilities=CAPABILITIES,
        requires=["numpy", "sklearn"],
    )
