"""rbench backend for OpenAI-compatible APIs (OpenAI, OpenRouter, vLLM/SGLang/llama.cpp servers)."""

__version__ = "0.1.0"
