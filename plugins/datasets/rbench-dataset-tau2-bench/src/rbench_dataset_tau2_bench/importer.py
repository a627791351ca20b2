"""The ``tau2-bench`` import format: one ``tau2 run`` results file (or results folder) as
graded answers (``rbench data import tau2-bench RESULTS --name BENCH --add
-o data_file=data/tau2/domains``); import each domain's run with ``--add``."""

from __future__ import annotations

from pathlib import Path

from routerbench_core import DataFormatError, DatasetError, ImportedRecords


def parse(
    path: Path, *, data_file: str | None = None, model: str | None = None,
    domain: str | None = None,
) -> ImportedRecords:
    """Every task of ``data_file`` and a graded record for each task the results ran (the
    options are described in ``plugin.IMPORT_OPTIONS``)."""
    from rbench_dataset_tau2_bench.dataset import Tau2Bench

    if not data_file:
        raise DataFormatError("the tau2-bench format needs the tasks: -o data_file=PATH (the "
                              "data/tau2/domains folder, a tasks.json, or JSONL records)",
                              file=path)
    dataset = Tau2Bench(domain=domain) if domain else Tau2Bench()
    try:
        queries = dataset.load(Path(data_file))
        name, responses = dataset.import_results(path, queries=queries, model=model)
        by_key = {q.key: q for q in queries}
        grades = [dataset.grade(by_key[r.query_key], r) for r in responses]
    except DatasetError as exc:
        raise DataFormatError(str(exc)) from None
    return ImportedRecords(format="tau2-bench", source=str(path), queries=queries,
                           responses=responses, grades=grades,
                           metadata={"harness": "tau2-bench", "model": name})
