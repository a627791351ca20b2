"""Entry point of ``rbench-dataset-math500``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "math",
    "size": 500,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "math500",
        "rbench_dataset_math500.dataset:MATH500",
        "MATH-500 competition math, boxed answers checked for symbolic equivalence",
        capabilities=CAPABILITIES,
    )
