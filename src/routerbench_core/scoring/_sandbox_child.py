"""The fork server that runs inside the sandbox, its job runners, and the plain-data codec.

This file is run as a script inside a bubblewrap sandbox (see :mod:`routerbench_core.scoring.
sandbox`); it is stdlib-only and imports nothing from the project. The grader imports it only
for :func:`encode` / :func:`decode` (one codec on both sides of the boundary).

Start-up, in the sandbox's fresh pid, mount, network, IPC and UTS namespaces:

1. *Stage 1* (only when started as root): become uid/gid 65534 with no supplementary groups,
   set ``no_new_privs``, create a user namespace mapping 65534 to itself, empty the capability
   bounding set, and re-execute the interpreter, which clears every other capability.
2. *Stage 2*: mark itself non-dumpable (no answer can ptrace it or open its ``/proc`` files),
   pre-import the modules answers commonly use, load a seccomp filter (x86_64: no new user
   namespaces, no ptrace/mount/bpf/keyctl/...), report ``ready`` and serve jobs.

Per job the server forks a child that sets rlimits, starts its own session in a fresh work
dir under ``/tmp`` and runs the job; the server waits with a deadline, then kills every other
process in the pid namespace (it is pid 1 there, so ``kill(-1)`` reaches exactly the job's
processes and an answer cannot kill it: pid 1 ignores signals it has no handler for), and
wipes ``/tmp``. The child reports results on its own pipe; the server relays those bytes
unchanged. Verdicts are never decided here: the trusted grader decodes the bytes strictly
and compares.

Messages between grader and server: a 4-byte big-endian length, then UTF-8 JSON.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import struct
import sys
import time

# -- plain-data codec -------------------------------------------------------------------------
#
# A value is a JSON array [tag, payload]. Only builtin types; no object with custom equality,
# no pickles. The decoder checks every node and caps depth and size.

MAX_DEPTH = 200
MAX_NODES = 2_000_000


class CodecError(ValueError):
    """A value is not plain data (or a wire value is malformed)."""


def encode(value, _depth=0):
    if _depth > MAX_DEPTH:
        raise CodecError("nested too deeply")
    kind = type(value)
    if value is None:
        return ["N"]
    if kind is bool:
        return ["B", value]
    if kind is int:
        return ["I", str(value)]
    if kind is float:
        return ["F", repr(value)]
    if kind is str:
        return ["S", value]
    if kind is bytes:
        return ["Y", base64.b64encode(value).decode("ascii")]
    if kind is complex:
        return ["C", repr(value.real), repr(value.imag)]
    if kind is list:
        return ["L", [encode(v, _depth + 1) for v in value]]
    if kind is tuple:
        return ["T", [encode(v, _depth + 1) for v in value]]
    if kind is dict:
        return ["D", [[encode(k, _depth + 1), encode(v, _depth + 1)] for k, v in value.items()]]
    if kind is set or kind is frozenset:
        items = [encode(v, _depth + 1) for v in value]
        items.sort(key=lambda e: json.dumps(e))
        return ["Z" if kind is set else "R", items]
    raise CodecError(f"a {kind.__module__}.{kind.__qualname__} is not plain data")


def _float(text):
    if type(text) is not str or len(text) > 40:
        raise CodecError("bad float")
    try:
        return float(text)
    except ValueError:
        raise CodecError("bad float") from None


def decode(tree):
    """The value ``tree`` encodes, built from builtin types only (raises :class:`CodecError`)."""
    budget = [MAX_NODES]

    def walk(node, depth):
        budget[0] -= 1
        if budget[0] < 0 or depth > MAX_DEPTH:
            raise CodecError("value too large or nested too deeply")
        if type(node) is not list or not node or type(node[0]) is not str:
            raise CodecError("malformed value")
        tag, rest = node[0], node[1:]
        if tag == "N" and not rest:
            return None
        if len(rest) == 2 and tag == "C":
            return complex(_float(rest[0]), _float(rest[1]))
        if len(rest) != 1:
            raise CodecError(f"malformed value with tag {tag!r}")
        payload = rest[0]
        if tag == "B" and type(payload) is bool:
            return payload
        if tag == "I" and type(payload) is str and 0 < len(payload) <= 4300:
            try:
                return int(payload)
            except ValueError:
                raise CodecError("bad int") from None
        if tag == "F":
            return _float(payload)
        if tag == "S" and type(payload) is str:
            return payload
        if tag == "Y" and type(payload) is str:
            try:
                return base64.b64decode(payload, validate=True)
            except ValueError:
                raise CodecError("bad bytes") from None
        if tag in "LTZRD" and type(payload) is list and len(tag) == 1:
            if tag == "D":
                out = {}
                for pair in payload:
                    if type(pair) is not list or len(pair) != 2:
                        raise CodecError("malformed dict item")
                    key = walk(pair[0], depth + 1)
                    try:
                        out[key] = walk(pair[1], depth + 1)
                    except TypeError:
                        raise CodecError("unhashable dict key") from None
                return out
            items = [walk(v, depth + 1) for v in payload]
            if tag == "L":
                return items
            if tag == "T":
                return tuple(items)
            try:
                return set(items) if tag == "Z" else frozenset(items)
            except TypeError:
                raise CodecError("unhashable set item") from None
        raise CodecError(f"unknown or malformed tag {tag!r}")

    return walk(tree, 0)


def decode_json(text):
    """:func:`decode` of a JSON text (NaN/Infinity literals refused: floats travel as text)."""
    def refuse(name):
        raise CodecError(f"JSON constant {name} is not allowed")

    try:
        tree = json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError) as exc:
        raise CodecError(f"not JSON: {exc}") from None
    return decode(tree)


# -- job runners (in the forked child) ------------------------------------------------------


class CaseTimeout(BaseException):
    """Not an Exception: an answer's ``except Exception`` must not swallow the time limit."""


def _alarm(signum, frame):
    raise CaseTimeout()


class _Out:
    """Line-oriented writes to the result pipe (fd 3)."""

    def __init__(self):
        self.fd = 3

    def line(self, obj):
        data = (json.dumps(obj) + "\n").encode("utf-8", "replace")
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]


def _outcome(fn, args, kwargs):
    try:
        value = fn(*args, **kwargs)
    except CaseTimeout:
        return ["timeout"]
    except BaseException as exc:  # noqa: BLE001 - the answer's exception is data
        return ["raise", type(exc).__name__, str(exc)[:200]]
    try:
        return ["ok", encode(value)]
    except (CodecError, RecursionError) as exc:
        return ["unencodable", str(exc)[:200]]


def _timed(seconds):
    if seconds:
        signal.setitimer(signal.ITIMER_REAL, float(seconds))


def run_calls(job, out):
    """Define the answer, then call ``entry`` (or ``Solution().entry``) once per case."""
    namespace = {"__name__": "__main__"}
    exec(compile(job["code"], "<answer>", "exec"), namespace)
    fn = namespace.get(job["entry"]) if job.get("style") != "method" else None
    if job.get("style") == "method":
        cls = namespace.get("Solution")
        fn = getattr(cls(), job["entry"], None) if cls is not None else None
    if not callable(fn):
        out.line({"error": f"the answer defines no callable {job['entry']!r}"})
        return
    per_case = job.get("per_case_timeout")
    for args, kwargs in job["calls"]:
        _timed(per_case)
        try:
            result = _outcome(fn, decode(args), decode(kwargs))
        except CaseTimeout:
            result = ["timeout"]
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        out.line({"call": result})


class _Recorder:
    def __init__(self, fn):
        self.fn, self.calls = fn, []

    def __call__(self, *args, **kwargs):
        entry = [encode(args), encode(kwargs)]  # before the call: it may mutate its arguments
        value = self.fn(*args, **kwargs)
        entry.append(encode(value))
        self.calls.append(entry)
        return value


class _Replayer:
    def __init__(self, answers):
        self.answers, self.index = answers, 0

    def __call__(self, *args, **kwargs):
        if self.index >= len(self.answers):
            raise AssertionError("the test made more calls than were recorded")
        want_args, want_kwargs, outcome = self.answers[self.index]
        self.index += 1
        if encode(args) != want_args or encode(kwargs) != want_kwargs:
            raise AssertionError("the test's calls depend on the answer's earlier results")
        if outcome[0] == "ok":
            return decode(outcome[1])
        raise AssertionError(f"the answer's call ended with {outcome[0]}: {outcome[1:]}")


def _drive(job, candidate):
    """Run the trusted test with ``candidate`` standing for the tested function."""
    import random

    namespace = {"__name__": "__test__"}
    if job.get("test_setup"):
        exec(compile(job["test_setup"], "<test setup>", "exec"), namespace)
    random.seed(0)
    namespace[job["entry"]] = candidate  # tests may also call the function by its name
    exec(compile(job["test"], "<test>", "exec"), namespace)
    if job["driver"] == "check":  # HumanEval: the test defines check(candidate)
        namespace["check"](candidate)


def run_record(job, out):
    """Expected values: the trusted test driven by the reference solution, calls recorded."""
    reference_ns = {"__name__": "__reference__"}
    exec(compile(job["reference"], "<reference>", "exec"), reference_ns)
    recorder = _Recorder(reference_ns[job["entry"]])
    try:
        _drive(job, recorder)
    except (CodecError, RecursionError) as exc:
        out.line({"decomposable": False, "reason": f"not plain data: {exc}"})
        return
    except CaseTimeout:
        raise
    except BaseException as exc:  # noqa: BLE001
        out.line({"decomposable": False,
                  "reason": f"the reference fails its own test: {type(exc).__name__}: {exc}"})
        return
    out.line({"decomposable": True, "calls": recorder.calls})


class _Collect:
    def __init__(self):
        self.lines = []

    def line(self, obj):
        self.lines.append(obj)


def run_record_many(job, out):
    """:func:`run_record` for many items in one process (trusted code only: references and
    tests), each under its own time limit; an item that does not finish is left out."""
    per_item = job.get("per_item_timeout")
    for index, item in enumerate(job["items"]):
        collect = _Collect()
        _timed(per_item)
        try:
            run_record(item, collect)
        except CaseTimeout:
            continue
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if collect.lines:
            out.line({"index": index, **collect.lines[0]})


def run_replay(job, out):
    """The trusted test's asserts applied to the answer's returned values (plain data)."""
    replayer = _Replayer(job["answers"])
    try:
        _drive(job, replayer)
    except BaseException as exc:  # noqa: BLE001
        out.line({"passed": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
        return
    if replayer.index != len(replayer.answers):
        out.line({"passed": False, "error": "the test made fewer calls than recorded"})
        return
    out.line({"passed": True})


def run_stdio(job, out):
    """Run a stdin/stdout program once per input; report what it printed."""
    import builtins
    import io
    import threading

    compiled = compile(job["code"], "<answer>", "exec")
    limit = int(job.get("max_output_bytes", 1 << 20))
    for text in job["inputs"]:
        data = text.encode("utf-8")
        buffer = io.BytesIO()
        stdout = io.TextIOWrapper(buffer, encoding="utf-8", write_through=True)
        real_open, saved = builtins.open, (sys.stdin, sys.stdout)

        def open_stdin(file, mode="r", *args, _data=data, _open=real_open, **kwargs):
            if file == 0:  # open(0).read() is the case input, not the real descriptor
                return io.BytesIO(_data) if "b" in mode else io.StringIO(_data.decode("utf-8"))
            return _open(file, mode, *args, **kwargs)

        sys.stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
        sys.stdout, builtins.open = stdout, open_stdin
        status = "ok"
        _timed(job.get("per_case_timeout"))
        try:
            exec(compiled, {"__name__": "__main__", "__builtins__": builtins})
            for thread in threading.enumerate():  # the threading.Thread(target=main) idiom
                if thread is not threading.main_thread() and not thread.daemon:
                    thread.join()
        except CaseTimeout:
            status = "timeout"
        except SystemExit:
            pass
        except BaseException as exc:  # noqa: BLE001
            status = f"raise {type(exc).__name__}"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            with_flush = stdout
            try:
                with_flush.flush()
            except Exception:  # noqa: BLE001
                pass
            sys.stdin, sys.stdout = saved
            builtins.open = real_open
        printed = buffer.getvalue()[:limit].decode("utf-8", "replace")
        out.line({"case": status, "stdout": printed})


def run_script(job, out):
    """Whole mode: the answer and the test in one namespace (see the docs for its limits)."""
    namespace = {"__name__": "__main__"}
    exec(compile(job["code"], "<answer>", "exec"), namespace)
    if job.get("test"):
        exec(compile(job["test"], "<test>", "exec"), namespace)
    out.line({"completed": True})


RUNNERS = {"calls": run_calls, "record": run_record, "record_many": run_record_many,
           "replay": run_replay,
           "stdio": run_stdio, "script": run_script}


# -- the server -----------------------------------------------------------------------------

_PRELOAD = ("math", "re", "string", "collections", "itertools", "functools", "heapq", "bisect",
            "typing", "random", "copy", "fractions", "decimal", "statistics", "operator",
            "hashlib", "datetime", "io", "threading", "ast", "json", "base64", "array",
            "numbers", "dataclasses", "enum", "textwrap", "unicodedata", "contextlib",
            "resource", "select", "shutil", "traceback", "builtins",
            "numpy")  # the seed's import block (scoring.code.SEED_IMPORT_PREAMBLE) imports it


def _libc():
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _stage1():
    """Root inside the new namespaces: become 65534 in a user namespace of our own."""
    import ctypes

    libc = _libc()
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    libc.prctl(4, 1, 0, 0, 0)  # dumpable again, so we may write our own id maps
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        raise OSError(ctypes.get_errno(), "unshare(CLONE_NEWUSER)")
    for name, text in (("setgroups", "deny"), ("uid_map", "65534 65534 1"),
                       ("gid_map", "65534 65534 1")):
        with open(f"/proc/self/{name}", "w") as handle:
            handle.write(text)
    for cap in range(64):  # PR_CAPBSET_DROP, with the CAP_SETPCAP the new namespace gave us
        if libc.prctl(24, cap, 0, 0, 0) != 0:
            if ctypes.get_errno() == 22:  # past the last capability
                break
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap})")
    os.execv(sys.executable, [sys.executable, *sys.orig_argv[1:-1], "serve"])


#: x86_64 system calls refused with EPERM: namespace creation is filtered by flag below; these
#: are kernel attack surface an answer never needs.
_SECCOMP_DENY = {"ptrace": 101, "mount": 165, "umount2": 166, "pivot_root": 155, "setns": 308,
                 "keyctl": 250, "add_key": 248, "request_key": 249, "bpf": 321,
                 "perf_event_open": 298, "userfaultfd": 323, "io_uring_setup": 425,
                 "open_by_handle_at": 304, "kexec_load": 246, "init_module": 175,
                 "finit_module": 313}


def _seccomp_program():
    """A classic-BPF seccomp filter (x86_64): no new user namespaces (``unshare``/``clone``
    with CLONE_NEWUSER; ``clone3`` answers ENOSYS so libc falls back to ``clone``), no x32
    calls, and the calls in :data:`_SECCOMP_DENY` refused."""
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    code = [("ld", 4), ("jeq", 0xC000003E, None, "ALLOW"), ("ld", 0),
            ("jge", 0x40000000, "EPERM", None), ("jeq", 435, "ENOSYS", None),
            ("jeq", 56, "FLAGS", None), ("jeq", 272, "FLAGS", None)]
    code += [("jeq", nr, "EPERM", None) for nr in sorted(_SECCOMP_DENY.values())]
    code += [("ret", allow), ("label", "FLAGS"), ("ld", 16),
             ("jset", 0x10000000, "EPERM", "ALLOW"), ("label", "EPERM"), ("ret", eperm),
             ("label", "ENOSYS"), ("ret", enosys), ("label", "ALLOW"), ("ret", allow)]
    labels, pos = {}, 0
    for item in code:
        if item[0] == "label":
            labels[item[1]] = pos
        else:
            pos += 1
    out, pos = [], 0
    for item in code:
        if item[0] == "label":
            continue
        op = item[0]
        if op in ("ld", "ret"):
            out.append(struct.pack("HBBI", ld if op == "ld" else ret, 0, 0, item[1]))
        else:
            jt, jf = (0 if t is None else labels[t] - pos - 1 for t in item[2:4])
            out.append(struct.pack("HBBI", {"jeq": jeq, "jge": jge, "jset": jset}[op], jt, jf,
                                   item[1]))
        pos += 1
    return b"".join(out), len(out)


def _install_seccomp():
    """Load the filter (needs no_new_privs, which stage 1 set). False where not x86_64."""
    import ctypes
    import platform

    if platform.machine() not in ("x86_64", "AMD64"):
        return False
    program, count = _seccomp_program()
    buffer = ctypes.create_string_buffer(program)

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    prog = SockFprog(count, ctypes.addressof(buffer))
    libc = _libc()
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:  # PR_SET_SECCOMP, MODE_FILTER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")
    return True


def _read_exact(fd, n):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _send(fd, obj):
    data = json.dumps(obj).encode("utf-8")
    data = struct.pack(">I", len(data)) + data
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _set_limits(limits):
    import resource

    def cap(which, value):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            soft, hard = resource.getrlimit(which)
            resource.setrlimit(which, (min(value, hard) if hard >= 0 else value, hard))

    cap(resource.RLIMIT_AS, int(limits["memory_mb"]) * 1024 * 1024)
    cap(resource.RLIMIT_CPU, int(limits["cpu_s"]))
    cap(resource.RLIMIT_FSIZE, int(limits["max_file_bytes"]))
    cap(resource.RLIMIT_NOFILE, int(limits["max_open_files"]))
    cap(resource.RLIMIT_CORE, 0)
    cap(resource.RLIMIT_NPROC, int(limits["max_processes"]) + 8)


def _child(job, workdir, result_w, log_w, exit_now):
    try:
        os.setsid()
        null = os.open("/dev/null", os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(log_w, 1)
        os.dup2(log_w, 2)
        os.dup2(result_w, 3)
        os.closerange(4, 1024)  # the server holds a handful of descriptors, all below
        os.chdir(workdir)
        os.environ.update({"HOME": workdir, "TMPDIR": workdir})
        _set_limits(job["limits"])
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)
        signal.signal(signal.SIGALRM, _alarm)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for name, text in (job.get("files") or {}).items():
            with open(name, "w", encoding="utf-8") as handle:
                handle.write(text)
        RUNNERS[job["kind"]](job, _Out())
        code = 0
    except MemoryError:
        code = 3
    except BaseException:  # noqa: BLE001 - reported as the job's stderr tail
        import traceback

        try:
            traceback.print_exc()
        except BaseException:  # noqa: BLE001
            pass
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    exit_now(code)


def _kill_rest(child_pid, pid1):
    """Kill every process of the job; reap them all."""
    for _ in range(200):
        if pid1:
            try:
                os.kill(-1, signal.SIGKILL)  # as pid 1: everything in the namespace but us
            except ProcessLookupError:
                pass
        else:
            try:
                os.killpg(child_pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            while True:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    break
        except ChildProcessError:
            return
        time.sleep(0.005)


def _wipe(root):
    import shutil

    def unlock(func, path, exc_info):
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    # the interpreter's own read-only tree may be mounted under the root (a checkout in /tmp):
    # it is never the answer's and is left alone
    interpreter = [os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.executable)]
    for name in os.listdir(root):
        path = os.path.join(root, name)
        if any(t == path or t.startswith(path + os.sep) for t in interpreter):
            continue
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, onerror=unlock)
        else:
            try:
                os.unlink(path)
            except OSError:
                pass


def _serve_job(job, number, root, pid1):
    import select

    workdir = os.path.join(root, f"job{number}")
    os.mkdir(workdir, 0o700)
    result_r, result_w = os.pipe()
    log_r, log_w = os.pipe()
    started = time.monotonic()
    exit_now = os._exit  # bound before the answer runs: it may clobber module globals
    pid = os.fork()
    if pid == 0:
        try:
            _child(job, workdir, result_w, log_w, exit_now)
        finally:
            exit_now(70)  # never return into the server's loop
    os.close(result_w)
    os.close(log_w)
    limit = int(job["limits"]["max_output_bytes"])
    chunks = {result_r: [], log_r: []}
    sizes = {result_r: 0, log_r: 0}
    open_fds = {result_r, log_r}
    deadline = started + float(job["limits"]["timeout_s"])
    timed_out, status = False, None
    exited_at = None
    while open_fds:
        now = time.monotonic()
        if status is None:
            done, wait_status = os.waitpid(pid, os.WNOHANG)
            if done:
                status, exited_at = wait_status, now
        if exited_at is not None and now - exited_at > 0.05:
            break  # a descendant holds the pipes open: stop listening
        if now >= deadline:
            timed_out = True
            break
        ready, _, _ = select.select(list(open_fds), [], [], min(deadline - now, 0.02))
        for fd in ready:
            data = os.read(fd, 65536)
            if not data:
                open_fds.discard(fd)
                continue
            if sizes[fd] < limit:
                chunks[fd].append(data[: limit - sizes[fd]])
            sizes[fd] += len(data)
    elapsed = time.monotonic() - started
    if status is None and not timed_out:
        _, status = os.waitpid(pid, 0)
    _kill_rest(pid, pid1)
    for fd in (result_r, log_r):
        os.close(fd)
    _wipe(root)
    reply = {"elapsed": elapsed, "timed_out": timed_out,
             "result": b"".join(chunks[result_r]).decode("utf-8", "replace"),
             "result_truncated": sizes[result_r] > limit,
             "log": b"".join(chunks[log_r])[-4000:].decode("utf-8", "replace")}
    if status is not None:
        if os.WIFSIGNALED(status):
            reply["signal"] = os.WTERMSIG(status)
        elif os.WIFEXITED(status):
            reply["exit"] = os.WEXITSTATUS(status)
    return reply


def serve():
    libc = _libc()
    libc.prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no ptrace, no /proc/1/fd for answers
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in _PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    import gc

    gc.collect()
    gc.freeze()  # forked jobs then share the server's pages instead of copying them
    pid1 = os.getpid() == 1
    seccomp = _install_seccomp() if pid1 else False  # pid 1: inside the sandbox
    channel_in, channel_out = os.dup(0), os.dup(1)
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    root = os.environ.get("RBENCH_SANDBOX_ROOT", "/tmp")
    _send(channel_out, {"ready": True, "pid": os.getpid(), "uid": os.getuid(),
                        "pid1": pid1, "seccomp": seccomp, "python": sys.version.split()[0]})
    number = 0
    while True:
        try:
            size = struct.unpack(">I", _read_exact(channel_in, 4))[0]
            job = json.loads(_read_exact(channel_in, size))
        except EOFError:
            return
        number += 1
        _send(channel_out, _serve_job(job, number, root, pid1))


if __name__ == "__main__":
    if sys.argv[-1] == "stage1" and os.getuid() == 0:
        _stage1()
    serve()
