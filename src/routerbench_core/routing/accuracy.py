"""AvgAcc and "the best model": one rule for missing scores, one tie-break, used everywhere.

The evaluator (test points, best single, dataset oracle, oracle), the built-in baselines and the
routers' helpers in :mod:`routerbench_core.routing.ml` all call these functions, so a model is
"best" by the same rule wherever the word is used.

**Missing scores** (a failed or ungradable answer, NaN in the outcome matrix), ``missing``:

- ``"wrong"`` (the default): a missing score counts as 0 — the user got no usable answer;
- ``"skip"``: a missing score is left out of the means (a dataset with nothing known is left
  out of AvgAcc).

**AvgAcc** is the unweighted mean over datasets of the per-dataset mean score: each dataset
counts once, whatever its size. Scores may be soft (a probability, a fraction of attempts
passed): they are averaged as they are, so AvgAcc is then a mean expected accuracy
(``rbench route --binarize T`` first turns them into score > T).

**Ties** (:func:`best_index`): the higher accuracy wins (equal within 1e-12); among equally
accurate models the one with the lower known mean cost wins, a model with an unknown cost
ranking after every model with a known one; remaining ties go to the model listed first in the
bench. A bench with no costs at all is thus decided by accuracy, then by bench order — never
by an ``argmin`` over costs that are all NaN.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np

MissingPolicy = Literal["wrong", "skip"]
MISSING_POLICIES: tuple[str, ...] = ("wrong", "skip")
#: Accuracies closer than this are a tie.
TIE_TOLERANCE = 1e-12


def check_missing(missing: str) -> MissingPolicy:
    if missing not in MISSING_POLICIES:
        raise ValueError(f"missing must be wrong or skip, got {missing!r}")
    return missing  # type: ignore[return-value]


def apply_missing(score: np.ndarray, missing: MissingPolicy = "wrong") -> np.ndarray:
    """Scores with the missing rule applied: NaN → 0 (``wrong``) or left NaN (``skip``)."""
    s = np.asarray(score, dtype=np.float64)
    return np.where(np.isnan(s), 0.0, s) if check_missing(missing) == "wrong" else s


def per_dataset_mean(values: np.ndarray, datasets: np.ndarray,
                     names: Sequence[str]) -> dict[str, float]:
    """Mean of ``values`` per dataset (NaN left out; NaN for a dataset with nothing scored)."""
    out: dict[str, float] = {}
    for name in names:
        v = values[datasets == name]
        v = v[~np.isnan(v)]
        out[name] = float(v.mean()) if len(v) else float("nan")
    return out


def average_over_datasets(per_dataset: Mapping[str, float]) -> float:
    """AvgAcc: the unweighted mean over datasets (each dataset counts once, whatever its size)."""
    vals = np.array([v for v in per_dataset.values() if not np.isnan(v)], dtype=np.float64)
    return float(vals.mean()) if len(vals) else float("nan")


def avg_acc(score: np.ndarray, datasets: np.ndarray,
            missing: MissingPolicy = "wrong") -> np.ndarray:
    """AvgAcc of each column of ``score`` (n × m, or n for one column) over ``datasets``.

    NaN for a column with nothing known under ``skip`` (never under ``wrong``)."""
    s = apply_missing(score, missing)
    squeeze = s.ndim == 1
    if squeeze:
        s = s[:, None]
    ds = np.asarray(datasets)
    per = []
    for d in dict.fromkeys(ds.tolist()):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN column under skip
            per.append(np.nanmean(s[ds == d], axis=0))
    if not per:
        out = np.full(s.shape[1], np.nan)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = np.nanmean(np.stack(per), axis=0)
    return out[0] if squeeze else out


def mean_cost(cost: np.ndarray) -> np.ndarray:
    """Per-column mean cost over the known cells (NaN where none is known)."""
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] == 0:
        return np.full(c.shape[1] if c.ndim == 2 else 0, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(c, axis=0)


def best_index(acc: np.ndarray, cost: np.ndarray | None = None,
               exclude: Sequence[int] = ()) -> int:
    """The best model by the one rule (module docstring): accuracy, then known lower cost, then
    bench order. NaN accuracy ranks last; ``exclude`` lists indices that cannot win."""
    a = np.asarray(acc, dtype=np.float64).copy()
    a[np.isnan(a)] = -np.inf
    allowed = np.ones(len(a), dtype=bool)
    allowed[list(exclude)] = False
    if not allowed.any():
        raise ValueError("best_index: every model is excluded")
    top = a[allowed].max()
    near = a >= top - TIE_TOLERANCE if np.isfinite(top) else a == top
    tied = np.flatnonzero(allowed & near)
    if cost is not None and len(tied) > 1:
        c = np.asarray(cost, dtype=np.float64)[tied]
        known = ~np.isnan(c)
        if known.any():
            tied = tied[known][c[known] == c[known].min()]
    return int(tied[0])


def oracle_choice(score: np.ndarray, cost: np.ndarray) -> np.ndarray:
    """Per query, the model with the best score (NaN = unknown, never best); among models that
    reach it, the one with the lowest known cost of that query; then bench order. A query with
    no score at all gets model 0 (it cannot be evaluated anyway)."""
    s = np.asarray(score, dtype=np.float64)
    c = np.asarray(cost, dtype=np.float64)
    if s.size == 0:
        return np.zeros(s.shape[0], dtype=np.int64)
    filled = np.where(np.isnan(s), -np.inf, s)
    top = filled.max(axis=1, keepdims=True)
    at_best = (filled == top) & np.isfinite(filled)
    c_known = np.where(at_best & ~np.isnan(c), c, np.inf)
    cheapest = c_known.min(axis=1, keepdims=True)
    any_known = np.isfinite(cheapest)
    pick = np.where(any_known, at_best & (c_known == cheapest), at_best)
    return np.argmax(pick, axis=1).astype(np.int64)


def dataset_oracle_choice(score: np.ndarray, cost: np.ndarray, datasets: np.ndarray,
                          missing: MissingPolicy = "wrong") -> np.ndarray:
    """Per dataset, the model best on these queries (:func:`best_index` on its mean score under
    ``missing`` and its mean cost there), given to every query of the dataset."""
    s = apply_missing(score, missing)
    ds = np.asarray(datasets)
    choice = np.zeros(s.shape[0], dtype=np.int64)
    for d in dict.fromkeys(ds.tolist()):
        rows = ds == d
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            acc = np.nanmean(s[rows], axis=0)
        choice[rows] = best_index(acc, mean_cost(np.asarray(cost)[rows]))
    return choice


def cheapest_index(cost: np.ndarray, acc: np.ndarray | None = None) -> int | None:
    """The model with the lowest known mean cost (ties: the more accurate, then bench order);
    None when no cost is known at all."""
    c = np.asarray(cost, dtype=np.float64)
    if np.isnan(c).all():
        return None
    low = np.nanmin(c)
    tied = np.flatnonzero(c == low)
    if acc is None or len(tied) == 1:
        return int(tied[0])
    a = np.asarray(acc, dtype=np.float64)
    return int(tied[best_index(a[tied])])


def binarize(score: np.ndarray, threshold: float) -> np.ndarray:
    """``score > threshold`` as 1/0, missing cells kept missing (``--binarize``): e.g. RouterDC's
    metric counts a score > 0 as correct."""
    s = np.asarray(score, dtype=np.float64)
    return np.where(np.isnan(s), np.nan, (s > threshold).astype(np.float64))


def is_soft(score: np.ndarray) -> bool:
    """Whether any known score lies strictly between 0 and 1 (a probability, a fraction)."""
    s = np.asarray(score, dtype=np.float64)
    known = s[~np.isnan(s)]
    return bool(((known > 0) & (known < 1)).any())
