"""rbench router plugin: Avengers."""
