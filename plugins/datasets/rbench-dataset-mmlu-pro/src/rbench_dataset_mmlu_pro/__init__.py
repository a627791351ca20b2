"""rbench dataset plugin ``mmlu-pro``: MMLU-Pro: 10-option multiple choice across 14 subjects (letters A-J)."""
