"""``rbench serve --workers N``: N server processes answering on one port.

Why: one Python process handles its requests one at a time on its event loop, so at high
concurrency a request waits behind the CPU work of those that arrived with it (about half a
millisecond each on the machine in bench/serve_overhead.py); that wait, not routing, is most
of what a busy server adds. N processes that listen on the same port with ``SO_REUSEPORT`` let
the kernel spread connections over N event loops, and so over N cores.

Each worker is a fresh interpreter (``spawn``: no state is inherited from a forked parent with
threads) that loads the artefact and the embedder, opens the store and records its own
requests; SQLite's WAL lets them write side by side. Per-key budgets are shared through the
store: each worker re-reads the keys' spend every ``budget_sync_s`` (see
``RouterServer._sync_spend``). The parent only starts, watches and stops the workers: if one
dies, the others are stopped and the command fails, so a supervisor (systemd, Kubernetes) sees
one failed service rather than a server running short of capacity.
"""

from __future__ import annotations

import logging
import signal
import socket
import time
from dataclasses import dataclass
from typing import Any

from routerbench_core.serving.server import ServeError

#: How long a worker may take to load the artefact and the embedder and bind.
START_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker process needs to build its server (picklable)."""

    artefact: str
    config: dict[str, Any]  # ServeConfig.model_dump()
    store_path: str | None
    bind: str
    port: int
    api_key: str | None
    log_level: str


def _worker_main(spec: WorkerSpec, index: int, ready: Any) -> None:
    """One worker: build the server, report the port it bound (or why it could not), serve
    until SIGTERM/SIGINT, then finish its requests and flush its records."""
    from routerbench_core.data.store import Store
    from routerbench_core.plugins.manager import make_plugin_manager
    from routerbench_core.serving.config import ServeConfig
    from routerbench_core.serving.server import build_server, log_to_stderr, serve_until_signalled

    log_to_stderr(spec.log_level, worker=index)
    try:
        store = Store(spec.store_path)
        server = build_server(spec.artefact, ServeConfig.model_validate(spec.config), store,
                              make_plugin_manager(), bind=spec.bind, port=spec.port,
                              api_key=spec.api_key, worker=index)
    except Exception as exc:  # reported to the parent, which prints it and stops the others
        ready.put((index, None, f"{type(exc).__name__}: {exc}"))
        return
    try:
        serve_until_signalled(server, lambda started: ready.put((index, started.port, None)))
    except OSError as exc:
        ready.put((index, None, f"cannot bind {spec.bind}:{spec.port}: {exc}"))
    finally:
        store.close()


def _reserve_port(bind: str) -> socket.socket:
    """A socket bound (not listening) to a free port with SO_REUSEPORT, held while the
    workers bind the same port, so ``--port 0`` gives all of them one port."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((bind, 0))
    return sock


def serve_workers(spec: WorkerSpec, workers: int, on_ready: Any) -> int:
    """Run ``workers`` server processes on one port until SIGINT/SIGTERM; returns the exit
    code (0 on a requested stop, 1 when a worker died). ``on_ready(url)`` is called once every
    worker listens."""
    import multiprocessing
    import queue

    if not hasattr(socket, "SO_REUSEPORT"):
        raise ServeError("--workers needs SO_REUSEPORT (Linux, macOS, BSD); use --workers 1")
    held = _reserve_port(spec.bind) if spec.port == 0 else None
    port = held.getsockname()[1] if held is not None else spec.port
    spec = WorkerSpec(**{**spec.__dict__, "port": port})
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    procs = [ctx.Process(target=_worker_main, args=(spec, i, ready), name=f"rbench-serve-{i}")
             for i in range(workers)]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        for p in procs:
            p.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        started = 0
        while started < workers:
            if stopping:
                return 0
            try:
                index, _bound, error = ready.get(timeout=0.5)
            except queue.Empty:
                dead = [p for p in procs if not p.is_alive()]
                if dead:
                    raise ServeError(f"worker {dead[0].name} exited with code "
                                     f"{dead[0].exitcode} while starting") from None
                if time.monotonic() > deadline:
                    raise ServeError(f"the workers did not start within {START_TIMEOUT_S:g} s"
                                     ) from None
                continue
            if error is not None:
                raise ServeError(f"worker {index} could not start: {error}")
            started += 1
        if held is not None:
            held.close()
            held = None
        host = f"[{spec.bind}]" if ":" in spec.bind else spec.bind
        on_ready(f"http://{host}:{port}/v1")
        while not stopping:
            dead = [p for p in procs if not p.is_alive()]
            if dead:
                logging.getLogger("rbench.serve").error(
                    "worker %s exited with code %s; stopping the others", dead[0].name,
                    dead[0].exitcode)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        if held is not None:
            held.close()
        for p in procs:
            if p.is_alive():
                p.terminate()  # SIGTERM: the worker finishes and flushes its records
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.kill()
                p.join(5)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
