"""The core's router conformance kit, run on the avengers-pro router."""

from __future__ import annotations

from routerbench_core.testing.routers import RouterConformance


class TestAvengersProConformance(RouterConformance):
    router_name = "avengers-pro"
    router_params = {}
