"""The embedder interface and the cached embedding function routers use.

Routers never call an embedder directly: the evaluator wraps the chosen embedder in
:func:`cached_embed`, which looks every text up in the store by (embedder id, text hash) and
embeds only what is missing, so a second run embeds nothing.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

if TYPE_CHECKING:
    from routerbench_core.data.store import Store


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


#: Texts embedded (and written to the cache) per step of :func:`cached_embed`.
STREAM_TEXTS = 512


def cached_embed(
    embedder: Embedder, store: Store | None, texts: Sequence[str],
    batch_size: int = STREAM_TEXTS,
    progress: Callable[[str, float], None] | None = None,
) -> np.ndarray:
    """L2-normalised embeddings of ``texts``, reusing and filling the store's cache.

    The missing texts are embedded longest first (the order sentence-transformers itself
    uses, so similar lengths share a padded batch and the memory peak comes first), in steps
    of ``batch_size`` texts; each step's vectors are written to the cache as soon as it
    finishes, so a killed run keeps everything it embedded and the next one resumes.
    ``progress(message, fraction)`` hears of each step (the CLI draws it with a rate and ETA).
    """
    from routerbench_core.data.store import text_hash

    hashes = [text_hash(t) for t in texts]
    found: dict[str, np.ndarray] = {}
    if store is not None:
        found = store.get_embeddings(embedder.cache_id, list(dict.fromkeys(hashes)))
    missing: dict[str, str] = {}
    for h, t in zip(hashes, texts, strict=True):
        if h not in found and h not in missing:
            missing[h] = t
    if missing:
        items = sorted(missing.items(), key=lambda item: -len(item[1]))
        started = time.perf_counter()
        for i in range(0, len(items), batch_size):
            chunk = items[i : i + batch_size]
            vectors = np.asarray(embedder.embed([t for _, t in chunk]), dtype=np.float32)
            if len(vectors) != len(chunk):
                raise RuntimeError(f"embedder {embedder.cache_id} returned {len(vectors)} "
                                   f"vectors for {len(chunk)} texts")
            new = {h: v for (h, _), v in zip(chunk, vectors, strict=True)}
            if store is not None:
                store.put_embeddings(embedder.cache_id, new)
            found.update(new)
            if progress is not None:
                done = i + len(chunk)
                rate = done / max(time.perf_counter() - started, 1e-9)
                eta = (len(items) - done) / rate
                progress(f"embedding {done}/{len(items)} texts with {embedder.cache_id}, "
                         f"{rate:.1f} texts/s, ETA {eta:.0f}s", done / len(items))
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


#: Shared prefixes/suffixes shorter than this are left alone (a "Question:" label is harmless).
MIN_TEMPLATE_CHARS = 32
#: A query keeps its full text if stripping would leave nothing.
MIN_QUERY_CHARS = 1


def _snap_prefix(prefix: str) -> int:
    """Cut a shared prefix back to a whitespace boundary so no word is split."""
    if not prefix or prefix[-1].isspace():
        return len(prefix)
    k = max(prefix.rfind(" "), prefix.rfind("\n"), prefix.rfind("\t"))
    return k + 1


def query_views(texts: Sequence[str], datasets: Sequence[str]) -> dict[str, str]:
    """The part of each prompt that is specific to its query, for embedding.

    Benchmarks often wrap every query of a dataset in the same few-shot exemplars and
    instructions (RouterBench's ARC and WinoGrande prompts share 1.2–1.6k leading characters).
    Sentence encoders truncate from the start (MiniLM: 256 word pieces), so such prompts embed
    almost identically and routers lose the signal. Per dataset, the longest prefix and suffix
    shared by all of its distinct texts are removed (when at least ``MIN_TEMPLATE_CHARS`` long).
    This reads texts only, never outcomes, and is the same as stripping the template at import.
    """
    import os

    by_dataset: dict[str, list[str]] = {}
    for text, dataset in zip(texts, datasets, strict=True):
        by_dataset.setdefault(str(dataset), []).append(text)
    views: dict[str, str] = {}
    for group in by_dataset.values():
        unique = list(dict.fromkeys(group))
        head = tail = 0
        if len(unique) >= 2:
            prefix = os.path.commonprefix(unique)
            if len(prefix) >= MIN_TEMPLATE_CHARS:
                head = _snap_prefix(prefix)
            suffix = os.path.commonprefix([t[head:][::-1] for t in unique])[::-1]
            if len(suffix) >= MIN_TEMPLATE_CHARS:
                # cut at a whitespace boundary: keep any partial word at the suffix's start
                tail = _snap_prefix(suffix[::-1])
        for text in unique:
            if text in views:
                continue
            if head == tail == 0:
                views[text] = text
                continue
            core = text[head : len(text) - tail].strip()
            views[text] = core if len(core) >= MIN_QUERY_CHARS else text
    return views
