"""Entry point of ``rbench-dataset-simpleqa``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "judged",
    "size": 4326,
    "metric": "accuracy (LLM judge)",
    "settings": ["perf-cost"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "simpleqa",
        "rbench_dataset_simpleqa.dataset:SimpleQA",
        "SimpleQA short factual questions; LLM judge: correct / incorrect / not attempted",
        capabilities=CAPABILITIES,
    )
