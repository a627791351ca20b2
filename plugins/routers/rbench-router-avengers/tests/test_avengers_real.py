"""Avengers on the real nim9 routing data (skipped where the shared data is absent)."""

from __future__ import annotations

from rbench_router_avengers.router import AvengersRouter

from routerbench_core.testing import Evaluator, HashingEmbedder, shared_matrix


def test_beats_best_single_on_nim9():
    matrix = shared_matrix("llmrouter", "llmrouter-nim9", "nim9")
    # the hashed bag-of-words embedder keeps the test fast; MiniLM does better (README)
    ev = Evaluator(matrix, seeds=[42], embedder=HashingEmbedder(dim=512))
    run = ev.run(AvengersRouter, name="avengers")
    best = ev.references(42).best_single
    # version 2 (the seed's rules) gains +0.78 points here with the hashing embedder (version 1
    # gained over +1; MiniLM does better, README): it must still beat the best single model
    assert run.seeds[0].default.avg_acc > best.avg_acc + 0.005
