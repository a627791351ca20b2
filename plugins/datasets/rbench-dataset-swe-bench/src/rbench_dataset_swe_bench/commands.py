"""``rbench swe-bench import``: put the official harness's results into a bench, graded."""

from __future__ import annotations

from pathlib import Path

import typer


def import_command(
    ctx: typer.Context,
    results: Path = typer.Argument(..., help="Run summary <model>.<run_id>.json, or the folder of per-instance report.json files."),  # noqa: B008
    model: str = typer.Option(..., "--model", help="Model (or agent) name to store the results under."),
    bench: str = typer.Option("collected", "--bench", help="Bench to add them to (created if absent)."),
    data_file: Path = typer.Option(None, "--data-file", help="SWE-bench Verified instances (JSONL/Parquet); default: the hub."),  # noqa: B008
    predictions: Path = typer.Option(None, "--predictions", help="preds.json / predictions JSONL with model_patch."),  # noqa: B008
    costs: Path = typer.Option(None, "--costs", help="Costs JSON/JSONL, or a folder of *.traj.json trajectories."),  # noqa: B008
) -> None:
    """Import SWE-bench harness results (and costs) as graded answers of MODEL."""
    from rbench_dataset_swe_bench.dataset import SWEBench
    from routerbench_core import DatasetError, ModelSpec
    from routerbench_core.commands.app import fail, state
    from routerbench_core.testing import StoreError

    dataset = SWEBench()
    try:
        queries = dataset.load(data_file)
        responses = dataset.import_results(results, model=model, queries=queries,
                                           predictions=predictions, costs=costs)
        with state(ctx).open_store() as store:
            bench_id = store.ensure_bench(bench, source="swe-bench harness")
            with store.transaction() as conn:
                if model not in store.model_index(bench_id):  # never overwrite a known spec
                    store.add_models(bench_id, [ModelSpec(name=model)], conn=conn)
                store.add_queries(bench_id, queries, conn=conn)
            store.put_responses(bench, responses)
            by_key = {q.key: q for q in queries}
            store.put_grades(bench, [dataset.grade(by_key[r.query_key], r) for r in responses])
    except (DatasetError, StoreError) as exc:
        raise fail(str(exc)) from None
    resolved = sum('"status": "resolved"' in (r.raw_output or "") for r in responses)
    typer.echo(f"imported {len(responses)} SWE-bench result(s) of {model} into bench {bench!r}: "
               f"{resolved} resolved")
