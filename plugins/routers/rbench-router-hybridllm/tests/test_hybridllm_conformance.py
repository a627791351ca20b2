"""The core's router conformance kit, run on the hybridllm router."""

from __future__ import annotations

from routerbench_core.testing.routers import RouterConformance


class TestHybridLLMConformance(RouterConformance):
    router_name = "hybridllm"
    # a strong/weak pair: it chooses between two models, so experts per sub-topic are out of
    # its reach by design (the content check needs three experts and a generalist)
    min_gain_over_dataset_oracle = None
