"""Entry point of ``rbench-dataset-emorynlp``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "multiple-choice",
    "size": 697,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "emorynlp",
        "rbench_dataset_emorynlp.dataset:EmoryNLP",
        "EmoryNLP: emotion of a Friends utterance in context, as 7-way multiple choice",
        capabilities=CAPABILITIES,
    )
