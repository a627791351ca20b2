"""rbench backend for local GPU models through in-process ``vllm.LLM`` batch generation."""

__version__ = "0.1.0"
