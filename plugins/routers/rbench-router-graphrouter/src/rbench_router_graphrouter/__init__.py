"""rbench router plugin graphrouter."""
