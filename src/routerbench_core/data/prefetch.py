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
    and zstd release the GIL). At most ``depth + 1`` items are alive at once, the one the
    consumer holds included: the producer starts an item only when one is finished (a chunk
    of a 400k release holds tens of MiB). An error in the producer is raised here, in order;
    if the consumer stops early, the producer is told to stop at its next item."""
    import queue

    q: queue.Queue[tuple[str, Any]] = queue.Queue()
    slots = threading.Semaphore(depth + 1)
    stop = threading.Event()

    def produce() -> None:
        try:
            source = iter(items)
            while True:
                while not slots.acquire(timeout=0.1):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                try:
                    item = next(source)
                except StopIteration:
                    break
                q.put(("item", item))  # never blocks: the slots bound what is alive
                del item
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
            del value
            slots.release()  # the consumer is done with that item
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.1)
        thread.join()
