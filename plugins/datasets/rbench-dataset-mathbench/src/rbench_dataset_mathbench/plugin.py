"""Entry point of ``rbench-dataset-mathbench``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "multiple-choice",
    "size": 150,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "mathbench",
        "rbench_dataset_mathbench.dataset:MathBench",
        "MathBench multiple-choice math (primary to college), Answer: X letters",
        capabilities=CAPABILITIES,
    )
