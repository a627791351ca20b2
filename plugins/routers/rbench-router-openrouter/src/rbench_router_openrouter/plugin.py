"""Entry point: registers the OpenRouter router (light)."""

from routerbench_core import hookimpl


@hookimpl
def register_routers(register):
    register(
        "openrouter",
        "rbench_router_openrouter.router:OpenRouterRouter",
        "OpenRouter's commercial auto router: online through the OpenAI backend "
        "(openrouter/auto; records the chosen model, answer, tokens, reported cost; grades it) "
        "or replayed from a stored bench column",
        capabilities={"settings": ["perf-cost", "perf"], "training": "none",
                      "embeddings": False, "external": True, "modes": ["replay", "online"]},
        requires=["numpy"],
    )
