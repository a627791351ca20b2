"""A hashed bag-of-words embedder: pure numpy, deterministic, no model to load.

Why: tests and quick experiments need real vectors that separate topics without loading a
neural model. Each lower-cased word (and each adjacent word pair) is hashed with BLAKE2b — not
Python's salted ``hash()`` — to a bucket and a sign, and counted with a sub-linear weight.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from routerbench_core.embedding.base import Embedder
from routerbench_core.words import parse_flag

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
VERSION = "1"


class HashingEmbedder(Embedder):
    """Options: ``dim`` (default 512), ``bigrams`` (default true)."""

    name: ClassVar[str] = "hashing"

    def __init__(self, dim: int | str = 512, bigrams: bool | str = True, **options: Any) -> None:
        if options:
            raise ValueError(
                f"hashing embedder: unknown option(s) {', '.join(sorted(options))}; "
                "known: dim, bigrams"
            )
        self.dim = int(dim)
        if self.dim < 2:
            raise ValueError(f"hashing embedder: dim must be >= 2, got {dim}")
        self.bigrams = parse_flag(bigrams, "hashing embedder: bigrams")
        super().__init__(dim=self.dim, bigrams=self.bigrams)
        self._memo: dict[str, tuple[int, float]] = {}

    @property
    def cache_id(self) -> str:
        return f"hashing:v{VERSION}:dim={self.dim}:bigrams={int(self.bigrams)}"

    def _bucket(self, token: str) -> tuple[int, float]:
        hit = self._memo.get(token)
        if hit is None:
            h = int.from_bytes(hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest(), "big")
            hit = (h % self.dim, 1.0 if (h >> 63) & 1 else -1.0)
            if len(self._memo) < 500_000:
                self._memo[token] = hit
        return hit

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            words = _WORD.findall(text.lower())
            tokens = words + ([f"{a} {b}" for a, b in zip(words, words[1:], strict=False)] if self.bigrams else [])
            counts: dict[str, int] = {}
            for t in tokens:
                counts[t] = counts.get(t, 0) + 1
            row = out[i]
            for t, c in counts.items():
                j, sign = self._bucket(t)
                row[j] += sign * (1.0 + np.log(c))
        return out
