"""The core's router conformance kit, run on the hybridllm router."""

from __future__ import annotations

from routerbench_core.testing.routers import RouterConformance


class TestHybridLLMConformance(RouterConformance):
    router_name = "hybridllm"
