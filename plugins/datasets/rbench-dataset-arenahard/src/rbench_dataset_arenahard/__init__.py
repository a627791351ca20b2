"""rbench dataset plugin ``arenahard``: Arena-Hard v2: pairwise LLM judge against a baseline answer, both orders (1/0.5/0)."""
