"""``Store.load_matrix``'s fast path: every column's missing values, failures and cost sources
land in the right cells."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from routerbench_core.data.store import Store
from routerbench_core.schema import Grade, ModelSpec, Query, Response


def test_load_matrix_cells(rbench_store: Store) -> None:
    s = rbench_store
    s.create_bench("b")
    s.add_models("b", [ModelSpec(name="m0"), ModelSpec(name="m1")])
    s.add_queries("b", [Query(dataset="d" if i < 2 else "e", id=str(i), text=f"t{i}")
                        for i in range(4)])
    s.put_responses("b", [
        Response(query_key="d/0", model="m0", cost=0.5, cost_source="reported",
                 prompt_tokens=3, completion_tokens=None, latency_s=1.5),
        Response(query_key="d/0", model="m1", cost=None, prompt_tokens=None,
                 completion_tokens=7, latency_s=None),
        Response(query_key="d/1", model="m0", error="HTTP 500", cost=0.1, cost_source="priced"),
        Response(query_key="e/2", model="m1", cost=0.0, cost_source="free", prompt_tokens=0,
                 completion_tokens=0, latency_s=0.0),
    ])
    grade = dict(grader="g", grader_version="1")
    s.put_grades("b", [
        Grade(query_key="d/0", model="m0", score=1.0, **grade),
        Grade(query_key="d/0", model="m1", score=None, **grade),   # not gradable
        Grade(query_key="d/1", model="m0", score=1.0, **grade),    # a failed call: no score
        Grade(query_key="e/2", model="m1", score=0.0, **grade),
        Grade(query_key="e/3", model="m0", score=1.0, **grade),    # no response at all
    ])
    m = s.load_matrix("b")
    nan = np.nan
    np.testing.assert_array_equal(m.score, [[1, nan], [nan, nan], [nan, 0], [nan, nan]])
    np.testing.assert_array_equal(m.cost, [[0.5, nan], [0.1, nan], [nan, 0], [nan, nan]])
    np.testing.assert_array_equal(m.prompt_tokens, [[3, nan], [nan, nan], [nan, 0], [nan, nan]])
    np.testing.assert_array_equal(m.completion_tokens,
                                  [[nan, 7], [nan, nan], [nan, 0], [nan, nan]])
    np.testing.assert_array_equal(m.latency, [[1.5, nan], [nan, nan], [nan, 0], [nan, nan]])
    assert m.failed.tolist() == [[False, False], [True, False], [False, False], [False, False]]
    assert m.cost_source.tolist() == [["reported", None], ["priced", None], [None, "free"],
                                      [None, None]]
    assert list(m.keys) == ["d/0", "d/1", "e/2", "e/3"] and m.dataset_names() == ["d", "e"]


def test_load_matrix_empty_bench(rbench_store: Store) -> None:
    rbench_store.create_bench("b")
    rbench_store.add_models("b", [ModelSpec(name="m0")])
    rbench_store.add_queries("b", [Query(dataset="d", id="0", text="t")])
    m = rbench_store.load_matrix("b")
    assert m.shape == (1, 1) and np.isnan(m.score).all() and not m.failed.any()


def test_matrix_query_reads_one_bench_range_and_responses_have_no_second_index(
        rbench_store: Store) -> None:
    """The matrix is one range of the clustered table (imported answers are 20-byte block
    references, so the rows are narrow), and an import maintains a single B-tree."""
    from routerbench_core.data.store import matrix_sql

    for n in (0, 3):
        plan = rbench_store.execute(
            "EXPLAIN QUERY PLAN " + matrix_sql(n, 20), (*["x"] * n, 1)).fetchall()
        detail = " ".join(str(row[-1]) for row in plan)
        assert "USING PRIMARY KEY (bench_id=?)" in detail, detail
    assert rbench_store.execute("SELECT COUNT(*) FROM sqlite_master WHERE type='index' AND "
                                "tbl_name='responses' AND sql IS NOT NULL").fetchone()[0] == 0


def test_new_store_page_size_and_existing_kept(tmp_path: Path) -> None:
    import sqlite3

    with Store(tmp_path / "new.db") as s:
        assert s.execute("PRAGMA page_size").fetchone()[0] == 8192
    Store(tmp_path / "old.db").close()
    old = sqlite3.connect(tmp_path / "old.db")  # an rbench store rewritten with 4 KiB pages
    old.execute("PRAGMA journal_mode=DELETE")
    old.execute("PRAGMA page_size=4096")
    old.execute("VACUUM")
    old.close()
    with Store(tmp_path / "old.db") as s:  # an existing file is opened as it is
        assert s.execute("PRAGMA page_size").fetchone()[0] == 4096
        assert s.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
