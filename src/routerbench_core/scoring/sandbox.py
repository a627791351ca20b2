"""Run untrusted code (model answers to coding benchmarks) isolated by the kernel.

Why the kernel and not the interpreter: a model's code can patch anything in its own process
(builtins, the harness, ``__main__``'s globals, audit hooks), so no guard inside that process
can hold. Every layer here is set up by the kernel before the answer runs, and checked from
outside before the first job:

- **bubblewrap** (Debian package ``bubblewrap``) makes new pid, mount, network, IPC and UTS
  namespaces; the mount namespace holds only the interpreter and library tree (read-only), a
  fresh ``/proc`` of the sandbox's own pid namespace, a minimal ``/dev`` and a size-capped
  ``/tmp``; never the store, the grader's files or the host's ``/proc``;
- the server then becomes **uid/gid 65534** in a **user namespace** of its own, with **no
  capabilities** (bounding set empty), **no_new_privs**, and non-dumpable (no ptrace);
- each sandbox is in its own **pids cgroup** (a cap on processes and a list of what to kill);
- each job runs with **rlimits** (address space, CPU, file size, open files, processes).

If a layer cannot be set up, :class:`IsolationError` names it and the fix; nothing is silently
downgraded. ``unsafe_local=True`` (``--unsafe-local-exec``, ``RBENCH_UNSAFE_LOCAL_EXEC=1``) runs
jobs in plain local processes instead, for machines where you trust the code.

Speed: each sandbox is a *fork server*: one interpreter started once inside the isolation,
forking per job, so a job costs a fork, not an interpreter start. A :class:`Sandbox` holds one
server per worker; servers are shared process-wide (:func:`shared_sandbox`).

Verdicts are never decided inside the sandbox: jobs return plain data (see
:mod:`routerbench_core.scoring.verdicts`). Outcomes are statuses, not exceptions; a
:class:`SandboxError` is raised only when the sandbox itself cannot run.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import os
import queue
import shutil
import signal
import struct
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from routerbench_core.processes import pid_alive

__all__ = [
    "ExecResult",
    "IsolationError",
    "Program",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "cleanup_stale",
    "default_workers",
    "shared_sandbox",
]

Status = Literal["completed", "passed", "failed", "timeout", "memory", "crashed"]
_SERVER_SCRIPT = Path(__file__).with_name("_sandbox_child.py")
#: How long a fresh server may take to start.
STARTUP_TIMEOUT_S = 60.0
#: The uid/gid every answer runs as.
SANDBOX_UID = 65534
_CGROUP_PREFIX = "rbench-sbx-"
UNSAFE_ENV = "RBENCH_UNSAFE_LOCAL_EXEC"


class SandboxError(RuntimeError):
    """The sandbox could not run a program (not a verdict on the program)."""


class IsolationError(SandboxError):
    """An isolation layer cannot be set up: code is not run at all."""

    def __init__(self, layer: str, problem: str, fix: str) -> None:
        self.layer = layer
        super().__init__(
            f"cannot isolate answer code: {layer}: {problem}. Fix: {fix}. (Only if you trust "
            f"the code: `rbench grade --unsafe-local-exec` or {UNSAFE_ENV}=1 runs it without "
            "isolation; see docs/sandbox.md.)"
        )


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one job.

    :param timeout_s: wall-clock seconds; every process of the job is killed when it runs out.
    :param cpu_s: CPU seconds (RLIMIT_CPU); default ``timeout_s + 1``.
    :param memory_mb: address-space limit (RLIMIT_AS) in MiB.
    :param max_processes: processes the job may add (pids cgroup of its sandbox, RLIMIT_NPROC).
    :param max_file_bytes: largest file the job may write (RLIMIT_FSIZE).
    :param max_output_bytes: result and log bytes kept per job (the rest is dropped).
    """

    timeout_s: float = 10.0
    cpu_s: float | None = None
    memory_mb: int = 2048
    max_processes: int = 32
    max_file_bytes: int = 64 * 1024 * 1024
    max_open_files: int = 256
    max_output_bytes: int = 4 * 1024 * 1024

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb must be at least 64 (Python needs it), got {self.memory_mb}")
        if self.max_processes < 1:
            raise ValueError(f"max_processes must be at least 1, got {self.max_processes}")

    def wire(self) -> dict[str, Any]:
        out = asdict(self)
        out["cpu_s"] = max(1, int(self.cpu_s if self.cpu_s is not None else self.timeout_s + 1))
        return out


@dataclass(frozen=True)
class Program:
    """A whole program: ``code`` then ``tests`` in one namespace, with ``files`` in its dir.

    This is the *whole* mode (see docs/sandbox.md for what it cannot rule out); graders use
    the decomposed checks of :mod:`routerbench_core.scoring.verdicts` where they can.
    """

    code: str
    tests: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    limits: SandboxLimits | None = None


@dataclass(frozen=True)
class ExecResult:
    """How a job ended. ``lines`` are the job's result lines, *undecoded* (hostile data).

    ``status`` is ``completed`` when the job's process ran to its end (not a verdict), else
    ``failed``, ``timeout``, ``memory`` or ``crashed``; :meth:`Sandbox.run` (whole mode) turns
    ``completed`` into ``passed`` or ``failed``.
    """

    status: Status
    lines: tuple[str, ...]
    log: str
    duration_s: float
    error: str | None = None
    layers: tuple[str, ...] = ()
    truncated: bool = False

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def stdout(self) -> str:  # the job's stdout and stderr, interleaved
        return self.log

    def summary(self) -> dict[str, Any]:
        """A JSON-able digest for grade details (output trimmed)."""
        return {
            "status": self.status,
            "error": self.error,
            "duration_s": round(self.duration_s, 4),
            "log_tail": self.log[-500:],
            "isolation": list(self.layers),
        }


def default_workers() -> int:
    """One worker per available core (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


# -- cgroups ----------------------------------------------------------------------------------


def _pids_cgroup_root() -> Path | None:
    """A writable cgroup folder with the pids controller, or None."""
    try:
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in mounts:
        parts = line.split()
        if len(parts) < 4:
            continue
        mount_point, fstype, options = parts[1], parts[2], parts[3].split(",")
        candidate: Path | None = None
        if fstype == "cgroup" and "pids" in options:
            rel = next((c.split(":", 2)[2] for c in own if ":pids:" in c), "/")
            candidate = Path(mount_point) / rel.lstrip("/")
        elif fstype == "cgroup2":
            with contextlib.suppress(OSError):
                if "pids" in (Path(mount_point) / "cgroup.controllers").read_text().split():
                    rel = next((c.split(":", 2)[2] for c in own if c.startswith("0::")), "/")
                    candidate = Path(mount_point) / rel.lstrip("/")
                    if "pids" not in (candidate / "cgroup.subtree_control").read_text().split():
                        candidate = None
        if candidate is not None and os.access(candidate, os.W_OK):
            return candidate
    return None


def _cgroup_pids(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _remove_cgroup(path: Path) -> bool:
    for _ in range(200):
        pids = _cgroup_pids(path)
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError:
            time.sleep(0.01)
    return False


def cleanup_stale() -> list[str]:
    """Remove what a killed grader left: its sandboxes' cgroups (killing what is in them) and
    its unsafe-mode work folders. Returns what was removed. Safe while other graders run: only
    leftovers of dead grader processes are touched (their pid is in the name)."""
    removed: list[str] = []
    root = _pids_cgroup_root()
    if root is not None:
        with contextlib.suppress(OSError):
            for path in root.iterdir():
                owner = _owner_pid(path.name)
                if owner is not None and not pid_alive(owner) and _remove_cgroup(path):
                    removed.append(str(path))
    with contextlib.suppress(OSError):
        for path in Path(tempfile.gettempdir()).iterdir():
            owner = _owner_pid(path.name)
            if owner is not None and path.is_dir() and not pid_alive(owner):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(str(path))
    return removed


def _owner_pid(name: str) -> int | None:
    if not name.startswith(_CGROUP_PREFIX):
        return None
    head = name[len(_CGROUP_PREFIX):].split("-", 1)[0]
    return int(head) if head.isdigit() else None


# -- the read-only tree the sandbox sees -----------------------------------------------------


def _python_tree(python: str) -> list[str]:
    """Folders the interpreter needs: its prefix, base prefix, stdlib and site-packages."""
    paths = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix),
             Path(sys.base_exec_prefix)}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            paths.add(Path(sysconfig.get_paths()[key]))
    exe = Path(python)
    while exe.is_symlink():  # the venv's python points into the base install
        target = Path(os.readlink(exe))
        exe = target if target.is_absolute() else exe.parent / target
        paths.add(exe.parent.parent)
    resolved = sorted({str(p.resolve()) for p in paths if p.exists()}, key=len)
    kept: list[str] = []
    for path in resolved:  # drop folders inside another kept one
        if not any(path == k or path.startswith(k.rstrip("/") + "/") for k in kept):
            kept.append(path)
    return kept


#: The oldest bubblewrap with every option used here (``--perms``, ``--size``).
MIN_BWRAP = (0, 5, 0)


@functools.lru_cache(maxsize=4)
def _bwrap_version(bwrap: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=30)
        return tuple(int(x) for x in out.stdout.split()[-1].split(".")[:3])
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return ()


def _bwrap_command(bwrap: str, python: str, as_root: bool,
                   version: tuple[int, ...] = MIN_BWRAP) -> list[str]:
    cmd = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
           "--unshare-cgroup-try", "--die-with-parent", "--as-pid-1", "--new-session"]
    if not as_root:  # an unprivileged grader: bubblewrap makes the user namespace itself
        cmd += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID),
                "--cap-drop", "ALL"]
        if version >= (0, 8, 0):  # older ones: the seccomp filter still refuses user namespaces
            cmd.append("--disable-userns")
    made: set[str] = set()

    def parents(dest: str) -> None:
        for parent in reversed(Path(dest).parents):
            text = str(parent)
            if text != "/" and text not in made:
                made.add(text)
                cmd.extend(["--perms", "0755", "--dir", text])

    system = ["/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin"]
    for entry in system:
        path = Path(entry)
        if path.is_symlink():
            cmd.extend(["--symlink", os.readlink(path), entry])
        elif path.is_dir():
            cmd.extend(["--ro-bind", entry, entry])
        made.add(entry)
    # /tmp first: an interpreter tree that lives under /tmp (a checkout or CI clone there, with
    # its virtual environment) is then bound on top of the fresh tmpfs instead of hidden by it
    cmd += ["--perms", "1777", "--size", str(1 << 30), "--tmpfs", "/tmp"]
    made.add("/tmp")
    for tree in _python_tree(python):
        if any(tree == s or tree.startswith(s + "/") for s in system):
            continue
        parents(tree)
        cmd.extend(["--ro-bind", tree, tree])
        made.add(tree)
    cmd += ["--perms", "0755", "--dir", "/sbx", "--ro-bind", str(_SERVER_SCRIPT.resolve()),
            "/sbx/server.py", "--proc", "/proc", "--dev", "/dev", "--chdir", "/tmp",
            "--", python, "-I", "-B", "-X", "utf8", "/sbx/server.py",
            "stage1" if as_root else "serve"]
    return cmd


def _status_fields(pid: int) -> dict[str, str]:
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        out[key] = value.strip()
    return out


def _check_layers(pid: int, cgroup: Path | None) -> tuple[str, ...]:
    """Verify from outside that the server at host ``pid`` is isolated; name what is not."""
    try:
        status = _status_fields(pid)
        namespaces = {ns: (os.readlink(f"/proc/{pid}/ns/{ns}"), os.readlink(f"/proc/self/ns/{ns}"))
                      for ns in ("user", "pid", "mnt", "net", "ipc")}
    except OSError as exc:
        raise SandboxError(f"the sandbox server {pid} vanished during its checks: {exc}") from exc
    uids = status.get("Uid", "").split()
    if not uids or any(int(u) == 0 for u in uids) or (
            os.geteuid() == 0 and any(int(u) != SANDBOX_UID for u in uids)):
        raise IsolationError("unprivileged uid", f"the server runs as uids {uids}",
                             "run the grader as root or as an ordinary user (not setuid)")
    # the bounding set is emptied by the server when the grader is root; for an ordinary user
    # bubblewrap drops the capabilities and no_new_privs makes the bounding set moot
    for key in ("CapEff", "CapPrm", "CapInh", "CapAmb", *(("CapBnd",) if os.geteuid() == 0 else ())):
        if int(status.get(key, "1"), 16) != 0:
            raise IsolationError("capabilities", f"{key}={status.get(key)}",
                                 "use bubblewrap >= 0.4 and run as root or an ordinary user")
    if status.get("NoNewPrivs") != "1":
        raise IsolationError("no_new_privs", "the flag is not set", "use bubblewrap >= 0.4")
    for ns, (theirs, ours) in namespaces.items():
        if theirs == ours:
            raise IsolationError(
                f"{ns} namespace", "the server shares the grader's",
                "allow user namespaces (sysctl user.max_user_namespaces > 0; on Debian/Ubuntu "
                "kernel.unprivileged_userns_clone=1; on Ubuntu >= 23.10 "
                "kernel.apparmor_restrict_unprivileged_userns=0) or run the grader as root",
            )
    layers = ["bubblewrap", f"uid {uids[0]}", "no capabilities", "no_new_privs",
              "user/pid/mount/net/ipc namespaces", "read-only interpreter tree", "rlimits"]
    if cgroup is not None:
        layers.append("pids cgroup")
    if status.get("Seccomp") == "2":
        layers.append("seccomp")  # an extra (x86_64): no nested user namespaces, no ptrace
    return tuple(layers)


# -- one fork server -------------------------------------------------------------------------


class _Server:
    """One isolated fork server; runs one job at a time."""

    def __init__(self, python: str, unsafe_local: bool, max_processes: int) -> None:
        self.python, self.unsafe_local, self.max_processes = python, unsafe_local, max_processes
        self.proc: subprocess.Popen[bytes] | None = None
        self.cgroup: Path | None = None
        self.local_root: Path | None = None
        self.layers: tuple[str, ...] = ()

    # lifecycle
    def start(self) -> None:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
               "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        tag = f"{_CGROUP_PREFIX}{os.getpid()}-{threading.get_ident() % 100000}-{time.monotonic_ns()}"
        if self.unsafe_local:
            self.local_root = Path(tempfile.mkdtemp(prefix=tag + "-"))
            env["RBENCH_SANDBOX_ROOT"] = str(self.local_root)
            cmd = [self.python, "-I", "-B", "-X", "utf8", str(_SERVER_SCRIPT), "serve"]
        else:
            bwrap = shutil.which("bwrap")
            if bwrap is None:
                raise IsolationError(
                    "bubblewrap", "the `bwrap` program is not installed",
                    "install it (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: "
                    "`dnf install bubblewrap`)",
                )
            root = _pids_cgroup_root()
            if root is None:
                raise IsolationError(
                    "pids cgroup", "no writable cgroup with the pids controller",
                    "run the grader as root, or delegate a cgroup v2 subtree with the pids "
                    "controller to your user (systemd: `systemd-run --user -p Delegate=yes`)",
                )
            self.cgroup = root / tag
            try:
                self.cgroup.mkdir()
                (self.cgroup / "pids.max").write_text(str(self.max_processes + 8))
            except OSError as exc:
                raise IsolationError("pids cgroup", f"cannot create {self.cgroup}: {exc}",
                                     "run the grader as root or delegate a cgroup") from exc
            version = _bwrap_version(bwrap)
            if version < MIN_BWRAP:
                self.close()
                raise IsolationError(
                    "bubblewrap", f"{bwrap} is version {'.'.join(map(str, version)) or '?'}; "
                    f"rbench needs {'.'.join(map(str, MIN_BWRAP))} or newer",
                    "install a newer bubblewrap (Debian 12 / Ubuntu 22.04 packages are new enough)",
                )
            cmd = _bwrap_command(bwrap, self.python, os.geteuid() == 0, version)
        try:
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=env, cwd="/", start_new_session=True, close_fds=True,
            )
        except OSError as exc:
            self.close()
            raise SandboxError(f"cannot start the sandbox ({cmd[0]}): {exc}") from exc
        try:
            ready = self._receive(STARTUP_TIMEOUT_S)
        except SandboxError:
            err = self._stderr_tail()
            self.close()
            if "namespace" in err.lower() or "operation not permitted" in err.lower():
                raise IsolationError(
                    "namespaces", err or "bubblewrap could not create them",
                    "allow user namespaces (sysctl user.max_user_namespaces > 0; "
                    "kernel.unprivileged_userns_clone=1; on Ubuntu >= 23.10 "
                    "kernel.apparmor_restrict_unprivileged_userns=0) or run the grader as root",
                ) from None
            raise SandboxError(f"the sandbox server did not start: {err or 'no output'}") from None
        if ready is None or not ready.get("ready"):
            self.close()
            raise SandboxError("the sandbox server did not start")
        if self.unsafe_local:
            self.layers = ("UNSAFE local process (no isolation)", "rlimits")
            return
        try:
            server_pid = self._server_pid()
            for pid in (self.proc.pid, server_pid):  # before any answer code ran
                (self.cgroup / "cgroup.procs").write_text(str(pid))  # type: ignore[operator]
            self.layers = _check_layers(server_pid, self.cgroup)
        except BaseException:
            self.close()
            raise

    def _server_pid(self) -> int:
        assert self.proc is not None
        for _ in range(500):
            with contextlib.suppress(OSError):
                kids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
                if kids.split():
                    return int(kids.split()[0])
            time.sleep(0.002)
        raise SandboxError("cannot find the sandbox server's process")

    def _stderr_tail(self) -> str:
        if self.proc is None or self.proc.stderr is None:
            return ""
        with contextlib.suppress(Exception):
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
            return self.proc.stderr.read()[-2000:].decode("utf-8", "replace").strip()
        return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            for stream in (proc.stdin, proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    if stream is not None:
                        stream.close()
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
        if self.cgroup is not None:
            _remove_cgroup(self.cgroup)
            self.cgroup = None
        if self.local_root is not None:
            shutil.rmtree(self.local_root, ignore_errors=True)
            self.local_root = None

    # messages
    def _receive(self, timeout: float) -> dict[str, Any] | None:
        assert self.proc is not None and self.proc.stdout is not None
        import select

        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        data = b""
        need = 4
        size: int | None = None
        while len(data) < need:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxError("the sandbox server did not answer in time")
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, need - len(data))
            if not chunk:
                raise SandboxError("the sandbox server ended")
            data += chunk
            if size is None and len(data) == 4:
                size = struct.unpack(">I", data)[0]
                need, data = size, b""
        return json.loads(data)

    def call(self, job: dict[str, Any]) -> dict[str, Any] | None:
        """Send a job, return the reply; ``None`` if the server died (it is then closed)."""
        assert self.proc is not None and self.proc.stdin is not None
        body = json.dumps(job).encode("utf-8")
        try:
            self.proc.stdin.write(struct.pack(">I", len(body)) + body)
            self.proc.stdin.flush()
            return self._receive(float(job["limits"]["timeout_s"]) + 30.0)
        except (OSError, SandboxError):
            self.close()
            return None


# -- the sandbox ------------------------------------------------------------------------------


class Sandbox:
    """A pool of isolated fork servers (one per worker), started on first use.

    :param limits: default limits (a job may carry its own).
    :param workers: servers, i.e. jobs that run at once.
    :param python: the interpreter the sandbox runs (default: this one, so answers see the
        same installed packages).
    :param unsafe_local: no isolation (``--unsafe-local-exec``): only for code you trust.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        workers: int | None = None,
        python: str | None = None,
        unsafe_local: bool | None = None,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.workers = workers or default_workers()
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.python = python or sys.executable
        if not Path(self.python).exists():
            raise SandboxError(f"interpreter {self.python} does not exist")
        if unsafe_local is None:
            unsafe_local = os.environ.get(UNSAFE_ENV, "").strip().lower() in {"1", "true", "yes"}
        if not unsafe_local and not sys.platform.startswith("linux"):
            raise IsolationError("platform", f"{sys.platform} has no namespaces",
                                 "grade code on Linux")
        self.unsafe_local = unsafe_local
        self._idle: queue.SimpleQueue[_Server] = queue.SimpleQueue()
        self._all: list[_Server] = []
        self._lock = threading.Lock()
        self._cleaned = False

    @property
    def layers(self) -> tuple[str, ...]:
        with self._server() as server:
            return server.layers

    def _new_server(self) -> _Server:
        if not self._cleaned:
            cleanup_stale()
            self._cleaned = True
        server = _Server(self.python, self.unsafe_local, self.limits.max_processes)
        server.start()
        return server

    @contextlib.contextmanager
    def _server(self) -> Iterator[_Server]:
        server: _Server | None = None
        with self._lock:
            if self._idle.empty() and len(self._all) < self.workers:
                server = self._new_server()
                self._all.append(server)
        if server is None:
            server = self._idle.get()
        try:
            if not server.alive():
                server.start()
            yield server
        finally:
            self._idle.put(server)

    def close(self) -> None:
        with self._lock:
            for server in self._all:
                server.close()
            self._all.clear()
            self._idle = queue.SimpleQueue()

    # -- jobs ----------------------------------------------------------------------------

    def job(self, kind: str, payload: Mapping[str, Any], limits: SandboxLimits | None = None
            ) -> ExecResult:
        """Run one job of ``kind`` (see ``_sandbox_child.RUNNERS``); lines come back raw."""
        limits = limits or self.limits
        message = {"kind": kind, **payload, "limits": limits.wire()}
        with self._server() as server:
            reply = server.call(message)
            layers = server.layers
        if reply is None:
            return ExecResult("crashed", (), "", 0.0, "the sandbox server died during this job "
                              "(it is restarted for the next one)", layers)
        lines = tuple(line for line in reply["result"].split("\n") if line)
        duration = float(reply.get("elapsed", 0.0))
        sig = reply.get("signal")
        if reply.get("timed_out"):
            status: Status = "timeout"
            error: str | None = f"killed after the {limits.timeout_s:g}s wall-clock limit"
        elif sig is not None:
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else sig
            if sig in (signal.SIGXCPU, signal.SIGKILL) and duration >= 0.8 * (
                    limits.wire()["cpu_s"] - 1):
                status, error = "timeout", f"CPU limit of {limits.wire()['cpu_s']}s exceeded"
            else:
                status, error = "crashed", f"killed by signal {name}"
        elif reply.get("exit") == 3 or "MemoryError" in reply.get("log", "")[-300:]:
            status, error = "memory", f"memory limit of {limits.memory_mb} MiB exceeded"
        elif reply.get("exit") == 0:
            status, error = "completed", None  # the job ran to its end; not a verdict
        else:
            tail = reply.get("log", "").strip().splitlines()
            last = tail[-1][:300] if tail and reply.get("exit") == 1 else None
            status, error = "failed", last or f"exit status {reply.get('exit')}"
        return ExecResult(status, lines, reply.get("log", ""), duration, error, layers,
                          bool(reply.get("result_truncated")))

    def run(self, program: Program | str, **kwargs: Any) -> ExecResult:
        """Run a whole :class:`Program`; ``passed`` iff the tests ran to their end.

        Whole mode cannot rule out an answer that fakes the end marker (docs/sandbox.md); the
        dataset graders use decomposed checks instead.
        """
        if isinstance(program, str):
            program = Program(code=program, **kwargs)
        elif kwargs:
            raise TypeError("pass either a Program or code text with keyword fields, not both")
        for name in program.files:
            parts = Path(name).parts
            if Path(name).is_absolute() or ".." in parts or len(parts) != 1:
                raise SandboxError(f"program file {name!r} must be a plain name in the work dir")
        result = self.job("script", {"code": program.code, "test": program.tests,
                                     "files": dict(program.files)}, program.limits)
        if result.status == "completed":
            if '{"completed": true}' in result.lines:
                return ExecResult("passed", result.lines, result.log, result.duration_s, None,
                                  result.layers)
            return ExecResult("failed", result.lines, result.log, result.duration_s,
                              "the program ended before the tests finished", result.layers)
        return result

    def map(self, fn: Any, items: Sequence[Any], *, workers: int | None = None) -> list[Any]:
        """``fn`` over ``items`` with up to ``workers`` jobs at once; input order kept."""
        count = min(workers or self.workers, self.workers, max(1, len(items)))
        if count == 1:
            return [fn(item) for item in items]
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="rbench-sandbox") as pool:
            return list(pool.map(fn, items))

    def run_many(self, programs: Iterable[Program], *, workers: int | None = None
                 ) -> list[ExecResult]:
        """Run whole programs in parallel; results keep the input order."""
        return self.map(self.run, list(programs), workers=workers)


_SHARED: dict[tuple[str, bool], Sandbox] = {}
_SHARED_LOCK = threading.Lock()


def shared_sandbox(workers: int = 1, *, python: str | None = None,
                   unsafe_local: bool | None = None) -> Sandbox:
    """The process-wide sandbox (servers started once, reused by every grader and test);
    grows to ``workers`` servers."""
    if unsafe_local is None:
        unsafe_local = os.environ.get(UNSAFE_ENV, "").strip().lower() in {"1", "true", "yes"}
    key = (python or sys.executable, unsafe_local)
    with _SHARED_LOCK:
        box = _SHARED.get(key)
        if box is None:
            box = _SHARED[key] = Sandbox(workers=workers, python=python, unsafe_local=unsafe_local)
        box.workers = max(box.workers, workers)
        return box


@atexit.register
def _close_shared() -> None:
    for box in _SHARED.values():
        box.close()
