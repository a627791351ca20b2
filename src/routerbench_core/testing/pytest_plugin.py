"""pytest fixtures shipped with rbench (registered through the ``pytest11`` entry point).

Fixtures:

``rbench_store``       a fresh real SQLite store in a temporary folder
``rbench_host``        a fresh plugin host (entry points + built-ins), one per test
``shared_data``        the shared real-data folder, or skip with the reason
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from routerbench_core.testing import shared_data_dir

if TYPE_CHECKING:
    from routerbench_core.data.store import Store
    from routerbench_core.plugins.manager import PluginHost


@pytest.fixture
def rbench_store(tmp_path: Path) -> Iterator[Store]:
    from routerbench_core.data.store import Store

    store = Store(tmp_path / "rbench.db")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def rbench_host() -> PluginHost:
    from routerbench_core.plugins.manager import make_plugin_manager

    return make_plugin_manager()


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip(
            "real routing data not found: set RBENCH_SHARED_DATA or place ../shared/data "
            "beside the repository"
        )
    return path
