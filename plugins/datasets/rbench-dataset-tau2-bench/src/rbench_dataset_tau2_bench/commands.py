"""``rbench tau2-bench import``: put ``tau2 run`` results into a bench, graded."""

from __future__ import annotations

from pathlib import Path

import typer


def import_command(
    ctx: typer.Context,
    results: list[Path] = typer.Argument(..., help="tau2 results file(s) (one per domain run) or results folders."),  # noqa: B008
    data_file: Path = typer.Option(..., "--data-file", help="The tasks: data/tau2/domains, a tasks.json, or JSONL records."),  # noqa: B008
    model: str = typer.Option(None, "--model", help="Store under this name (default: the agent LLM the file names)."),
    bench: str = typer.Option("collected", "--bench", help="Bench to add them to (created if absent)."),
) -> None:
    """Import tau2-bench simulation results (rewards and agent costs) as graded answers."""
    from rbench_dataset_tau2_bench.dataset import Tau2Bench
    from routerbench_core import DatasetError, ModelSpec
    from routerbench_core.commands.app import fail, state
    from routerbench_core.testing import StoreError

    dataset = Tau2Bench()
    try:
        queries = dataset.load(data_file)
        by_key = {q.key: q for q in queries}
        with state(ctx).open_store() as store:
            bench_id = store.ensure_bench(bench, source="tau2-bench results")
            with store.transaction() as conn:
                store.add_queries(bench_id, queries, conn=conn)
            for path in results:
                name, responses = dataset.import_results(path, queries=queries, model=model)
                if name not in store.model_index(bench_id):  # never overwrite a known spec
                    with store.transaction() as conn:
                        store.add_models(bench_id, [ModelSpec(name=name)], conn=conn)
                store.put_responses(bench, responses)
                store.put_grades(bench, [dataset.grade(by_key[r.query_key], r) for r in responses])
                typer.echo(f"imported {len(responses)} tau2 task(s) of {name} from {path} "
                           f"into bench {bench!r}")
    except (DatasetError, StoreError) as exc:
        raise fail(str(exc)) from None
