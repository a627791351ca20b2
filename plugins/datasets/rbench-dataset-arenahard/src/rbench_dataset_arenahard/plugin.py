"""Entry point of ``rbench-dataset-arenahard``: registers the dataset without importing it."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "judged",
    "size": 750,
    "metric": "score vs baseline (1/0.5/0)",
    "settings": ["perf-cost"],
    "shots": 0,
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "arenahard",
        "rbench_dataset_arenahard.dataset:ArenaHard",
        "Arena-Hard v2: pairwise LLM judge against a baseline answer, both orders (1/0.5/0)",
        capabilities=CAPABILITIES,
    )
