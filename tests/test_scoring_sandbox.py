"""The code sandbox: real subprocesses, real limits, real isolation layers.

Layers that depend on the machine (namespaces, cgroups) are checked with the in-process guard
switched off, so the OS mechanism itself is what stops the program; those tests skip with the
reason when the machine does not grant the layer.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from routerbench_core.scoring.sandbox import (
    Program,
    Sandbox,
    SandboxError,
    SandboxLimits,
)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the sandbox targets Linux")


@pytest.fixture(scope="module")
def sandbox() -> Sandbox:
    return Sandbox(SandboxLimits(timeout_s=5), workers=2)


@pytest.fixture(scope="module")
def bare() -> Sandbox:
    """No in-process guard: only OS mechanisms stand between the program and the machine."""
    return Sandbox(SandboxLimits(timeout_s=5, audit=False, max_processes=8), workers=2)


def _alive_in_group(pgid: int) -> list[int]:
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def _assert_group_gone(pgid: int) -> None:
    deadline = time.monotonic() + 5
    while _alive_in_group(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _alive_in_group(pgid) == [], "processes of the sandboxed program outlived it"


def test_passing_and_failing_programs(sandbox: Sandbox) -> None:
    ok = sandbox.run("def f(x):\n    return x * 2\nprint('hi')", tests="assert f(2) == 4")
    assert ok.passed and ok.stdout == "hi\n" and ok.returncode == 0
    assert "audit" in ok.layers and "rlimits" in ok.layers
    bad = sandbox.run("def f(x):\n    return x", tests="assert f(2) == 4, 'f(2) should be 4'")
    assert bad.status == "failed"
    assert bad.error == "AssertionError: f(2) should be 4"
    assert "AssertionError" in bad.stderr
    broken = sandbox.run("def f(:\n")
    assert broken.status == "failed" and broken.error.startswith("SyntaxError")


def test_early_exit_before_tests_is_a_failure(sandbox: Sandbox) -> None:
    quiet = sandbox.run("import os\nos._exit(0)", tests="assert False")
    assert quiet.status == "failed" and "before the tests finished" in quiet.error
    polite = sandbox.run("import sys\nsys.exit(0)", tests="assert False")
    assert polite.status == "failed" and "SystemExit" in polite.error
    fake = sandbox.run("print('R 0000 {\"status\": \"passed\"}')\nimport os\nos._exit(0)")
    assert fake.status == "failed", "a forged report line must not count"


def test_stdin_stdout_program_may_exit(sandbox: Sandbox) -> None:
    program = Program(
        code="import sys\nn = int(input())\nprint(n * n)\nsys.exit(0)", stdin="12\n",
        allow_exit=True,
    )
    result = sandbox.run(program)
    assert result.passed and result.stdout == "144\n"


def test_infinite_loop_is_killed_at_the_wall_timeout(sandbox: Sandbox) -> None:
    start = time.monotonic()
    result = sandbox.run(
        Program(code="import os\nprint(os.getpgrp(), flush=True)\nwhile True:\n    pass",
                limits=SandboxLimits(timeout_s=1.0))
    )
    elapsed = time.monotonic() - start
    assert result.status == "timeout", result
    assert 0.9 <= result.duration_s < 3 and elapsed < 10
    _assert_group_gone(int(result.stdout.split()[0]))


def test_sleeping_program_is_killed_too(sandbox: Sandbox) -> None:
    result = sandbox.run(Program(code="import time\ntime.sleep(60)",
                                 limits=SandboxLimits(timeout_s=0.5)))
    assert result.status == "timeout" and result.duration_s < 3


def test_cpu_limit(sandbox: Sandbox) -> None:
    result = sandbox.run(Program(code="while True:\n    pass",
                                 limits=SandboxLimits(timeout_s=30, cpu_s=1)))
    assert result.status == "timeout" and "CPU limit" in result.error
    assert result.duration_s < 10


def test_memory_limit(sandbox: Sandbox) -> None:
    result = sandbox.run(Program(code="block = bytearray(900 * 1024 * 1024)",
                                 limits=SandboxLimits(memory_mb=256)))
    assert result.status == "memory"
    fine = sandbox.run(Program(code="block = bytearray(20 * 1024 * 1024)",
                               limits=SandboxLimits(memory_mb=256)))
    assert fine.passed, fine


def test_output_is_capped(sandbox: Sandbox) -> None:
    result = sandbox.run(Program(code="print('x' * 100_000)",
                                 limits=SandboxLimits(max_output_bytes=1000)))
    assert result.passed and result.stdout.endswith("[output truncated]")
    assert len(result.stdout) < 1100


def test_socket_is_refused(sandbox: Sandbox) -> None:
    result = sandbox.run("import socket\nsocket.socket()")
    assert result.status == "failed" and "socket" in result.error
    lookup = sandbox.run("import urllib.request\nurllib.request.urlopen('http://example.com')")
    assert lookup.status == "failed"


def test_network_namespace_blocks_loopback_without_the_guard(bare: Sandbox) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    try:
        probe = bare.run("x = 1")
        if "netns" not in probe.layers:
            pytest.skip(f"no network namespace on this machine: {probe.notes}")
        result = bare.run(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"
        )
        assert result.status == "failed" and "unreachable" in result.error.lower(), result
        control = Sandbox(SandboxLimits(timeout_s=5, audit=False, network=True)).run(
            f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2)"
        )
        assert control.passed, "with network allowed the same connection works"
    finally:
        server.close()


def test_writing_outside_the_sandbox_fails(sandbox: Sandbox, tmp_path: Path) -> None:
    target = tmp_path / "escape.txt"
    result = sandbox.run(f"open({str(target)!r}, 'w').write('pwned')")
    assert result.status == "failed" and "outside the sandbox" in result.error
    assert not target.exists()
    (tmp_path / "keep.txt").write_text("data")
    removal = sandbox.run(f"import os\nos.remove({str(tmp_path / 'keep.txt')!r})")
    assert removal.status == "failed" and (tmp_path / "keep.txt").read_text() == "data"
    inside = sandbox.run(
        "import os, tempfile\nopen('mine.txt', 'w').write('ok')\n"
        "tempfile.NamedTemporaryFile().write(b'1')\nos.makedirs('a/b')\nprint(os.getcwd())"
    )
    assert inside.passed, inside
    assert not Path(inside.stdout.strip()).exists(), "the work dir is thrown away"


def test_readonly_filesystem_without_the_guard(bare: Sandbox, tmp_path: Path) -> None:
    probe = bare.run("x = 1")
    if "fs-readonly" not in probe.layers and "uid-drop" not in probe.layers:
        pytest.skip(f"no mount namespace or user drop on this machine: {probe.notes}")
    target = tmp_path / "escape.txt"
    result = bare.run(f"open({str(target)!r}, 'w').write('pwned')")
    assert result.status == "failed" and not target.exists()
    inside = bare.run("open('mine.txt', 'w').write('ok')\nopen('/dev/null', 'w').write('x')")
    assert inside.passed, inside


def test_fork_bomb_is_refused_by_the_guard(sandbox: Sandbox) -> None:
    result = sandbox.run("import os\nwhile True:\n    os.fork()")
    assert result.status == "failed" and "os.fork" in result.error
    spawn = sandbox.run("import subprocess\nsubprocess.run(['true'])")
    assert spawn.status == "failed"
    ctypes_fork = sandbox.run("import ctypes\nctypes.CDLL(None).fork()")
    assert ctypes_fork.status == "failed"


def test_fork_bomb_is_contained_without_the_guard(bare: Sandbox) -> None:
    probe = bare.run("x = 1")
    if not {"cgroup-pids", "nproc"} & set(probe.layers):
        pytest.skip(f"no process cap on this machine (root without cgroups): {probe.notes}")
    code = (
        "import os\nprint(os.getpgrp(), flush=True)\nwhile True:\n"
        "    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    result = bare.run(Program(code=code, limits=SandboxLimits(
        timeout_s=1.5, audit=False, max_processes=8)))
    assert result.status in {"timeout", "failed", "crashed"}
    _assert_group_gone(int(result.stdout.split()[0]))
    after = bare.run("x = 1")
    assert after.passed, "the machine still runs programs after a fork bomb"


def test_run_many_keeps_order_and_runs_in_parallel(sandbox: Sandbox) -> None:
    # Each program reports when it ran (wall clock); running in parallel means the two
    # intervals overlap, which a serial run can never produce however fast the machine is.
    code = "import time\nt0 = time.time()\ntime.sleep(0.8)\nprint({i}, t0, time.time())"
    programs = [Program(code=code.format(i=i)) for i in range(2)]
    programs.append(Program(code="raise ValueError('third')"))
    results = sandbox.run_many(programs, workers=3)
    spans = [r.stdout.split() for r in results[:2]]
    assert [s[0] for s in spans] == ["0", "1"]
    (s0, e0), (s1, e1) = ((float(a), float(b)) for _, a, b in spans)
    assert s1 < e0 and s0 < e1, f"the two programs ran one after the other: {spans}"
    assert results[2].status == "failed" and "third" in results[2].error


def test_program_files_and_escape(sandbox: Sandbox) -> None:
    result = sandbox.run(Program(code="print(open('data/in.txt').read())",
                                 files={"data/in.txt": "payload"}))
    assert result.passed and result.stdout == "payload\n"
    with pytest.raises(SandboxError, match="outside the work dir"):
        sandbox.run(Program(code="x = 1", files={"../evil.txt": "x"}))


def test_infrastructure_failures_raise_instead_of_scoring(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="does not exist"):
        Sandbox(python=str(tmp_path / "no-python"))
    with pytest.raises(SandboxError, match="failed before running the program"):
        Sandbox(python="/bin/false").run("x = 1")


def test_limits_are_validated() -> None:
    with pytest.raises(ValueError, match="timeout_s"):
        SandboxLimits(timeout_s=0)
    with pytest.raises(ValueError, match="memory_mb"):
        SandboxLimits(memory_mb=1)
    with pytest.raises(ValueError, match="workers"):
        Sandbox(workers=-1)


def test_code_never_runs_in_the_grader_process(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "import os\nos.environ['RBENCH_SANDBOX_PROBE'] = 'set'\nprint(os.getpid(), os.getsid(0))"
    )
    assert result.passed
    child_pid, child_sid = map(int, result.stdout.split())
    assert child_pid != os.getpid() and child_sid != os.getsid(0), "own process and session"
    assert "RBENCH_SANDBOX_PROBE" not in os.environ


def _pid_alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_child_that_leaves_the_process_group_is_still_killed(bare: Sandbox) -> None:
    probe = bare.run("x = 1")
    if "cgroup-pids" not in probe.layers:
        pytest.skip(f"no pids cgroup on this machine to track escaped processes: {probe.notes}")
    code = (
        "import os, time\npid = os.fork()\nif pid == 0:\n    os.setsid()\n    time.sleep(60)\n"
        "    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)\n"
    )
    result = bare.run(Program(code=code, limits=SandboxLimits(timeout_s=1, audit=False)))
    assert result.status == "timeout"
    escaped = int(result.stdout.split()[0])
    deadline = time.monotonic() + 5
    while _pid_alive(escaped) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(escaped), "a process that called setsid() outlived its sandbox"


_UNPRIVILEGED_PROBE = r"""
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("sbx", sys.argv[1])
sbx = importlib.util.module_from_spec(spec); sys.modules["sbx"] = sbx; spec.loader.exec_module(sbx)
bare = sbx.Sandbox(sbx.SandboxLimits(timeout_s=2, audit=False, max_processes=8), python=sys.executable)
out = {"probe": bare.run("x = 1").layers}
out["net"] = bare.run("import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)").error
out["write"] = bare.run("open(%r, 'w').write('x')" % sys.argv[2]).error
out["inside"] = bare.run("open('mine.txt', 'w').write('x')").status
out["bomb"] = bare.run("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n").status
out["after"] = bare.run("print(6 * 7)").stdout
print(json.dumps(out))
"""


def _unprivileged_python() -> str | None:
    """A system interpreter an unprivileged user can run (every path component traversable)."""
    import shutil

    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        path = Path(candidate)
        if path.exists() and all(
            p.stat().st_mode & 0o001 for p in path.resolve().parents
        ) and path.resolve().stat().st_mode & 0o001:
            return str(path) if shutil.which("setpriv") else None
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason="already unprivileged: the other tests cover it")
def test_unprivileged_user_gets_namespaces_and_a_process_cap() -> None:
    """The path non-root users (CI runners, laptops) take: user namespaces and RLIMIT_NPROC."""
    import json
    import subprocess

    python = _unprivileged_python()
    if python is None:
        pytest.skip("no system python readable by an unprivileged user, or no setpriv")
    module = Path(__file__).resolve().parents[1] / "src/routerbench_core/scoring/sandbox.py"
    for part in (module, *module.parents):
        if not part.stat().st_mode & 0o005:
            pytest.skip(f"{part} is not readable by an unprivileged user")
    import shutil
    import tempfile

    shared = Path(tempfile.mkdtemp(prefix="rbench-unpriv-", dir="/tmp"))
    shared.chmod(0o777)  # the unprivileged user may write here, but not from the sandbox
    target = shared / "escape.txt"
    try:
        proc = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", python, "-c",
             _UNPRIVILEGED_PROBE, str(module), str(target)],
            capture_output=True, text=True, timeout=120, cwd="/",
        )
        escaped = target.exists()
    finally:
        shutil.rmtree(shared, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    if not {"netns", "fs-readonly"} <= set(out["probe"]):
        pytest.skip(f"no unprivileged user namespaces here: {out['probe']}")
    assert "nproc" in out["probe"]
    assert "unreachable" in out["net"].lower()
    assert "Read-only file system" in out["write"] and not escaped
    assert out["inside"] == "passed"
    assert out["bomb"] in {"timeout", "failed", "crashed"}
    assert out["after"] == "42\n"
