"""Import speed: a synthetic LLMRouterBench-layout release imported into a fresh store.

Generates ``--models`` × ``--queries`` records (default 20 × 20,000 = 400,000) spread over
``--datasets`` datasets with ``bench/release_gen.py`` (the generator ``release_scale.py``
uses: a prompt of ~``--prompt-chars`` characters, a raw output of ~``--output-chars`` of
prose-like text, token counts, cost, a 0/1 score), imports it with
``rbench data import llmrouterbench`` (in-process, the same code path), then loads the outcome
matrix. Prints records/s, matrix load seconds and peak memory.

Targets (issue #2): import ≥ 20,000 records/s, matrix load < 2 s.

    python bench/import_speed.py                 # the 400k-record target
    python bench/import_speed.py --queries 2000  # a quick look
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from release_gen import generate


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=20)
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--datasets", type=int, default=8)
    ap.add_argument("--prompt-chars", type=int, default=400)
    ap.add_argument("--output-chars", type=int, default=600)
    ap.add_argument("--workdir", type=Path, default=None, help="keep files here (default: temp)")
    ap.add_argument("--tracemalloc", action="store_true",
                    help="also trace Python allocations (slows the import down ~2x)")
    args = ap.parse_args(argv)

    from routerbench_core.data.importers import import_bench
    from routerbench_core.data.store import Store

    with tempfile.TemporaryDirectory(prefix="rbench-import-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        n = generate(work / "release", args.models, args.queries, args.datasets,
                     args.prompt_chars, args.output_chars)
        size = sum(p.stat().st_size for p in (work / "release").rglob("*.json"))
        print(f"generated {n:,} records ({size / 1e6:,.0f} MB of JSON) in "
              f"{time.perf_counter() - t0:.1f} s")
        gc.collect()
        store_path = work / "bench.db"
        if store_path.exists():
            store_path.unlink()
        store = Store(store_path)
        trace = args.tracemalloc
        if trace:
            tracemalloc.start()
        load_before = os.getloadavg()[0]
        t0, c0, k0 = time.perf_counter(), time.process_time(), _children_cpu()
        result = import_bench(store, "llmrouterbench", work / "release", "synthetic")
        import_s = time.perf_counter() - t0
        # a large release is parsed by worker processes: their CPU counts too
        import_cpu = time.process_time() - c0 + _children_cpu() - k0
        import_peak = tracemalloc.get_traced_memory()[1] if trace else None
        if trace:
            tracemalloc.stop()
        store.close()

        store = Store(store_path)
        t0, c0 = time.perf_counter(), time.process_time()
        matrix = store.load_matrix("synthetic")
        load_s, load_cpu = time.perf_counter() - t0, time.process_time() - c0
        store.close()
        assert matrix.shape == (args.queries, args.models), matrix.shape
        rate = n / import_s
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"machine load average before the import: {load_before:.1f} "
              f"on {os.cpu_count()} CPUs (wall times stretch when it exceeds the CPU count)")
        print(f"import: {n:,} records in {import_s:.2f} s = {rate:,.0f} records/s "
              f"(parse+validate {result.parse_s:.2f} s, write {result.write_s:.2f} s (0 when "
              f"streamed: it overlaps the parse), matrix cache {result.cache_s:.2f} s; "
              f"CPU time {import_cpu:.2f} s = {n / import_cpu:,.0f} records per CPU-second)")
        print(f"matrix load: {matrix.shape[0]:,} x {matrix.shape[1]} in {load_s:.2f} s "
              f"(CPU time {load_cpu:.2f} s)")
        if import_peak is not None:
            print(f"peak traced Python memory during import: {import_peak / 1e6:,.0f} MB")
        worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak RSS of this process: {rss_mb:,.0f} MB (of its largest parse worker, if "
              f"any: {worker_mb:,.0f} MB; bench/release_scale.py sums the process tree); "
              f"store file {store_path.stat().st_size / 1e6:,.0f} MB")
        ok = rate >= 20_000 and load_s < 2.0
        print(f"targets (>= 20,000 records/s, load < 2 s): {'met' if ok else 'NOT met'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
