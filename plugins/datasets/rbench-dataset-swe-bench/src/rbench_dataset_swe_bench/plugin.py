"""Entry point of ``rbench-dataset-swe-bench``: registers the dataset and its import format."""

from __future__ import annotations

from routerbench_core import Register, hookimpl

CAPABILITIES = {
    "category": "agentic",
    "size": 500,
    "metric": "resolved rate",
    "settings": ["perf-cost"],
    "shots": 0,
}
#: ``-o NAME=VALUE`` options of the import format (kept here so `rbench list` shows them
#: without importing the importer)
IMPORT_OPTIONS = {
    "model": "model (or agent) name to store the results under (required)",
    "data_file": "SWE-bench Verified instances (JSONL/Parquet); default: the hub",
    "predictions": "preds.json / predictions JSONL with model_patch",
    "costs": "costs JSON/JSONL, or a folder of *.traj.json trajectories",
}


@hookimpl
def register_datasets(register: Register) -> None:
    register(
        "swe-bench",
        "rbench_dataset_swe_bench.dataset:SWEBench",
        "SWE-bench Verified: imports the official harness's per-instance resolved results",
        capabilities=CAPABILITIES,
    )


@hookimpl
def register_importers(register: Register) -> None:
    register(
        "swe-bench",
        "rbench_dataset_swe_bench.importer:parse",
        "SWE-bench harness results (run summary or report.json folder), graded, one model",
        capabilities={"options": IMPORT_OPTIONS, "adds": True},
    )
