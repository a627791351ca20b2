"""rbench dataset plugin: LiveMathBench recent competition math (English), symbolic answer check."""

__version__ = "0.1.0"
