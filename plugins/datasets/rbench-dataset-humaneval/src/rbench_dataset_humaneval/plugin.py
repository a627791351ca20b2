"""Entry point of ``rbench-dataset-humaneval``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "code",
    "size": 164,
    "metric": "pass@1",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "humaneval",
        "rbench_dataset_humaneval.dataset:HumanEval",
        "HumanEval Python functions, run against hidden tests in the sandbox",
        capabilities=CAPABILITIES,
    )
