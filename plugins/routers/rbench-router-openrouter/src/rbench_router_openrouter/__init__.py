"""rbench router plugin: OpenRouter auto (online or replayed)."""
