"""rbench dataset plugin: HumanEval Python functions, run against hidden tests in the sandbox."""

__version__ = "0.1.0"
