"""Entry point of ``rbench-dataset-bbh``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "logic",
    "size": 1080,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 3,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "bbh",
        "rbench_dataset_bbh.dataset:BBH",
        "BIG-Bench Hard: 27 reasoning tasks, 3-shot, per-task answer formats",
        capabilities=CAPABILITIES,
    )
