"""Embedding queries for routers: the embedder interface and its cache (``base``), and the
built-in embedders (each imported only when used).

``hashing``: pure-numpy hashed bag of words (deterministic, no model, for tests and quick runs);
``sentence_transformers``: MiniLM (default, offline) and any sentence-transformers model;
``static``: static token vectors distilled from MiniLM (Model2Vec-style: fast, lower quality);
``openai_compat``: any OpenAI-compatible ``/embeddings`` endpoint (batched, concurrent).
"""
