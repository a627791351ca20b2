"""The embedder interface and the cached embedding function routers use.

Routers never call an embedder directly: the evaluator wraps the chosen embedder in
:func:`cached_embed`, which looks every text up in the store by (embedder id, text hash) and
embeds only what is missing, so a second run embeds nothing.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from routerbench_core.store import Store


class Embedder(ABC):
    """Turns texts into vectors. Subclasses import their heavy libraries lazily."""

    name: ClassVar[str]

    def __init__(self, **options: Any) -> None:
        self.options = options

    @property
    @abstractmethod
    def cache_id(self) -> str:
        """Identifies the embedding space (embedder + model + options that change vectors)."""

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(n, d) float32 vectors; need not be normalised."""


def l2_normalise(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def cached_embed(
    embedder: Embedder, store: Store | None, texts: Sequence[str], batch_size: int = 256
) -> np.ndarray:
    """L2-normalised embeddings of ``texts``, reusing and filling the store's cache."""
    from routerbench_core.store import text_hash

    hashes = [text_hash(t) for t in texts]
    found: dict[str, np.ndarray] = {}
    if store is not None:
        found = store.get_embeddings(embedder.cache_id, list(dict.fromkeys(hashes)))
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in found and h not in missing:
            missing[h] = t
    if missing:
        new: dict[str, np.ndarray] = {}
        items = list(missing.items())
        for i in range(0, len(items), batch_size):
            chunk = items[i : i + batch_size]
            vectors = np.asarray(embedder.embed([t for _, t in chunk]), dtype=np.float32)
            for (h, _), v in zip(chunk, vectors, strict=True):
                new[h] = v
        if store is not None:
            store.put_embeddings(embedder.cache_id, new)
        found.update(new)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return l2_normalise(np.stack([found[h] for h in hashes]))


#: The embedder used when a run names none: all-MiniLM-L6-v2, offline.
DEFAULT_EMBEDDER = "minilm"


def parse_options(items: Sequence[str]) -> dict[str, str]:
    """``["key=value", ...]`` (from ``--embedder-option``) into a dict, with a clear error."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"embedder option {item!r} must look like key=value")
        out[key.strip()] = value
    return out


def load_embedder(host: Any, name: str, options: dict[str, Any] | None = None) -> Embedder:
    """Instantiate the embedder registered as ``name`` (through the plugin host)."""
    cls = host.load("embedder", name)
    embedder = cls(**(options or {}))
    if not isinstance(embedder, Embedder):
        raise TypeError(f"embedder {name!r} did not build an Embedder (got {type(embedder).__name__})")
    return embedder
