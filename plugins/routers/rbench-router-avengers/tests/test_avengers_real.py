"""Avengers on the real nim9 routing data (skipped where the shared data is absent)."""

from __future__ import annotations

import pytest
from rbench_router_avengers.router import AvengersRouter

from routerbench_core.embedding.hashing import HashingEmbedder
from routerbench_core.evaluate import Evaluator
from routerbench_core.importers import import_bench
from routerbench_core.store import Store
from routerbench_core.testing import shared_data_dir

DATA = shared_data_dir()
pytestmark = pytest.mark.skipif(
    DATA is None or not (DATA / "llmrouter-nim9").is_dir(),
    reason="shared data llmrouter-nim9 not found (set RBENCH_SHARED_DATA)",
)


def test_beats_best_single_on_nim9(tmp_path):
    assert DATA is not None
    store = Store(tmp_path / "rbench.db")
    try:
        import_bench(store, "llmrouter", DATA / "llmrouter-nim9", "nim9")
        matrix = store.load_matrix("nim9")
    finally:
        store.close()
    # the hashed bag-of-words embedder keeps the test fast; MiniLM does better (README)
    ev = Evaluator(matrix, seeds=[42], embedder=HashingEmbedder(dim=512))
    run = ev.run(AvengersRouter, name="avengers")
    best = ev.references(42).best_single
    assert run.seeds[0].default.avg_acc > best.avg_acc + 0.01
