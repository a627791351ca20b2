"""Registers the MODEL-SAT router (light: nothing heavy is imported here)."""

from __future__ import annotations

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {"settings": ["perf"], "trained": True, "devices": ["cpu", "cuda"]}


@hookimpl
def register_routers(register):  # type: ignore[no-untyped-def]
    register(
        "model-sat",
        "rbench_router_model_sat.router:ModelSATRouter",
        "MODEL-SAT: capability vectors (aptitude test on core tasks from train) + query "
        "-> P(correct); new models need only their capability vector",
        capabilities=CAPABILITIES,
        requires=["torch"],
    )
