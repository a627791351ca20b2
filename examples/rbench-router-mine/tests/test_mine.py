"""The example plugin proves itself with rbench's conformance kit, plus one behaviour check."""

from __future__ import annotations

import numpy as np
import pytest

from routerbench_core import LabeledSet, QuerySet, RouterContext, RouterError
from routerbench_core.testing.routers import RouterConformance


class TestMineKnnConformance(RouterConformance):
    router_name = "mine-knn"


def test_knn_picks_the_model_right_on_the_nearest_queries() -> None:
    from rbench_router_mine.router import KnnRouter

    # Two well separated groups of queries; model 0 is right on group A, model 1 on group B.
    emb = np.array([[1, 0], [0.99, 0.14], [0, 1], [0.14, 0.99]], dtype=np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    score = np.array([[1, 0], [1, 0], [0, 1], [0, 1]], dtype=float)
    keys = np.array(["a1", "a2", "b1", "b2"], dtype=object)
    train = LabeledSet(
        keys=keys, datasets=np.array(["d"] * 4, dtype=object), texts=list(keys),
        models=["m0", "m1"], _embed=lambda texts: emb, score=score, cost=np.ones_like(score),
        prompt_tokens=np.ones_like(score), completion_tokens=np.ones_like(score),
    )
    router = KnnRouter(RouterContext(models=["m0", "m1"], model_specs={}), k=1)
    router.fit(train, train)
    probe = np.array([[0.95, 0.3], [0.2, 0.97]], dtype=np.float32)
    queries = QuerySet(keys=np.array(["x", "y"], dtype=object),
                       datasets=np.array(["d", "d"], dtype=object), texts=["x", "y"],
                       models=["m0", "m1"], _embed=lambda texts: probe)
    assert router.route(queries).choice.tolist() == [0, 1]


def test_k_is_validated_and_coerced() -> None:
    from rbench_router_mine.router import KnnRouter

    ctx = RouterContext(models=["m0", "m1"], model_specs={})
    assert KnnRouter(ctx, k="5").k == 5
    with pytest.raises(RouterError, match=r"parameter k='abc' is invalid.*expected int"):
        KnnRouter.validate_params({"k": "abc"}, "mine-knn")
    with pytest.raises(RouterError, match=r"'mine-knn': parameter k=-5 .*greater than or equal to 1"):
        KnnRouter.validate_params({"k": -5}, "mine-knn")
