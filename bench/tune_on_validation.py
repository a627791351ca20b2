"""Choose a router's hyper-parameters on the VALIDATION split only (never on test).

For every configuration in a grid, fit the router on each seed's train split and measure AvgAcc
(mean over datasets) of its routing of that seed's validation queries. Prints the table and the
best configuration. Test queries are never routed or scored here.

    python bench/tune_on_validation.py --bench nim9 --router graphrouter \
        --grid lr=1e-3,2e-3,5e-3,1e-2 --grid mask_ratio=0.3,0.6,0.9 --seeds 42,999
"""

from __future__ import annotations

import argparse
import itertools
import os
import time

import numpy as np


def _value(text: str) -> object:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", required=True)
    parser.add_argument("--router", required=True)
    parser.add_argument("--grid", action="append", default=[], help="key=v1,v2,...")
    parser.add_argument("--seeds", default="42,999")
    parser.add_argument("--embedder", default="minilm")
    parser.add_argument("--store", default=os.environ.get("RBENCH_STORE", "rbench.db"))
    args = parser.parse_args()

    from routerbench_core.data.store import Store
    from routerbench_core.embedding.base import load_embedder
    from routerbench_core.plugins.manager import make_plugin_manager
    from routerbench_core.routing.evaluate import (
        Evaluator,
        average_over_datasets,
        per_dataset_mean,
        score_routing,
    )

    host = make_plugin_manager()
    cls = host.load("router", args.router)
    keys = [g.split("=", 1)[0] for g in args.grid]
    values = [[_value(v) for v in g.split("=", 1)[1].split(",")] for g in args.grid]
    seeds = [int(s) for s in args.seeds.split(",")]
    with Store(args.store) as store:
        matrix = store.load_matrix(args.bench)
        ev = Evaluator(matrix, seeds=seeds, embedder=load_embedder(host, args.embedder),
                       store=store)
        results = []
        for combo in itertools.product(*values):
            params = dict(zip(keys, combo, strict=True))
            accs, costs, t0 = [], [], time.perf_counter()
            for seed in seeds:
                train, valid, _ = ev.views(seed)  # the test view is never used
                router = cls(ev.context(seed), **params)
                router.fit(train, valid)
                scored = score_routing(router.route(valid.queries()), valid.score, valid.cost)
                datasets = np.asarray(valid.datasets)
                costs.append(float(np.mean(scored.cost)) if len(scored.cost) else float("nan"))
                accs.append(average_over_datasets(
                    per_dataset_mean(scored.acc, datasets, list(dict.fromkeys(datasets)))))
            results.append((float(np.mean(accs)), params, time.perf_counter() - t0))
            print(f"{params}  valid AvgAcc {100 * np.mean(accs):.2f}  "
                  f"cost/query {np.mean(costs):.3g}  "
                  f"({(time.perf_counter() - t0) / len(seeds):.1f} s/seed)", flush=True)
    best = max(results, key=lambda r: r[0])
    print(f"best on validation: {best[1]}  ({100 * best[0]:.2f})")


if __name__ == "__main__":
    main()
