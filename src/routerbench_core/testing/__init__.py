"""Test helpers for rbench and for plugin authors (ours and third parties').

Kept light: importing this package imports nothing heavy. The conformance kits live in
submodules — ``routerbench_core.testing.routers`` (RouterConformance),
``routerbench_core.testing.datasets`` (DatasetConformance) and
``routerbench_core.testing.backends`` (BackendConformance) — and the pytest fixtures in
``routerbench_core.testing.pytest_plugin``, which pytest loads automatically once rbench is
installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from routerbench_core.matrix import OutcomeMatrix


def shared_data_dir() -> Path | None:
    """The shared real-data folder: ``$RBENCH_SHARED_DATA`` or ``../shared/data`` beside the
    repository root (or the current directory). None when absent."""
    env = os.environ.get("RBENCH_SHARED_DATA")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates += [p / ".." / "shared" / "data" for p in here.parents]
    candidates.append(Path.cwd() / ".." / "shared" / "data")
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    return None


def shared_matrix(fmt: str, folder: str, bench: str) -> OutcomeMatrix:
    """Import the shared real data set ``folder`` (format ``fmt``) into a throwaway store and
    return its outcome matrix; skips the calling test when the shared data is absent."""
    import tempfile

    import pytest

    from routerbench_core.importers import import_bench
    from routerbench_core.store import Store

    data = shared_data_dir()
    if data is None or not (data / folder).is_dir():
        pytest.skip(f"shared data {folder} not found (set RBENCH_SHARED_DATA)")
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "rbench.db") as store:
        import_bench(store, fmt, data / folder, bench)
        return store.load_matrix(bench)
