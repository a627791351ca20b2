"""Entry point of the plugin: light on purpose (no numpy import until the router is used).

``CAPABILITIES`` is the one place the router's settings are written: ``rbench list`` shows it
and the router class reads it (``class KnnRouter(Router, capabilities=CAPABILITIES)``).
"""

from routerbench_core import hookimpl

CAPABILITIES = {"settings": ["perf"], "embeddings": True}


@hookimpl
def register_routers(register):
    register(
        "mine-knn",
        "rbench_router_mine.router:KnnRouter",
        "kNN over query embeddings: the model best on the k most similar train queries",
        capabilities=CAPABILITIES,
        requires=["numpy"],
    )
