"""Entry point of ``rbench-dataset-knights-knaves``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "logic",
    "size": 700,
    "metric": "accuracy",
    "settings": ["perf"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "knights-knaves",
        "rbench_dataset_knights_knaves.dataset:KnightsKnaves",
        "Knights and Knaves logic puzzles; correct only when every identity is right",
        capabilities=CAPABILITIES,
    )
