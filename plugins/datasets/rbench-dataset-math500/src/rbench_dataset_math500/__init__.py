"""rbench dataset plugin: MATH-500 competition math, boxed answers checked for symbolic equivalence."""

__version__ = "0.1.0"
