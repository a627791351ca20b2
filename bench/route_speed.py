"""Fit and route seconds per seed, per router, on the nim9 bench (embedding time apart).

Usage::

    python bench/route_speed.py                       # every installed router, seeds 42,999
    python bench/route_speed.py --router best-single --router oracle --seeds 42,999,2024
    python bench/route_speed.py --store my.db --bench nim9 --embedder hashing

Without ``--store`` it imports ``llmrouter-nim9`` from the shared data folder
(``$RBENCH_SHARED_DATA`` or ``../shared/data``) into a temporary store first. Embeddings are
computed once per run (through the store cache) and timed separately, so the router columns
show only the router's own work. Prints a table; exits non-zero if a router fails.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _import_nim9(store: Path) -> None:
    from routerbench_core.testing import shared_data_dir

    data = shared_data_dir()
    if data is None or not (data / "llmrouter-nim9").is_dir():
        sys.exit("nim9 not found: set RBENCH_SHARED_DATA or pass --store with a nim9 bench")
    subprocess.run([sys.executable, "-m", "routerbench_core.commands.app", "--store", str(store), "data",
                    "import", "llmrouter", str(data / "llmrouter-nim9"), "--name", "nim9"],
                   check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path)
    ap.add_argument("--bench", default="nim9")
    ap.add_argument("--router", action="append", default=[])
    ap.add_argument("--seeds", default="42,999")
    ap.add_argument("--setting", default="perf", choices=["perf", "perf-cost"])
    ap.add_argument("--embedder", default=None, help="default: minilm")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)

    from rich.console import Console
    from rich.table import Table

    from routerbench_core.data.store import Store
    from routerbench_core.embedding.base import DEFAULT_EMBEDDER, load_embedder
    from routerbench_core.plugins.manager import make_plugin_manager
    from routerbench_core.routing.evaluate import Evaluator, needs_embeddings, run_registered

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    tmp = None
    store_path = args.store
    if store_path is None:
        tmp = tempfile.TemporaryDirectory()
        store_path = Path(tmp.name) / "speed.db"
        _import_nim9(store_path)
    host = make_plugin_manager()
    routers = args.router or [
        s.name for s in host.specs("router")
        if s.status == "ok" and args.setting in s.capabilities.get("settings", ["perf"])
        and not s.capabilities.get("external")  # e.g. openrouter: no fit, answers from outside
    ]
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    store = Store(store_path)
    t0 = time.perf_counter()
    matrix = store.load_matrix(args.bench)
    load_s = time.perf_counter() - t0
    emb = None
    if needs_embeddings(host, routers):
        emb = load_embedder(host, args.embedder or DEFAULT_EMBEDDER)
    ev = Evaluator(matrix, setting=args.setting, seeds=seeds, embedder=emb, store=store,
                   device=args.device)
    if emb is not None:  # embed every text once, up front, so router timings exclude it
        ev.views(seeds[0])[0].embeddings()
    console = Console()
    table = Table(title=f"route speed on {args.bench} ({matrix.n_queries} queries × "
                        f"{matrix.n_models} models, seeds {args.seeds}, {args.setting})")
    for col in ("router", "fit s/seed", "route s/seed", "total s"):
        table.add_column(col, justify="left" if col == "router" else "right")
    failed = 0
    for name in routers:
        t0 = time.perf_counter()
        try:
            run = run_registered(ev, host, name)
        except Exception as exc:  # report and go on: one broken router must not hide the rest
            table.add_row(name, "failed", f"{type(exc).__name__}: {exc}"[:60], "")
            failed += 1
            continue
        total = time.perf_counter() - t0
        fit = sum(s.fit_seconds for s in run.seeds) / len(run.seeds)
        route = sum(sum(p.route_seconds for p in s.points) for s in run.seeds) / len(run.seeds)
        label = f"{name} (reference)" if run.reference else name
        table.add_row(label, f"{fit:.4f}", f"{route:.4f}", f"{total:.3f}")
    console.print(table)
    console.print(f"matrix load {load_s:.3f} s; embedding ({emb.cache_id if emb else 'none'}) "
                  f"{ev.embed_seconds:.2f} s once for all seeds")
    store.close()
    if tmp is not None:
        tmp.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
