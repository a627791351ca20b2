"""rbench router plugin: FrugalGPT (LLM cascade)."""
