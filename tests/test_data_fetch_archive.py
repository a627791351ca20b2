"""`rbench data fetch` of a release published as one archive (the seed's bench-release.tar.gz).

The real hub client downloads from a real HTTP server on loopback that answers the hub's
``resolve`` URLs; the archive is built by the test in the seed's ``results/bench`` layout. The
hostile archives attack for real: each tries to write a marker outside the unpack folder (a
``..`` member, an absolute path, a symlink escaping, a hard link escaping), and the test checks
the host afterwards (no marker, the victim file unchanged) and that the store did not change.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from routerbench_core.data.archive import ArchiveError, unpack
from routerbench_core.data.fetch import FetchError, fetch_archive_and_import
from routerbench_core.data.store import Store

pytest.importorskip("huggingface_hub", reason="rbench data fetch needs the hub client (embed extra)")

REPO = "NPULH/LLMRouterBench"
ARCHIVE = "bench-release.tar.gz"


def _run_file(dataset: str, model: str, scores: list[float]) -> bytes:
    records = [
        {"index": i, "origin_query": f"{dataset} question {i}", "prompt": f"{dataset} question {i}",
         "prediction": "A", "ground_truth": "A", "score": s, "prompt_tokens": 10,
         "completion_tokens": 5, "cost": 0.001, "raw_output": f"answer {i}"}
        for i, s in enumerate(scores)
    ]
    return json.dumps({"dataset_name": dataset, "split": "test", "model_name": model,
                       "records": records}).encode()


def _add(tar: tarfile.TarFile, name: str, data: bytes = b"", **fields: object) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    if info.type != tarfile.REGTYPE:
        info.size = 0
    tar.addfile(info, io.BytesIO(data) if info.size else None)


def seed_release(extra: list[tuple[str, bytes, dict]] | None = None) -> bytes:
    """A small archive in the seed's layout: 2 datasets × 2 models, 3 records each."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for dataset in ("aime", "mmlu_pro"):
            for model, scores in (("model-a", [1, 0, 1]), ("model-b", [0, 0, 1])):
                folder = f"results/bench/{dataset}/test/{model}"
                _add(tar, f"{folder}/{model}_20250101_000000.json", _run_file(dataset, model, scores))
        for name, data, fields in extra or []:
            _add(tar, name, data, **fields)
    return buf.getvalue()


class FakeHub:
    """A loopback HTTP server answering ``/datasets/<repo>/resolve/<revision>/<file>`` the way
    the hub does (ETag, X-Repo-Commit, Content-Length); ``files[(revision, file)] = bytes``."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, str], bytes] = {}
        self.requests: list[str] = []
        hub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self, body: bool) -> None:
                hub.requests.append(f"{self.command} {self.path}")
                prefix = f"/datasets/{REPO}/resolve/"
                rest = self.path[len(prefix):] if self.path.startswith(prefix) else ""
                revision, _, filename = rest.partition("/")
                data = hub.files.get((revision, filename))
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("X-Repo-Commit", hashlib.sha1(data).hexdigest())
                self.end_headers()
                if body:
                    self.wfile.write(data)

            def do_HEAD(self) -> None:  # noqa: N802 - http.server's naming
                self._answer(False)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(True)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """The loopback hub, with the hub client's offline switch off for this test only."""
    import huggingface_hub.constants as constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    server = FakeHub()
    try:
        yield server
    finally:
        server.close()


def _fetch(store: Store, hub: FakeHub, tmp: Path, name: str, revision: str = "main",
           **kwargs: object):
    return fetch_archive_and_import(store, REPO, ARCHIVE, "llmrouterbench", name,
                                    revision=revision, cache_dir=tmp / "cache",
                                    endpoint=hub.url, **kwargs)


def _snapshot(store: Store) -> dict:
    return {name: sorted((q.qid, q.text) for q in store.query_rows(name))
            for name in store.bench_names()}


def test_fetch_archive_imports_the_seed_layout(hub: FakeHub, tmp_path: Path) -> None:
    data = seed_release()
    hub.files[("main", ARCHIVE)] = data
    with Store(tmp_path / "rbench.db") as store:
        path, result = _fetch(store, hub, tmp_path, "lrb")
        assert (result.n_queries, result.n_models, result.n_records) == (6, 2, 12)
        assert path.read_bytes() == data
        meta = store.bench_metadata("lrb")["fetched_from"]
        assert meta == {"repo_id": REPO, "revision": "main", "archive": ARCHIVE,
                        "commit": hashlib.sha1(data).hexdigest()}
        assert {spec.name for spec in store.models("lrb")} == {"model-a", "model-b"}
    assert any(r.startswith("GET ") and r.endswith(f"/resolve/main/{ARCHIVE}")
               for r in hub.requests)
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if ".rbench-unpack-" in str(p)]
    assert leftovers == []  # the unpacked copy is removed after the import


def _hostile(tmp: Path) -> dict[str, list[tuple[str, bytes, dict]]]:
    """Each attack aims at ``tmp/outside``; the relative ones count the levels from the unpack
    folder (``tmp/cache/.rbench-unpack-*/release``) up to ``tmp``."""
    outside = tmp / "outside"
    return {
        "dotdot": [("results/../../../../outside/marker", b"pwned", {})],
        "absolute": [(str(outside / "marker"), b"pwned", {})],
        "symlink": [("results/escape", b"", {"type": tarfile.SYMTYPE, "linkname": str(outside)}),
                    ("results/escape/marker", b"pwned", {})],
        "symlink-relative": [
            ("results/escape", b"", {"type": tarfile.SYMTYPE, "linkname": "../../../../outside"}),
            ("results/escape/marker", b"pwned", {})],
        "hardlink": [("results/victim", b"", {"type": tarfile.LNKTYPE,
                                              "linkname": str(outside / "victim")}),
                     ("results/victim", b"pwned", {})],
        "hardlink-relative": [("results/victim", b"", {"type": tarfile.LNKTYPE,
                                                       "linkname": "../../../outside/victim"}),
                              ("results/victim", b"pwned", {})],
        "device": [("results/null", b"", {"type": tarfile.CHRTYPE, "devmajor": 1,
                                          "devminor": 3})],
    }


@pytest.mark.parametrize("attack", ["dotdot", "absolute", "symlink", "symlink-relative",
                                    "hardlink", "hardlink-relative", "device"])
def test_hostile_archive_is_refused_and_changes_nothing(
    hub: FakeHub, tmp_path: Path, attack: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_text("original")
    hub.files[("good", ARCHIVE)] = seed_release()
    hub.files[("evil", ARCHIVE)] = seed_release(extra=_hostile(tmp_path)[attack])
    with Store(tmp_path / "rbench.db") as store:
        _fetch(store, hub, tmp_path, "lrb", revision="good")
        before = _snapshot(store)
        for name, replace in (("lrb", True), ("fresh", False)):
            with pytest.raises(FetchError, match="was not unpacked") as err:
                _fetch(store, hub, tmp_path, name, revision="evil", replace=replace)
            assert "results/" in str(err.value) or str(outside) in str(err.value)
        assert _snapshot(store) == before  # the old bench intact, no new one
        assert store.bench_metadata("lrb")["fetched_from"]["revision"] == "good"
    assert not (outside / "marker").exists()
    assert (outside / "victim").read_text() == "original"
    assert sorted(p.name for p in outside.iterdir()) == ["victim"]
    assert not (tmp_path / "marker").exists()
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if ".rbench-unpack-" in str(p)]
    assert leftovers == []


def test_size_cap_refuses_with_a_clear_error(hub: FakeHub, tmp_path: Path) -> None:
    hub.files[("main", ARCHIVE)] = seed_release(extra=[("results/big.bin", b"x" * 50_000, {})])
    with Store(tmp_path / "rbench.db") as store:
        with pytest.raises(FetchError, match=r"unpacks to more than 20,000 bytes.*--max-unpacked-gb"):
            _fetch(store, hub, tmp_path, "lrb", max_bytes=20_000)
        assert store.bench_names() == []


def test_bad_release_contents_store_nothing(hub: FakeHub, tmp_path: Path) -> None:
    broken = b'{"records": [{"index": 0, "score": 7}]}'  # a score outside [0, 1]
    hub.files[("main", ARCHIVE)] = seed_release(
        extra=[("results/bench/gsm8k/test/model-a/model-a_20250101_000000.json", broken, {})])
    from routerbench_core.data.importers import DataFormatError

    with Store(tmp_path / "rbench.db") as store:
        with pytest.raises(DataFormatError, match="score"):
            _fetch(store, hub, tmp_path, "lrb")
        assert store.bench_names() == []


def test_unpack_refuses_a_symlink_chain_out(tmp_path: Path) -> None:
    """Each link looks inside on its own; the second resolves through the first to the
    parent of the folder. The data filter, which checks against the disk, refuses it."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        _add(tar, "a", type=tarfile.DIRTYPE)
        _add(tar, "a/up", type=tarfile.SYMTYPE, linkname="..")
        _add(tar, "a/up/out", type=tarfile.SYMTYPE, linkname="..")
        _add(tar, "a/up/out/marker", b"pwned")
    (tmp_path / "chain.tar").write_bytes(buf.getvalue())
    dest = tmp_path / "box" / "release"
    with pytest.raises(ArchiveError):
        unpack(tmp_path / "chain.tar", dest)
    assert not dest.exists()
    assert not (tmp_path / "box" / "marker").exists() and not (tmp_path / "marker").exists()


def test_named_source_is_one_command(hub: FakeHub, tmp_path: Path) -> None:
    """`rbench data fetch llmrouterbench --name lrb` in a real subprocess, the hub client
    pointed at the loopback server by HF_ENDPOINT."""
    data = seed_release()
    hub.files[("main", ARCHIVE)] = data
    env = {k: v for k, v in os.environ.items()
           if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE") and not k.startswith("RBENCH_")}
    env.update(HF_ENDPOINT=hub.url, HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_TELEMETRY="1")
    proc = subprocess.run(
        [sys.executable, "-m", "routerbench_core", "--store", str(tmp_path / "rbench.db"),
         "data", "fetch", "llmrouterbench", "--name", "lrb"],
        capture_output=True, text=True, env=env, timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    commit = hashlib.sha1(data).hexdigest()
    assert f"pin it with --revision {commit}" in proc.stdout
    assert "imported 6 queries × 2 models as bench 'lrb'" in proc.stdout
    with Store(tmp_path / "rbench.db") as store:
        assert store.bench_metadata("lrb")["fetched_from"]["commit"] == commit
