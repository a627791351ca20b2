"""The code sandbox, layer by layer: real bubblewrap fork servers, real limits, checked from
the host. One shared sandbox serves every test (its servers start once)."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from routerbench_core.scoring import sandbox as sbx
from routerbench_core.scoring._sandbox_child import CodecError, decode, decode_json, encode
from routerbench_core.scoring.sandbox import (
    IsolationError,
    Program,
    Sandbox,
    SandboxError,
    SandboxLimits,
    shared_sandbox,
)

needs_bwrap = pytest.mark.skipif(
    sys.platform != "linux" or shutil.which("bwrap") is None,
    reason="needs Linux with bubblewrap (apt-get install bubblewrap)",
)


@pytest.fixture(scope="module")
def box() -> Sandbox:
    return shared_sandbox(2)


def _probe(box: Sandbox, code: str, **limits: float) -> dict:
    result = box.run(Program(code=code + "\nimport json\nprint('@@' + json.dumps(OUT))",
                             limits=SandboxLimits(**limits) if limits else None))
    line = next(x for x in result.log.splitlines() if x.startswith("@@"))
    return json.loads(line[2:])


# -- the layers, seen from inside and from the host ----------------------------------------


@needs_bwrap
def test_identity_capabilities_and_namespaces(box: Sandbox) -> None:
    out = _probe(box, """
import os
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
OUT = {"uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
       "caps": [status[k].strip() for k in ("CapEff", "CapPrm", "CapBnd")],
       "nnp": status["NoNewPrivs"].strip(), "pids": sorted(os.listdir("/proc")),
       "root": sorted(os.listdir("/"))}
""")
    assert (out["uid"], out["gid"]) == (65534, 65534) and out["groups"] in ([], [65534])
    assert out["caps"] == ["0000000000000000"] * 3 and out["nnp"] == "1"
    pids = [p for p in out["pids"] if p.isdigit()]
    assert str(os.getpid()) not in pids or len(pids) < 5, "the host's /proc is visible"
    assert len(pids) <= 3  # the server (pid 1) and this job
    assert "sbx" in out["root"] and "etc" not in out["root"]  # the sandbox's own root
    layers = box.layers
    for layer in ("bubblewrap", "uid 65534", "no capabilities", "no_new_privs",
                  "user/pid/mount/net/ipc namespaces", "pids cgroup"):
        assert layer in layers


@needs_bwrap
def test_server_processes_on_the_host_are_unprivileged(box: Sandbox) -> None:
    box.run("x = 1")
    for server in box._all:
        assert server.proc is not None
        pid = sbx._Server._server_pid(server)
        status = sbx._status_fields(pid)
        assert status["Uid"].split() == ["65534"] * 4
        assert int(status["CapEff"], 16) == 0 and status["NoNewPrivs"] == "1"
        for ns in ("user", "pid", "mnt", "net", "ipc"):
            assert os.readlink(f"/proc/{pid}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")


@needs_bwrap
def test_only_the_interpreter_tree_is_visible_and_it_is_read_only(box: Sandbox,
                                                                  tmp_path: Path) -> None:
    secret = tmp_path / "store.db"
    secret.write_text("secret")
    # the checkout's files stay out of sight (its folder may exist as a bare mount point when
    # the interpreter lives in a virtual environment under it, as nox's does)
    assert (Path.cwd() / "pyproject.toml").exists()
    out = _probe(box, f"""
import os, sys
OUT = {{"store": os.path.exists({str(secret)!r}),
       "cwd_here": os.path.exists({str(Path.cwd() / "pyproject.toml")!r})}}
try:
    open(os.path.join(sys.prefix, "rbench-write-probe"), "w")
    OUT["write"] = "written"
except OSError as exc:
    OUT["write"] = type(exc).__name__
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
OUT["remount"] = libc.mount(None, sys.prefix.encode(), None, 32 | 4096, None)
""")
    assert out["store"] is False and out["cwd_here"] is False
    assert out["write"] in {"OSError", "PermissionError"}
    assert out["remount"] == -1
    assert not (Path(sys.prefix) / "rbench-write-probe").exists()


@needs_bwrap
@pytest.mark.skipif(os.uname().machine != "x86_64", reason="the seccomp filter is x86_64 only")
def test_seccomp_refuses_new_user_namespaces_and_ptrace(box: Sandbox) -> None:
    out = _probe(box, """
import ctypes, os, subprocess, threading
libc = ctypes.CDLL(None, use_errno=True)
OUT = {"userns": [libc.unshare(0x10000000), ctypes.get_errno()],
       "ptrace": [libc.ptrace(16, 1, 0, 0), ctypes.get_errno()]}
t = threading.Thread(target=lambda: None)
t.start(); t.join()
OUT["spawn"] = subprocess.run(["/bin/echo", "ok"], capture_output=True, text=True).stdout
""")
    assert out["userns"] == [-1, 1] and out["ptrace"] == [-1, 1]  # EPERM
    assert out["spawn"] == "ok\n"  # threads and subprocesses still work
    assert "seccomp" in box.layers


@needs_bwrap
def test_no_network(box: Sandbox) -> None:
    out = _probe(box, """
import socket
OUT = {}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=1)
    OUT["net"] = "connected"
except OSError as exc:
    OUT["net"] = type(exc).__name__
OUT["ifaces"] = [name for _, name in socket.if_nameindex()]
""")
    assert out["net"] != "connected" and out["ifaces"] == ["lo"]


@needs_bwrap
def test_the_server_survives_an_answer_that_kills_it(box: Sandbox) -> None:
    code = "import os, signal\nfor s in (9, 15, 2):\n    os.kill(1, s)\n    os.kill(os.getppid(), s)\n"
    assert box.run(code).status == "passed"  # signals to pid 1 of the namespace are ignored
    everything = "import os\ntry:\n    os.kill(-1, 9)\nexcept OSError:\n    pass\nos.killpg(0, 9)"
    assert box.run(everything).status == "crashed"
    assert box.run("x = 1", tests="assert x == 1").passed


# -- limits ----------------------------------------------------------------------------------


@needs_bwrap
def test_wall_clock_cpu_and_memory_limits(box: Sandbox) -> None:
    start = time.monotonic()
    assert box.run(Program("import time\ntime.sleep(60)",
                           limits=SandboxLimits(timeout_s=0.5))).status == "timeout"
    assert time.monotonic() - start < 5
    assert box.run(Program("while True:\n    pass",
                           limits=SandboxLimits(timeout_s=30, cpu_s=1))).status == "timeout"
    assert box.run(Program("b = bytearray(900 * 1024 * 1024)",
                           limits=SandboxLimits(memory_mb=256))).status == "memory"
    assert box.run(Program("b = bytearray(20 * 1024 * 1024)",
                           limits=SandboxLimits(memory_mb=256))).passed


@needs_bwrap
def test_fork_bomb_and_leftover_processes_are_killed(box: Sandbox) -> None:
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = box.run(Program(bomb, limits=SandboxLimits(timeout_s=1.5)))
    assert result.status in {"timeout", "crashed", "failed"}
    daemon = "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(600)\n"
    assert box.run(daemon).passed
    for server in box._all:  # only bubblewrap and its server are left in each cgroup
        if server.cgroup is not None:
            assert len((server.cgroup / "cgroup.procs").read_text().split()) <= 2
    assert box.run("x = 1").passed


@needs_bwrap
def test_output_is_capped(box: Sandbox) -> None:
    result = box.run(Program("print('x' * 100_000)", limits=SandboxLimits(max_output_bytes=1000)))
    assert result.passed and len(result.log) <= 4000


# -- whole mode semantics ----------------------------------------------------------------


@needs_bwrap
def test_whole_mode_passes_only_when_the_tests_ran_to_the_end(box: Sandbox) -> None:
    assert box.run("def f(x):\n    return x + 1\n", tests="assert f(1) == 2").passed
    failed = box.run("def f(x):\n    return x\n", tests="assert f(1) == 2")
    assert failed.status == "failed" and "AssertionError" in (failed.error or "")
    early = box.run("import sys\nsys.exit(0)\n", tests="assert False")
    assert early.status == "failed" and "SystemExit" in (early.error or "")
    quiet = box.run("import os\nos._exit(0)\n", tests="assert False")
    assert quiet.status == "failed" and "ended before" in (quiet.error or "")


@needs_bwrap
def test_program_files(box: Sandbox) -> None:
    assert box.run(Program("assert open('in.txt').read() == 'hi'", files={"in.txt": "hi"})).passed
    with pytest.raises(SandboxError, match="plain name"):
        box.run(Program("x = 1", files={"../evil.txt": "x"}))


# -- refusing to run without isolation ----------------------------------------------------


def test_missing_bubblewrap_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sbx.shutil, "which", lambda name: None)
    with pytest.raises(IsolationError, match="apt-get install bubblewrap") as exc:
        Sandbox(workers=1, unsafe_local=False).run("x = 1")
    assert exc.value.layer == "bubblewrap" and "--unsafe-local-exec" in str(exc.value)


def test_missing_cgroup_is_refused_with_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sbx.shutil, "which", lambda name: "/usr/bin/bwrap")
    monkeypatch.setattr(sbx, "_pids_cgroup_root", lambda: None)
    with pytest.raises(IsolationError, match="pids cgroup"):
        Sandbox(workers=1, unsafe_local=False).run("x = 1")


def test_too_old_bubblewrap_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sbx.shutil, "which", lambda name: "/usr/bin/bwrap")
    monkeypatch.setattr(sbx, "_bwrap_version", lambda path: (0, 4, 0))
    if sbx._pids_cgroup_root() is None:
        pytest.skip("no writable pids cgroup here (checked before the version)")
    with pytest.raises(IsolationError, match="version 0.4.0; rbench needs 0.5.0"):
        Sandbox(workers=1, unsafe_local=False).run("x = 1")


def test_bad_arguments() -> None:
    with pytest.raises(SandboxError, match="does not exist"):
        Sandbox(python="/no/such/python")
    with pytest.raises(ValueError):
        SandboxLimits(timeout_s=0)
    with pytest.raises(ValueError):
        SandboxLimits(memory_mb=1)
    with pytest.raises(ValueError):
        Sandbox(workers=-1)


@needs_bwrap
def test_stale_cgroups_of_a_dead_grader_are_removed(box: Sandbox) -> None:
    box.run("x = 1")
    root = sbx._pids_cgroup_root()
    assert root is not None
    dead = 2 ** 22 + 12345  # above pid_max: never a live process
    stale = root / f"{sbx._CGROUP_PREFIX}{dead}-1-1"
    stale.mkdir()
    removed = sbx.cleanup_stale()
    assert str(stale) in removed and not stale.exists()
    assert all(s.cgroup is None or s.cgroup.exists() for s in box._all), "live ones are kept"


# -- the strict plain-data codec ------------------------------------------------------------


def test_codec_round_trips_plain_data() -> None:
    value = [1, -2 ** 80, 1.5, float("inf"), None, True, "é", b"\x00", (1, 2), {3, 4},
             frozenset({5}), {"k": [1, {"n": (2,)}]}, {(1, 2): "tuple key"}, 2 + 3j]
    back = decode(json.loads(json.dumps(encode(value))))
    assert back == value and type(back[8]) is tuple and type(back[9]) is set
    assert math.isnan(decode(encode(float("nan"))))


def test_codec_refuses_objects_and_malformed_values() -> None:
    class Always:
        def __eq__(self, other: object) -> bool:
            return True

    class Sneaky(int):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = int.__hash__

    for hostile in (Always(), Sneaky(3), [Sneaky(1)], {"x": Always()}):
        with pytest.raises(CodecError):
            encode(hostile)
    for wire in ('["X", 1]', '["I", "1e5"]', '["I", "' + "9" * 5000 + '"]', '["L", 1]',
                 '["Z", [["L", []]]]', '["D", [[["L", []], ["N"]]]]', 'NaN', '["F", NaN]',
                 "[" * 5000 + "]" * 5000, '{"a": 1}', '["S", 1]', '["N", 1]'):
        with pytest.raises(CodecError):
            decode_json(wire)


@needs_bwrap
def test_the_shared_sandbox_is_one_per_process() -> None:
    assert shared_sandbox(1) is shared_sandbox(2)


def test_unsafe_local_mode_says_so() -> None:
    box = Sandbox(workers=1, unsafe_local=True)
    try:
        assert box.run("x = 1").passed
        assert box.layers[0].startswith("UNSAFE")
    finally:
        box.close()


@needs_bwrap
def test_a_dead_server_is_replaced(box: Sandbox) -> None:
    box.run("x = 1")
    server = box._all[0]
    assert server.proc is not None
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait()
    assert all(box.run("x = 1").passed for _ in range(3))
