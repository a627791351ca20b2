"""Entry point: registers the FrugalGPT cascade (light; sklearn is imported only when used)."""

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {
    "settings": ["perf-cost", "perf"],
    "training": "sklearn",
    "embeddings": True,
    "cascade": True,
    "reads_answers": True,
    "sweep": "budget",
}


@hookimpl
def register_routers(register):
    register(
        "frugalgpt",
        "rbench_router_frugalgpt.router:FrugalGPTRouter",
        "FrugalGPT: LLM cascade from cheap to expensive; a learned scorer of (query, answer) "
        "stops at the first answer over its threshold; every call is charged",
        capabilities=CAPABILITIES,
        requires=["numpy", "sklearn"],
    )
