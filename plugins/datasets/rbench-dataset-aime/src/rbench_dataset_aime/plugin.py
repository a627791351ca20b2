"""Entry point of ``rbench-dataset-aime``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "math",
    "size": 60,
    "metric": "accuracy",
    "settings": ["perf", "perf-cost"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "aime",
        "rbench_dataset_aime.dataset:AIME",
        "AIME 2024 + 2025 competition math, integer answers in \\boxed{}",
        capabilities=CAPABILITIES,
    )
