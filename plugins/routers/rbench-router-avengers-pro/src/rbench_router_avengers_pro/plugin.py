"""Entry point: registers the Avengers-Pro router (light; numpy is imported only when used)."""

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {
    "settings": ["perf", "perf-cost"],
    "training": "none",
    "embeddings": True,
    "sweep": "alpha",
}


@hookimpl
def register_routers(register):
    register(
        "avengers-pro",
        "rbench_router_avengers_pro.router:AvengersProRouter",
        "Avengers-Pro: per-cluster alpha*accuracy + (1-alpha)*(1-cost) over k-means clusters of "
        "query embeddings; sweeping alpha traces the cost-accuracy curve",
        capabilities=CAPABILITIES,
        requires=["numpy"],
    )
