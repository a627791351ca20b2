"""Static embeddings distilled from the bundled MiniLM: a fast, model-free embedder.

The idea is Model2Vec's (Tulkens & van Dongen, 2024): run the sentence encoder once over every
token of its vocabulary on its own, keep one vector per token (reduced by PCA), and embed a
text as the mean of its tokens' vectors. Embedding is then a tokenizer call and a table lookup,
hundreds of times faster than a transformer forward pass on a CPU, at some loss of quality
(word order and context are gone); the accuracy effect on routing is measured in
``docs/performance.md``.

Our own implementation, not the ``model2vec`` package (whose distillation pins an older
transformers than this project uses): the table is distilled from the offline MiniLM on first
use (one forward pass per vocabulary token: about as long as embedding ~1,500 short
queries, 1-4 minutes on a small CPU) and kept in ``$RBENCH_CACHE_DIR`` (default ``~/.cache/rbench``) as a
``.npy`` file; later processes only read it. Tokenisation uses the MiniLM's own
``tokenizer.json`` through the ``tokenizers`` library (no torch at embedding time).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from routerbench_core.embedding.base import Embedder

#: Bumped when the distillation changes (a new version is a new embedding space and cache id).
VERSION = "1"
MAX_TOKENS = 512


def cache_dir() -> Path:
    return Path(os.environ.get("RBENCH_CACHE_DIR") or Path.home() / ".cache" / "rbench")


def distil(model_path: Path, dim: int, batch: int = 512) -> np.ndarray:
    """One vector per vocabulary token: the MiniLM sentence embedding of ``[CLS] token
    [SEP]`` (its own mean pooling), then PCA to ``dim`` dimensions (centred)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_path), device="cpu")
    tok = model.tokenizer
    cls, sep = tok.cls_token_id, tok.sep_token_id
    n = len(tok)
    ids = torch.arange(n, dtype=torch.long)
    dim_of = getattr(model, "get_embedding_dimension", None) or \
        model.get_sentence_embedding_dimension
    out = np.empty((n, dim_of() or 0), dtype=np.float32)
    with torch.inference_mode():
        for i in range(0, n, batch):
            chunk = ids[i : i + batch]
            input_ids = torch.stack([torch.full_like(chunk, cls), chunk,
                                     torch.full_like(chunk, sep)], dim=1)
            features = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids),
                        "token_type_ids": torch.zeros_like(input_ids)}
            out[i : i + len(chunk)] = model(features)["sentence_embedding"].numpy()
    if 0 < dim < out.shape[1]:
        centred = out - out.mean(axis=0, keepdims=True)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        out = (centred @ vt[:dim].T).astype(np.float32)
    return out


class StaticMiniLMEmbedder(Embedder):
    """Options: ``dim`` (PCA dimensions, default 256; 0 keeps all 384)."""

    name: ClassVar[str] = "minilm-static"

    def __init__(self, dim: int | str = 256, **options: Any) -> None:
        if options:
            raise ValueError(f"minilm-static embedder: unknown option(s) "
                             f"{', '.join(sorted(options))}; known: dim")
        self.dim = int(dim)
        if self.dim < 0:
            raise ValueError(f"minilm-static embedder: dim must be >= 0, got {dim}")
        super().__init__(dim=self.dim)
        self._table: np.ndarray | None = None
        self._tokenizer: Any = None

    @property
    def cache_id(self) -> str:
        return f"minilm-static:v{VERSION}:dim={self.dim}"

    def table_path(self) -> Path:
        return cache_dir() / f"minilm-static-v{VERSION}-dim{self.dim}.npy"

    def _load(self) -> None:
        if self._table is not None:
            return
        from tokenizers import Tokenizer

        from routerbench_core.embedding.sentence_transformers import minilm_path

        model_path = minilm_path()
        path = self.table_path()
        if path.is_file():
            table = np.load(path, allow_pickle=False)
        else:
            table = distil(model_path, self.dim)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            with open(tmp, "wb") as fh:
                np.save(fh, table)
            os.replace(tmp, path)
        tokenizer = Tokenizer.from_file(str(model_path / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer, self._table = tokenizer, table

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        self._load()
        assert self._table is not None
        table = self._table
        out = np.zeros((len(texts), table.shape[1]), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        for i, enc in enumerate(encodings):
            if enc.ids:
                out[i] = table[enc.ids].mean(axis=0)
        return out
