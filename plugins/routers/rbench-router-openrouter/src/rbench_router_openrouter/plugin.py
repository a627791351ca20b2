"""Entry point: registers the OpenRouter router (light)."""

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {
    "settings": ["perf-cost", "perf"],
    "training": "none",
    "embeddings": False,
    "external": True,
    "modes": ["replay", "online"],
}


@hookimpl
def register_routers(register):
    register(
        "openrouter",
        "rbench_router_openrouter.router:OpenRouterRouter",
        "OpenRouter's commercial auto router: online through the OpenAI backend "
        "(openrouter/auto; records the chosen model, answer, tokens, reported cost; grades it) "
        "or replayed from a stored bench column",
        capabilities=CAPABILITIES,
        requires=["numpy"],
    )
