"""rbench dataset plugin ``meld``: MELD: emotion of a Friends utterance in context, as 7-way multiple choice."""
