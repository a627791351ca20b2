"""Entry point: registers the Avengers router (light; numpy is imported only when used)."""

from routerbench_core import hookimpl


@hookimpl
def register_routers(register):
    register(
        "avengers",
        "rbench_router_avengers.router:AvengersRouter",
        "Avengers: k-means over query embeddings, per-cluster model ranking, "
        "softmax(-beta*distance) voting of the nearest centroids",
        capabilities={"settings": ["perf"], "training": "none", "embeddings": True},
        requires=["numpy"],
    )
