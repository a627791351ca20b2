"""A router cannot reach test outcomes through anything it is handed.

The evaluator runs on a real SQLite store with an embedder (whose cache lives in that store)
and the stored-answer reader the CLI uses, exactly as ``rbench route`` does. A probing router
then walks everything handed to ``fit`` and ``route`` — attributes, ``__dict__``, slots,
closures, bound methods, containers, via ``gc.get_referents`` — looking for the store, the
outcome matrix, the evaluator, a database connection or an array holding test scores. Before
the door was closed, ``test._embed._store.load_matrix(...)`` returned every test score.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

from routerbench_core.commands.route import _Outputs
from routerbench_core.data.store import Store
from routerbench_core.embedding.hashing import HashingEmbedder
from routerbench_core.routing.evaluate import Evaluator
from routerbench_core.routing.router import LabeledSet, QuerySet, Router, Routing
from routerbench_core.testing.leaks import side_doors as leaks
from routerbench_core.testing.synthetic import make_synthetic_bench, store_matrix


class Prober(Router, capabilities={"settings": ["perf", "perf-cost"], "embeddings": True,
                                    "reads_answers": True}):
    """Uses what it is handed (so the lazy parts are built), then looks for side doors."""

    handed: ClassVar[list[Any]] = []

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        train.embeddings(), valid.embeddings(), train.outputs(train.models[0])
        train.embed_texts(["a model description"])
        type(self).handed += [train, valid, self.ctx, self]

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        queries.embeddings(), queries.outputs(queries.models[0])
        type(self).handed += [queries, config]
        return Routing(choice=np.zeros(len(queries), dtype=np.int64))


@pytest.fixture
def stored(tmp_path):
    store = Store(tmp_path / "doors.db")
    bench = make_synthetic_bench(seed=2, queries_per_cluster=20, missing_rate=0.1)
    store_matrix(store, bench.matrix)
    yield store, bench.matrix.bench
    store.close()


def test_nothing_handed_to_a_router_leads_to_test_outcomes(stored):
    store, name = stored
    matrix = store.load_matrix(name)
    ev = Evaluator(matrix, seeds=[42], setting="perf", embedder=HashingEmbedder(dim=64),
                   store=store, outputs=_Outputs(store, name),
                   progress=lambda message, fraction: None)
    Prober.handed = []
    ev.run(Prober, name="prober")
    assert Prober.handed, "the prober never ran"
    test = Prober.handed[-2]
    assert test.has_outputs() and test.embeddings().shape[0] == len(test)
    found = leaks(Prober.handed, matrix, ev.split(42).test)
    assert not found, "side doors to test outcomes:\n" + "\n".join(found[:10])
    # the door named in the issue, tried by hand
    for attr in ("_store", "_evaluator", "_matrix"):
        assert not hasattr(test._embed, attr)
        assert not hasattr(test._outputs, attr)


def test_the_walk_finds_a_door_when_there_is_one(stored):
    """The walk is not vacuous: an object that does hold the store (the reader the CLI gives
    the evaluator) is caught, through a closure as well as an attribute."""
    store, name = stored
    matrix = store.load_matrix(name)
    reader = _Outputs(store, name)
    rows = np.arange(len(matrix.keys))

    def closure(model: str, keys: list[str]) -> list[str | None]:
        return reader(model, keys)

    assert any("Store" in f for f in leaks([reader], matrix, rows))
    assert any("Store" in f for f in leaks([closure], matrix, rows))
    assert any("test scores" in f for f in leaks([[matrix.score.copy()]], matrix, rows))
    assert any("view" in f for f in leaks([matrix.score[:3]], matrix, rows))


def test_answers_and_embeddings_are_handed_only_to_routers_that_use_them(stored):
    store, name = stored
    matrix = store.load_matrix(name)
    ev = Evaluator(matrix, seeds=[42], embedder=HashingEmbedder(dim=64), store=store,
                   outputs=_Outputs(store, name))
    train, _, test = ev.views(42, answers=False, embeddings=False)
    assert not test.has_outputs() and test._embed is None
    train, _, test = ev.views(42)
    key = str(test.keys[0])
    assert test.outputs(matrix.models[0])[0] == store.outputs(name, matrix.models[0], [key])[0]
