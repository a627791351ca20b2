"""Hard time and memory limits for scorers that might not return (symbolic math).

Why a separate process: a comparison such as ``9^{9^{9^{9}}}`` against ``2``, or
``(10^{8})!``, can run for hours inside sympy or the big-integer code, in C, where no signal
or thread timeout reaches it. The only limit that always holds is killing a process. So a
bounded function runs in a long-lived worker process (started once from a fork server with
the scorer's modules pre-imported, so a call costs a pipe round trip, not an import); when a
call runs past its deadline the worker is killed and :class:`ScorerTimeout` is raised; the
next call gets a fresh worker. The worker also has an address-space limit, so a huge
intermediate value ends in ``MemoryError`` instead of swapping the machine.

:func:`time_limited` wraps a module-level function; the wrapped function has the same
signature. Inside the worker the wrapper calls the function directly (no nesting).
"""

from __future__ import annotations

import functools
import importlib
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ScorerTimeout", "bounded_call", "time_limited"]

F = TypeVar("F", bound=Callable[..., Any])

#: Address-space limit of a scorer worker (MiB).
WORKER_MEMORY_MB = 4096
_IN_WORKER = False


class ScorerTimeout(RuntimeError):
    """A scorer ran past its hard time limit (its worker was killed)."""


def _resolve(target: str) -> Callable[..., Any]:
    module, _, name = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj  # type: ignore[no-any-return]


def _worker_main(conn: Any, memory_mb: int) -> None:
    global _IN_WORKER
    _IN_WORKER = True
    try:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    except (ImportError, ValueError, OSError):
        pass
    while True:
        try:
            target, args, kwargs = conn.recv()
        except (EOFError, OSError):
            return
        try:
            conn.send(("ok", _resolve(target)(*args, **kwargs)))
        except BaseException as exc:  # noqa: BLE001 - sent back to the caller
            conn.send(("error", type(exc).__name__, str(exc)[:2000]))


class _Worker:
    def __init__(self, preload: list[str]) -> None:
        import multiprocessing

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([__name__, *preload])
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_worker_main, args=(child, WORKER_MEMORY_MB), daemon=True,
                                name="rbench-scorer")
        self.proc.start()
        child.close()

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.join(5)
        except (OSError, ValueError, AssertionError):
            pass
        self.conn.close()


_workers: dict[int, _Worker] = {}
_lock = threading.Lock()


def bounded_call(target: str, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None,
                 *, timeout_s: float, preload: tuple[str, ...] = ()) -> Any:
    """``target(*args, **kwargs)`` (``"module:function"``) in a worker, killed after
    ``timeout_s`` (:class:`ScorerTimeout`). Arguments and result travel by pickle between
    trusted processes. An exception in the call is raised here as ``RuntimeError`` naming it
    (``MemoryError`` stays ``MemoryError``)."""
    key = threading.get_ident()  # one worker per calling thread: calls never queue
    with _lock:
        worker = _workers.get(key)
    if worker is None or not worker.proc.is_alive():
        worker = _Worker([target.partition(":")[0], *preload])
        with _lock:
            _workers[key] = worker
    try:
        worker.conn.send((target, args, kwargs or {}))
        ready = worker.conn.poll(timeout_s)
        reply = worker.conn.recv() if ready else None
    except (EOFError, OSError, BrokenPipeError):
        reply = ("error", "WorkerDied", "the scorer's worker process died")
        ready = True
    if not ready or reply is None:
        worker.kill()
        with _lock:
            _workers.pop(key, None)
        raise ScorerTimeout(f"{target} did not finish within {timeout_s:g}s (killed)")
    if reply[0] == "ok":
        return reply[1]
    if reply[2:] and reply[1] == "WorkerDied":
        worker.kill()
        with _lock:
            _workers.pop(key, None)
    if reply[1] == "MemoryError":
        raise MemoryError(f"{target} exceeded the scorer memory limit ({WORKER_MEMORY_MB} MiB)")
    raise RuntimeError(f"{target} raised {reply[1]}: {reply[2]}")


def time_limited(target: str, fn: F, *, timeout_s: float, on_timeout: Any = ScorerTimeout,
                 preload: tuple[str, ...] = ()) -> F:
    """``fn`` (importable as ``target``), run by :func:`bounded_call`. ``on_timeout``: the value
    returned when the limit is hit or memory runs out (default: raise :class:`ScorerTimeout`).
    Set ``RBENCH_SCORER_IN_PROCESS=1`` to call ``fn`` directly (debugging only)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _IN_WORKER or os.environ.get("RBENCH_SCORER_IN_PROCESS") == "1":
            return fn(*args, **kwargs)
        try:
            return bounded_call(target, args, kwargs, timeout_s=timeout_s, preload=preload)
        except (ScorerTimeout, MemoryError):
            if on_timeout is ScorerTimeout:
                raise
            return on_timeout

    return wrapper  # type: ignore[return-value]
