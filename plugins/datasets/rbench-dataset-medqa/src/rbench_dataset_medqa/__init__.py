"""rbench dataset plugin ``medqa``: MedQA (USMLE, 4 options): medical exam multiple choice."""
