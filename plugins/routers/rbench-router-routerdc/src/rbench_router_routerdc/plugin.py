"""Registers the RouterDC router (light: nothing heavy is imported here)."""

from __future__ import annotations

from routerbench_core import hookimpl

#: The router's settings and needs, written once: `rbench list` shows them and the router
#: class reads them (``class ...(Router, capabilities=CAPABILITIES)``).
CAPABILITIES = {"settings": ["perf"], "trained": True, "devices": ["cpu", "cuda"]}


@hookimpl
def register_routers(register):  # type: ignore[no-untyped-def]
    register(
        "routerdc",
        "rbench_router_routerdc.router:RouterDCRouter",
        "RouterDC: query encoder + learned LLM embeddings trained by dual contrastive "
        "learning (top-k/last-k sample-LLM, cluster sample-sample); picks the nearest LLM",
        capabilities=CAPABILITIES,
        requires=["torch"],
    )
