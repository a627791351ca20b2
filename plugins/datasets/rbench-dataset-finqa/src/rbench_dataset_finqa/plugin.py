"""Entry point of ``rbench-dataset-finqa``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "math",
    "size": 1147,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "finqa",
        "rbench_dataset_finqa.dataset:FinQA",
        "FinQA numeric reasoning over financial reports, rounding-tolerant numeric match",
        capabilities=CAPABILITIES,
    )
