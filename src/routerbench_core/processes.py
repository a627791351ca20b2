"""Whether a process still exists: the one test behind every "is what it left behind stale?"
question (a killed import's staging bench, a killed grader's sandbox cgroups)."""

from __future__ import annotations

import os


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
