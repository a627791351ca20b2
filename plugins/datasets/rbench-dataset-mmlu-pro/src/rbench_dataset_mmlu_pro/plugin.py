"""Entry point of ``rbench-dataset-mmlu-pro``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "multiple-choice",
    "size": 1000,
    "sizes": {"perf": 1000, "perf-cost": 3000},
    "metric": "accuracy",
    "settings": ["perf", "perf-cost"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "mmlu-pro",
        "rbench_dataset_mmlu_pro.dataset:MMLUPro",
        "MMLU-Pro: 10-option multiple choice across 14 subjects (letters A-J)",
        capabilities=CAPABILITIES,
    )
