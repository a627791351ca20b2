"""Routing metrics: the paper's (DESIGN.md §5) and a few from related benchmarks.

Pure functions on numbers, so each can be checked against hand computations.

Performance setting (accuracies as fractions; AvgAcc itself is computed by the evaluator as the
unweighted mean over datasets):

- ``gain_r = Acc/Acc_R - 1`` (vs the expected accuracy of a uniform random pick),
- ``gain_b = Acc/Acc_B - 1`` (vs the best single model, chosen on train, scored on test),
- ``gap_o = 1 - Acc/Acc_O`` (vs the per-query oracle).

Performance–cost setting, over a router's (cost, accuracy) points, B = the best single model:

- ``perf_gain = max Acc/Acc_B - 1``,
- ``cost_save = max over points with Acc >= Acc_B of 1 - Cost/Cost_B`` (None = N/A when no
  point reaches Acc_B),
- Pareto frontier of all points of the comparison (every router's points and every single
  model); ``pareto_ratio`` = share of a router's points on it; ``pareto_dist`` = mean Euclidean
  distance of a router's points to the frontier (the polyline through the frontier points), in
  the space where cost and accuracy are each min–max normalised over all points.

Beyond the paper:

- RouteLLM's APGR and CPT. RouteLLM routes between one weak and one strong model and puts the
  share of calls to the strong model on the x axis. With a pool of models we put cost on it
  instead, normalised so the weak model (the cheapest) sits at 0 and the strong one (the best
  single) at 1: ``PGR = (Acc - Acc_weak)/(Acc_strong - Acc_weak)``; APGR is the area under the
  best PGR reachable within each normalised budget on [0, 1]; CPT(50%) is the smallest
  normalised cost at which PGR >= 0.5 (None when never reached).
- RouterBench's AIQ: the area under the non-decreasing upper convex hull of a router's
  (cost, quality) points over [c_min, c_max] divided by the width; below the router's cheapest
  point it has no operating point and the hull counts as 0.
- Mean and percentile-bootstrap 95% CI over seeds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20240601


def gain_r(acc: float, acc_random: float) -> float:
    return acc / acc_random - 1.0


def gain_b(acc: float, acc_best: float) -> float:
    return acc / acc_best - 1.0


def gap_o(acc: float, acc_oracle: float) -> float:
    return 1.0 - acc / acc_oracle


def perf_gain(accs: Sequence[float], acc_best: float) -> float:
    return float(np.max(accs)) / acc_best - 1.0


def cost_save(costs: Sequence[float], accs: Sequence[float], acc_best: float,
              cost_best: float, *, tol: float = 1e-12) -> float | None:
    """Largest saving among points at least as accurate as B; None (N/A) when there is none."""
    c, a = np.asarray(costs, float), np.asarray(accs, float)
    ok = a >= acc_best - tol
    if not ok.any():
        return None
    return float(np.max(1.0 - c[ok] / cost_best))


def pareto_frontier(costs: Sequence[float], accs: Sequence[float]) -> np.ndarray:
    """Mask of non-dominated points: no other point is at most as costly and at least as
    accurate with one of the two strictly better. Equal points are all on the frontier."""
    c, a = np.asarray(costs, float), np.asarray(accs, float)
    dominated = ((c[None, :] <= c[:, None]) & (a[None, :] >= a[:, None])
                 & ((c[None, :] < c[:, None]) | (a[None, :] > a[:, None]))).any(axis=1)
    return ~dominated


def _normaliser(costs: np.ndarray, accs: np.ndarray):
    def scale(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
        return (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)

    c_lo, c_hi, a_lo, a_hi = costs.min(), costs.max(), accs.min(), accs.max()
    return lambda c, a: (scale(np.asarray(c, float), c_lo, c_hi),
                         scale(np.asarray(a, float), a_lo, a_hi))


def _point_to_segment(p: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    d = b - a
    denom = float(d @ d)
    t = 0.0 if denom == 0 else float(np.clip((p - a) @ d / denom, 0.0, 1.0))
    return float(np.linalg.norm(p - (a + t * d)))


def pareto_ratio(router_costs: Sequence[float], router_accs: Sequence[float],
                 all_costs: Sequence[float], all_accs: Sequence[float]) -> float:
    """Share of the router's points on the frontier of all points (router's included)."""
    rc, ra = np.asarray(router_costs, float), np.asarray(router_accs, float)
    c = np.concatenate([rc, np.asarray(all_costs, float)])
    a = np.concatenate([ra, np.asarray(all_accs, float)])
    return float(pareto_frontier(c, a)[: len(rc)].mean())


def pareto_dist(router_costs: Sequence[float], router_accs: Sequence[float],
                all_costs: Sequence[float], all_accs: Sequence[float]) -> float:
    """Mean normalised distance of the router's points to the frontier of all points."""
    rc, ra = np.asarray(router_costs, float), np.asarray(router_accs, float)
    c = np.concatenate([rc, np.asarray(all_costs, float)])
    a = np.concatenate([ra, np.asarray(all_accs, float)])
    norm = _normaliser(c, a)
    on = pareto_frontier(c, a)
    fc, fa = norm(c[on], a[on])
    order = np.argsort(fc, kind="stable")
    front = np.stack([fc[order], fa[order]], axis=1)
    pc, pa = norm(rc, ra)
    dists = []
    for p in np.stack([pc, pa], axis=1):
        if len(front) == 1:
            dists.append(float(np.linalg.norm(p - front[0])))
        else:
            dists.append(min(_point_to_segment(p, front[i], front[i + 1])
                             for i in range(len(front) - 1)))
    return float(np.mean(dists))


def apgr(costs: Sequence[float], accs: Sequence[float], weak: tuple[float, float],
         strong: tuple[float, float]) -> float | None:
    """Cost-normalised APGR (see module docstring); ``weak``/``strong`` are (cost, acc).
    None when the strong model is not both more accurate and costlier than the weak one."""
    (cw, aw), (cs, as_) = weak, strong
    if not (as_ > aw and cs > cw):
        return None
    x = (np.asarray(costs, float) - cw) / (cs - cw)
    pgr = (np.asarray(accs, float) - aw) / (as_ - aw)
    grid = np.unique(np.clip(np.concatenate([[0.0, 1.0], x]), 0.0, 1.0))
    area = 0.0
    for left, right in zip(grid[:-1], grid[1:], strict=True):
        within = x <= left + 1e-12
        best = max(0.0, float(pgr[within].max())) if within.any() else 0.0
        area += best * (right - left)
    return float(area)


def cpt(costs: Sequence[float], accs: Sequence[float], weak: tuple[float, float],
        strong: tuple[float, float], target: float = 0.5) -> float | None:
    """Smallest normalised cost reaching PGR >= ``target`` (CPT(50%) by default); None if
    no point reaches it."""
    (cw, aw), (cs, as_) = weak, strong
    if not (as_ > aw and cs > cw):
        return None
    x = (np.asarray(costs, float) - cw) / (cs - cw)
    pgr = (np.asarray(accs, float) - aw) / (as_ - aw)
    ok = pgr >= target - 1e-12
    return float(max(0.0, x[ok].min())) if ok.any() else None


def _upper_hull(c: np.ndarray, a: np.ndarray) -> np.ndarray:
    pts = sorted(set(zip(c.tolist(), a.tolist(), strict=True)))
    hull: list[tuple[float, float]] = []
    for p in pts:
        while len(hull) >= 2:
            (x1, y1), (x2, y2) = hull[-2], hull[-1]
            if (x2 - x1) * (p[1] - y1) - (y2 - y1) * (p[0] - x1) >= 0:  # not a right turn
                hull.pop()
            else:
                break
        hull.append(p)
    return np.array(hull, dtype=float)


def aiq(costs: Sequence[float], accs: Sequence[float], c_min: float | None = None,
        c_max: float | None = None) -> float:
    """RouterBench's AIQ over [c_min, c_max] (default: the router's own cost range)."""
    c, a = np.asarray(costs, float), np.asarray(accs, float)
    lo = float(c.min()) if c_min is None else float(c_min)
    hi = float(c.max()) if c_max is None else float(c_max)
    if hi <= lo:
        return float(a.max())
    hull = _upper_hull(c, a)
    top = int(np.argmax(hull[:, 1]))
    hull = hull[: top + 1]  # the rising part; flat after the best point
    xs = np.concatenate([hull[:, 0], [max(hi, hull[-1, 0])]])
    ys = np.concatenate([hull[:, 1], [hull[-1, 1]]])
    grid = np.unique(np.clip(np.concatenate([[lo, hi], xs]), lo, hi))
    # piecewise linear between grid points; nothing before the router's cheapest point
    area = 0.0
    for i in range(len(grid) - 1):
        left, right = grid[i], grid[i + 1]
        if right <= xs[0] + 1e-15:
            continue
        area += 0.5 * (np.interp(left, xs, ys) + np.interp(right, xs, ys)) * (right - left)
    return float(area / (hi - lo))


@dataclass(frozen=True)
class Summary:
    """Mean over seeds with a percentile-bootstrap CI (``n`` = seeds with a value)."""

    mean: float | None
    ci_low: float | None
    ci_high: float | None
    n: int

    def as_dict(self) -> dict[str, float | int | None]:
        return {"mean": self.mean, "ci_low": self.ci_low, "ci_high": self.ci_high, "n": self.n}


def summarise(values: Sequence[float | None], *, level: float = 0.95,
              n_boot: int = BOOTSTRAP_SAMPLES, seed: int = BOOTSTRAP_SEED) -> Summary:
    """Mean and bootstrap CI of per-seed values; None/NaN values (N/A seeds) are left out."""
    v = np.array([x for x in values if x is not None and not np.isnan(x)], dtype=float)
    if len(v) == 0:
        return Summary(None, None, None, 0)
    if len(v) == 1:
        return Summary(float(v[0]), float(v[0]), float(v[0]), 1)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), size=(n_boot, len(v)))].mean(axis=1)
    alpha = (1.0 - level) / 2
    return Summary(float(v.mean()), float(np.quantile(means, alpha)),
                   float(np.quantile(means, 1 - alpha)), int(len(v)))


def routing_distribution(choice: np.ndarray, models: Sequence[str]) -> dict[str, float]:
    """Share of queries sent to each model."""
    counts = np.bincount(np.asarray(choice, dtype=np.int64), minlength=len(models))
    total = max(int(counts.sum()), 1)
    return {m: float(n) / total for m, n in zip(models, counts, strict=True)}
