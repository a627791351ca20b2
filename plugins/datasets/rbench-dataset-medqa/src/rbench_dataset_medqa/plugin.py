"""Entry point of ``rbench-dataset-medqa``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "multiple-choice",
    "size": 1273,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "medqa",
        "rbench_dataset_medqa.dataset:MedQA",
        "MedQA (USMLE, 4 options): medical exam multiple choice",
        capabilities=CAPABILITIES,
    )
