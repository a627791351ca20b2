"""Run a producer a few items ahead in a background thread (the streamed import's stages).

Why threads and not processes: the expensive parts of an import that are not Python code
(SQLite's page writes, zstd compression) release the GIL, so parsing, compressing and writing
overlap on a multi-core machine without copying rows between processes.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from typing import Any


def prefetched(items: Iterable[Any], depth: int = 2) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, ``depth`` ahead: a streamed import parses the
    next chunk (JSON decoding, validation, compression) while SQLite writes this one (SQLite
    and zstd release the GIL). An error in the producer is raised here, in order; if the
    consumer stops early, the producer is told to stop at its next item."""
    import queue

    q: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(("item", item), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(("end", None))
        except BaseException as exc:  # handed to the consumer
            q.put(("error", exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator stage upstream stops now, not when collected

    thread = threading.Thread(target=produce, name="rbench-import-parse", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = q.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        thread.join()
