"""Embedding reports its progress (rate and ETA) to the run's progress callback, step by step."""

from __future__ import annotations

from routerbench_core.embedding.base import cached_embed
from routerbench_core.embedding.hashing import HashingEmbedder
from routerbench_core.routing.baselines import BestSingle
from routerbench_core.routing.evaluate import Evaluator
from routerbench_core.testing.synthetic import make_synthetic_bench


def test_cached_embed_reports_each_step_with_rate_and_eta() -> None:
    heard: list[tuple[str, float]] = []
    texts = [f"text number {i} " * (1 + i % 7) for i in range(25)]
    vectors = cached_embed(HashingEmbedder(dim=16), None, texts, batch_size=10,
                           progress=lambda m, f: heard.append((m, f)))
    assert vectors.shape == (25, 16)
    assert [round(f, 2) for _, f in heard] == [0.4, 0.8, 1.0]
    assert all("texts/s" in m and "ETA" in m and "/25 texts" in m for m, _ in heard)


def test_nothing_to_embed_reports_nothing() -> None:
    heard: list[tuple[str, float]] = []
    emb = HashingEmbedder(dim=8)
    cached_embed(emb, None, [], progress=lambda m, f: heard.append((m, f)))
    assert heard == []


def test_the_evaluator_passes_embedding_progress_to_the_run() -> None:
    heard: list[tuple[str, float]] = []
    bench = make_synthetic_bench(seed=1, queries_per_cluster=20)
    ev = Evaluator(bench.matrix, seeds=(42,), embedder=HashingEmbedder(dim=32))
    ev.progress = lambda m, f: heard.append((m, f))

    class NeedsVectors(BestSingle):
        needs_embeddings = True

        def fit(self, train, valid):  # touch the embeddings, as embedding routers do
            train.embeddings()
            super().fit(train, valid)

    ev.run(NeedsVectors, name="probe")
    steps = [(m, f) for m, f in heard if m.startswith("embedding ")]
    assert steps and steps[-1][1] == 1.0
