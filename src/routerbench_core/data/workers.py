"""An ordered pool of worker processes for the streamed import (the parallel parse).

Why not :mod:`multiprocessing`: its ``spawn`` and ``forkserver`` start methods import the
caller's main module in every worker (a script without an ``if __name__ == "__main__"``
guard then starts the import again in each), and ``fork`` copies a process whose other
threads (the import's writer, SQLite) may hold locks. A worker here is a fresh
``python -m routerbench_core.data.workers MODULE:FUNCTION`` that reads pickled argument
tuples from its stdin and writes pickled results to its stdout, one per task, in order.

Tasks go to the workers in turn (task ``i`` to worker ``i % n``) and results come back in
task order, so the caller sees exactly the sequence a serial loop would: the first error
raised is the first one in task order. Only rbench's own code runs in a worker and only this
module reads its pipes, so pickle carries nothing untrusted.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import subprocess
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from routerbench_core.processes import release_free_memory


class WorkerError(RuntimeError):
    """A worker process died (killed, out of memory) before it returned a result."""


def ordered_map(target: str, tasks: Iterable[tuple[Any, ...]], workers: int,
                ahead: int = 2) -> Iterator[Any]:
    """``target(*task)`` for each task, computed by ``workers`` processes, yielded in task
    order. ``target`` is ``"package.module:function"``. At most ``ahead`` tasks per worker
    are queued, so results waiting to be consumed stay bounded. An exception raised by a
    task is raised here, at its place in the order; leaving the loop early stops the
    workers."""
    root = str(Path(__file__).resolve().parents[2])  # the folder that holds routerbench_core
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    procs = [subprocess.Popen([sys.executable, "-m", __name__, target], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, env=env) for _ in range(max(workers, 1))]
    queued: deque[int] = deque()  # worker of each task in flight, in task order
    todo = iter(tasks)
    n = len(procs)
    sent = 0
    try:
        def send() -> bool:
            nonlocal sent
            task = next(todo, None)
            if task is None:
                return False
            worker = sent % n
            stdin = procs[worker].stdin
            assert stdin is not None
            pickle.dump(task, stdin, protocol=pickle.HIGHEST_PROTOCOL)
            stdin.flush()
            queued.append(worker)
            sent += 1
            return True

        for _ in range(n * ahead):
            if not send():
                break
        while queued:
            worker = queued.popleft()
            kind, value = _receive(procs[worker])
            send()
            if kind == "error":
                raise value
            yield value
    finally:
        for proc in procs:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


def _receive(proc: subprocess.Popen[bytes]) -> tuple[str, Any]:
    assert proc.stdout is not None
    try:
        return pickle.load(proc.stdout)  # type: ignore[no-any-return]
    except EOFError:
        code = proc.wait()
        raise WorkerError(f"an import worker process exited (code {code}) before returning "
                          "its result; if it was killed for memory, set "
                          "RBENCH_IMPORT_WORKERS=0 to parse in one process") from None


def _serve(target: str, stdin: IO[bytes], stdout: IO[bytes]) -> None:
    module, _, name = target.partition(":")
    func = getattr(importlib.import_module(module), name)
    while True:
        try:
            task = pickle.load(stdin)
        except EOFError:
            return
        try:
            reply: tuple[str, Any] = ("ok", func(*task))
        except Exception as exc:  # handed to the caller, raised there in task order
            try:
                pickle.dumps(exc)
                reply = ("error", exc)
            except Exception:
                reply = ("error", RuntimeError(f"{type(exc).__name__}: {exc}"))
        pickle.dump(reply, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()
        del reply, task  # not alive while the next task runs
        release_free_memory()  # the task's freed heap (parsed JSON) goes back to the system


def main() -> None:
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the result stream
    try:
        _serve(sys.argv[1], sys.stdin.buffer, out)
    except (BrokenPipeError, KeyboardInterrupt):
        pass  # the caller stopped


if __name__ == "__main__":
    main()
