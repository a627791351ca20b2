"""rbench dataset plugin ``simpleqa``: SimpleQA short factual questions; LLM judge: correct / incorrect / not attempted."""
