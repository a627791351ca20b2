"""Entry point of ``rbench-dataset-swe-bench``: registers the dataset and its import command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from routerbench_core import Register, hookimpl

if TYPE_CHECKING:
    import typer

CAPABILITIES = {
    "category": "agentic",
    "size": 500,
    "metric": "resolved rate",
    "settings": ["perf-cost"],
    "shots": 0,
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
def register_commands(app: typer.Typer) -> None:
    import typer

    from rbench_dataset_swe_bench.commands import import_command

    sub = typer.Typer(help="SWE-bench Verified: import harness results.", no_args_is_help=True)
    sub.command("import")(import_command)
    app.add_typer(sub, name="swe-bench")
