"""Entry point of ``rbench-dataset-korbench``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "logic",
    "size": 1250,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 3,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "korbench",
        "rbench_dataset_korbench.dataset:KORBench",
        "KOR-Bench: rule-following reasoning in 5 categories, 3-shot, rule-based checker",
        capabilities=CAPABILITIES,
    )
