"""rbench router plugin: RouteLLM (matrix factorisation)."""
