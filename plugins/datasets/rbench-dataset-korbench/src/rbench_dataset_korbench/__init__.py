"""rbench dataset plugin ``korbench``: KOR-Bench: rule-following reasoning in 5 categories, 3-shot, rule-based checker."""
