"""rbench dataset plugin: LiveCodeBench contest problems (stdin and LeetCode-style), hidden tests in the sandbox."""

__version__ = "0.1.0"
