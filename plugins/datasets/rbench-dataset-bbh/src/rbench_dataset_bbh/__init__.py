"""rbench dataset plugin ``bbh``: BIG-Bench Hard: 27 reasoning tasks, 3-shot, per-task answer formats."""
