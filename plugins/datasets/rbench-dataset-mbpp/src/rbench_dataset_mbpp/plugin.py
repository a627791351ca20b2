"""Entry point of ``rbench-dataset-mbpp``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "code",
    "size": 974,
    "metric": "pass@1",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "mbpp",
        "rbench_dataset_mbpp.dataset:MBPP",
        "MBPP basic Python problems, run against hidden asserts in the sandbox",
        capabilities=CAPABILITIES,
    )
