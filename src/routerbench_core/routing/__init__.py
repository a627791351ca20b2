"""Stage 3, route: the router interface and its data classes, the leak-free split protocol, the
evaluator that trains and tests routers per seed, the baselines, and shared ML helpers."""
