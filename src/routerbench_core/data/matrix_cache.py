"""A columnar cache of each bench's outcome matrix, beside the store, so `route` and
`data info` do not rebuild 400k cells from SQL rows on every run.

Why a file and not a table: reading the cache must never take the store's write lock (a
collector may be writing), and numpy reads its own format straight into arrays. The file is
``<store>.cache/matrix-<bench id>.npz`` (uncompressed): the numeric grids as ``.npy`` members,
strings as one UTF-8 blob plus offsets, and a JSON header with models, specs, metadata and the
counts `data info` shows.

Validity: the header records the bench's version token (see ``Store.bench_version``), which
every Store write to the bench replaces; the matrix and the token are read in one read
transaction, so a cache can never pair new rows with an old token. A stale or unreadable file
is rebuilt from SQL; a store without version tokens (written before them) is never cached. A
store folder that cannot be written just means no cache.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import struct
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy and pydantic are imported to read or write grids only, so that
    # `data info` (the header alone) imports neither
    import numpy as np

    from routerbench_core.data.matrix import OutcomeMatrix
    from routerbench_core.data.store import Store

#: Bumped when the file layout changes (older files are then rebuilt).
FORMAT = 1
_GRIDS = ("score", "cost", "prompt_tokens", "completion_tokens", "latency")


def cache_dir(store: Store) -> Path | None:
    if str(store.path) in ("", ":memory:"):
        return None
    return Path(f"{store.path}.cache")


def cache_path(store: Store, bench_id: int) -> Path | None:
    folder = cache_dir(store)
    return None if folder is None else folder / f"matrix-{int(bench_id)}.npz"


def _pack_strings(values: list[str]) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    lengths = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values))
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return np.frombuffer("".join(values).encode("utf-8"), dtype=np.uint8), offsets


def _unpack_strings(blob: np.ndarray, offsets: np.ndarray) -> list[str]:
    text = blob.tobytes().decode("utf-8")
    bounds = offsets.tolist()
    return [text[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def _stats(store: Store, name: str) -> dict[str, Any]:
    """The counts `rbench data info` shows, from SQL (JSON keys: None splits become "")."""
    s = store.summary(name)
    return {
        "source": s.source, "created_at": s.created_at, "n_queries": s.n_queries,
        "n_models": s.n_models, "n_responses": s.n_responses, "n_failures": s.n_failures,
        "n_grades": s.n_grades,
        "datasets": list(store.dataset_counts(name).items()),
        "source_splits": list(store.split_counts(name).items()),
        "cost_sources": list(store.cost_source_counts(name).items()),
    }


def _write(path: Path, version: str, matrix: OutcomeMatrix, stats: dict[str, Any]) -> None:
    import numpy as np

    sources: list[str] = []
    codes = np.zeros(matrix.shape, dtype=np.int16)
    if matrix.cost_source is not None:
        flat = matrix.cost_source.ravel()
        known = np.flatnonzero(flat != None)  # noqa: E711 (elementwise over objects)
        if len(known):
            sources = sorted({str(v) for v in flat[known].tolist()})
            lookup = {v: i + 1 for i, v in enumerate(sources)}
            codes.ravel()[known] = [lookup[v] for v in flat[known].tolist()]
    dataset_names = matrix.dataset_names()
    dlookup = {d: i for i, d in enumerate(dataset_names)}
    header = {
        "format": FORMAT, "version": version, "bench": matrix.bench, "models": matrix.models,
        "specs": {n: s.model_dump(mode="json") for n, s in matrix.model_specs.items()},
        "metadata": matrix.metadata, "cost_sources": sources, "datasets": dataset_names,
        "has_cost_source": matrix.cost_source is not None, "stats": stats,
    }
    keys_blob, keys_off = _pack_strings([str(k) for k in matrix.keys.tolist()])
    texts_blob, texts_off = _pack_strings(list(matrix.texts))
    arrays = {
        "header": np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
        **{g: getattr(matrix, g) for g in _GRIDS},
        "failed": matrix.failed, "cost_source": codes,
        "dataset_codes": np.array([dlookup[d] for d in matrix.datasets.tolist()],
                                  dtype=np.int32),
        "keys_blob": keys_blob, "keys_off": keys_off,
        "texts_blob": texts_blob, "texts_off": texts_off,
    }
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()


_NPY_MAGIC = b"\x93NUMPY"


def _header(zf: zipfile.ZipFile) -> dict[str, Any]:
    """The JSON header, parsed from its ``.npy`` member by hand (a 1-D ``uint8`` array is a
    short preamble and the raw bytes): numpy's import costs more than `data info` itself.
    Anything else than what :func:`_write` writes is a ``ValueError`` (the cache is rebuilt)."""
    with zf.open("header.npy") as fh:
        data = fh.read()
    if data[:6] != _NPY_MAGIC or len(data) < 10:
        raise ValueError("header.npy is not a .npy file")
    major = data[6]
    if major == 1:
        (size,), start = struct.unpack_from("<H", data, 8), 10
    elif major in (2, 3):
        (size,), start = struct.unpack_from("<I", data, 8), 12
    else:
        raise ValueError(f"header.npy: unknown .npy version {major}")
    meta = ast.literal_eval(data[start : start + size].decode("utf-8" if major == 3 else "latin1"))
    if not isinstance(meta, dict) or meta.get("descr") not in ("|u1", "u1", "<u1", ">u1") \
            or meta.get("fortran_order") or not isinstance(meta.get("shape"), tuple) \
            or len(meta["shape"]) != 1:
        raise ValueError(f"header.npy: not a 1-D uint8 array ({meta!r})")
    body = data[start + size :]
    if len(body) != meta["shape"][0]:
        raise ValueError("header.npy: truncated")
    return json.loads(body.decode("utf-8"))


def _read(path: Path, version: str, bench: str) -> OutcomeMatrix | None:
    import numpy as np

    from routerbench_core.data.matrix import OutcomeMatrix
    from routerbench_core.schema import ModelSpec

    with zipfile.ZipFile(path) as zf:
        header = _header(zf)
        if header.get("format") != FORMAT or header.get("version") != version \
                or header.get("bench") != bench:
            return None

        def arr(name: str) -> np.ndarray:
            with zf.open(f"{name}.npy") as fh:
                return np.lib.format.read_array(fh, allow_pickle=False)

        codes = arr("cost_source")
        cost_source = None
        if header["has_cost_source"]:
            names = np.array([None, *header["cost_sources"]], dtype=object)
            cost_source = names[codes]
        dataset_names = np.array(header["datasets"], dtype=object)
        keys = _unpack_strings(arr("keys_blob"), arr("keys_off"))
        return OutcomeMatrix(
            bench=bench, models=list(header["models"]), keys=np.array(keys, dtype=object),
            datasets=dataset_names[arr("dataset_codes")] if len(keys) else
            np.array([], dtype=object),
            texts=_unpack_strings(arr("texts_blob"), arr("texts_off")),
            **{g: arr(g) for g in _GRIDS}, failed=arr("failed"),
            model_specs={n: ModelSpec.model_validate(s) for n, s in header["specs"].items()},
            cost_source=cost_source, metadata=header["metadata"],
        )


def rebuild(store: Store, bench: str) -> tuple[OutcomeMatrix, dict[str, Any]]:
    """Read the matrix and its counts from SQL in one snapshot and write the cache file."""
    with store.snapshot():
        bench_id = store.bench_id(bench)
        version = store.bench_version(bench_id)
        matrix = store.load_matrix_sql(bench)
        stats = _stats(store, bench)
    path = cache_path(store, bench_id)
    if version is not None and path is not None:
        with contextlib.suppress(OSError):
            _write(path, version, matrix, stats)
    return matrix, stats


def write(store: Store, bench_id: int, version: str, matrix: OutcomeMatrix,
          stats: dict[str, Any]) -> None:
    """Write the cache of a matrix known to be the bench's at ``version`` (an import that
    built it from the rows it wrote; see ``data/matrix_build.py``)."""
    path = cache_path(store, bench_id)
    if path is not None:
        with contextlib.suppress(OSError):
            _write(path, version, matrix, stats)


def load(store: Store, bench: str) -> OutcomeMatrix:
    """The bench's outcome matrix: from the cache file when it is current, else from SQL."""
    bench_id = store.bench_id(bench)
    version = store.bench_version(bench_id)
    path = cache_path(store, bench_id)
    if version is not None and path is not None and path.is_file():
        try:
            matrix = _read(path, version, bench)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            matrix = None
        if matrix is not None:
            return matrix
    return rebuild(store, bench)[0]


def stats(store: Store, bench: str) -> dict[str, Any]:
    """The counts `rbench data info` shows, read from the cache header when it is current
    (no grid is read), else rebuilt with the matrix."""
    bench_id = store.bench_id(bench)
    version = store.bench_version(bench_id)
    path = cache_path(store, bench_id)
    if version is not None and path is not None and path.is_file():
        try:
            with zipfile.ZipFile(path) as zf:
                header = _header(zf)
            if header.get("format") == FORMAT and header.get("version") == version \
                    and header.get("bench") == bench:
                return dict(header["stats"], metadata=header["metadata"],
                            models=header["models"])
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass
    matrix, found = rebuild(store, bench)
    return dict(found, metadata=matrix.metadata, models=matrix.models)
