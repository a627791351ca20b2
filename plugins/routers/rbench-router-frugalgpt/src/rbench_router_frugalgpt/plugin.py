"""Entry point: registers the FrugalGPT cascade (light; sklearn is imported only when used)."""

from routerbench_core import hookimpl


@hookimpl
def register_routers(register):
    register(
        "frugalgpt",
        "rbench_router_frugalgpt.router:FrugalGPTRouter",
        "FrugalGPT: LLM cascade from cheap to expensive; a learned scorer of (query, answer) "
        "stops at the first answer over its threshold; every call is charged",
        capabilities={"settings": ["perf-cost", "perf"], "training": "sklearn",
                      "embeddings": True, "cascade": True, "reads_answers": True,
                      "sweep": "budget"},
        requires=["numpy", "sklearn"],
    )
