"""Run untrusted code (model answers to coding benchmarks) in a separate, limited process.

Why a fresh process per program, and never ``exec`` in the grader: a model's code can loop
forever, eat memory, fork, open sockets, delete files or call ``os._exit``. Each program runs in
a new interpreter (:mod:`routerbench_core.scoring._sandbox_child`) in its own session and a
throwaway working directory, isolated by every layer the machine allows (network and mount
namespaces, a pids cgroup, an unprivileged user, rlimits, an audit-hook guard; the layers that
took effect are reported on each result). The grader enforces a wall-clock timeout and then
kills the whole process group — and every process left in the job's cgroup — so nothing
outlives its job. Many programs run in parallel across cores with a worker count.

Which layers matter: the namespaces and the cgroup are the real boundaries (the cgroup also
catches a process that left the session with ``setsid()``); the audit guard refuses sockets,
process creation and writes outside the work dir portably, but Python's audit hooks are not a
security boundary on their own. Where the machine grants no cgroup and no namespaces (e.g. an
unprivileged user without user namespaces), RLIMIT_NPROC still caps processes.

Outcomes are statuses, not exceptions: ``passed``, ``failed`` (an exception, a failed assert,
an early exit), ``timeout``, ``memory`` or ``crashed`` (killed by a signal). A
:class:`SandboxError` is raised only when the sandbox itself cannot run (so an infrastructure
problem is never recorded as a wrong answer).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = [
    "ExecResult",
    "Program",
    "Sandbox",
    "SandboxError",
    "SandboxLimits",
    "default_workers",
]

Status = Literal["passed", "failed", "timeout", "memory", "crashed"]
_CHILD_SCRIPT = Path(__file__).with_name("_sandbox_child.py")
#: How long a fresh interpreter may take to start before the job's own clock starts.
STARTUP_TIMEOUT_S = 60.0


class SandboxError(RuntimeError):
    """The sandbox could not run a program (not a verdict on the program)."""


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits for one program.

    :param timeout_s: wall-clock seconds from the program's start (interpreter start-up is
        not charged); the whole process group is killed when it runs out.
    :param cpu_s: CPU seconds (RLIMIT_CPU); default ``timeout_s + 1``.
    :param memory_mb: address-space limit (RLIMIT_AS) in MiB.
    :param max_processes: processes/threads the program may add (pids cgroup, RLIMIT_NPROC).
    :param max_file_bytes: largest file the program may write (RLIMIT_FSIZE).
    :param max_output_bytes: stdout/stderr kept per stream (the rest is dropped).
    :param network: allow network access (off: a new empty network namespace plus a guard).
    :param readonly_fs: make every mount read-only but the work dir (mount namespace).
    :param audit: install the in-process guard (sockets, processes, writes outside).
    """

    timeout_s: float = 10.0
    cpu_s: float | None = None
    memory_mb: int = 2048
    max_processes: int = 32
    max_file_bytes: int = 64 * 1024 * 1024
    max_open_files: int = 256
    max_output_bytes: int = 1024 * 1024
    network: bool = False
    readonly_fs: bool = True
    audit: bool = True

    def __post_init__(self) -> None:
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be positive, got {self.timeout_s}")
        if self.memory_mb < 64:
            raise ValueError(f"memory_mb must be at least 64 (Python needs it), got {self.memory_mb}")
        if self.max_processes < 1:
            raise ValueError(f"max_processes must be at least 1, got {self.max_processes}")


@dataclass(frozen=True)
class Program:
    """A program to run: ``code`` then ``tests`` in the same namespace, ``stdin`` on its input.

    :param allow_exit: treat ``sys.exit(0)`` as a normal end (stdin/stdout programs); for
        function tests an exit before the tests finish is a failure.
    :param files: extra files (name -> text) written into the work dir first.
    """

    code: str
    tests: str = ""
    stdin: str = ""
    allow_exit: bool = False
    files: Mapping[str, str] = field(default_factory=dict)
    limits: SandboxLimits | None = None


@dataclass(frozen=True)
class ExecResult:
    """How a program ended."""

    status: Status
    stdout: str
    stderr: str
    duration_s: float
    returncode: int | None
    error: str | None = None
    layers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def summary(self) -> dict[str, Any]:
        """A JSON-able digest for grade details (output trimmed)."""
        return {
            "status": self.status,
            "error": self.error,
            "duration_s": round(self.duration_s, 4),
            "returncode": self.returncode,
            "stdout_tail": self.stdout[-500:],
            "stderr_tail": self.stderr[-500:],
            "isolation": list(self.layers),
        }


def default_workers() -> int:
    """One worker per available core (at least one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


# -- cgroups: a hard cap on processes, and a list of everything to kill ----------------------


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
            controllers = Path(mount_point) / "cgroup.controllers"
            with contextlib.suppress(OSError):
                if "pids" in controllers.read_text().split():
                    rel = next((c.split(":", 2)[2] for c in own if c.startswith("0::")), "/")
                    candidate = Path(mount_point) / rel.lstrip("/")
                    subtree = candidate / "cgroup.subtree_control"
                    if "pids" not in subtree.read_text().split():
                        candidate = None
        if candidate is not None and os.access(candidate, os.W_OK):
            return candidate
    return None


class _PidsCgroup:
    """A per-job pids cgroup: caps process count; lists every process to kill afterwards."""

    def __init__(self, root: Path, max_pids: int) -> None:
        self.path = root / f"rbench-sandbox-{uuid.uuid4().hex[:16]}"
        self.path.mkdir()
        (self.path / "pids.max").write_text(str(max_pids))

    def kill_all(self) -> None:
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for _ in range(100):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.02)


# -- the sandbox ------------------------------------------------------------------------------


def _interpreter_readable_by_others(python: str) -> bool:
    """Whether an unprivileged user could run ``python`` and import its libraries."""
    import sysconfig

    paths = {Path(python).resolve(), _CHILD_SCRIPT.resolve()}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            paths.add(Path(sysconfig.get_paths()[key]).resolve())
    for path in paths:
        for part in [path, *path.parents]:
            try:
                mode = part.stat().st_mode
            except OSError:
                return False
            needed = 0o001 if part.is_dir() else 0o004
            if not mode & needed:
                return False
    return True


class Sandbox:
    """Runs :class:`Program` objects in isolated subprocesses, one at a time or in parallel.

    :param limits: default limits (a program may carry its own).
    :param workers: parallel programs in :meth:`run_many` (default: one per core).
    :param python: the interpreter to run programs with (default: this one, so the program
        sees the same installed packages).
    :param user: ``"auto"`` drops root to uid/gid 65534 when that user can read the
        interpreter; an ``int`` uid to use instead; ``None`` never drops.
    :param use_cgroup: put each program in its own pids cgroup when the machine allows it.
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        workers: int | None = None,
        python: str | None = None,
        user: int | str | None = "auto",
        use_cgroup: bool = True,
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.workers = workers or default_workers()
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.python = python or sys.executable
        if not Path(self.python).exists():
            raise SandboxError(f"interpreter {self.python} does not exist")
        self._uid: int | None = None
        if os.name == "posix" and os.geteuid() == 0 and user is not None:
            if user == "auto":
                if _interpreter_readable_by_others(self.python):
                    self._uid = 65534
            else:
                self._uid = int(user)
        self._cgroup_root = _pids_cgroup_root() if use_cgroup and os.name == "posix" else None

    # -- one program ---------------------------------------------------------------------

    def run(self, program: Program | str, **kwargs: Any) -> ExecResult:
        """Run one program (a :class:`Program`, or code text plus Program fields)."""
        if isinstance(program, str):
            program = Program(code=program, **kwargs)
        elif kwargs:
            raise TypeError("pass either a Program or code text with keyword fields, not both")
        limits = program.limits or self.limits
        base = Path(tempfile.mkdtemp(prefix="rbench-sbx-"))
        workdir = base / "work"
        workdir.mkdir()
        cgroup: _PidsCgroup | None = None
        try:
            for name, text in program.files.items():
                target = (workdir / name).resolve()
                if workdir.resolve() not in target.parents:
                    raise SandboxError(f"program file {name!r} would land outside the work dir")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
            if self._cgroup_root is not None:
                try:
                    cgroup = _PidsCgroup(self._cgroup_root, limits.max_processes + 1)
                except OSError:
                    cgroup = None
            return self._run_in(program, limits, base, workdir, cgroup)
        finally:
            if cgroup is not None:
                cgroup.remove()
            shutil.rmtree(base, ignore_errors=True)

    def _run_in(
        self, program: Program, limits: SandboxLimits, base: Path, workdir: Path,
        cgroup: _PidsCgroup | None,
    ) -> ExecResult:
        nonce = secrets.token_hex(16)
        job = {
            "nonce": nonce,
            "code": program.code,
            "tests": program.tests,
            "allow_exit": program.allow_exit,
            "workdir": str(workdir.resolve()),
            "network": limits.network,
            "readonly_fs": limits.readonly_fs,
            "audit": limits.audit,
            "cpu_s": max(1, int(limits.cpu_s if limits.cpu_s is not None else limits.timeout_s + 1)),
            "memory_mb": limits.memory_mb,
            "max_file_bytes": limits.max_file_bytes,
            "max_open_files": limits.max_open_files,
            "max_processes": limits.max_processes,
            "uid": self._uid,
            "gid": self._uid,
            "cgroup": str(cgroup.path) if cgroup is not None else None,
        }
        stdin_path = base / "stdin.txt"
        stdin_path.write_text(program.stdin, encoding="utf-8")
        out_path, err_path = base / "stdout.txt", base / "stderr.txt"
        result_read, result_write = os.pipe()
        job_read, job_write = os.pipe()
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": str(workdir),
            "TMPDIR": str(workdir),
            "LANG": "C.UTF-8",
            "PYTHONHASHSEED": "0",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        try:
            with stdin_path.open("rb") as stdin, out_path.open("wb") as out, \
                    err_path.open("wb") as err:
                try:
                    proc = subprocess.Popen(
                        [self.python, "-I", "-B", "-X", "utf8", str(_CHILD_SCRIPT),
                         str(result_write), str(job_read)],
                        stdin=stdin, stdout=out, stderr=err, cwd=workdir, env=env,
                        pass_fds=(result_write, job_read), start_new_session=True,
                        close_fds=True,
                    )
                except OSError as exc:
                    raise SandboxError(f"cannot start {self.python}: {exc}") from exc
                finally:
                    os.close(result_write)
                    os.close(job_read)
                try:
                    self._send_job(job_write, job)
                except BrokenPipeError:
                    pass  # the child died at start-up; reported below
                finally:
                    os.close(job_write)
                    job_write = -1
                started, finished, timed_out, duration = self._wait(
                    proc, result_read, nonce, limits.timeout_s
                )
        finally:
            if job_write != -1:
                with contextlib.suppress(OSError):
                    os.close(job_write)
            with contextlib.suppress(OSError):
                os.close(result_read)
        stdout = _read_capped(out_path, limits.max_output_bytes)
        stderr = _read_capped(err_path, limits.max_output_bytes)
        if started is None:
            if timed_out:
                raise SandboxError(
                    f"the sandboxed interpreter did not start within {STARTUP_TIMEOUT_S:.0f}s "
                    "(machine overloaded?)"
                )
            raise SandboxError(
                f"the sandboxed interpreter failed before running the program (exit "
                f"{proc.returncode}): {stderr.strip()[-1000:] or 'no output'}"
            )
        layers = tuple(started.get("layers", ()))
        notes = tuple(started.get("notes", ()))
        returncode = proc.returncode
        if timed_out:
            status: Status = "timeout"
            error = f"killed after the {limits.timeout_s:g}s wall-clock limit"
        elif finished is not None:
            status, error = finished["status"], finished.get("error")
            duration = float(finished.get("elapsed", duration))
        elif returncode is not None and returncode < 0:
            sig = -returncode
            if sig in (signal.SIGXCPU, signal.SIGKILL) and duration >= 0.9 * (job["cpu_s"] - 1):
                status, error = "timeout", f"CPU limit of {job['cpu_s']}s exceeded"
            else:
                status, error = "crashed", f"killed by signal {signal.Signals(sig).name}"
        else:
            status = "failed"
            error = f"the program ended the process (exit {returncode}) before the tests finished"
        return ExecResult(
            status=status, stdout=stdout, stderr=stderr, duration_s=duration,
            returncode=returncode, error=error, layers=layers, notes=notes,
        )

    @staticmethod
    def _send_job(fd: int, job: dict[str, Any]) -> None:
        data = json.dumps(job).encode("utf-8")
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]

    def _wait(
        self, proc: subprocess.Popen[bytes], result_fd: int, nonce: str, timeout_s: float
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None, bool, float]:
        """Wait for the start marker, then for the end (or the deadline); kill the group."""
        buffer = b""
        started: dict[str, Any] | None = None
        finished: dict[str, Any] | None = None
        timed_out = False
        begin = time.monotonic()
        deadline = begin + STARTUP_TIMEOUT_S
        run_start = begin
        eof = False
        while True:
            lines = buffer.split(b"\n")
            buffer = lines.pop()
            for line in lines:
                kind, _, rest = line.decode("utf-8", "replace").partition(" ")
                got_nonce, _, payload = rest.partition(" ")
                if got_nonce != nonce:
                    continue  # not from the bootstrap: ignore
                with contextlib.suppress(json.JSONDecodeError):
                    if kind == "S" and started is None:
                        started = json.loads(payload)
                        run_start = time.monotonic()
                        deadline = run_start + timeout_s
                    elif kind == "R" and started is not None:
                        finished = json.loads(payload)
            if finished is not None or eof:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                timed_out = True
                break
            ready, _, _ = select.select([result_fd], [], [], min(remaining, 0.5))
            if ready:
                chunk = os.read(result_fd, 65536)
                if chunk:
                    buffer += chunk
                else:
                    eof = True  # the child and everything it spawned closed the pipe
            elif proc.poll() is not None and started is not None:
                # exited but a descendant may hold the pipe: give it a moment, then stop
                ready, _, _ = select.select([result_fd], [], [], 0.05)
                if not ready:
                    break
        duration = time.monotonic() - run_start
        if finished is not None:  # the bootstrap exits right after reporting: let it
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=2)
        self._kill_group(proc)
        return started, finished, timed_out, duration

    @staticmethod
    def _kill_group(proc: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - a process stuck in the kernel
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything forked while we were waiting

    # -- many programs -------------------------------------------------------------------

    def run_many(
        self, programs: Iterable[Program], *, workers: int | None = None
    ) -> list[ExecResult]:
        """Run programs in parallel (``workers`` at a time); results keep the input order."""
        items: Sequence[Program] = list(programs)
        count = min(workers or self.workers, max(1, len(items)))
        if count == 1:
            return [self.run(p) for p in items]
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="rbench-sandbox") as pool:
            return list(pool.map(self.run, items))


def _read_capped(path: Path, limit: int) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except OSError:
        return ""
    text = data[:limit].decode("utf-8", "replace")
    return text + ("\n[output truncated]" if len(data) > limit else "")
