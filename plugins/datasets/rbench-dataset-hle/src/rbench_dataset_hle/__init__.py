"""rbench dataset plugin ``hle``: Humanity's Last Exam (text-only), graded by an LLM judge against the reference."""
