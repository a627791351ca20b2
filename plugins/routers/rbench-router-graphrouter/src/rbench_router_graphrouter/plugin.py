"""Registers the GraphRouter router (light: nothing heavy is imported here)."""

from __future__ import annotations

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {"settings": ["perf", "perf-cost"], "trained": True, "devices": ["cpu", "cuda"]}


@hookimpl
def register_routers(register):  # type: ignore[no-untyped-def]
    register(
        "graphrouter",
        "rbench_router_graphrouter.router:GraphRouter",
        "GraphRouter: heterogeneous task/query/LLM graph, GNN edge-utility prediction "
        "(perf-first, balance, cost-first utilities)",
        capabilities=CAPABILITIES,
        requires=["torch", "torch_geometric"],
    )
