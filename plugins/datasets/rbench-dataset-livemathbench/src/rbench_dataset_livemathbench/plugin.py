"""Entry point of ``rbench-dataset-livemathbench``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "math",
    "size": 121,
    "metric": "accuracy",
    "settings": ["perf-cost"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "livemathbench",
        "rbench_dataset_livemathbench.dataset:LiveMathBench",
        "LiveMathBench recent competition math (English), symbolic answer check",
        capabilities=CAPABILITIES,
    )
