"""Registers the GraphRouter router (light: nothing heavy is imported here)."""

from __future__ import annotations

from routerbench_core import hookimpl


@hookimpl
def register_routers(register):  # type: ignore[no-untyped-def]
    register(
        "graphrouter",
        "rbench_router_graphrouter.router:GraphRouter",
        "GraphRouter: heterogeneous task/query/LLM graph, GNN edge-utility prediction "
        "(perf-first, balance, cost-first utilities)",
        capabilities={"settings": ["perf", "perf-cost"], "trained": True,
                      "devices": ["cpu", "cuda"]},
        requires=["torch", "torch_geometric"],
    )
