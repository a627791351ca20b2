"""How fast does `rbench list --json` answer? (target: median < 0.5 s on 2 cores)

Runs the real command in fresh subprocesses (cold interpreter each time, like a user typing it)
and prints the median and spread, plus `python -c pass` as the interpreter's own floor.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

RUNS = 11


def timed(argv: list[str]) -> list[float]:
    out = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    floor = timed([sys.executable, "-c", "pass"])
    listing = timed([sys.executable, "-m", "routerbench_core", "list", "--json"])
    helping = timed([sys.executable, "-m", "routerbench_core", "--help"])
    for label, values in (("python -c pass", floor), ("rbench list --json", listing),
                          ("rbench --help", helping)):
        print(f"{label:<20} median {statistics.median(values):.3f} s   "
              f"min {min(values):.3f}   max {max(values):.3f}   ({RUNS} runs)")
    median = statistics.median(listing)
    print(f"target median < 0.5 s: {'MET' if median < 0.5 else 'NOT MET'} ({median:.3f} s)")


if __name__ == "__main__":
    main()
