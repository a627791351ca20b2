"""Grading stored answers with each dataset plugin's grader, versioned, with no new calls.

Grading is separate from generation: answers are collected once, and any grader — today's or a
fixed one next month — re-scores them from the store. Each stored grade carries the grader's
name and version; a grade made by another version is stale and is redone by the next
``rbench grade`` (``--regrade`` redoes every grade). Failed calls are never graded: they stay
failures, missing from the outcome matrix, never a 0.

Kill-safe: each grade is committed as soon as it is made (a SIGKILL loses only the answers in
flight), leftovers of a killed run (sandbox cgroups) are removed at the next start, and a rerun
grades only what has no current grade.

A grader that raises on (or times out in) one answer does not stop the others: that answer
gets a *not gradable* grade (score ``None``) with the reason in ``details["grading_error"]``,
the error is reported, and the next ``rbench grade`` tries it again. A setup problem (no judge
configured, a dataset error) leaves the answer ungraded instead. Only a sandbox that cannot
run or cannot isolate (:class:`~routerbench_core.scoring.sandbox.SandboxError`) stops grading:
an infrastructure failure is never recorded as a verdict.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from routerbench_core.schema import Grade, Query, Response
from routerbench_core.scoring.datasets import Dataset

if TYPE_CHECKING:
    from routerbench_core.collection.collector import CollectReport
    from routerbench_core.collection.runconfig import RunConfig
    from routerbench_core.data.store import Store
    from routerbench_core.plugins.manager import PluginHost



@dataclass
class GradeReport:
    bench: str
    graded: int = 0
    up_to_date: int = 0
    failed_calls: int = 0
    no_grader: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    n_errors: int = 0
    by_grader: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    def lines(self) -> list[str]:
        out = [f"graded {self.graded} answer(s) in bench {self.bench!r} "
               f"({self.up_to_date} already graded by the current grader version, "
               f"{self.failed_calls} failed call(s) not graded), {self.elapsed_s:.1f} s"]
        for grader, n in sorted(self.by_grader.items()):
            out.append(f"  {grader}: {n}")
        for ds, n in sorted(self.no_grader.items()):
            out.append(f"  {n} answer(s) of dataset {ds!r} left ungraded: no dataset plugin "
                       f"{ds!r} is installed (`rbench list datasets`)")
        if self.n_errors:
            out.append(f"  {self.n_errors} answer(s) could not be graded (grader error; scorer "
                       "failures are stored as not gradable with the reason, setup problems "
                       "left ungraded; both retried by the next `rbench grade`), e.g.:")
            out.extend(f"    {e}" for e in self.errors[:5])
        return out


def _datasets(host: PluginHost, names: set[str], options: dict[str, Any]
              ) -> dict[str, Dataset | None]:
    out: dict[str, Dataset | None] = {}
    for name in sorted(names):
        try:
            cls = host.load("dataset", name)
        except Exception:  # reported per answer as "no grader"
            out[name] = None
            continue
        opts = dict((options.get(name) or {}).get("options") or {})
        out[name] = cls(**opts)
    return out


def grade_bench(
    store: Store,
    bench: str,
    host: PluginHost,
    *,
    regrade: bool = False,
    model: str | None = None,
    dataset: str | None = None,
    context: dict[str, Any] | None = None,
    workers: int = 1,
) -> GradeReport:
    """Grade the stored answers of ``bench`` that have no current grade (all with ``regrade``).

    Answers are graded per dataset in batches through :meth:`Dataset.grade_many`, so datasets
    whose grading is slow run it in parallel (code execution over ``workers`` processes, judge
    calls concurrently). If a batch fails, its answers are graded one by one so that one bad
    answer only leaves itself ungraded.

    :param context: passed to every grading call (e.g. ``judge=`` from
        :func:`routerbench_core.scoring.judge.judge_context`).
    :param workers: parallel workers for datasets that can use them.
    """
    from routerbench_core.scoring.sandbox import cleanup_stale

    started = time.perf_counter()
    cleanup_stale()  # what a killed run left behind
    report = GradeReport(bench=bench)
    queries: dict[str, Query] = {q.key: q for q in store.queries(bench, dataset=dataset)}
    meta = store.bench_metadata(bench)
    graders = _datasets(host, {q.dataset for q in queries.values()},
                        dict(meta.get("datasets") or {}))
    current = {(g.query_key, g.model): (g.grader, g.grader_version)
               for g in store.grades(bench, model=model)
               if "grading_error" not in g.details}  # errors are retried
    pending: dict[str, list[tuple[Query, Response]]] = {}
    ctx = dict(context or {})
    for response in store.responses(bench, model=model, dataset=dataset):
        if not response.ok:
            report.failed_calls += 1
            continue
        query = queries.get(response.query_key)
        if query is None:
            continue
        grader = graders.get(query.dataset)
        if grader is None:
            report.no_grader[query.dataset] += 1
            continue
        stamp = (grader.grader_name, grader.grader_version)
        if not regrade and current.get((response.query_key, response.model)) == stamp:
            report.up_to_date += 1
            continue
        pending.setdefault(query.dataset, []).append((query, response))

    write = store.grade_writer(bench) if pending else None
    for name, items in pending.items():
        grader = graders[name]
        assert grader is not None and write is not None
        for index, outcome in grader.grade_stream(items, workers=workers, **ctx):
            query, response = items[index]
            if isinstance(outcome, Exception):
                outcome = _not_gradable(grader, query, response, outcome, report)
                if outcome is None:
                    continue
            grade = outcome.model_copy(update={"query_key": response.query_key,
                                               "model": response.model})
            write(grade)
            report.graded += 1
            report.by_grader[f"{grade.grader} v{grade.grader_version}"] += 1
    report.elapsed_s = time.perf_counter() - started
    return report


def _not_gradable(grader: Dataset, query: Query, response: Response, exc: Exception,
                  report: GradeReport) -> Grade | None:
    """The grade of an answer whose scorer raised or timed out: score None, with the reason.

    None (left ungraded) for a setup problem rather than a scorer failure — a missing judge,
    a dataset error: nothing about the answer is known, so nothing is stored.
    """
    from routerbench_core.scoring.datasets import DatasetError
    from routerbench_core.scoring.judge import JudgeError

    reason = f"{type(exc).__name__}: {exc}"
    report.n_errors += 1
    if len(report.errors) < 5:
        report.errors.append(f"{response.query_key} × {response.model}: {reason}")
    if isinstance(exc, DatasetError | JudgeError):
        return None
    return grader.make_grade(query, response, None, None, grading_error=reason[:2000])


def collect_and_grade(config: RunConfig, host: PluginHost, store: Store,
                      **options: Any) -> CollectReport:
    """Collect a run config's answers, then grade them when the config asks (``run.grade``).

    The two first pipeline stages in one call, kept here rather than in the collector so that
    collection never depends on grading. ``options`` go to
    :func:`routerbench_core.collection.collector.collect`.
    """
    from routerbench_core.collection.collector import collect

    report = collect(config, host, store, **options)
    if config.run.grade:
        report.grading = grade_bench(store, report.bench, host)
    return report
