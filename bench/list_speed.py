"""How fast does `rbench list --json` answer? (target: median <= 0.2 s)

Runs the real command in fresh subprocesses (cold interpreter each time, like a user typing it)
and prints the median and spread of wall time and of CPU time (user + system of the child:
on a shared, loaded machine wall time mostly measures the queue for a core), plus
`python -c pass` as the interpreter's own floor. `--baseline DIR` also times another checkout
of rbench (e.g. `git worktree add /tmp/before <commit>`) in the same run, interleaved, and
prints the ratio. `--flat` puts each checkout's packages into one folder of symbolic links
first, so the interpreter searches one folder per import, as in an installed environment, not
the development layout's thirty-odd `src` folders on `PYTHONPATH`. Byte code is cached (in a
temporary `PYTHONPYCACHEPREFIX`, after one warm-up run) as pip's install does, even where the
shell sets `PYTHONDONTWRITEBYTECODE`: compiling every module from source on every start is
not what users pay.
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import statistics
import subprocess
import sys
import time

RUNS = 11


def _pythonpath(root: str) -> str:
    paths = [f"{root}/src", *glob.glob(f"{root}/plugins/*/rbench-*/src"),
             *glob.glob(f"{root}/examples/*/src")]
    return os.pathsep.join(paths)


def _flat(pythonpath: str, into: str) -> str:
    """One folder linking every package of the folders on ``pythonpath`` (first one wins)."""
    os.makedirs(into, exist_ok=True)
    for folder in pythonpath.split(os.pathsep):
        for entry in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            if entry.endswith(".egg-info") or entry.startswith("."):
                continue
            link = os.path.join(into, entry)
            if not os.path.lexists(link):
                os.symlink(os.path.join(os.path.abspath(folder), entry), link)
    return into


def timed_once(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def report(label: str, values: list[tuple[float, float]]) -> float:
    wall = [w for w, _ in values]
    cpu = [c for _, c in values]
    print(f"{label:<22} wall median {statistics.median(wall):.3f} s (min {min(wall):.3f}, "
          f"max {max(wall):.3f})   cpu median {statistics.median(cpu):.3f} s   "
          f"({len(values)} runs)")
    return statistics.median(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--baseline", help="another rbench checkout to time in the same run")
    parser.add_argument("--flat", action="store_true",
                        help="one folder of links per checkout instead of many src folders")
    args = parser.parse_args()
    listing = [sys.executable, "-m", "routerbench_core", "list", "--json"]
    helping = [sys.executable, "-m", "routerbench_core", "--help"]
    floor, current, baseline, helps = [], [], [], []
    import tempfile

    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tmp = tempfile.mkdtemp(prefix="rbench-list-speed-")
    env = dict(os.environ, PYTHONPYCACHEPREFIX=os.path.join(tmp, "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    base_env = dict(env, PYTHONPATH=_pythonpath(args.baseline)) if args.baseline else None
    if args.flat:
        env["PYTHONPATH"] = _flat(_pythonpath(here), os.path.join(tmp, "current"))
        if base_env is not None:
            base_env["PYTHONPATH"] = _flat(_pythonpath(args.baseline), os.path.join(tmp, "base"))
    timed_once(listing, env)  # warm-up: writes the byte-code cache
    if base_env is not None:
        timed_once(listing, base_env)
    timed_once(helping, env)
    for _ in range(args.runs):  # interleaved, so both see the same load
        floor.append(timed_once([sys.executable, "-c", "pass"], env))
        current.append(timed_once(listing, env))
        if base_env is not None:
            baseline.append(timed_once(listing, base_env))
        helps.append(timed_once(helping, env))
    report("python -c pass", floor)
    median = report("rbench list --json", current)
    if baseline:
        base = report("  baseline list --json", baseline)
        print(f"  list --json: {base / median:.2f}x faster than the baseline (wall medians)")
    report("rbench --help", helps)
    print(f"target median <= 0.2 s: {'MET' if median <= 0.2 else 'NOT MET'} ({median:.3f} s)")


if __name__ == "__main__":
    main()
