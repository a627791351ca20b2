"""Entry point of ``rbench-dataset-hle``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "judged",
    "size": 2158,
    "metric": "accuracy (LLM judge)",
    "settings": ["perf-cost"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "hle",
        "rbench_dataset_hle.dataset:HLE",
        "Humanity's Last Exam (text-only), graded by an LLM judge against the reference",
        capabilities=CAPABILITIES,
    )
