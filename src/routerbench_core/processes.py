"""Process-level helpers: whether a process still exists (the one test behind every "is what
it left behind stale?" question: a killed import's staging bench, a killed grader's sandbox
cgroups), and giving a process's freed heap memory back to the system."""

from __future__ import annotations

import os
from typing import Any

_LIBC: list[Any] = []


def pid_alive(pid: int) -> bool:
    """True while process ``pid`` exists on this host, even when it belongs to another user
    (signal 0 is refused then, but the process is there)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _glibc() -> Any:
    """The C library when it is glibc (on Linux), else None."""
    if not _LIBC:
        import platform

        libc = None
        if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
            import ctypes

            try:
                libc = ctypes.CDLL(None)
                libc.malloc_trim  # noqa: B018 (present in every glibc)
            except (OSError, AttributeError):
                libc = None
        _LIBC.append(libc)
    return _LIBC[0]


def release_free_memory() -> None:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim``). Why: glibc
    raises its mmap threshold (up to 32 MiB) each time a large block is freed, so later large
    blocks come from the heap, where blocks of ever different sizes fragment it and stay
    resident. Called after each embedding batch and after each task of an import's parse
    worker. Trimming costs a heap walk, not a page fault per allocation as a low pinned
    threshold does (measurements: docs/performance.md). Nothing happens on other C
    libraries."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
