"""The first code a sandboxed process runs: isolate itself, then run the untrusted program.

This file is executed as a script by a fresh interpreter (``python -I -B <this file> <fd>``);
it imports only the standard library and never runs in the grader's own process. It reads its
job (code, tests, limits, a secret nonce) from a pipe, applies every isolation layer it can,
reports which ones took effect, runs the code, and reports the outcome on a second pipe. The
nonce proves that a "passed" report came from here and not from the program under test (which
could otherwise print a fake report or call ``os._exit(0)`` before its tests run).

Layers, each best-effort and reported by name:

- ``cgroup-pids``: joins a pids cgroup the parent created (caps processes: fork bombs)
- ``netns``: a new, empty network namespace (no interface is up: nothing can be reached)
- ``fs-readonly``: a private mount namespace where every mount but the work dir is read-only
- ``uid-drop``: switch to an unprivileged user (when the interpreter is readable by it)
- ``rlimits``: CPU seconds, address space, file size, open files, no core dumps
- ``nproc``: RLIMIT_NPROC (effective for non-root users only)
- ``audit``: a ``sys.addaudithook`` guard refusing sockets, process creation, signals to other
  processes and writes outside the work dir (portable; not a boundary on its own)
"""

import json
import os
import resource
import signal
import sys
import time

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18
MS_BIND = 4096
AT_FDCWD = -100
AT_RECURSIVE = 0x8000
MOUNT_ATTR_RDONLY = 0x00000001
SYS_MOUNT_SETATTR = {"x86_64": 442, "aarch64": 442}


def _read_job(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return json.loads(b"".join(chunks).decode("utf-8"))


def _libc():
    import ctypes

    # the interpreter links libc: its own symbol table has unshare/mount/syscall, and looking
    # a library up by name (ctypes.util) would spawn ldconfig
    return ctypes, ctypes.CDLL(None, use_errno=True)


def _join_cgroup(path, layers, notes):
    try:
        with open(os.path.join(path, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))
        layers.append("cgroup-pids")
    except OSError as exc:
        notes.append(f"cgroup: {exc}")


def _write_id_maps():
    uid, gid = os.getuid(), os.getgid()
    with open("/proc/self/setgroups", "w") as handle:
        handle.write("deny")
    with open("/proc/self/uid_map", "w") as handle:
        handle.write(f"{uid} {uid} 1")
    with open("/proc/self/gid_map", "w") as handle:
        handle.write(f"{gid} {gid} 1")


def _namespaces(job, layers, notes):
    """Unshare network and mount namespaces (with a user namespace when not root)."""
    want_net = not job["network"]
    want_fs = job["readonly_fs"]
    flags = (CLONE_NEWNET if want_net else 0) | (CLONE_NEWNS if want_fs else 0)
    if not flags:
        return
    try:
        ctypes, libc = _libc()
    except Exception as exc:  # no ctypes (exotic builds): the audit layer still applies
        notes.append(f"namespaces: {exc}")
        return
    ok = libc.unshare(flags) == 0
    if not ok and os.geteuid() != 0:
        errno_first = ctypes.get_errno()
        if libc.unshare(flags | CLONE_NEWUSER) == 0:
            ok = True
            try:
                _write_id_maps()
            except OSError as exc:
                notes.append(f"userns id maps: {exc}")
        else:
            notes.append(f"unshare: errno {errno_first}/{ctypes.get_errno()}")
    elif not ok:
        notes.append(f"unshare: errno {ctypes.get_errno()}")
    if not ok:
        return
    if want_net:
        layers.append("netns")
    if want_fs:
        if _readonly_mounts(ctypes, libc, job["workdir"], notes):
            layers.append("fs-readonly")


def _readonly_mounts(ctypes, libc, workdir, notes):
    """Make every mount read-only except a bind mount of the work dir."""
    machine = os.uname().machine
    number = SYS_MOUNT_SETATTR.get(machine)
    if number is None:
        notes.append(f"fs-readonly: no mount_setattr number for {machine}")
        return False

    class MountAttr(ctypes.Structure):
        _fields_ = [
            ("attr_set", ctypes.c_uint64),
            ("attr_clr", ctypes.c_uint64),
            ("propagation", ctypes.c_uint64),
            ("userns_fd", ctypes.c_uint64),
        ]

    def check(result, what):
        if result != 0:
            raise OSError(ctypes.get_errno(), f"{what} failed")

    try:
        check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
        target = workdir.encode()
        check(libc.mount(target, target, None, MS_BIND | MS_REC, None), "bind work dir")
        set_ro = MountAttr(MOUNT_ATTR_RDONLY, 0, 0, 0)
        check(
            libc.syscall(number, AT_FDCWD, b"/", AT_RECURSIVE, ctypes.byref(set_ro),
                         ctypes.sizeof(set_ro)),
            "mount_setattr read-only",
        )
        clear_ro = MountAttr(0, MOUNT_ATTR_RDONLY, 0, 0)
        check(
            libc.syscall(number, AT_FDCWD, target, 0, ctypes.byref(clear_ro),
                         ctypes.sizeof(clear_ro)),
            "mount_setattr work dir writable",
        )
        os.chdir(workdir)  # the old cwd points below the bind mount, at the read-only copy
        return True
    except OSError as exc:
        notes.append(f"fs-readonly: {exc.strerror} (errno {exc.errno})")
        return False


def _drop_privileges(job, layers, notes):
    uid, gid = job.get("uid"), job.get("gid")
    if uid is None or os.geteuid() != 0:
        return
    try:
        os.chown(job["workdir"], uid, gid)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
        layers.append("uid-drop")
    except OSError as exc:
        notes.append(f"uid-drop: {exc}")


def _count_tasks(uid):
    """Threads owned by ``uid`` (RLIMIT_NPROC counts threads of the real user)."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as handle:
                owner = threads = None
                for line in handle:
                    if line.startswith("Uid:"):
                        owner = int(line.split()[1])
                    elif line.startswith("Threads:"):
                        threads = int(line.split()[1])
                if owner == uid:
                    total += threads or 1
        except (OSError, ValueError, IndexError):
            continue
    return total


def _rlimits(job, layers, notes):
    def limit(kind, value):
        soft, hard = value if isinstance(value, tuple) else (value, value)
        _, current_hard = resource.getrlimit(kind)
        if current_hard != resource.RLIM_INFINITY:
            soft, hard = min(soft, current_hard), min(hard, current_hard)
        resource.setrlimit(kind, (soft, hard))

    try:
        cpu = int(job["cpu_s"])
        limit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        memory = int(job["memory_mb"]) * 1024 * 1024
        limit(resource.RLIMIT_AS, memory)
        limit(resource.RLIMIT_FSIZE, int(job["max_file_bytes"]))
        limit(resource.RLIMIT_NOFILE, int(job["max_open_files"]))
        limit(resource.RLIMIT_CORE, 0)
        layers.append("rlimits")
    except (ValueError, OSError) as exc:
        notes.append(f"rlimits: {exc}")
    if os.getuid() != 0 and hasattr(resource, "RLIMIT_NPROC"):
        try:
            allowed = _count_tasks(os.getuid()) + int(job["max_processes"])
            limit(resource.RLIMIT_NPROC, allowed)
            layers.append("nproc")
        except (ValueError, OSError) as exc:
            notes.append(f"nproc: {exc}")


_PROCESS_EVENTS = frozenset({
    "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "subprocess.Popen", "os.kill", "os.killpg", "signal.pthread_kill", "pty.spawn",
})
_SOCKET_EVENTS = frozenset({
    "socket.__new__", "socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg",
    "socket.getaddrinfo", "socket.gethostbyname", "socket.gethostbyname_ex",
    "socket.gethostbyaddr", "socket.getnameinfo",
})
_PATH_EVENTS = {  # event -> indexes of path arguments that would be modified
    "os.remove": (0,), "os.rename": (0, 1), "os.rmdir": (0,), "os.mkdir": (0,),
    "os.chmod": (0,), "os.chown": (0,), "os.link": (0, 1), "os.symlink": (1,),
    "os.truncate": (0,), "os.utime": (0,), "shutil.rmtree": (0,), "os.chflags": (0,),
    "os.lchmod": (0,), "os.lchown": (0,), "os.setxattr": (0,), "os.removexattr": (0,),
    "sqlite3.connect": (0,),
}
_DANGEROUS_SYMBOLS = frozenset({
    "fork", "vfork", "clone", "clone3", "syscall", "system", "popen", "execve", "execv",
    "execvp", "execvpe", "execl", "execlp", "execle", "fexecve", "posix_spawn", "posix_spawnp",
    "socket", "socketpair", "connect", "bind", "unshare", "setns", "kill", "killpg", "tgkill",
    "ptrace", "mount", "umount", "umount2", "chroot", "pivot_root", "setuid", "setgid",
    "seteuid", "setresuid", "daemon", "prctl",
})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_ALLOWED_DEVICES = ("/dev/null", "/dev/stdout", "/dev/stderr", "/dev/zero")


def _install_guards(job, layers):
    workdir = os.path.realpath(job["workdir"])
    allow_network = job["network"]
    realpath = os.path.realpath
    fspath = os.fsdecode

    def inside(path):
        if isinstance(path, int):
            return True  # an already-open descriptor
        try:
            resolved = realpath(fspath(path))
        except (TypeError, ValueError):
            return False
        return (
            resolved == workdir
            or resolved.startswith(workdir + os.sep)
            or resolved in _ALLOWED_DEVICES
            or resolved.startswith("/proc/self/fd/")
        )

    def deny(event, detail=""):
        raise PermissionError(f"sandbox: {event} is not allowed{detail}")

    def hook(event, args):
        if event == "open":
            path, mode, flags = (list(args) + [None, None, None])[:3]
            writing = (isinstance(flags, int) and flags & _WRITE_FLAGS) or (
                isinstance(mode, str) and any(c in mode for c in "wax+")
            )
            if writing and not inside(path):
                deny("writing outside the sandbox", f": {path!r}")
        elif event in _PROCESS_EVENTS:
            deny(event)
        elif event in _SOCKET_EVENTS and not allow_network:
            deny(event, " (no network in the sandbox)")
        elif event in _PATH_EVENTS:
            for index in _PATH_EVENTS[event]:
                if index < len(args) and args[index] is not None and not inside(args[index]):
                    deny(event, f" outside the sandbox: {args[index]!r}")
        elif event == "ctypes.dlsym":
            name = args[1] if len(args) > 1 else None
            if isinstance(name, str) and name in _DANGEROUS_SYMBOLS:
                deny(f"ctypes access to {name}")
        elif event == "ctypes.dlsym/handle":
            name = args[1] if len(args) > 1 else None
            if isinstance(name, str) and name in _DANGEROUS_SYMBOLS:
                deny(f"ctypes access to {name}")

    # process creation that bypasses the audited entry points
    try:
        import _posixsubprocess

        def _no_fork_exec(*args, **kwargs):
            raise PermissionError("sandbox: creating processes is not allowed")

        _posixsubprocess.fork_exec = _no_fork_exec
    except ImportError:
        pass
    sys.addaudithook(hook)
    layers.append("audit")


def main():
    result_fd = int(sys.argv[1])
    job_fd = int(sys.argv[2])
    job = _read_job(job_fd)
    nonce = job["nonce"]
    layers, notes = [], []

    def report(line):
        os.write(result_fd, (line + "\n").encode("utf-8"))

    if job.get("cgroup"):
        _join_cgroup(job["cgroup"], layers, notes)
    _namespaces(job, layers, notes)
    _drop_privileges(job, layers, notes)
    _rlimits(job, layers, notes)
    if job["audit"]:
        _install_guards(job, layers)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # oversized writes raise OSError instead
    report("S " + nonce + " " + json.dumps({"layers": layers, "notes": notes}))

    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    status, error = "passed", None
    clock = time.monotonic
    began = clock()
    try:
        exec(compile(job["code"], "<solution>", "exec"), namespace)
        if job["tests"]:
            exec(compile(job["tests"], "<tests>", "exec"), namespace)
    except SystemExit as exc:
        code = exc.code
        if not (job["allow_exit"] and code in (0, None)):
            status, error = "failed", f"SystemExit({code!r}) before the tests finished"
    except MemoryError:
        status, error = "memory", "MemoryError: the memory limit was reached"
    except RecursionError as exc:
        status, error = "failed", f"RecursionError: {exc}"
    except BaseException as exc:  # the program under test failed: report, do not crash
        import traceback

        status = "failed"
        error = f"{type(exc).__name__}: {exc}"[:2000]
        try:
            traceback.print_exc(limit=8)
        except BaseException:
            pass
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        pass
    elapsed = clock() - began
    report("R " + nonce + " " + json.dumps({"status": status, "error": error, "elapsed": elapsed}))
    os._exit(0)


if __name__ == "__main__":
    main()
