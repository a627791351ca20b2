"""rbench router plugin: Hybrid LLM."""
