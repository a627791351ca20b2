"""Every offline router on the real benches, 5 seeds each, written to docs/results.md.

For each bench (nim9 = LLMRouter's 9 NIM models, rb = the RouterBench subset with real
per-query cost; both from ../shared/data or $RBENCH_SHARED_DATA, imported into the store on
first use) and each installed router that needs no network, this runs ``rbench route`` once in
the performance setting and, for cost-aware routers, once in the performance–cost setting, and
tabulates what the JSON reports say: AvgAcc (mean and 95% CI over seeds), its difference in
points from the train-chosen best single model, Gap@O, and for the cost-aware routers
PerfGain, CostSave and ParetoDist; plus fit seconds per seed. Nothing here chooses anything:
each router runs with its defaults, which are chosen on validation splits inside ``fit``.

    python bench/routers_real.py                       # all routers, both benches, 5 seeds
    python bench/routers_real.py --router avengers --bench nim9 --seeds 42 --out -

Embeddings are cached in the store (``--store``, default ./rbench-results.db), so a second run
skips the ~4 minutes MiniLM needs per bench on two cores.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BENCHES = {"nim9": ("llmrouter", "llmrouter-nim9"), "rb": ("routerbench", "routerbench-subset")}
ONLINE = {"openrouter"}  # routers that call a live service: not run here


def shared_data() -> Path:
    env = os.environ.get("RBENCH_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_dir():
        sys.exit(f"no shared data at {path}: set RBENCH_SHARED_DATA")
    return path


def rbench(store: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "routerbench_core", "--store", str(store), *args]
    out = subprocess.run(cmd, capture_output=True, text=True,
                         env={**os.environ, "HF_HUB_OFFLINE": "1", "COLUMNS": "200"})
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])}... failed:\n{out.stderr[-2000:]}")
    return out


def offline_routers() -> dict[str, list[str]]:
    """Installed trained/training-free routers (not baselines or references) and settings."""
    out = subprocess.run([sys.executable, "-m", "routerbench_core", "list", "routers", "--json"],
                         capture_output=True, text=True, check=True)
    found = {}
    for row in json.loads(out.stdout):
        caps = row.get("capabilities", {})
        if caps.get("baseline") or caps.get("reference") or row["name"] in ONLINE:
            continue
        found[row["name"]] = list(caps.get("settings", ["perf"]))
    return dict(sorted(found.items()))


def summary(report: dict[str, Any], router: str) -> dict[str, Any]:
    m = report["metrics"][router]
    best = report["baselines"]["best_single"]["avg_acc"]["mean"]
    row = {
        "avg_acc": m["avg_acc"], "best_single": best,
        "oracle": report["baselines"]["oracle"]["avg_acc"]["mean"],
        "gain_pts": None if m["avg_acc"]["mean"] is None else 100 * (m["avg_acc"]["mean"] - best),
        "gap_o": m["gap_o"]["mean"],
        "fit_s": report["timing"][router]["fit_seconds"],
    }
    for key in ("perf_gain", "cost_save", "pareto_dist"):
        if key in m:
            row[key] = m[key]["mean"]
    return row


def fmt_pct(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "N/A"
    return f"{100 * x:+.2f}" if signed else f"{100 * x:.2f}"


def acc_cell(s: dict[str, Any]) -> str:
    a = s["avg_acc"]
    if a["mean"] is None:
        return "N/A"
    half = "" if a.get("ci_low") is None else f" ± {100 * (a['ci_high'] - a['ci_low']) / 2:.2f}"
    return f"{100 * a['mean']:.2f}{half}"


def row_cells(p: dict[str, Any] | None, c: dict[str, Any] | None) -> list[str]:
    """The table cells of one router: perf columns from ``p``, perf-cost columns from ``c``."""
    fit = (p or c or {}).get("fit_s") or [float("nan")]
    gain = "N/A" if not p or p["gain_pts"] is None else f"{p['gain_pts']:+.2f}"
    dist = "—" if not c else ("N/A" if c.get("pareto_dist") is None else f"{c['pareto_dist']:.3f}")
    return [
        acc_cell(p) if p else "N/A", gain, fmt_pct(p["gap_o"]) if p else "N/A",
        fmt_pct(c.get("perf_gain"), True) if c else "—", fmt_pct(c.get("cost_save")) if c else "—",
        dist, f"{sum(fit) / len(fit):.1f}",
    ]


def write_markdown(results: dict[str, Any], args: argparse.Namespace, out: Any) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=REPO).stdout.strip() or "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, cwd=REPO).stdout.strip()
    print("# Routers on real data\n", file=out)
    print(f"Produced by `python bench/routers_real.py` at commit {commit}"
          f"{' (with uncommitted changes)' if dirty else ''} on "
          f"{dt.date.today().isoformat()}; seeds {args.seeds}; embedder {args.embedder}; "
          f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores. "
          "AvgAcc is the mean over datasets of test accuracy (%), ± the half-width of the 95% "
          "bootstrap CI over seeds; \"vs best\" is the difference in points from the model best "
          "on train (chosen per seed); Gap@O = 1 − AvgAcc/Oracle (relative). PerfGain and "
          "CostSave are relative to the best single model, ParetoDist is in normalised "
          "cost–accuracy space (0 = on the frontier). Fit seconds are per seed, embeddings "
          "cached.\n", file=out)
    for bench, rows in results.items():
        base = next((r for r in rows.values() if "perf" in r), None)
        print(f"## {bench}\n", file=out)
        if base:
            b = base["perf"]
            print(f"Best single {100 * b['best_single']:.2f}, oracle {100 * b['oracle']:.2f}.\n",
                  file=out)
        print("| router | AvgAcc (perf) | vs best (pts) | Gap@O | PerfGain | CostSave | "
              "ParetoDist | fit s/seed |", file=out)
        print("|---|---|---|---|---|---|---|---|", file=out)
        for name, r in rows.items():
            if "error" in r:
                print(f"| {name} | failed: {r['error']} | | | | | | |", file=out)
                continue
            print("| " + " | ".join([name, *row_cells(r.get("perf"), r.get("perf-cost"))]) + " |",
                  file=out)
        losers = [n for n, r in rows.items() if "perf" in r and (r["perf"]["gain_pts"] or 0) <= 0]
        if losers:
            print(f"\nNot above the best single model on {bench}: {', '.join(losers)}.", file=out)
        print(file=out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", action="append", choices=sorted(BENCHES),
                        help="bench(es) to run (default: all)")
    parser.add_argument("--router", action="append", help="router(s) (default: every offline one)")
    parser.add_argument("--seeds", default="42,999,2024,2025,3407")
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--store", type=Path, default=Path("rbench-results.db"))
    parser.add_argument("--out", default=str(REPO / "docs" / "results.md"),
                        help="Markdown file to write, or - for stdout")
    parser.add_argument("--json", type=Path, help="also keep every summary as JSON here")
    args = parser.parse_args()

    data = shared_data()
    routers = offline_routers()
    if args.router:
        unknown = sorted(set(args.router) - set(routers))
        if unknown:
            sys.exit(f"not installed or not offline: {', '.join(unknown)}")
        routers = {n: routers[n] for n in args.router}
    benches = args.bench or sorted(BENCHES)
    listed = rbench(args.store, "data", "list", check=False).stdout
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for bench in benches:
            fmt, folder = BENCHES[bench]
            if bench not in listed.split():
                rbench(args.store, "data", "import", fmt, str(data / folder), "--name", bench)
            results[bench] = {}
            for name, settings in routers.items():
                row: dict[str, Any] = {}
                for setting in ("perf", "perf-cost"):
                    if setting not in settings:
                        continue
                    out = Path(tmp) / f"{bench}-{name}-{setting}.json"
                    started = time.perf_counter()
                    try:
                        rbench(args.store, "route", "--router", name, "--bench", bench,
                               "--setting", setting, "--seeds", args.seeds,
                               "--embedder", args.embedder, "--device", args.device,
                               "--json", str(out))
                    except RuntimeError as exc:
                        row["error"] = str(exc).splitlines()[-1][:160]
                        break
                    row[setting] = summary(json.loads(out.read_text()), name)
                    print(f"{bench} {name} {setting}: AvgAcc "
                          f"{acc_cell(row[setting])} in {time.perf_counter() - started:.0f} s",
                          file=sys.stderr)
                results[bench][name] = row
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    if args.out == "-":
        write_markdown(results, args, sys.stdout)
    else:
        with open(args.out, "w") as fh:
            write_markdown(results, args, fh)
        print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
