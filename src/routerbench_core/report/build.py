"""Turn evaluator runs into the report: a JSON-ready dict (printed by :mod:`.tables`, drawn by
:mod:`.plots`).

The JSON (``build_report``) has these keys:

``bench``, ``setting``, ``seeds``, ``synthetic`` (bool), ``cost_estimated`` (bool), ``labels``
    what the run was; ``labels`` lists SYNTHETIC / "cost estimated" when they apply.
``router``
    the routers run, in command-line order.
``metrics``
    ``{router: {metric: {mean, ci_low, ci_high, n}}}``; always ``avg_acc``, ``gain_r``,
    ``gain_b``, ``gap_o`` (relative: ratios to the reference), ``diff_r``, ``diff_b``,
    ``diff_o`` (the same comparisons as differences), ``cost``; with OOD datasets also
    ``avg_acc_id`` and ``avg_acc_ood``; in perf-cost also ``perf_gain`` (relative),
    ``perf_diff`` (difference), ``cost_save``, ``pareto_ratio``, ``pareto_dist``, ``apgr``,
    ``cpt50``, ``aiq`` (null where N/A). Accuracies are fractions in [0, 1]; costs are total
    USD over the test set.
``score_rule``, ``ood``, ``missing_policy``
    how scores become AvgAcc (0/1, soft scores averaged, or binarised with ``--binarize``);
    the datasets held out wholly for test; the missing-score rule.
``baselines``
    ``random``, ``best_single``, ``dataset_oracle``, ``oracle``, ``cheapest``: each
    ``{avg_acc: {...}, cost: {...}}`` (best_single/cheapest also ``models``: the pick per seed;
    with OOD datasets also ``avg_acc_id``/``avg_acc_ood``; cheapest is empty on a bench without
    costs).
``per_dataset``
    ``{router or baseline: {dataset: {mean, ci_low, ci_high, n}}}``.
``points``
    ``{router: [{seed, config, cost, avg_acc}]}``: every routed configuration; plus
    ``singles``: ``{model: [{seed, cost, avg_acc}]}``.
``distribution``
    ``{router: {model: mean share of test queries}}`` (default configuration).
``timing``, ``counts``, ``splits``, ``describe``
    fit/route seconds per seed, missing-outcome counts, split sizes per seed, fitted choices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from routerbench_core.report import metrics as M
from routerbench_core.routing.accuracy import average_over_datasets, is_soft
from routerbench_core.routing.evaluate import Evaluator, References, RouterRun, SeedRun

BASELINE_KEYS = {
    "random": "random", "best_single": "best-single", "dataset_oracle": "dataset-oracle",
    "oracle": "oracle", "cheapest": "cheapest",
}


def _clean(x: Any) -> Any:
    """JSON-safe: NaN/inf become None, numpy scalars become Python numbers."""
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.ndarray):
        return _clean(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if x is None or isinstance(x, bool | int | float | str):
        return x
    return str(x)  # a router's describe() may hold anything; the report stays valid JSON


def labels(metadata: dict[str, Any]) -> list[str]:
    out = []
    if metadata.get("synthetic"):
        out.append("SYNTHETIC")
    if metadata.get("cost_estimated"):
        out.append("cost estimated")
    return out


def _frontier_pool(runs: Sequence[RouterRun], refs: References, seed_index: int):
    """All (cost, acc) points of one seed that compete for the frontier: every non-reference
    router's points and every single model."""
    costs, accs = [], []
    for run in runs:
        if run.reference:
            continue
        for p in run.seeds[seed_index].points:
            costs.append(p.cost)
            accs.append(p.avg_acc)
    for p in refs.singles.values():
        costs.append(p.cost)
        accs.append(p.avg_acc)
    return np.array(costs), np.array(accs)


def id_ood(per_dataset: dict[str, float], ood: Sequence[str]) -> dict[str, float]:
    """AvgAcc over the in-distribution datasets and over the out-of-distribution ones."""
    held = set(ood)
    return {
        "avg_acc_id": average_over_datasets({d: v for d, v in per_dataset.items()
                                             if d not in held}),
        "avg_acc_ood": average_over_datasets({d: v for d, v in per_dataset.items() if d in held}),
    }


def seed_metrics(
    run: RouterRun, seed_index: int, refs: References, setting: str,
    pool: tuple[np.ndarray, np.ndarray], ood: Sequence[str] = (),
) -> dict[str, float | None]:
    """The metrics of one router for one seed (ID/OOD means when ``ood`` names datasets)."""
    s: SeedRun = run.seeds[seed_index]
    acc = s.default.avg_acc
    out: dict[str, float | None] = {
        "avg_acc": acc,
        "gain_r": M.gain_r(acc, refs.random.avg_acc),
        "gain_b": M.gain_b(acc, refs.best_single.avg_acc),
        "gap_o": M.gap_o(acc, refs.oracle.avg_acc),
        # the same comparisons as differences in points (fractions here; ×100 when shown)
        "diff_r": acc - refs.random.avg_acc,
        "diff_b": acc - refs.best_single.avg_acc,
        "diff_o": refs.oracle.avg_acc - acc,
        "cost": s.default.cost,
    }
    if ood:
        out.update(id_ood(s.default.per_dataset, ood))
    if setting != "perf-cost":
        return out
    costs = np.array([p.cost for p in s.points])
    accs = np.array([p.avg_acc for p in s.points])
    b = refs.best_single
    strong = (b.cost, b.avg_acc)
    if refs.cheapest is None:  # no model has a known cost: nothing to interpolate between
        apgr = cpt50 = None
    else:
        weak = (refs.cheapest.cost, refs.cheapest.avg_acc)
        apgr, cpt50 = M.apgr(costs, accs, weak, strong), M.cpt(costs, accs, weak, strong, 0.5)
    out.update({
        "perf_gain": M.perf_gain(accs, b.avg_acc),
        "perf_diff": float(np.max(accs)) - b.avg_acc if len(accs) else None,
        "cost_save": M.cost_save(costs, accs, b.avg_acc, b.cost) if b.cost > 0 else None,
        "apgr": apgr,
        "cpt50": cpt50,
    })
    if run.reference:
        out.update({"pareto_ratio": None, "pareto_dist": None, "aiq": None})
    else:
        pc, pa = pool
        out.update({
            "pareto_ratio": M.pareto_ratio(costs, accs, pc, pa),
            "pareto_dist": M.pareto_dist(costs, accs, pc, pa),
            "aiq": M.aiq(costs, accs, float(pc.min()), float(pc.max())),
        })
    return out


def _summ(values: Sequence[float | None]) -> dict[str, Any]:
    return M.summarise(values).as_dict()


def score_rule(ev: Evaluator) -> str:
    """How per-query scores become AvgAcc on this bench, said plainly in the report."""
    threshold = ev.matrix.metadata.get("binarized_above")
    if threshold is not None:
        return f"scores binarised: a score > {threshold:g} counts 1, any other 0"
    if is_soft(ev.matrix.score):
        return ("soft scores (between 0 and 1) are averaged as they are: AvgAcc is a mean "
                "expected accuracy (use --binarize T to count score > T as correct)")
    return "scores are 0/1"


def build_report(ev: Evaluator, runs: Sequence[RouterRun]) -> dict[str, Any]:
    """Aggregate runs of one evaluator into the report dict (see the module docstring)."""
    seeds = ev.seeds
    refs = [ev.references(s) for s in seeds]
    pools = [_frontier_pool(runs, refs[i], i) for i in range(len(seeds))]
    meta = dict(ev.matrix.metadata)

    metrics: dict[str, Any] = {}
    per_dataset: dict[str, Any] = {}
    points: dict[str, Any] = {}
    distribution: dict[str, Any] = {}
    timing: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    describe: dict[str, Any] = {}
    ood = sorted({d for seed in seeds for d in ev.split(seed).ood})
    for run in runs:
        per_seed = [seed_metrics(run, i, refs[i], ev.setting, pools[i], ood)
                    for i in range(len(seeds))]
        metrics[run.name] = {k: _summ([m[k] for m in per_seed]) for k in per_seed[0]}
        per_dataset[run.name] = {
            d: _summ([s.default.per_dataset.get(d, float("nan")) for s in run.seeds])
            for d in ev.names
        }
        points[run.name] = [
            {"seed": s.seed, "config": p.config, "cost": p.cost, "avg_acc": p.avg_acc}
            for s in run.seeds for p in s.points
        ]
        distribution[run.name] = {
            m: float(np.mean([s.default.distribution.get(m, 0.0) for s in run.seeds]))
            for m in ev.matrix.models
        }
        timing[run.name] = {
            "fit_seconds": [s.fit_seconds for s in run.seeds],
            "route_seconds": [sum(p.route_seconds for p in s.points) for s in run.seeds],
        }
        counts[run.name] = {
            "n_missing_choice": int(sum(s.default.n_missing_choice for s in run.seeds)),
            "n_missing_cost": int(sum(s.default.n_missing_cost for s in run.seeds)),
        }
        describe[run.name] = [s.describe for s in run.seeds]

    baselines: dict[str, Any] = {}
    for key, name in BASELINE_KEYS.items():
        pts = [p for p in (r.get(name) for r in refs) if p is not None]
        entry: dict[str, Any] = {
            "avg_acc": _summ([p.avg_acc for p in pts]), "cost": _summ([p.cost for p in pts]),
        }
        if ood:
            split = [id_ood(p.per_dataset, ood) for p in pts]
            entry["avg_acc_id"] = _summ([x["avg_acc_id"] for x in split])
            entry["avg_acc_ood"] = _summ([x["avg_acc_ood"] for x in split])
        if name in ("best-single", "cheapest"):
            entry["models"] = [p.model for p in pts]
        baselines[key] = entry
        per_dataset.setdefault(name, {
            d: _summ([p.per_dataset.get(d, float("nan")) for p in pts]) for d in ev.names
        })
    singles = {
        m: [{"seed": r.seed, "cost": r.singles[m].cost, "avg_acc": r.singles[m].avg_acc}
            for r in refs]
        for m in ev.matrix.models
    }
    splits = []
    for s in seeds:
        summary = ev.split(s).summary()
        summary["n_unscorable_test_dropped"] = ev.n_unscorable_test(s)
        splits.append(summary)
    report = {
        "bench": ev.matrix.bench,
        "setting": ev.setting,
        "seeds": list(seeds),
        "synthetic": bool(meta.get("synthetic", False)),
        "cost_estimated": bool(meta.get("cost_estimated", False)),
        "labels": labels(meta),
        "missing_policy": ev.missing,
        "score_rule": score_rule(ev),
        "ood": ood,
        "router": [r.name for r in runs],
        "metrics": metrics,
        "baselines": baselines,
        "per_dataset": per_dataset,
        "points": {**points, "singles": singles},
        "distribution": distribution,
        "timing": {**timing, "embed_seconds": ev.embed_seconds},
        "counts": counts,
        "splits": splits,
        "describe": describe,
        "params": {r.name: r.params for r in runs},
    }
    return _clean(report)
