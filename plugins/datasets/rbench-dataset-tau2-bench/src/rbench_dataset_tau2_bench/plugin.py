"""Entry point of ``rbench-dataset-tau2-bench``: registers the dataset and its import format."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "agentic",
    "size": 278,
    "metric": "reward (pass^1)",
    "settings": ["perf-cost"],
    "shots": 0,
}
#: ``-o NAME=VALUE`` options of the import format (here so `rbench list` needs no import)
IMPORT_OPTIONS = {
    "data_file": "the tasks: data/tau2/domains, a tasks.json, or JSONL records (required)",
    "model": "store under this name (default: the agent LLM the results file names)",
    "domain": "the domain of a bare tasks.json outside a domain folder",
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "tau2-bench",
        "rbench_dataset_tau2_bench.dataset:Tau2Bench",
        "tau2-bench (airline, retail, telecom): imports tau2 run results (per-simulation reward)",
        capabilities=CAPABILITIES,
    )


@hookimpl
def register_importers(register: Register) -> None:
    register(
        "tau2-bench",
        "rbench_dataset_tau2_bench.importer:parse",
        "tau2 run results (file or folder): per-task mean reward and agent cost, graded",
        capabilities={"options": IMPORT_OPTIONS, "adds": True},
    )
