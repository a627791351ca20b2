"""Tests of the shared numerical helpers in routerbench_core.routing.ml."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench_core.routing import ml
from routerbench_core.routing.router import LabeledSet, QuerySet


def _blobs(k: int = 4, per: int = 30, d: int = 8, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:k] * 5
    x = np.concatenate([c + rng.normal(0, 0.3, (per, d)) for c in centres])
    return x, np.repeat(np.arange(k), per)


def test_kmeans_recovers_separated_blobs_and_is_seeded():
    x, truth = _blobs()
    a = ml.kmeans(x, 4, seed=1)
    b = ml.kmeans(x, 4, seed=1)
    assert np.array_equal(a.labels, b.labels)
    # each true blob maps to exactly one cluster and vice versa
    pairs = {(int(t), int(c)) for t, c in zip(truth, a.labels, strict=True)}
    assert len(pairs) == 4 and len({p[1] for p in pairs}) == 4
    assert np.array_equal(ml.assign(x, a.centroids), a.labels)


def test_kmeans_more_clusters_than_distinct_points():
    x = np.array([[1.0, 0.0]] * 5 + [[0.0, 1.0]] * 5)
    res = ml.kmeans(x, 4, seed=0)
    assert res.centroids.shape == (4, 2)
    assert res.inertia == pytest.approx(0.0, abs=1e-9)


def test_nearest_centroids_and_weights():
    c = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    idx, dist = ml.nearest_centroids(np.array([[0.9, 0.1]]), c, top_k=2)
    assert idx.tolist() == [[0, 1]]
    assert dist[0, 0] < dist[0, 1]
    w = ml.centroid_weights(dist, beta=9.0)
    assert w.sum() == pytest.approx(1.0) and w[0, 0] > w[0, 1]
    assert ml.centroid_weights(dist, beta=0.0)[0].tolist() == pytest.approx([0.5, 0.5])


def test_cluster_means_missing_and_prior():
    labels = np.array([0, 0, 1])
    values = np.array([[1.0, np.nan], [0.0, np.nan], [1.0, 1.0]])
    m = ml.cluster_means(labels, values, k=3)
    assert m[0].tolist() == pytest.approx([0.5, 1.0])  # model 1 unknown in cluster 0: global
    assert m[2].tolist() == pytest.approx([2 / 3, 1.0])  # empty cluster: global means
    shrunk = ml.cluster_means(labels, values, k=3, prior_weight=1.0)
    assert shrunk[1, 0] == pytest.approx((1.0 + 2 / 3) / 2)


def test_minmax_and_softmax():
    assert ml.minmax(np.array([[1.0, 3.0, 2.0]])).tolist() == [[0.0, 1.0, 0.5]]
    assert ml.minmax(np.array([[2.0, 2.0]])).tolist() == [[1.0, 1.0]]
    assert ml.softmax(np.array([1000.0, 1000.0])).tolist() == pytest.approx([0.5, 0.5])


def test_threshold_for_share():
    p = np.linspace(0, 1, 101)
    for share in (0.1, 0.5, 0.9):
        t = ml.threshold_for_share(p, share)
        assert np.mean(p >= t) == pytest.approx(share, abs=0.02)
    assert np.mean(p >= ml.threshold_for_share(p, 0.0)) == 0.0
    assert np.mean(p >= ml.threshold_for_share(p, 1.0)) == 1.0
    assert ml.share_grid(5) == [0.0, 0.25, 0.5, 0.75, 1.0]


def _labeled(score, cost, datasets=None):
    n, m = score.shape
    return LabeledSet(
        keys=np.array([f"k{i}" for i in range(n)]),
        datasets=np.array(datasets if datasets is not None else ["a"] * n),
        texts=[f"q{i}" for i in range(n)], models=[f"m{j}" for j in range(m)],
        score=score, cost=cost,
    )


def test_best_cheapest_and_avgacc():
    score = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float)
    cost = np.array([[3, 1, 2]] * 4, dtype=float)
    train = _labeled(score, cost, datasets=["a", "a", "b", "b"])
    # AvgAcc per model: m0 (1+0.5)/2, m1 (0.5+0.5)/2, m2 (0.5+1)/2 -> tie m0/m2, m2 cheaper
    assert ml.dataset_mean_accuracy(score, train.datasets).tolist() == [0.75, 0.5, 0.75]
    assert ml.best_model(train) == 2
    assert ml.cheapest_model(train) == 1
    assert ml.pareto_models(np.array([0.75, 0.5, 0.75]), np.array([3.0, 1.0, 2.0])) == [1, 2]


def test_unknown_cost_is_an_error():
    from routerbench_core.routing.router import RouterError

    train = _labeled(np.ones((2, 2)), np.array([[1.0, np.nan], [1.0, np.nan]]))
    with pytest.raises(RouterError, match="m1"):
        ml.cheapest_model(train)


def test_soft_logistic_learns_and_handles_constant_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    y = 1 / (1 + np.exp(-3 * x[:, 0]))  # soft labels
    model = ml.fit_soft_logistic(x, y)
    p = model.predict(np.array([[2.0, 0.0], [-2.0, 0.0]]))
    assert p[0] > 0.9 and p[1] < 0.1
    const = ml.fit_soft_logistic(x, np.ones(200))
    assert const.predict(x[:3]).tolist() == [1.0, 1.0, 1.0]


def test_subset_keeps_outputs_and_labels():
    seen = []

    def outputs(model, keys):
        seen.append(list(keys))
        return [f"{model}:{k}" for k in keys]

    train = LabeledSet(
        keys=np.array(["a", "b", "c"]), datasets=np.array(["d"] * 3), texts=["x", "y", "z"],
        models=["m"], _outputs=outputs, score=np.array([[1.0], [0.0], [1.0]]),
        cost=np.ones((3, 1)),
    )
    sub = ml.subset(train, [2, 0])
    assert isinstance(sub, LabeledSet)
    assert sub.score[:, 0].tolist() == [1.0, 1.0] and sub.texts == ["z", "x"]
    assert sub.outputs("m") == ["m:c", "m:a"] and seen == [["c", "a"]]
    q = ml.subset(train.queries(), [1])
    assert type(q) is QuerySet and q.keys.tolist() == ["b"]


def test_strong_weak_pair_defaults_and_runner_up():
    score = np.array([[1, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=float)
    cost = np.array([[3, 1, 2]] * 4, dtype=float)
    train = _labeled(score, cost, datasets=["a", "a", "b", "b"])
    assert ml.strong_weak_pair(train)[:2] == (2, 1)  # best (cheaper of the tie), cheapest
    # the cheapest is also the best: strong becomes the runner-up, and the note says so
    cheap_best = _labeled(score[:, [2, 1, 0]] * 0 + np.array([[1, 0, 0]] * 4),
                          np.array([[1, 2, 3]] * 4, dtype=float))
    s, w, note = ml.strong_weak_pair(cheap_best)
    assert w == 0 and s != 0 and "runner-up" in note
    from routerbench_core.routing.router import RouterError

    with pytest.raises(RouterError, match="not a model"):
        ml.strong_weak_pair(train, strong="nope")
    with pytest.raises(RouterError, match="same model"):
        ml.strong_weak_pair(train, strong="m1", weak="m1")


def test_cluster_profile_and_vote():
    x, truth = _blobs(k=3, per=20)
    score = np.zeros((60, 3))
    score[np.arange(60), truth] = 1.0  # model j is right exactly on blob j
    prof = ml.cluster_profile(x, score, 3, seed=0)
    assert prof.sizes.tolist() == [20, 20, 20]
    votes = ml.cluster_vote(x, prof.centroids, ml.rank_scores(prof.acc), top_k=2, beta=9.0)
    assert np.array_equal(votes.argmax(1), truth)
    assert ml.rank_scores(np.array([[0.1, 0.5, 0.5]])).tolist() == [[0.0, 0.75, 0.75]]


def test_reciprocal_rank_scores_follow_the_reference_rule():
    table = np.array([[0.1, 0.5, 0.3], [0.4, 0.4, 0.9]])
    got = ml.rank_scores(table, rule="reciprocal")
    # row 0: order m1, m2, m0 → 1, 1/2, 1/3; row 1: m2 first, then the tie m0 before m1
    assert np.allclose(got, [[1 / 3, 1.0, 1 / 2], [1 / 2, 1 / 3, 1.0]])
    with pytest.raises(ValueError, match="rule"):
        ml.rank_scores(table, rule="nope")


def test_cosine_metric_is_one_minus_dot_with_the_raw_centroid():
    c = np.array([[0.3, 0.0], [0.6, 0.8]])  # the first centroid is NOT unit length
    x = np.array([[1.0, 0.0]])
    idx, dist = ml.nearest_centroids(x, c, top_k=2, metric="cosine")
    xn = x / np.linalg.norm(x)
    expect = 1.0 - xn @ c.T
    assert np.allclose(np.sort(dist[0]), np.sort(expect[0]))
    assert idx[0, 0] == int(np.argmin(expect[0]))
    # Euclidean ranks the two centroids the other way round here, so the rules differ for real
    e_idx, _ = ml.nearest_centroids(x, c, top_k=1, metric="euclidean")
    assert e_idx[0, 0] != idx[0, 0]
    with pytest.raises(ValueError, match="metric"):
        ml.nearest_centroids(x, c, top_k=1, metric="manhattan")


def test_share_threshold_splits_ties():
    calib = np.array([0.9] + [0.5] * 8 + [0.1])  # a block of equal scores
    rng = np.random.default_rng(0)
    for share in (0.1, 0.3, 0.5, 0.9):
        th = ml.share_threshold(calib, share)
        passed = np.mean([ml.share_threshold(calib, share).passes(calib, rng).mean()
                          for _ in range(400)])
        assert passed == pytest.approx(share, abs=0.03), (share, th)
    assert ml.share_threshold(calib, 0.0).passes(calib, rng).sum() == 0
    assert ml.share_threshold(calib, 1.0).passes(calib, rng).all()
    distinct = ml.share_threshold(np.linspace(0, 1, 11), 0.3)
    assert distinct.passes(np.linspace(0, 1, 11), rng).sum() in (3, 4)  # 3.3 expected


def test_route_two_by_share_meets_the_share_and_calibrates_on_validation() -> None:
    from routerbench_core.routing import ml

    calib = np.linspace(0.0, 1.0, 101)  # validation probabilities
    prob = np.array([0.95, 0.85, 0.5, 0.2, 0.05])
    routing = ml.route_two_by_share(prob, calib, 0.3, np.random.default_rng(0),
                                    picked=4, other=1, share_key="strong_share")
    # the top 30% of validation is prob >= 0.70: two of the five routed queries pass
    assert routing.choice.tolist() == [4, 4, 1, 1, 1]
    assert routing.info["strong_share"] == 0.3 and 0.69 <= routing.info["threshold"] <= 0.71
    everyone = ml.route_two_by_share(prob, calib, 1.0, np.random.default_rng(0),
                                     picked=4, other=1, share_key="s")
    assert everyone.choice.tolist() == [4] * 5


def test_check_model_pair_names_the_problem() -> None:
    import pytest

    from routerbench_core.routing import ml
    from routerbench_core.routing.router import RouterError

    ml.check_model_pair("r", ["a", "b"], strong="a", weak=None)  # None: chosen on train
    with pytest.raises(RouterError, match=r"r: weak='z' is not a model of this bench; models: a, b"):
        ml.check_model_pair("r", ["a", "b"], strong="a", weak="z")
    with pytest.raises(RouterError, match="strong and weak are the same model"):
        ml.check_model_pair("r", ["a", "b"], strong="a", weak="a")
