"""rbench dataset plugin ``gpqa``: GPQA-diamond: graduate-level science multiple choice, choices shuffled with a seeded shuffle."""
