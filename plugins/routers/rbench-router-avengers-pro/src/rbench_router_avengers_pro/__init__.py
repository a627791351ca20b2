"""rbench router plugin: Avengers-Pro."""
