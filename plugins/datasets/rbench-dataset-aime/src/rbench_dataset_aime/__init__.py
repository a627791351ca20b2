"""rbench dataset plugin: AIME 2024 + 2025 competition math, integer answers in \\boxed{}."""

__version__ = "0.1.0"
