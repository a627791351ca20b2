"""Progress of long runs, for people watching a terminal and for logs.

On a terminal, :class:`RunProgress` draws two bars: the seed runs done out of all, with elapsed
time and ETA, and the current step a router reports through ``ctx.report`` (training steps,
loss, validation score). When the output is not a terminal (a pipe, a file, CI) it writes plain
log lines instead: one per finished seed run, and the latest reported step at most every
``RBENCH_PROGRESS_INTERVAL`` seconds (default 30; 0 = every report), so a run logged to a file
is never silent for long and never floods it.

Third-party progress bars (transformers' "Loading weights", huggingface_hub downloads, any
tqdm) would draw over ours or litter logs: :func:`quiet_third_party_progress` turns them off.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

DEFAULT_INTERVAL = 30.0


def quiet_third_party_progress() -> None:
    """Silence other libraries' progress bars for this process (before and after they are
    imported): huggingface_hub and transformers read ``HF_HUB_DISABLE_PROGRESS_BARS`` at
    import, tqdm reads ``TQDM_DISABLE`` per bar; already-imported libraries are told
    directly."""
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ["TQDM_DISABLE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    hub = sys.modules.get("huggingface_hub.utils")
    if hub is not None and hasattr(hub, "disable_progress_bars"):
        hub.disable_progress_bars()
    tf_logging = sys.modules.get("transformers.utils.logging")
    if tf_logging is not None and hasattr(tf_logging, "disable_progress_bar"):
        tf_logging.disable_progress_bar()


def progress_interval() -> float:
    """Seconds between plain step lines (``RBENCH_PROGRESS_INTERVAL``)."""
    raw = os.environ.get("RBENCH_PROGRESS_INTERVAL")
    if raw is None or not raw.strip():
        return DEFAULT_INTERVAL
    try:
        return max(0.0, float(raw))
    except ValueError:
        raise ValueError(f"RBENCH_PROGRESS_INTERVAL must be a number of seconds, not {raw!r}") \
            from None


def _clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"


class RunProgress:
    """Seed-run and step progress of a route or demo run (see the module docstring).

    Use as a context manager; pass :meth:`step` as the evaluator's ``progress`` callback (it
    receives every ``ctx.report(message, fraction)``) and call :meth:`seed_done` after each
    seed run.
    """

    def __init__(self, console: Any, total: int, *, label: str = "routing",
                 interval: float | None = None, live: bool | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.console = console
        self.total = total
        self.label = label
        self.done = 0
        self.interval = progress_interval() if interval is None else interval
        self.live = console.is_terminal if live is None else live
        self._clock = clock
        self._t0 = clock()
        self._last_line = float("-inf")
        self._pending: str | None = None
        self._progress: Any = None

    # -- context ---------------------------------------------------------------------------

    def __enter__(self) -> RunProgress:
        self._t0 = self._clock()
        if self.live:
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                TextColumn("{task.fields[count]}"), TimeElapsedColumn(), TextColumn("ETA"),
                TimeRemainingColumn(), console=self.console, transient=True,
            )
            self._progress.start()
            self._runs = self._progress.add_task(self.label, total=self.total,
                                                 count=f"0/{self.total} seed runs")
            self._step = self._progress.add_task("", total=1.0, count="", visible=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        elif self._pending is not None and exc[0] is not None:
            self._line(self._pending)  # what it was doing when it failed

    # -- updates ---------------------------------------------------------------------------

    def describe(self, text: str) -> None:
        """Name what runs now (e.g. the router)."""
        if self._progress is not None:
            self._progress.update(self._runs, description=text)

    def step(self, message: str, fraction: float) -> None:
        """A step reported by a router (``ctx.report``) or the evaluator."""
        fraction = min(max(float(fraction), 0.0), 1.0)
        if self._progress is not None:
            self._progress.update(self._step, description=f"  {message}", completed=fraction,
                                  visible=True)
            return
        text = f"{message} ({100 * fraction:.0f}%)"
        now = self._clock()
        if now - self._last_line >= self.interval:
            self._line(text)
            self._pending = None
        else:
            self._pending = text

    def seed_done(self, name: str, seed: int) -> None:
        self.done += 1
        if self._progress is not None:
            self._progress.update(self._runs, advance=1, description=f"{name} seed {seed} done",
                                  count=f"{self.done}/{self.total} seed runs")
            self._progress.update(self._step, visible=False, completed=0)
            return
        self._pending = None
        self._line(f"{name} seed {seed} done")

    def skip(self, n: int) -> None:
        """Count ``n`` seed runs as done without running them (a router that failed)."""
        for _ in range(n):
            self.done += 1
        if self._progress is not None:
            self._progress.update(self._runs, completed=self.done,
                                  count=f"{self.done}/{self.total} seed runs")

    def _line(self, text: str) -> None:
        elapsed = self._clock() - self._t0
        eta = ""
        if 0 < self.done < self.total:
            eta = f", ETA {_clock_text(elapsed / self.done * (self.total - self.done))}"
        self.console.print(f"[{self.label} {self.done}/{self.total} seed runs, "
                           f"{_clock_text(elapsed)}{eta}] {text}",
                           markup=False, highlight=False, soft_wrap=True)
        self._last_line = self._clock()
