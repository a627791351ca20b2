"""The ``swe-bench`` import format: the official harness's results (and the agent's costs) as
graded answers of one model (``rbench data import swe-bench RESULTS --name BENCH --add
-o model=NAME``)."""

from __future__ import annotations

from pathlib import Path

from routerbench_core import DataFormatError, DatasetError, ImportedRecords


def parse(
    path: Path, *, model: str | None = None, data_file: str | None = None,
    predictions: str | None = None, costs: str | None = None,
) -> ImportedRecords:
    """Every instance of the dataset, and a graded harness record for each instance the
    results mention (the options are described in ``plugin.IMPORT_OPTIONS``)."""
    from rbench_dataset_swe_bench.dataset import SWEBench

    if not model:
        raise DataFormatError("the swe-bench format needs the model the results are of: "
                              "-o model=NAME", file=path)
    dataset = SWEBench()
    try:
        queries = dataset.load(Path(data_file) if data_file else None)
        responses = dataset.import_results(path, model=model, queries=queries,
                                           predictions=predictions, costs=costs)
        by_key = {q.key: q for q in queries}
        grades = [dataset.grade(by_key[r.query_key], r) for r in responses]
    except DatasetError as exc:
        raise DataFormatError(str(exc)) from None
    resolved = sum(g.score == 1.0 for g in grades)
    return ImportedRecords(format="swe-bench", source=str(path), queries=queries,
                           responses=responses, grades=grades,
                           metadata={"harness": "swe-bench", "resolved": resolved})
