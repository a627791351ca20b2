"""The third-party example (examples/rbench-router-mine) installs with pip like any plugin, is
discovered by `rbench list`, and passes the conformance kit it uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "rbench-router-mine"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--target", str(target), str(EXAMPLE)],
        capture_output=True, text=True, timeout=300,
    )
    if result.returncode != 0:
        pytest.fail(f"pip could not install the example plugin:\n{result.stderr}")
    return target


def _env(site: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(site) + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("RBENCH_DISABLE_PLUGINS", None)
    return env


def test_rbench_list_discovers_the_installed_example(installed_example: Path,
                                                     tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "routerbench_core", "list", "routers", "--json"],
        capture_output=True, text=True, env=_env(installed_example), cwd=tmp_path, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["mine-knn"]["distribution"] == "rbench-router-mine"
    assert rows["mine-knn"]["version"] == "0.1.0"
    assert rows["mine-knn"]["status"] == "ok"


def test_example_passes_the_conformance_kit(installed_example: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(EXAMPLE / "tests")],
        capture_output=True, text=True, env=_env(installed_example), cwd=EXAMPLE, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
