"""Entry point of ``rbench-dataset-livecodebench``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "code",
    "size": 1055,
    "metric": "pass@1",
    "settings": ["perf", "perf-cost"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "livecodebench",
        "rbench_dataset_livecodebench.dataset:LiveCodeBench",
        "LiveCodeBench contest problems (stdin and LeetCode-style), hidden tests in the sandbox",
        capabilities=CAPABILITIES,
    )
