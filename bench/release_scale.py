"""Release scale: import, `data info` and a baseline `route` on a 400,200-record release.

Generates an LLMRouterBench-layout release (``results/bench/<dataset>/<split>/<model>/*.json``;
by default 20 models × 20,010 queries over 10 datasets, ~1.07 GB of JSON with answers drawn
from a Zipf-distributed vocabulary, so they compress like prose rather than like repeated
text), or takes an existing one with ``--release PATH``. Then, each in its own process so its
peak RSS is its own, it runs:

- the seed project's loader (``BaselineDataLoader().load_all_records()`` +
  ``BaselineAggregator.aggregate_by_dataset_and_model()``), when its code is given;
- ``rbench data import llmrouterbench`` into a fresh store (the real CLI);
- ``rbench data info`` (five times with byte code cached, beside ``python -c pass``; the
  medians are printed);
- ``Store.load_matrix`` alone (the part of `route` that reads the bench);
- ``rbench route --router best-single`` (one seed).

and prints wall, CPU and peak RSS for each, the store/JSON size ratio, ratios to the seed
loader, and the machine's load average (wall times stretch when it exceeds the CPU count).

The seed project's code is never part of rbench. To compare against it, fetch it yourself
(``git clone https://github.com/ynulihao/LLMRouterBench``) and pass the checkout, or a bare
mirror of it, with ``--seed-repo PATH`` or ``RBENCH_SEED_REPO=PATH``; its ``baselines/``
package is imported from a temporary copy. Its logging library (loguru) is replaced by a
no-op stand-in when it is not installed, which can only make the seed loader faster.

    python bench/release_scale.py --seed-repo ~/src/LLMRouterBench
    python bench/release_scale.py --queries 2000 --models 5      # a quick look
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from release_gen import generate

GOALS = {"import_rss_mib": 400, "import_vs_seed": 0.5, "store_vs_json": 0.6,
         "matrix_load_s": 0.2, "info_s": 0.3}

SEED_DRIVER = r"""
import sys, types
sys.path.insert(0, sys.argv[1])
try:
    import loguru  # noqa: F401
except ImportError:
    class _Quiet:
        def __getattr__(self, name):
            return lambda *a, **k: None
    mod = types.ModuleType("loguru")
    mod.logger = _Quiet()
    sys.modules["loguru"] = mod
    print("loguru not installed: a no-op logger stands in", file=sys.stderr)
from baselines import BaselineDataLoader, BaselineAggregator
loader = BaselineDataLoader(config={"results_dir": sys.argv[2], "filters": {"skip_demo": True},
                                    "columns": {}})
records = loader.load_all_records()
stats = BaselineAggregator(records, loader).aggregate_by_dataset_and_model()
print(len(records), "records", len(stats), "dataset splits")
"""

MATRIX_DRIVER = r"""
import sys, time
from routerbench_core.data.store import Store
import routerbench_core.data.matrix  # numpy and the models: imported before the clock starts
store = Store(sys.argv[1])
t0 = time.perf_counter()
m = store.load_matrix(sys.argv[2])
print(f"{time.perf_counter() - t0:.4f} {m.shape[0]} {m.shape[1]}")
"""


def _tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and all its descendants (any thread's children), from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    todo += [int(c) for c in fh.read().split()]
        except (OSError, ValueError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, float, float, str]:
    """Run ``cmd``; wall, CPU (with its children's: ``os.wait4``) and peak RSS of the whole
    process tree: the import's parse workers count with it. The tree is sampled every 20 ms
    from /proc (on other systems: the largest single process, from ``wait4``)."""
    import threading

    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True, env=env)
        peak = [0.0]
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.02):
                peak[0] = max(peak[0], _tree_rss_mib(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        if os.path.isdir(f"/proc/{proc.pid}"):
            sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        done.set()
        if sampler.is_alive():
            sampler.join()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:5])} ... failed ({proc.returncode}):\n{text[-3000:]}")
    return wall, usage.ru_utime + usage.ru_stime, max(peak[0], usage.ru_maxrss / 1024), text


def seed_package(path: Path, into: Path) -> Path:
    """A temporary copy of the seed project's ``baselines/`` package (from a checkout or a
    bare git mirror); returns the folder to put on ``sys.path``."""
    if (path / "baselines" / "data_loader.py").is_file():
        shutil.copytree(path / "baselines", into / "baselines",
                        ignore=shutil.ignore_patterns("cache", "data"))
        return into
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", f"--git-dir={path}", "archive", "HEAD",
                              "baselines/__init__.py", "baselines/data_loader.py",
                              "baselines/schema.py", "baselines/aggregators.py"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--release", type=Path, help="an existing release (default: generate one)")
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--queries", type=int, default=20_010)
    ap.add_argument("--datasets", type=int, default=10)
    ap.add_argument("--prompt-chars", type=int, default=420)
    ap.add_argument("--output-chars", type=int, default=1_750)
    ap.add_argument("--seed-repo", type=Path, default=os.environ.get("RBENCH_SEED_REPO"),
                    help="checkout or bare mirror of ynulihao/LLMRouterBench (optional)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="alternate seed loader and rbench import this many times")
    ap.add_argument("--workdir", type=Path, help="keep files here (default: a temp folder)")
    ap.add_argument("--generate-into", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.generate_into:
        n = generate(args.generate_into, args.models, args.queries, args.datasets,
                     args.prompt_chars, args.output_chars)
        print(f"generated {n:,} records")
        return 0

    py = sys.executable
    rbench = [py, "-m", "routerbench_core"]
    with tempfile.TemporaryDirectory(prefix="rbench-release-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        release = args.release
        if release is None:
            release = work / "release"
            if release.exists():
                shutil.rmtree(release)
            # in a child process: a child's peak RSS counts its parent's pages at the time
            # it was spawned, so this process stays small
            t0 = time.perf_counter()
            subprocess.run([py, __file__, "--generate-into", str(release), "--models",
                            str(args.models), "--queries", str(args.queries), "--datasets",
                            str(args.datasets), "--prompt-chars", str(args.prompt_chars),
                            "--output-chars", str(args.output_chars)], check=True)
            print(f"generated in {time.perf_counter() - t0:.0f} s")
        files = list(Path(release).rglob("*.json"))
        json_bytes = sum(p.stat().st_size for p in files)
        print(f"release: {len(files):,} files, {json_bytes / 2**20:,.0f} MiB of JSON")
        print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
              f"on {os.cpu_count()} CPUs")
        bench_dir = Path(release)
        for sub in (("results", "bench"), ("bench",)):
            if (bench_dir.joinpath(*sub)).is_dir():
                bench_dir = bench_dir.joinpath(*sub)
                break

        seed_path = None
        if args.seed_repo:
            seed_path = seed_package(Path(args.seed_repo).expanduser(), work / "seed")
        rows: list[tuple[str, float, float, float]] = []
        seed_walls, import_walls, import_rss = [], [], []
        store = work / "release.db"
        for _ in range(max(1, args.repeat)):
            if seed_path is not None:
                wall, cpu, rss, _out = measured([py, "-c", SEED_DRIVER, str(seed_path),
                                                 str(bench_dir)])
                seed_walls.append(wall)
                rows.append(("seed loader + aggregator", wall, cpu, rss))
            for path in (store, Path(f"{store}-wal"), Path(f"{store}-shm")):
                path.unlink(missing_ok=True)
            shutil.rmtree(f"{store}.cache", ignore_errors=True)
            wall, cpu, rss, out = measured([*rbench, "--store", str(store), "data", "import",
                                            "llmrouterbench", str(release), "--name", "release"])
            import_walls.append(wall)
            import_rss.append(rss)
            rows.append(("rbench data import", wall, cpu, rss))
        # `data info` is start-up, so time it as users run it: byte code cached (pip compiles
        # it at install; this shell may set PYTHONDONTWRITEBYTECODE), after one warm-up run;
        # `python -c pass` is the interpreter's own floor
        cached = dict(os.environ, PYTHONPYCACHEPREFIX=str(work / "pycache"))
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        info_cmd = [*rbench, "--store", str(store), "data", "info", "release"]
        measured(info_cmd, cached)
        floor, info = [], []
        for _ in range(5):
            floor.append(measured([py, "-c", "pass"], cached))
            info.append(measured(info_cmd, cached))
        mid = sorted(info, key=lambda r: r[0])[2]
        rows.append(("rbench data info (median of 5)", mid[0], mid[1], mid[2]))
        low = sorted(floor, key=lambda r: r[0])[2]
        rows.append(("  python -c pass (median of 5)", low[0], low[1], low[2]))
        wall, cpu, rss, out = measured([py, "-c", MATRIX_DRIVER, str(store), "release"])
        load_s, nq, nm = out.split()[-3:]
        rows.append((f"load_matrix {int(nq):,} x {nm} (process)", wall, cpu, rss))
        wall, cpu, rss, _ = measured([*rbench, "--store", str(store), "route", "--bench",
                                      "release", "--router", "best-single", "--seeds", "42"])
        rows.append(("rbench route --router best-single", wall, cpu, rss))

        print(f"\n{'step':<36} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}"
              "  (CPU and RSS include child processes)")
        for name, wall, cpu, rss in rows:
            print(f"{name:<36} {wall:>8.2f} {cpu:>8.2f} {rss:>13,.0f}")
        store_bytes = store.stat().st_size
        ratio = store_bytes / json_bytes
        print(f"\nstore {store_bytes / 2**20:,.0f} MiB = {ratio:.2f}x the JSON "
              f"(goal <= {GOALS['store_vs_json']})")
        print(f"load_matrix call alone: {float(load_s):.3f} s (goal <= {GOALS['matrix_load_s']})")
        print(f"data info: {mid[0]:.2f} s (goal <= {GOALS['info_s']})")
        print(f"import peak RSS: {max(import_rss):,.0f} MiB (goal <= {GOALS['import_rss_mib']})")
        if seed_walls:
            r = statistics.median(import_walls) / statistics.median(seed_walls)
            print(f"import wall / seed loader wall: {r:.2f} (medians; goal <= "
                  f"{GOALS['import_vs_seed']})")
        else:
            print("seed loader not run: pass --seed-repo PATH (see the docstring)")
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
