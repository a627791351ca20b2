"""Entry point of ``rbench-dataset-tau2-bench``: registers the dataset and its import command."""

from __future__ import annotations

from typing import TYPE_CHECKING

from routerbench_core import Register, hookimpl

if TYPE_CHECKING:
    import typer

CAPABILITIES = {
    "category": "agentic",
    "size": 278,
    "metric": "reward (pass^1)",
    "settings": ["perf-cost"],
    "shots": 0,
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
def register_commands(app: typer.Typer) -> None:
    import typer

    from rbench_dataset_tau2_bench.commands import import_command

    sub = typer.Typer(help="tau2-bench: import simulation results.", no_args_is_help=True)
    sub.command("import")(import_command)
    app.add_typer(sub, name="tau2-bench")
