"""Entry point: registers the Hybrid LLM router (light; sklearn is imported only when used)."""

from routerbench_core import hookimpl


@hookimpl
def register_routers(register):
    register(
        "hybridllm",
        "rbench_router_hybridllm.router:HybridLLMRouter",
        "Hybrid LLM: classifier of 'the small model is at least as good as the large one' "
        "(probabilistic labels, relaxation t); a threshold sweep gives the curve",
        capabilities={"settings": ["perf-cost", "perf"], "training": "sklearn",
                      "embeddings": True, "sweep": "small_share"},
        requires=["numpy", "sklearn"],
    )
