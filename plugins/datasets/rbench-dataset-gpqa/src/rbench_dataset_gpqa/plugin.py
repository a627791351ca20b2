"""Entry point of ``rbench-dataset-gpqa``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "multiple-choice",
    "size": 198,
    "metric": "accuracy",
    "settings": ["perf", "perf-cost"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "gpqa",
        "rbench_dataset_gpqa.dataset:GPQA",
        "GPQA-diamond: graduate-level science multiple choice, choices shuffled with a seeded shuffle",
        capabilities=CAPABILITIES,
    )
