"""Entry point of rbench-backend-vllm: registers the ``vllm`` backend (vllm imported lazily)."""

from __future__ import annotations

from routerbench_core import Register, hookimpl


@hookimpl
def register_backends(register: Register) -> None:
    register(
        "vllm",
        "rbench_backend_vllm.backend:VLLMBackend",
        "Local GPU models: in-process vllm.LLM batch generation with the model's chat template",
        capabilities={"batch": True, "gpu": True, "cost": "gpu-hours or free"},
        requires=["vllm"],
    )
