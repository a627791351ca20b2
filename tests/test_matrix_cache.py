"""The columnar matrix cache: same matrix as SQL, invalidated by every write to its bench."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from routerbench_core.data import matrix_cache
from routerbench_core.data.importers import import_bench
from routerbench_core.data.store import Store
from routerbench_core.schema import Grade, Response

from .test_import_streaming import write_release


def _same(a, b) -> None:
    assert a.bench == b.bench and a.models == b.models
    assert list(a.keys) == list(b.keys) and list(a.datasets) == list(b.datasets)
    assert a.texts == b.texts and a.metadata == b.metadata
    assert a.model_specs == b.model_specs
    for name in ("score", "cost", "prompt_tokens", "completion_tokens", "latency", "failed"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_array_equal(a.cost_source, b.cost_source)


@pytest.fixture
def bench(tmp_path: Path, rbench_store: Store) -> Store:
    import_bench(rbench_store, "llmrouterbench", write_release(tmp_path / "r", n=20), "b")
    return rbench_store


def test_cached_matrix_equals_the_sql_one(bench: Store) -> None:
    path = matrix_cache.cache_path(bench, bench.bench_id("b"))
    assert path is not None and path.is_file()  # the import built it
    _same(bench.load_matrix("b"), bench.load_matrix_sql("b"))


def test_every_write_invalidates_it(bench: Store) -> None:
    m0 = bench.load_matrix("b")
    key, model = str(m0.keys[0]), m0.models[0]
    v0 = bench.bench_version(bench.bench_id("b"))
    bench.put_grades("b", [Grade(query_key=key, model=model, score=0.25, grader="t",
                                 grader_version="1")])
    assert bench.bench_version(bench.bench_id("b")) != v0
    m1 = bench.load_matrix("b")
    assert m1.score[0, 0] == 0.25
    bench.put_responses("b", [Response(query_key=key, model=model, error="boom")])
    m2 = bench.load_matrix("b")
    assert m2.failed[0, 0] and np.isnan(m2.score[0, 0])
    bench.update_bench_metadata("b", note="x")
    assert bench.load_matrix("b").metadata["note"] == "x"
    _same(bench.load_matrix("b"), bench.load_matrix_sql("b"))
    assert matrix_cache.stats(bench, "b")["n_failures"] == 1


def test_a_second_connection_sees_another_ones_write(bench: Store) -> None:
    other = Store(bench.path)
    try:
        assert other.load_matrix("b").score[1, 1] != 0.5
        m = bench.load_matrix("b")
        bench.put_grades("b", [Grade(query_key=str(m.keys[1]), model=m.models[1], score=0.5,
                                     grader="t", grader_version="1")])
        assert other.load_matrix("b").score[1, 1] == 0.5
    finally:
        other.close()


def test_stats_match_the_tables(bench: Store) -> None:
    s = matrix_cache.stats(bench, "b")
    summary = bench.summary("b")
    assert (s["n_queries"], s["n_models"], s["n_responses"], s["n_grades"]) == (
        summary.n_queries, summary.n_models, summary.n_responses, summary.n_grades)
    assert dict(s["datasets"]) == bench.dataset_counts("b")
    assert dict(s["source_splits"]) == bench.split_counts("b")


def test_a_corrupt_or_foreign_file_is_rebuilt(bench: Store) -> None:
    path = matrix_cache.cache_path(bench, bench.bench_id("b"))
    path.write_bytes(b"not a zip")
    _same(bench.load_matrix("b"), bench.load_matrix_sql("b"))
    assert path.stat().st_size > 1000  # rewritten


def test_a_replaced_bench_never_reads_the_old_cache(tmp_path: Path, bench: Store) -> None:
    old = bench.load_matrix("b")
    import_bench(bench, "llmrouterbench", write_release(tmp_path / "r2", models=2, n=7), "b",
                 replace=True)
    new = bench.load_matrix("b")
    assert new.shape == (21, 2) != old.shape
    _same(new, bench.load_matrix_sql("b"))
