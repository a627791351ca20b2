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
from routerbench_core.testing.releases import answer as _answer
from routerbench_core.testing.releases import write_llmrouterbench_release as write_release


def test_chunks_are_bounded_and_match_the_whole_parse(tmp_path: Path) -> None:
    root = write_release(tmp_path / "r")
    chunks = list(lrb.parse_chunks(root, chunk_rows=50))
    # a chunk ends at a dataset split or once it holds 50 responses (checked per run file)
    assert len(chunks) >= 3 and all(len(c.responses) <= 50 + 40 for c in chunks)
    assert chunks[-1].metadata is not None and chunks[-1].metadata["files"] == 9
    whole = parse("llmrouterbench", root)
    def same(r: tuple[Any, ...]) -> tuple[Any, ...]:
        return r[:12] + r[13:]  # all but created_at

    assert [same(r) for c in chunks for r in c.layout.full(c.responses, "responses")] == [
        same(r) for r in whole.responses]
    # the chunks' rows are narrow: the import's constants are not repeated in every row
    assert len(chunks[0].responses[0]) == 8 and len(chunks[0].grades[0]) == 4
    assert whole.grades[0][4:6] == ("import:llmrouterbench", lrb.IMPORTER_VERSION)
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


def test_answers_live_in_blocks_of_one_model_and_read_back_exactly(
        tmp_path: Path, rbench_store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """Long answers go to zstd blocks (several per model once a block is full); multi-byte
    text keeps its byte offsets right; every reader decodes them; deleting the bench deletes
    its blocks."""
    from routerbench_core.data import textpack

    monkeypatch.setattr(textpack, "BLOCK_TEXTS", 7)  # several blocks per model and chunk
    root = write_release(tmp_path / "r", n=30)
    first = sorted((root / "results" / "bench").rglob("*.json"))[0]
    doc = json.loads(first.read_text())
    for i, rec in enumerate(doc["records"]):
        rec["raw_output"] = f"Ответ {i}: 解 = ∑ é… " * 8 + "🙂" * i  # multi-byte UTF-8
    doc["records"][3]["raw_output"] = "short"  # short answers stay inline text
    first.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    import_bench(rbench_store, "llmrouterbench", root, "b")
    expected = {(r[0], r[1]): r[2] for r in parse("llmrouterbench", root).responses}
    kinds = dict(rbench_store.execute(
        "SELECT typeof(raw_output), COUNT(*) FROM responses GROUP BY 1").fetchall())
    assert kinds == {"blob": 9 * 30 - 1, "text": 1}
    refs = [textpack.read_ref(v) for (v,) in rbench_store.execute(
        "SELECT raw_output FROM responses WHERE typeof(raw_output) = 'blob'")]
    assert all(r is not None for r in refs)
    n_blocks = rbench_store.execute("SELECT COUNT(*) FROM text_blocks").fetchone()[0]
    assert n_blocks == len({r[0] for r in refs if r}) and n_blocks >= 9 * 30 // 7
    # a block holds one model's answers
    model_of: dict[int, int] = {}
    for m, value in rbench_store.execute(
            "SELECT m, raw_output FROM responses WHERE typeof(raw_output) = 'blob'"):
        ref = textpack.read_ref(value)
        assert ref is not None and model_of.setdefault(ref[0], m) == m
    got = {(r.q, r.m): r.raw_output for r in rbench_store.response_rows("b")}
    assert got == expected
    by_model = {(r.q, r.m): r.raw_output for r in rbench_store.response_rows("b", by_model=True)}
    assert by_model == expected
    responses = {(r.query_key, r.model): r.raw_output for r in rbench_store.responses("b")}
    keys = [q.key for q in rbench_store.queries("b")]
    models = [s.name for s in rbench_store.models("b")]
    assert responses == {(keys[q], models[m]): v for (q, m), v in expected.items()}
    m0 = models[0]
    assert rbench_store.outputs("b", m0, keys[:30]) == [responses[(k, m0)] for k in keys[:30]]
    rbench_store.delete_bench("b")
    assert rbench_store.execute("SELECT COUNT(*) FROM text_blocks").fetchone()[0] == 0


def test_a_missing_block_is_a_clear_error(tmp_path: Path, rbench_store: Store) -> None:
    import_bench(rbench_store, "llmrouterbench", write_release(tmp_path / "r", n=5), "b")
    rbench_store.execute("DELETE FROM text_blocks WHERE no = 0")
    with pytest.raises(ValueError, match="text block 0 of bench id"):
        list(rbench_store.response_rows("b"))


def test_schema_3_answers_packed_one_by_one_still_read(rbench_store: Store) -> None:
    """rbench 0.1 stored each long answer as its own zstd frame with a trained dictionary
    (kept in ``meta``); those stores read unchanged."""
    import zstandard

    from routerbench_core.data import textpack
    from routerbench_core.schema import ModelSpec, Query, Response

    rng = random.Random(3)
    answers = [_answer(rng, i) for i in range(200)]
    dictionary = zstandard.train_dictionary(
        4096, [a.encode() for a in answers], dict_id=70_001, level=3)
    pack = zstandard.ZstdCompressor(level=3, dict_data=dictionary).compress
    plain = zstandard.ZstdCompressor(level=1).compress
    rbench_store.create_bench("old")
    rbench_store.add_models("old", [ModelSpec(name="m")])
    rbench_store.add_queries("old", [Query(key=f"k{i}", dataset="d", id=str(i), text="t")
                                     for i in range(3)])
    rbench_store.put_responses("old", [Response(query_key=f"k{i}", model="m", raw_output="x")
                                       for i in range(3)])
    import base64

    rbench_store.execute("INSERT INTO meta VALUES (?, ?)", (
        textpack.meta_key(70_001), base64.b64encode(dictionary.as_bytes()).decode()))
    for q, value in enumerate([pack(answers[0].encode()), plain(answers[1].encode())]):
        rbench_store.execute("UPDATE responses SET raw_output=? WHERE q=?", (value, q))
    assert rbench_store.outputs("old", "m", ["k0", "k1", "k2"]) == [answers[0], answers[1], "x"]
    rbench_store.execute("DELETE FROM meta WHERE key=?", (textpack.meta_key(70_001),))
    with pytest.raises(ValueError, match="dictionary 70001"):
        rbench_store.outputs("old", "m", ["k0"])


def test_packed_chunks_of_one_split_are_written_together() -> None:
    from routerbench_core.data.importers.base import BenchChunk, merged_chunks

    def chunk(group: Any, n: int, meta: Any = None) -> BenchChunk:
        return BenchChunk(responses=[(i,) for i in range(n)], grades=[(i,) for i in range(n)],
                          blocks=[(n, b"x")], group=group, metadata=meta)

    out = list(merged_chunks([chunk("a", 3), chunk("a", 4), chunk("a", 5), chunk("b", 1),
                              chunk(None, 2), chunk(None, 2), chunk("b", 1, {"files": 9})],
                             max_rows=8))
    assert [(c.group, len(c.responses), len(c.blocks)) for c in out] == [
        ("a", 7, 2), ("a", 5, 1), ("b", 1, 1), (None, 2, 1), (None, 2, 1), ("b", 1, 1)]
    assert out[-1].metadata == {"files": 9}
