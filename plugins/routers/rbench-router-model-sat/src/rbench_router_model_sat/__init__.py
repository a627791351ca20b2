"""rbench router plugin model-sat."""
