"""Test helpers for rbench and for plugin authors (ours and third parties').

This package is the second half of the public API: the pieces of the pipeline a plugin's tests
drive (a store, the plugin manager, the evaluator, the collector and grader, the CLI app) are
importable from here, so a plugin's tests never reach into the core's internal modules.

Kept light: importing this package imports nothing heavy; the names below resolve lazily. The conformance kits live in
submodules — ``routerbench_core.testing.routers`` (RouterConformance),
``routerbench_core.testing.datasets`` (DatasetConformance) and
``routerbench_core.testing.backends`` (BackendConformance) — and the pytest fixtures in
``routerbench_core.testing.pytest_plugin``, which pytest loads automatically once rbench is
installed.
"""

from __future__ import annotations

import os
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routerbench_core.data.matrix import OutcomeMatrix

#: name -> defining module, for the pipeline pieces that plugin tests use
_PIPELINE: dict[str, str] = {
    "Store": "routerbench_core.data.store",
    "StoreError": "routerbench_core.data.store",
    "default_store_path": "routerbench_core.data.store",
    "import_bench": "routerbench_core.data.importers",
    "make_plugin_manager": "routerbench_core.plugins.manager",
    "parse_run_config": "routerbench_core.collection.runconfig",
    "collect": "routerbench_core.collection.collector",
    "grade_bench": "routerbench_core.scoring.grading",
    "collect_and_grade": "routerbench_core.scoring.grading",
    "HashingEmbedder": "routerbench_core.embedding.hashing",
    "load_embedder": "routerbench_core.embedding.base",
    "DEFAULT_EMBEDDER": "routerbench_core.embedding.base",
    "Evaluator": "routerbench_core.routing.evaluate",
    "needs_embeddings": "routerbench_core.routing.evaluate",
    "run_registered": "routerbench_core.routing.evaluate",
    "split_from_source": "routerbench_core.routing.protocol",
    "State": "routerbench_core.commands.app",
    "build_app": "routerbench_core.commands.app",
    "run_cli": "routerbench_core.testing.cli",
    "CliResult": "routerbench_core.testing.cli",
}


def __getattr__(name: str) -> Any:
    target = _PIPELINE.get(name)
    if target is None:
        raise AttributeError(f"module 'routerbench_core.testing' has no attribute {name!r}")
    value = getattr(import_module(target), name)
    globals()[name] = value
    return value


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

    from routerbench_core.data.importers import import_bench
    from routerbench_core.data.store import Store

    data = shared_data_dir()
    if data is None or not (data / folder).is_dir():
        pytest.skip(f"shared data {folder} not found (set RBENCH_SHARED_DATA)")
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "rbench.db") as store:
        import_bench(store, fmt, data / folder, bench)
        return store.load_matrix(bench)
