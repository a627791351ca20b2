"""rbench dataset plugin: MathBench multiple-choice math (primary to college), Answer: X letters."""

__version__ = "0.1.0"
