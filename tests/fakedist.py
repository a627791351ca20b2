"""Make a real installed distribution (a ``.dist-info`` folder with entry points plus its
modules) in a temporary site folder — what pip leaves behind, without pip's seconds per
install. ``importlib.metadata`` discovers it exactly as it discovers a pip install."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path


def install_fake_dist(
    site: Path, dist: str, modules: dict[str, str], entry_points: dict[str, str],
    version: str = "1.0",
) -> Path:
    site.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        path = site / (module.replace(".", "/") + ".py")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    eps = "\n".join(f"{name} = {target}" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[rbench]\n{eps}\n")
    return site


def run_rbench(
    *args: str, sites: list[Path] = (), env: dict[str, str] | None = None,  # type: ignore[assignment]
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the real ``rbench`` CLI in a subprocess with extra site folders on its path."""
    full_env = dict(os.environ)
    full_env.pop("RBENCH_STRICT_PLUGINS", None)
    full_env.pop("RBENCH_DISABLE_PLUGINS", None)
    extra = os.pathsep.join(str(s) for s in sites)
    if extra:
        full_env["PYTHONPATH"] = extra + os.pathsep + full_env.get("PYTHONPATH", "")
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "routerbench_core.commands.app", *args],
        capture_output=True, text=True, env=full_env, cwd=cwd, timeout=120,
    )
