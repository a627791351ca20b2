"""The core's router conformance kit, run on the frugalgpt router."""

from __future__ import annotations

from routerbench_core.testing.routers import RouterConformance


class TestFrugalGPTConformance(RouterConformance):
    router_name = "frugalgpt"
