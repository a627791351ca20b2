"""Versioned grading of stored answers: no new calls, stale grades redone, failures never scored."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from routerbench_core import hookimpl
from routerbench_core.data.store import Store
from routerbench_core.plugins.manager import make_plugin_manager
from routerbench_core.schema import ModelSpec, Query, Response
from routerbench_core.scoring.grading import grade_bench

_spec = importlib.util.spec_from_file_location(
    "rbench_test_collect_support", Path(__file__).with_name("test_collect_support.py")
)
assert _spec and _spec.loader
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)


def _host(dataset_cls: type) -> Any:
    class Plugin:
        @staticmethod
        @hookimpl
        def register_datasets(register: Any) -> None:
            register("toyadd", dataset_cls, "toy")

    return make_plugin_manager(load_entrypoints=False, extra_plugins=[Plugin])


def _fill(store: Store, n: int = 6) -> None:
    store.ensure_bench("g")
    ds = support.ToyAdd(n=n)
    queries = ds.load()
    with store.transaction() as conn:
        store.add_queries(store.bench_id("g"), queries + [
            Query(dataset="other", id="0", text="x")], conn=conn)
        store.add_models(store.bench_id("g"), [ModelSpec(name="m", input_price=1,
                                                         output_price=1)], conn=conn)
    rows = [Response(query_key=q.key, model="m", raw_output=f"q{i}: {2 * i if i % 2 == 0 else 0}")
            for i, q in enumerate(queries)]
    rows[1] = Response(query_key=queries[1].key, model="m", error="HTTP 500: boom")
    rows.append(Response(query_key="other/0", model="m", raw_output="1"))
    store.put_responses("g", rows)


def test_grades_then_skips_current_then_regrades(rbench_store: Store) -> None:
    _fill(rbench_store)
    host = _host(support.ToyAdd)
    report = grade_bench(rbench_store, "g", host)
    assert report.graded == 5 and report.failed_calls == 1
    assert report.no_grader == {"other": 1}
    scores = {g.query_key: g.score for g in rbench_store.grades("g")}
    assert scores == {"toyadd/0": 1.0, "toyadd/2": 1.0, "toyadd/3": 0.0, "toyadd/4": 1.0,
                      "toyadd/5": 0.0}
    assert {g.grader_version for g in rbench_store.grades("g")} == {"1"}
    again = grade_bench(rbench_store, "g", host)
    assert again.graded == 0 and again.up_to_date == 5
    forced = grade_bench(rbench_store, "g", host, regrade=True)
    assert forced.graded == 5


def test_new_grader_version_regrades_stale_grades(rbench_store: Store) -> None:
    _fill(rbench_store)
    grade_bench(rbench_store, "g", _host(support.ToyAdd))

    class Lenient(support.ToyAdd):  # a fixed grader: any answer with a number counts
        grader_version = "2"

        def grade(self, query: Query, response: Response, **context: Any):  # type: ignore[override]
            return self.make_grade(query, response, 1.0, "any")

    report = grade_bench(rbench_store, "g", _host(Lenient))
    assert report.graded == 5 and report.up_to_date == 0
    grades = list(rbench_store.grades("g"))
    assert {g.grader_version for g in grades} == {"2"} and {g.score for g in grades} == {1.0}
    matrix = rbench_store.load_matrix("g")
    assert matrix.failed.sum() == 1  # the failed call stays missing, not 0 and not 1


def test_grader_error_is_stored_as_not_gradable_and_retried(rbench_store: Store) -> None:
    _fill(rbench_store)

    class Flaky(support.ToyAdd):
        broken = True

        def grade(self, query: Query, response: Response, **context: Any):  # type: ignore[override]
            if Flaky.broken and query.id == "2":
                raise ValueError("cannot parse")
            return super().grade(query, response, **context)

    host = _host(Flaky)
    report = grade_bench(rbench_store, "g", host)
    assert report.n_errors == 1 and "toyadd/2" in report.errors[0]
    assert report.graded == 5  # the other four, and the broken one as not gradable
    broken = next(g for g in rbench_store.grades("g") if g.query_key == "toyadd/2")
    assert broken.score is None and "cannot parse" in broken.details["grading_error"]
    Flaky.broken = False
    report = grade_bench(rbench_store, "g", host)
    assert report.graded == 1 and report.up_to_date == 4
    fixed = next(g for g in rbench_store.grades("g") if g.query_key == "toyadd/2")
    assert fixed.score is not None and "grading_error" not in fixed.details


def test_grade_passes_context(rbench_store: Store) -> None:
    _fill(rbench_store, n=2)
    seen: list[Any] = []

    class Judged(support.ToyAdd):
        def grade(self, query: Query, response: Response, **context: Any):  # type: ignore[override]
            seen.append(context.get("judge"))
            return super().grade(query, response)

    grade_bench(rbench_store, "g", _host(Judged), context={"judge": "J"})
    assert seen == ["J"]  # one successful answer; the failed one is never graded
