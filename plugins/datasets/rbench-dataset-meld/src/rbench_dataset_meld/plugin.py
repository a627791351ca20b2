"""Entry point of ``rbench-dataset-meld``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "multiple-choice",
    "size": 1232,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "meld",
        "rbench_dataset_meld.dataset:MELD",
        "MELD: emotion of a Friends utterance in context, as 7-way multiple choice",
        capabilities=CAPABILITIES,
    )
