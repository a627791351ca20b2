"""Entry point of the plugin: light on purpose (no numpy import until the router is used)."""

from routerbench_core import hookimpl


@hookimpl
def register_routers(register):
    register(
        "mine-knn",
        "rbench_router_mine.router:KnnRouter",
        "kNN over query embeddings: the model best on the k most similar train queries",
        capabilities={"settings": ["perf"]},
        requires=["numpy"],
    )
