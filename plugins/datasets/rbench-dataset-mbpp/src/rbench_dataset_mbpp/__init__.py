"""rbench dataset plugin: MBPP basic Python problems, run against hidden asserts in the sandbox."""

__version__ = "0.1.0"
