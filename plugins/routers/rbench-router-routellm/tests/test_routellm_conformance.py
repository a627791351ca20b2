"""The core's router conformance kit, run on the routellm router."""

from __future__ import annotations

from routerbench_core.testing.routers import RouterConformance


class TestRouteLLMConformance(RouterConformance):
    router_name = "routellm"
    router_params = {"epochs": 10}
