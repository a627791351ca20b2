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
