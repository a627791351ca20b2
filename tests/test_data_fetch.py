"""`rbench data fetch` downloads through huggingface_hub and imports all-or-nothing. Tests never
touch the network: a stand-in `huggingface_hub` (same `snapshot_download` signature, serving a
local folder as the "repository") stands in for the real module while the command runs
in-process."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import types
from pathlib import Path

from routerbench_core.testing import CliResult, run_cli

FAKE_HUB = textwrap.dedent('''
    import json, os, shutil
    from pathlib import Path

    def snapshot_download(repo_id, *, repo_type=None, revision=None, allow_patterns=None,
                          cache_dir=None, **kwargs):
        log = Path(os.environ["FAKE_HUB_LOG"])
        log.write_text(json.dumps({"repo_id": repo_id, "repo_type": repo_type,
                                   "revision": revision, "allow_patterns": allow_patterns}))
        source = Path(os.environ["FAKE_HUB_ROOT"]) / repo_id.replace("/", "__")
        if not source.exists():
            raise FileNotFoundError(f"404 Client Error: repository {repo_id} not found")
        target = Path(os.environ["FAKE_HUB_CACHE"]) / repo_id.replace("/", "__") / (revision or "main")
        if not target.exists():
            shutil.copytree(source, target)
        return str(target)
''')


def _rbench(tmp: Path, *args: str) -> CliResult:
    fake = types.ModuleType("huggingface_hub")
    exec(FAKE_HUB, fake.__dict__)  # noqa: S102 - our own stand-in's source, above
    saved = sys.modules.get("huggingface_hub")
    sys.modules["huggingface_hub"] = fake
    try:
        return run_cli("--store", str(tmp / "rbench.db"), *args, env={
            "HF_HUB_OFFLINE": "", "FAKE_HUB_ROOT": str(tmp / "hub"),
            "FAKE_HUB_CACHE": str(tmp / "cache"), "FAKE_HUB_LOG": str(tmp / "hub.log")})
    finally:
        if saved is None:
            sys.modules.pop("huggingface_hub", None)
        else:
            sys.modules["huggingface_hub"] = saved


def _publish(tmp: Path, repo: str, rows: list[dict]) -> None:
    folder = tmp / "hub" / repo.replace("/", "__") / "scores"
    folder.mkdir(parents=True)
    (folder / "gsm8k_test.json").write_text(json.dumps(rows))


def test_fetch_pins_revision_and_imports(tmp_path: Path) -> None:
    _publish(tmp_path, "org/routing-data", [
        {"question": "1+1?", "scores": {"a": 1, "b": 0}},
        {"question": "2+2?", "scores": {"a": 0, "b": 1}},
    ])
    result = _rbench(tmp_path, "data", "fetch", "org/routing-data", "--format", "routerdc",
                     "--name", "hubbed", "--revision", "abc123", "--subdir", "scores")
    assert result.returncode == 0, result.stdout + result.stderr
    asked = json.loads((tmp_path / "hub.log").read_text())
    assert asked == {"repo_id": "org/routing-data", "repo_type": "dataset",
                     "revision": "abc123", "allow_patterns": ["scores/**"]}
    info = json.loads(_rbench(tmp_path, "data", "info", "hubbed", "--json").stdout)
    assert info["queries"] == 2 and info["models"] == ["a", "b"]
    assert info["metadata"]["fetched_from"]["revision"] == "abc123"


def test_failed_download_stores_nothing(tmp_path: Path) -> None:
    result = _rbench(tmp_path, "data", "fetch", "org/missing", "--format", "routerdc",
                     "--name", "x")
    assert result.returncode != 0
    assert "could not download org/missing" in result.stderr
    assert "nothing was stored" in result.stderr
    listing = _rbench(tmp_path, "data", "list", "--json")
    assert json.loads(listing.stdout or "[]") == []


def test_offline_mode_refuses_to_fetch(tmp_path: Path) -> None:
    from routerbench_core.data.fetch import FetchError, download

    old = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        try:
            download("org/anything")
        except FetchError as exc:
            assert "HF_HUB_OFFLINE" in str(exc)
        else:
            raise AssertionError("fetch must refuse while HF_HUB_OFFLINE is set")
    finally:
        if old is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = old
