"""Streamed imports of the LLMRouterBench layout: bounded chunks into a staging bench, packed
answers, and what a failed or killed import leaves behind (nothing visible)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from routerbench_core.data.importers import DataFormatError, export_bench, import_bench, parse
from routerbench_core.data.importers import llmrouterbench as lrb
from routerbench_core.data.store import STAGING_PREFIX, Store

WORDS = ("alpha beta gamma delta solve the equation first we note that hence therefore "
         "answer boxed value sum product prime integer").split()


def _answer(rng: random.Random, i: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(80)) + f" so the answer is {i}."


def write_release(root: Path, *, models: int = 3, datasets: int = 3, n: int = 40,
                  seed: int = 0) -> Path:
    rng = random.Random(seed)
    for d in range(datasets):
        for m in range(models):
            records = [{
                "index": i, "origin_query": f"q{d}.{i}", "prompt": f"Question {d}.{i}?",
                "prediction": str(i), "ground_truth": str(i), "score": float((i + m) % 2),
                "prompt_tokens": 10, "completion_tokens": 20 + i, "cost": 1e-5 * (m + 1),
                "raw_output": _answer(rng, i),
            } for i in range(n)]
            folder = root / "results" / "bench" / f"ds{d}" / "test" / f"model{m}"
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"model{m}_20250101_000000.json").write_text(json.dumps(
                {"dataset_name": f"ds{d}", "split": "test", "model_name": f"model{m}",
                 "records": records}), encoding="utf-8")
    return root


def test_chunks_are_bounded_and_match_the_whole_parse(tmp_path: Path) -> None:
    root = write_release(tmp_path / "r")
    chunks = list(lrb.parse_chunks(root, chunk_rows=50))
    # a chunk ends at a dataset split or once it holds 50 responses (checked per run file)
    assert len(chunks) >= 3 and all(len(c.responses) <= 50 + 40 for c in chunks)
    assert chunks[-1].metadata is not None and chunks[-1].metadata["files"] == 9
    whole = parse("llmrouterbench", root)
    def same(r: tuple[Any, ...]) -> tuple[Any, ...]:
        return r[:12] + r[13:]  # all but created_at

    assert [same(r) for c in chunks for r in c.responses] == [same(r) for r in whole.responses]
    assert [q for c in chunks for q in c.queries] == whole.queries
    assert [s.name for c in chunks for s in c.models] == [s.name for s in whole.models]


def test_answers_are_stored_packed_and_read_back_exactly(tmp_path: Path,
                                                        rbench_store: Store) -> None:
    root = write_release(tmp_path / "r", n=60)
    import_bench(rbench_store, "llmrouterbench", root, "b")
    kinds = dict(rbench_store.execute(
        "SELECT typeof(raw_output), COUNT(*) FROM responses GROUP BY 1").fetchall())
    assert kinds == {"blob": 3 * 3 * 60}
    expected = {(r[0], r[1]): r[2] for r in parse("llmrouterbench", root).responses}
    got = {(r.q, r.m): r.raw_output for r in rbench_store.response_rows("b")}
    assert got == expected
    assert rbench_store.outputs("b", "model1", ["ds0/test/3"]) == [expected[(3, 1)]]
    # and an export of the packed bench re-imports to the same answers
    export_bench(rbench_store, "b", "llmrouterbench", tmp_path / "out")
    again = {(r[0], r[1]): r[2] for r in parse("llmrouterbench", tmp_path / "out").responses}
    assert sorted(again.values()) == sorted(expected.values())


def test_malformed_record_in_the_last_file_keeps_the_existing_bench(
        tmp_path: Path, rbench_store: Store) -> None:
    good = write_release(tmp_path / "good", n=30)
    import_bench(rbench_store, "llmrouterbench", good, "b")
    before = rbench_store.load_matrix("b", use_cache=False)
    bad = write_release(tmp_path / "bad", n=30, seed=1)
    last = sorted((bad / "results" / "bench").rglob("*.json"))[-1]
    doc = json.loads(last.read_text())
    doc["records"][-1]["score"] = "high"
    last.write_text(json.dumps(doc))
    with pytest.raises(DataFormatError, match="score"):
        import_bench(rbench_store, "llmrouterbench", bad, "b", replace=True)
    with pytest.raises(DataFormatError):
        import_bench(rbench_store, "llmrouterbench", bad, "other")
    assert rbench_store.bench_names() == ["b"]
    assert rbench_store.staging_benches() == []
    after = rbench_store.load_matrix("b")
    assert after.texts == before.texts and (after.score == before.score).all()
    n = rbench_store.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    assert n == 9 * 30  # only the good bench's rows: the failed imports' chunks are gone


KILLED = r"""
import os, sys
from routerbench_core.data.importers import llmrouterbench as lrb
from routerbench_core.data.store import Store

store = Store(sys.argv[1])
def chunks():
    for i, chunk in enumerate(lrb.parse_chunks(sys.argv[2], chunk_rows=40)):
        if i == 2:
            os._exit(9)  # killed mid-import: no cleanup runs
        yield chunk
store.write_bench_staged("b", chunks(), source="test")
"""


def test_a_killed_import_is_invisible_and_cleaned_up_by_the_next(tmp_path: Path) -> None:
    root = write_release(tmp_path / "r")
    db = tmp_path / "s.db"
    Store(db).close()
    proc = subprocess.run([sys.executable, "-c", KILLED, str(db), str(root)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 9, proc.stderr
    store = Store(db)
    staging = store.staging_benches()
    assert len(staging) == 1 and staging[0][1].startswith(STAGING_PREFIX + "b/")
    assert store.bench_names() == []  # never visible
    assert store.execute("SELECT COUNT(*) FROM responses").fetchone()[0] > 0
    result = import_bench(store, "llmrouterbench", root, "b")
    assert store.staging_benches() == [] and store.bench_names() == ["b"]
    assert store.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == result.n_records


def test_a_running_import_on_this_host_is_left_alone(tmp_path: Path,
                                                     rbench_store: Store) -> None:
    """The stale-staging sweep only removes benches whose importing process is gone."""
    import os

    def one_chunk() -> Any:
        yield from lrb.parse_chunks(write_release(tmp_path / "r", n=5))
        # while the import runs (its own process is alive), a sweep keeps its staging bench
        assert rbench_store.drop_stale_staging() == 0
        assert len(rbench_store.staging_benches()) == 1
        assert rbench_store.staging_benches()[0][2]["staging_pid"] == os.getpid()

    rbench_store.write_bench_staged("b", one_chunk())
    assert rbench_store.bench_names() == ["b"]
