"""The hashing embedder: deterministic, topic-separating, cached in the store."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from routerbench_core.embedding.base import cached_embed
from routerbench_core.embedding.hashing import HashingEmbedder


def test_deterministic_across_processes():
    code = ("from routerbench_core.embedding.hashing import HashingEmbedder;"
            "print(HashingEmbedder(dim=64).embed(['hello world'])[0].tolist())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert eval(out.stdout) == HashingEmbedder(dim=64).embed(["hello world"])[0].tolist()


def test_similar_texts_are_closer():
    e = HashingEmbedder()
    v = cached_embed(e, None, ["solve the quadratic equation for x",
                               "solve this quadratic equation", "who won the battle of hastings"])
    assert v.shape == (3, 512)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)


def test_options_validated():
    with pytest.raises(ValueError, match="unknown option"):
        HashingEmbedder(size=3)
    assert HashingEmbedder(dim="32", bigrams="false").embed(["a b"]).shape == (1, 32)
    assert HashingEmbedder(dim=32).cache_id != HashingEmbedder(dim=64).cache_id


def test_registered_as_builtin(rbench_host):
    spec = rbench_host.get("embedder", "hashing")
    assert spec.distribution == "rbench"
    assert spec.load() is HashingEmbedder
