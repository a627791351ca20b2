"""rbench router plugin embedllm."""
