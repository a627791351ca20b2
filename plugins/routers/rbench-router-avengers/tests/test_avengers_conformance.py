"""The core's router conformance kit, run on the avengers router."""

from __future__ import annotations

from routerbench_core.testing.routers import RouterConformance


class TestAvengersConformance(RouterConformance):
    router_name = "avengers"
    router_params = {}
