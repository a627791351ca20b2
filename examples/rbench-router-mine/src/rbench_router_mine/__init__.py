"""Example third-party rbench plugin: a kNN router over query embeddings."""
