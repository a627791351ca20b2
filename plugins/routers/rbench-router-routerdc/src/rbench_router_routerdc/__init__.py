"""rbench router plugin routerdc."""
