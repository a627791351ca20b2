"""Built-in embedder implementations (imported only when an embedder is used).

``hashing``: pure-numpy hashed bag of words (deterministic, no model, for tests and quick runs);
``sentence_transformers``: MiniLM (default, offline) and any sentence-transformers model;
``openai_compat``: any OpenAI-compatible ``/embeddings`` endpoint.
"""
