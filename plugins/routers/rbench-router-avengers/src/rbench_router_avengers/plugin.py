"""Entry point: registers the Avengers router (light; numpy is imported only when used)."""

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {"settings": ["perf"], "training": "none", "embeddings": True}


@hookimpl
def register_routers(register):
    register(
        "avengers",
        "rbench_router_avengers.router:AvengersRouter",
        "Avengers: k-means over query embeddings, per-cluster model ranking, "
        "softmax(-beta*distance) voting of the nearest centroids",
        capabilities=CAPABILITIES,
        requires=["numpy"],
    )
