"""Entry point: registers the RouteLLM router (light; torch is imported only when used)."""

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {
    "settings": ["perf-cost", "perf"],
    "training": "torch",
    "embeddings": True,
    "sweep": "strong_share",
}


@hookimpl
def register_routers(register):
    register(
        "routellm",
        "rbench_router_routellm.router:RouteLLMRouter",
        "RouteLLM matrix-factorisation router: strong-model win probability from the query "
        "embedding, threshold calibrated on validation for a share of strong calls",
        capabilities=CAPABILITIES,
        requires=["numpy", "torch"],
    )
