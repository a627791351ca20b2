"""Small numerical building blocks shared by routers (numpy only at import time).

Several routers rest on the same few pieces: k-means over query embeddings (Avengers,
Avengers-Pro, RouterDC's cluster loss), per-cluster model statistics, softmax weighting of
nearby centroids, choosing a strong/cheap model on train, calibrating a probability threshold
so that a target share of queries goes one way (RouteLLM, Hybrid LLM), and logistic regression
with soft labels (Hybrid LLM's probabilistic labels, FrugalGPT's answer scorer). They live here
once so every router that uses them behaves the same and is tested once.

The public functions are a stable API: other plugins import them. Only add to it.
sklearn is imported inside the function that needs it, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from routerbench_core.embedding.base import l2_normalise
from routerbench_core.routing.accuracy import avg_acc, best_index, cheapest_index

if TYPE_CHECKING:
    from routerbench_core.routing.router import LabeledSet, QuerySet

__all__ = [
    "blas_threads",
    "KMeansResult",
    "kmeans",
    "assign",
    "nearest_centroids",
    "softmax",
    "cluster_means",
    "minmax",
    "centroid_weights",
    "best_model",
    "cheapest_model",
    "model_mean_cost",
    "costs_known",
    "threshold_for_share",
    "ShareThreshold",
    "share_threshold",
    "share_grid",
    "fit_soft_logistic",
    "SoftLogistic",
    "dataset_mean_accuracy",
    "subset",
    "pareto_models",
    "strong_weak_pair",
    "ClusterProfile",
    "cluster_profile",
    "cluster_vote",
    "rank_scores",
]


# -- threads ------------------------------------------------------------------------------


@contextlib.contextmanager
def blas_threads(n: int | None = None):  # type: ignore[no-untyped-def]
    """Limit BLAS/OpenMP threads inside the block (``RBENCH_BLAS_THREADS``, default 1).

    The matrices here are small (thousands × hundreds); on a busy machine BLAS worker threads
    cost far more in contention than they gain (measured on the shared 2-core box: k-means on
    3,500 × 384 took 0.8–1.2 s with the default threads and 0.1–0.15 s with one). ``0`` keeps
    the library's own choice. Without threadpoolctl (an sklearn dependency) it does nothing.
    """
    if n is None:
        raw = os.environ.get("RBENCH_BLAS_THREADS", "").strip()
        n = int(raw) if raw else 1
    if n <= 0:
        yield
        return
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - sklearn brings it
        yield
        return
    with threadpool_limits(limits=n):
        yield


# -- clustering ---------------------------------------------------------------------------


@dataclass(frozen=True)
class KMeansResult:
    """Centroids (k × d), the train labels (n,) and the final inertia (sum of squared
    distances)."""

    centroids: np.ndarray
    labels: np.ndarray
    inertia: float


def _sq_dists(x: np.ndarray, c: np.ndarray, x_sq: np.ndarray | None = None) -> np.ndarray:
    """Squared Euclidean distances (n × k), computed without an n × k × d temporary.

    ``x_sq`` (the rows' squared norms) may be passed in when the same ``x`` is used many times.
    """
    if x_sq is None:
        x_sq = np.einsum("ij,ij->i", x, x)
    d = x_sq[:, None] - 2.0 * (x @ c.T) + np.einsum("ij,ij->i", c, c)[None, :]
    return np.maximum(d, 0.0)


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each new centre drawn with probability ∝ squared distance."""
    n = x.shape[0]
    x_sq = np.einsum("ij,ij->i", x, x)
    centres = np.empty((k, x.shape[1]), dtype=x.dtype)
    centres[0] = x[rng.integers(n)]
    closest = _sq_dists(x, centres[:1], x_sq)[:, 0]
    for j in range(1, k):
        total = closest.sum()
        if total <= 0:  # fewer distinct points than k: repeat a point (its cluster stays empty)
            centres[j] = x[rng.integers(n)]
            continue
        idx = int(np.searchsorted(np.cumsum(closest), rng.random() * total, side="right"))
        centres[j] = x[min(idx, n - 1)]
        closest = np.minimum(closest, _sq_dists(x, centres[j : j + 1], x_sq)[:, 0])
    return centres.astype(np.float64)


def kmeans(
    x: np.ndarray,
    k: int,
    *,
    seed: int | np.random.Generator = 0,
    n_init: int = 3,
    max_iter: int = 100,
    tol: float = 1e-6,
    normalise: bool = True,
) -> KMeansResult:
    """Lloyd's k-means with k-means++ seeding, best of ``n_init`` runs, fully seeded.

    Rows are L2-normalised first (``normalise``) because routers compare sentence embeddings
    by direction. An empty cluster is re-seeded at the point farthest from its centre, so
    exactly ``k`` centroids come back whenever there are at least ``k`` distinct points.
    """
    with blas_threads():
        return _kmeans(x, k, seed=seed, n_init=n_init, max_iter=max_iter, tol=tol,
                       normalise=normalise)


def _kmeans(
    x: np.ndarray,
    k: int,
    *,
    seed: int | np.random.Generator = 0,
    n_init: int = 3,
    max_iter: int = 100,
    tol: float = 1e-6,
    normalise: bool = True,
) -> KMeansResult:
    """:func:`kmeans` itself, run inside its BLAS thread limit."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"kmeans needs a non-empty (n, d) array, got shape {x.shape}")
    if normalise:
        x = l2_normalise(x).astype(np.float64)
    x_sq = np.einsum("ij,ij->i", x, x)
    k = int(k)
    if k < 1:
        raise ValueError(f"kmeans needs k >= 1, got {k}")
    k = min(k, x.shape[0])
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    best: KMeansResult | None = None
    for _ in range(max(1, n_init)):
        centres = _kmeans_pp(x, k, rng)
        labels = np.zeros(x.shape[0], dtype=np.int64)
        previous = np.inf
        for _ in range(max_iter):
            d = _sq_dists(x, centres, x_sq)
            labels = d.argmin(1)
            inertia = float(d[np.arange(len(x)), labels].sum())
            counts = np.bincount(labels, minlength=k)
            onehot = np.zeros((k, len(x)))
            onehot[labels, np.arange(len(x))] = 1.0
            sums = onehot @ x
            empty = counts == 0
            centres = np.where(empty[:, None], centres, sums / np.maximum(counts, 1)[:, None])
            if empty.any():
                far = np.argsort(-d[np.arange(len(x)), labels])[: int(empty.sum())]
                centres[np.flatnonzero(empty)] = x[far]
            if previous - inertia <= tol * max(previous, 1e-12) and not empty.any():
                break
            previous = inertia
        d = _sq_dists(x, centres, x_sq)
        labels = d.argmin(1)
        inertia = float(d[np.arange(len(x)), labels].sum())
        if best is None or inertia < best.inertia:
            best = KMeansResult(centres.astype(np.float32), labels, inertia)
    assert best is not None
    return best


def assign(x: np.ndarray, centroids: np.ndarray, normalise: bool = True) -> np.ndarray:
    """Index of the nearest centroid for each row."""
    x = l2_normalise(np.asarray(x, dtype=np.float32)) if normalise else np.asarray(x)
    return _sq_dists(x.astype(np.float64), centroids.astype(np.float64)).argmin(1)


def nearest_centroids(
    x: np.ndarray, centroids: np.ndarray, top_k: int, normalise: bool = True,
    metric: str = "euclidean",
) -> tuple[np.ndarray, np.ndarray]:
    """The ``top_k`` nearest centroids of each row: (indices, distances), both n × k, nearest
    first.

    ``metric`` "euclidean" is the distance between the (normalised) row and the centroid;
    "cosine" is 1 − x·c with the row L2-normalised and the centroid taken as k-means left it
    (the mean of unit vectors, not re-normalised) — the rule of the Avengers reference code.
    """
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"metric must be 'euclidean' or 'cosine', not {metric!r}")
    x = l2_normalise(np.asarray(x, dtype=np.float32)) if normalise else np.asarray(x)
    x64, c64 = x.astype(np.float64), centroids.astype(np.float64)
    d = np.sqrt(_sq_dists(x64, c64)) if metric == "euclidean" else 1.0 - x64 @ c64.T
    top_k = max(1, min(int(top_k), centroids.shape[0]))
    idx = np.argsort(d, axis=1, kind="stable")[:, :top_k]
    return idx, np.take_along_axis(d, idx, axis=1)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax."""
    z = np.asarray(z, dtype=np.float64)
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def centroid_weights(distances: np.ndarray, beta: float) -> np.ndarray:
    """Voting weights of the nearest centroids: softmax(−β · distance) per row."""
    return softmax(-float(beta) * np.asarray(distances, dtype=np.float64), axis=1)


def cluster_means(
    labels: np.ndarray, values: np.ndarray, k: int, prior_weight: float = 0.0
) -> np.ndarray:
    """Per-cluster mean of ``values`` (n × m, NaN = missing) → k × m.

    A cell with no known value falls back to the model's global mean. ``prior_weight`` > 0
    shrinks small clusters towards the global mean (adds that many pseudo-observations of it),
    which keeps a two-query cluster from deciding a ranking on its own.
    """
    values = np.asarray(values, dtype=np.float64)
    known = ~np.isnan(values)
    filled = np.where(known, values, 0.0)
    sums = np.zeros((k, values.shape[1]))
    counts = np.zeros((k, values.shape[1]))
    np.add.at(sums, labels, filled)
    np.add.at(counts, labels, known.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column with nothing known: 0 below
        global_mean = np.nanmean(values, axis=0) if values.size else np.zeros(values.shape[1])
    global_mean = np.where(np.isnan(global_mean), 0.0, global_mean)
    means = (sums + prior_weight * global_mean) / np.maximum(counts + prior_weight, 1e-12)
    return np.where(counts + prior_weight > 0, means, global_mean[None, :])


def minmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Min–max scale to [0, 1] along ``axis``; a constant slice maps to 1 (all equally good)."""
    x = np.asarray(x, dtype=np.float64)
    lo = x.min(axis=axis, keepdims=True)
    hi = x.max(axis=axis, keepdims=True)
    span = hi - lo
    return np.where(span > 0, (x - lo) / np.where(span > 0, span, 1.0), 1.0)


# -- model choices on train ---------------------------------------------------------------


def dataset_mean_accuracy(score: np.ndarray, datasets: np.ndarray,
                          missing: str = "wrong") -> np.ndarray:
    """AvgAcc per column: mean over datasets of the column's mean score.

    ``score`` is n × m (or n for one column). This is the protocol's headline metric with its
    missing-score rule (default ``wrong``: a missing score counts 0, as the evaluator scores
    test by default; pass ``train.missing`` to follow the run), so routers compare candidates
    on train/validation the way they will be judged. One implementation:
    :func:`routerbench_core.routing.accuracy.avg_acc`.
    """
    return avg_acc(score, datasets, missing)  # type: ignore[arg-type]


def best_model(train: LabeledSet) -> int:
    """Index of the model with the best AvgAcc on ``train`` (ties: the cheaper known cost,
    then the first), by the rule the evaluator's best single uses."""
    return best_index(train.avg_acc(), train.mean_cost())


def model_mean_cost(train: LabeledSet, required: bool = True) -> np.ndarray:
    """Mean cost per query of each model on ``train``.

    With ``required`` a model with no known cost is an error (a model with no price is never
    $0), naming the model.
    """
    cost = train.mean_cost()
    if required:
        unknown = [m for m, c in zip(train.models, cost, strict=True) if np.isnan(c)]
        if unknown:
            from routerbench_core.routing.router import RouterError

            raise RouterError(
                "no cost is known for model(s) " + ", ".join(unknown) + " on the training "
                "split; this router needs costs (import a bench with costs or prices)"
            )
    return cost


def cheapest_model(train: LabeledSet) -> int:
    """Index of the model with the lowest mean cost on train (ties: the more accurate, then
    the first); an error naming the models without a known cost."""
    j = cheapest_index(model_mean_cost(train), train.avg_acc())
    assert j is not None  # model_mean_cost raised otherwise
    return j


def costs_known(train: LabeledSet) -> bool:
    """Whether every model has a known cost on ``train`` (cost-aware choices are possible)."""
    return bool(len(train.models)) and not np.isnan(train.mean_cost()).any()


def pareto_models(acc: np.ndarray, cost: np.ndarray) -> list[int]:
    """Indices of models not dominated in (higher accuracy, lower cost), cheapest first."""
    order = np.lexsort((-np.asarray(acc), np.asarray(cost)))
    keep: list[int] = []
    best = -np.inf
    for i in order.tolist():
        if acc[i] > best:
            keep.append(i)
            best = acc[i]
    return keep


# -- thresholds -------------------------------------------------------------------------


def threshold_for_share(prob: np.ndarray, share: float) -> float:
    """The threshold τ such that about ``share`` of ``prob`` is ≥ τ (calibrated on validation).

    share 0 → +inf (nothing passes), share 1 → −inf (everything passes).
    """
    prob = np.asarray(prob, dtype=np.float64)
    if share <= 0:
        return float("inf")
    if share >= 1 or prob.size == 0:
        return float("-inf")
    return float(np.quantile(prob, 1.0 - share, method="linear"))


def share_grid(n_points: int) -> list[float]:
    """Evenly spaced target shares 0, 1/(n−1), …, 1 (rounded for readable configs)."""
    n_points = max(2, int(n_points))
    return [round(float(s), 4) for s in np.linspace(0.0, 1.0, n_points)]


# -- soft-label logistic regression ---------------------------------------------------------


@dataclass
class SoftLogistic:
    """A fitted logistic model of P(y = 1 | x); constant when the labels carry no signal."""

    model: Any | None
    constant: float | None

    def predict(self, x: np.ndarray) -> np.ndarray:
        if self.model is None:
            assert self.constant is not None
            return np.full(len(x), self.constant)
        return self.model.predict_proba(x)[:, 1]


def fit_soft_logistic(
    x: np.ndarray, y: np.ndarray, *, c: float = 1.0, seed: int = 0, max_iter: int = 300
) -> SoftLogistic:
    """Logistic regression on soft labels y ∈ [0, 1] (probabilistic labels).

    Each row enters twice: as a positive with weight y and as a negative with weight 1 − y;
    minimising the weighted log-loss is exactly cross-entropy against the soft label.
    """
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(x, dtype=np.float64)
    y = np.clip(np.asarray(y, dtype=np.float64), 0.0, 1.0)
    keep = ~np.isnan(y)
    x, y = x[keep], y[keep]
    if len(y) == 0:
        raise ValueError("fit_soft_logistic: no labelled rows")
    mean = float(y.mean())
    if np.all(y == y[0]) or mean in (0.0, 1.0):
        return SoftLogistic(None, mean)
    xx = np.vstack([x, x])
    yy = np.concatenate([np.ones(len(y)), np.zeros(len(y))])
    ww = np.concatenate([y, 1.0 - y])
    nz = ww > 0
    model = LogisticRegression(C=c, max_iter=max_iter, random_state=seed)
    model.fit(xx[nz], yy[nz], sample_weight=ww[nz])
    return SoftLogistic(model, None)


# -- query subsets --------------------------------------------------------------------------


def subset(queries: QuerySet, index: np.ndarray | Sequence[int]) -> QuerySet:
    """The queries at ``index`` as a new QuerySet (same embedder and stored answers).

    Cascades use it to read a model's answers only for the queries that reach that model, so
    what they read is exactly what they are charged for. Embeddings already computed are
    carried over.
    """
    from routerbench_core.routing.router import LabeledSet, QuerySet

    idx = np.asarray(index, dtype=np.int64)
    cache: dict[str, Any] = {}
    if "emb" in queries._cache:
        cache["emb"] = queries._cache["emb"][idx]
    base = QuerySet(
        keys=queries.keys[idx], datasets=queries.datasets[idx],
        texts=[queries.texts[i] for i in idx.tolist()], models=queries.models,
        _embed=queries._embed, _outputs=queries._outputs, _cache=cache,
    )
    if isinstance(queries, LabeledSet):
        fields = {
            f: getattr(queries, f)[idx]
            for f in ("score", "cost", "prompt_tokens", "completion_tokens")
            if getattr(queries, f).shape[0] == len(queries.keys)
        }
        return dataclasses.replace(queries, **{
            "keys": base.keys, "datasets": base.datasets, "texts": base.texts,
            "_cache": cache, **fields,
        })
    return base


# -- cluster profiles (Avengers, Avengers-Pro) -----------------------------------------------


@dataclass(frozen=True)
class ClusterProfile:
    """k-means centroids over train embeddings with per-cluster model statistics.

    ``acc`` (k × m) is each model's mean train score per cluster; ``cost`` (k × m) its mean
    cost per query there (None when costs were not given); ``sizes`` the train queries per
    cluster.
    """

    centroids: np.ndarray
    acc: np.ndarray
    cost: np.ndarray | None
    sizes: np.ndarray

    @property
    def k(self) -> int:
        return int(self.centroids.shape[0])


def cluster_profile(
    emb: np.ndarray,
    score: np.ndarray,
    k: int,
    *,
    cost: np.ndarray | None = None,
    seed: int = 0,
    prior_weight: float = 0.0,
    n_init: int = 3,
) -> ClusterProfile:
    """Cluster ``emb`` into ``k`` groups and tabulate each model's accuracy (and cost) per
    cluster."""
    res = kmeans(emb, k, seed=seed, n_init=n_init)
    kk = res.centroids.shape[0]
    acc = cluster_means(res.labels, score, kk, prior_weight=prior_weight)
    cst = None if cost is None else cluster_means(res.labels, cost, kk, prior_weight=0.0)
    return ClusterProfile(res.centroids, acc, cst, np.bincount(res.labels, minlength=kk))


def rank_scores(table: np.ndarray, rule: str = "linear") -> np.ndarray:
    """Per-row rank scores of a (clusters × models) table, higher value = better rank.

    ``rule`` "linear": the best model of a row gets 1, the worst 0, linear in between (ties
    share the mean rank). "reciprocal": 1 / (rank + 1) with rank 0 for the best — the rule of
    the Avengers reference code, which sorts the models by value (stable, so a tie goes to the
    model listed first) and scores each position.
    """
    table = np.asarray(table, dtype=np.float64)
    m = table.shape[1]
    if rule == "reciprocal":
        order = np.argsort(-table, axis=1, kind="stable")
        ranks = np.empty_like(order)
        np.put_along_axis(ranks, order, np.arange(m)[None, :].repeat(len(table), 0), axis=1)
        return 1.0 / (ranks + 1.0)
    if rule != "linear":
        raise ValueError(f"rule must be 'linear' or 'reciprocal', not {rule!r}")
    if m == 1:
        return np.ones_like(table)
    # average ranks with ties: rank = (#strictly less) + (#equal − 1) / 2
    less = (table[:, None, :] < table[:, :, None]).sum(2)
    equal = (table[:, None, :] == table[:, :, None]).sum(2) - 1
    return (less + equal / 2.0) / (m - 1)


def cluster_vote(
    emb: np.ndarray, centroids: np.ndarray, table: np.ndarray, top_k: int, beta: float,
    metric: str = "euclidean",
) -> np.ndarray:
    """Combined per-model scores (n × m): the ``top_k`` nearest clusters' rows of ``table``
    weighted by softmax(−β · distance) (``metric`` as in :func:`nearest_centroids`)."""
    idx, dist = nearest_centroids(emb, centroids, top_k, metric=metric)
    w = centroid_weights(dist, beta)
    return np.einsum("nk,nkm->nm", w, np.asarray(table, dtype=np.float64)[idx])


def strong_weak_pair(
    train: LabeledSet, strong: str | None = None, weak: str | None = None, *,
    require_cost: bool = True,
) -> tuple[int, int, str]:
    """The (strong, weak) model indices of a two-model router, and a note on how they were chosen.

    The rule, with the names of the models the user gave kept as given:

    - **costs known for every model and not all equal**: weak = the cheapest on train (ties: the
      more accurate), strong = the best on train (AvgAcc) among the others (ties: the cheaper).
      When the cheapest model is also the best, the strong one is the runner-up and the note
      says so (routing can then only trade accuracy away, which the curve will show);
    - **costs unknown or all equal** (allowed only when ``require_cost`` is false, i.e. in the
      perf setting): there is no "cheap" model, so strong = the best on train and weak = the
      runner-up on train — the pair whose per-query choice can lift accuracy above the best
      single model most; the note says so. Never the best model as the "cheap" one.

    With ``require_cost`` a model without a known cost is an error naming it.
    """
    from routerbench_core.routing.router import RouterError

    names = list(train.models)
    for label, value in (("strong", strong), ("weak", weak)):
        if value is not None and value not in names:
            raise RouterError(
                f"{label}={value!r} is not a model of this bench; models: {', '.join(names)}"
            )
    acc = train.avg_acc()
    cost = model_mean_cost(train, required=require_cost)
    by_cost = costs_known(train) and float(np.nanmax(cost)) > float(np.nanmin(cost))
    if by_cost:
        w = names.index(weak) if weak is not None else cheapest_model(train)
    elif weak is not None:
        w = names.index(weak)
    else:
        w = -1
    if strong is not None:
        s = names.index(strong)
        note = "given"
    elif by_cost:
        s = best_index(acc, cost, exclude=[w])
        note = "best on train"
        if best_index(acc, cost) == w:
            note = "runner-up on train (the cheapest model is also the best)"
    else:
        s = best_index(acc, None, exclude=[w] if w >= 0 else [])
        note = "best on train"
    if w < 0:
        w = best_index(acc, None, exclude=[s])
        note += ("; weak = runner-up on train (no model is cheaper than another: "
                 + ("costs all equal" if costs_known(train) else "costs unknown") + ")")
    if s == w:
        raise RouterError(
            f"strong and weak are the same model ({names[s]}); pass different "
            "--param strong=... and --param weak=..."
        )
    return s, w, note


@dataclass(frozen=True)
class ShareThreshold:
    """A threshold that sends a target share of calibration scores "up", ties included.

    Scores ≥ ``tau`` pass, except that scores exactly equal to ``tau`` pass only with
    probability ``tie_fraction`` — a randomised threshold. Without it a block of equal scores
    (identical embeddings give identical predictions) makes whole ranges of target shares
    collapse onto one routing.
    """

    tau: float
    tie_fraction: float

    def passes(self, scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        scores = np.asarray(scores, dtype=np.float64)
        u = rng.random(len(scores))
        return (scores > self.tau) | ((scores == self.tau) & (u < self.tie_fraction))


def share_threshold(calib: np.ndarray, share: float) -> ShareThreshold:
    """The randomised threshold passing exactly ``share`` of ``calib`` in expectation."""
    calib = np.asarray(calib, dtype=np.float64)
    if share <= 0 or calib.size == 0 and share < 1:
        return ShareThreshold(float("inf"), 0.0)
    if share >= 1:
        return ShareThreshold(float("-inf"), 1.0)
    n = len(calib)
    want = share * n
    ordered = np.sort(calib)[::-1]
    tau = float(ordered[min(n - 1, max(0, int(np.ceil(want)) - 1))])
    above = int((calib > tau).sum())
    at = int((calib == tau).sum())
    frac = float(np.clip((want - above) / at, 0.0, 1.0)) if at else 0.0
    return ShareThreshold(tau, frac)


def route_two_by_share(
    prob: np.ndarray, calib: np.ndarray, share: float, rng: np.random.Generator, *,
    picked: int, other: int, share_key: str,
) -> Any:
    """Two-model routing: send the ``share`` of queries with the highest ``prob`` to model
    ``picked`` and the rest to ``other``. The threshold is calibrated on validation
    probabilities ``calib`` (never on the routed queries); ties at it are broken at random so
    the share is met in expectation. Returns a :class:`routerbench_core.routing.router.Routing`."""
    from routerbench_core.routing.router import Routing

    th = share_threshold(calib, share)
    chosen = th.passes(prob, rng)
    return Routing(
        choice=np.where(chosen, picked, other).astype(np.int64),
        info={"threshold": th.tau, "tie_fraction": th.tie_fraction, share_key: share},
    )


def check_model_pair(router: str, models: Sequence[str], **named: str | None) -> None:
    """Validate user-named models of a two-model router (e.g. ``strong=``/``weak=``): each must
    be a model of the bench and the two must differ. ``None`` means "choose on train"."""
    from routerbench_core.routing.router import RouterError

    for key, value in named.items():
        if value is not None and value not in models:
            raise RouterError(
                f"{router}: {key}={value!r} is not a model of this bench; models: "
                + ", ".join(models)
            )
    given = [v for v in named.values() if v is not None]
    if len(given) == 2 and given[0] == given[1]:
        raise RouterError(
            f"{router}: {' and '.join(named)} are the same model ({given[0]})"
        )
