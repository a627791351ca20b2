"""A store the CLI cannot use gives one line naming the path and the fix, before any work, and
never changes a file that is not an rbench store.

Each case runs the real ``rbench`` command (in-process where the process is not the point, a
subprocess where it is: a file-size limit, a lock held by another process).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from routerbench_core.commands.app import State, build_app
from routerbench_core.data.store import SCHEMA_VERSION, Store, StoreError
from routerbench_core.plugins.manager import make_plugin_manager


def cli(store: Path, *args: str) -> tuple[int, str]:
    host = make_plugin_manager(load_entrypoints=False)
    result = CliRunner().invoke(build_app(host), ["--store", str(store), *args],
                                obj=State(host=host))
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit), f"traceback instead of an error: {result.exception!r}"
    return result.exit_code, result.output


def one_error_line(output: str) -> str:
    lines = [ln for ln in output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert len(errors) == 1, output
    assert "Traceback" not in output
    return errors[0]


def _bench(path: Path, name: str = "b") -> None:
    from routerbench_core.schema import ModelSpec, Query, Response

    with Store(path) as s:
        s.ensure_bench(name)
        with s.transaction() as conn:
            s.add_queries(name, [Query(dataset="d", id=str(i), text=f"q{i}") for i in range(3)],
                          conn=conn)
            s.add_models(name, [ModelSpec(name="m")], conn=conn)
        s.put_responses(name, [Response(query_key=f"d/{i}", model="m", raw_output="1")
                               for i in range(3)])


READ_COMMANDS = [("data", "list"), ("data", "info"), ("data", "export", "b", "csv", "OUT")]
WRITE_COMMANDS = [("data", "delete", "b"), ("grade", "--bench", "b"),
                  ("data", "import", "routerbench", "IN", "--name", "x")]


@pytest.mark.parametrize("args", READ_COMMANDS + WRITE_COMMANDS)
def test_another_programs_sqlite_file_is_refused_and_left_untouched(tmp_path, args):
    foreign = tmp_path / "f.db"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.execute("INSERT INTO notes (body) VALUES ('mine')")
    conn.commit()
    conn.close()
    before = foreign.read_bytes()
    (tmp_path / "IN").write_text("prompt,m\n\"['q']\",1\n")
    args = tuple(str(tmp_path / a) if a in ("OUT", "IN") else a for a in args)
    code, out = cli(foreign, *args)
    assert code == 2
    line = one_error_line(out)
    assert str(foreign) in line and "not an rbench store" in line and "notes" in line
    assert foreign.read_bytes() == before, "rbench modified another program's database"
    assert not Path(str(foreign) + "-wal").exists()


@pytest.mark.parametrize("kind", ["garbage", "folder"])
@pytest.mark.parametrize("args", [("data", "list"), ("grade", "--bench", "b"),
                                  ("data", "delete", "b")])
def test_garbage_file_and_folder(tmp_path, kind, args):
    path = tmp_path / "s.db"
    if kind == "garbage":
        path.write_bytes(os.urandom(4096))
    else:
        path.mkdir()
    code, out = cli(path, *args)
    assert code == 2
    line = one_error_line(out)
    assert str(path) in line
    assert ("is a folder" if kind == "folder" else "not an SQLite file") in line


@pytest.mark.parametrize("args", [("data", "info", "b"), ("grade", "--bench", "b"),
                                  ("data", "delete", "b"), ("data", "export", "b", "csv", "o")])
def test_missing_store_is_an_error_and_no_file_appears(tmp_path, args):
    path = tmp_path / "none.db"
    code, out = cli(path, *args)
    assert code == 2 and str(path) in one_error_line(out)
    assert not path.exists()


def test_read_only_commands_never_write(tmp_path):
    path = tmp_path / "s.db"
    _bench(path)
    before = path.read_bytes()
    for args in (("data", "list"), ("data", "info"), ("data", "info", "b", "--json")):
        code, out = cli(path, *args)
        assert code == 0, out
    assert path.read_bytes() == before
    wal = Path(str(path) + "-wal")  # SQLite's reader may create an empty log; nothing in it
    assert not wal.exists() or wal.stat().st_size == 0


def test_info_reports_the_schema_version(tmp_path):
    path = tmp_path / "s.db"
    _bench(path)
    code, out = cli(path, "data", "info")
    assert code == 0 and f"rbench schema version {SCHEMA_VERSION}" in out


def _make_v1(path: Path) -> None:
    """An rbench 1 store: the same tables without the leases table, schema_version 1."""
    _bench(path)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE leases")
    conn.execute("DROP TABLE text_blocks")
    conn.execute("UPDATE meta SET value='1' WHERE key='schema_version'")
    conn.execute("DELETE FROM meta WHERE key='format'")
    conn.commit()
    conn.close()


def test_older_store_is_readable_refused_for_writing_until_migrated(tmp_path):
    path = tmp_path / "old.db"
    _make_v1(path)
    code, out = cli(path, "data", "info", "b", "--json")
    assert code == 0 and '"responses": 3' in out
    code, out = cli(path, "grade", "--bench", "b")
    assert code == 2
    line = one_error_line(out)
    assert "schema version 1" in line and "data migrate" in line and str(path) in line
    code, out = cli(path, "data", "migrate")
    assert code == 0 and "schema 1 -> 2" in out and "schema 3 -> 4" in out
    code, out = cli(path, "data", "migrate")
    assert code == 0 and f"already at schema version {SCHEMA_VERSION}" in out
    with Store(path) as s:  # writable now, nothing lost
        assert len(list(s.responses("b"))) == 3
        assert s.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s._has_table("leases") and s._has_table("text_blocks")


def test_newer_store_is_refused(tmp_path):
    path = tmp_path / "new.db"
    _bench(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer than this rbench"):
        Store(path, readonly=True)


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """A store the OS will not let anyone write, root included (``chattr +i``)."""
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed: cannot make a file read-only for root")
    proc = subprocess.run(["chattr", "+i", str(path)], capture_output=True, text=True)
    if proc.returncode != 0:
        if os.geteuid() != 0:  # an ordinary user: permissions are enough
            path.chmod(0o444)
            path.parent.chmod(0o555)
            try:
                yield
            finally:
                path.parent.chmod(0o755)
                path.chmod(0o644)
            return
        pytest.skip(f"cannot make the store read-only here: {proc.stderr.strip()}")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_read_only_store_fails_before_grading_with_one_line(tmp_path):
    path = tmp_path / "s.db"
    _bench(path)
    with immutable(path):
        code, out = cli(path, "data", "list")  # reading still works
        assert code == 0 and "b" in out
        t0 = time.perf_counter()
        code, out = cli(path, "grade", "--bench", "b")
        elapsed = time.perf_counter() - t0
        assert code == 2
        line = one_error_line(out)
        assert "read-only" in line and str(path) in line and "graded" not in out
        assert elapsed < 5
    with Store(path) as s:
        assert not list(s.grades("b"))


def test_locked_store_is_one_line_naming_the_path(tmp_path):
    path = tmp_path / "s.db"
    _bench(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        env = {**os.environ, "RBENCH_STORE_TIMEOUT": "0.3"}
        proc = subprocess.run(
            [sys.executable, "-m", "routerbench_core.commands.app", "--store", str(path),
             "data", "delete", "b"], capture_output=True, text=True, env=env, timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 2, proc.stderr
    line = one_error_line(proc.stderr)
    assert "locked by another process" in line and str(path) in line


def _release(root: Path, n: int) -> Path:
    import json

    for model in ("big", "small"):
        folder = root / "results" / "bench" / "aime" / "test" / model
        folder.mkdir(parents=True)
        records = [{"index": i, "origin_query": f"q{i} " + "x" * 200, "prompt": f"q{i}",
                    "prediction": "1", "ground_truth": "1", "score": 1.0, "prompt_tokens": 5,
                    "completion_tokens": 7, "cost": 0.01, "raw_output": "y" * 300}
                   for i in range(n)]
        (folder / f"{model}_20250101_120000.json").write_text(json.dumps(
            {"dataset_name": "aime", "split": "test", "model_name": model, "records": records}))
    return root


def test_disk_full_during_import_is_one_line_and_loses_nothing(tmp_path):
    """The file-size limit (RLIMIT_FSIZE) makes every write past it fail as on a full disk."""
    path = tmp_path / "s.db"
    _bench(path)
    release = _release(tmp_path / "rel", 3000)
    size = path.stat().st_size + sum(
        p.stat().st_size for p in tmp_path.iterdir() if p.name.startswith("s.db-"))

    def limit() -> None:
        cap = max(size, 200_000) + 100_000
        resource.setrlimit(resource.RLIMIT_FSIZE, (cap, cap))

    proc = subprocess.run(
        [sys.executable, "-m", "routerbench_core.commands.app", "--store", str(path), "data",
         "import", "llmrouterbench", str(release), "--name", "big"],
        capture_output=True, text=True, preexec_fn=limit, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = one_error_line(proc.stderr)
    assert str(path) in line and "nothing" in line
    with Store(path) as s:
        assert s.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert s.bench_names() == ["b"] and len(list(s.responses("b"))) == 3
