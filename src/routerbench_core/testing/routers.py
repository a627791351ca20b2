"""The router conformance kit: subclass :class:`RouterConformance` in a test module and pytest
checks that your router honours the contract of :class:`routerbench_core.routing.router.Router`.

Example (in ``plugins/routers/rbench-router-mine/tests/test_mine_conformance.py``)::

    from routerbench_core.testing.routers import RouterConformance

    class TestMineConformance(RouterConformance):
        router_name = "mine"                 # looked up through the installed plugins
        router_params = {"epochs": 2}        # keep it fast

or, for a class not installed as a plugin, override :meth:`RouterConformance.make_router`.

The checks run on a small synthetic bench whose answer is known
(:mod:`routerbench_core.testing.synthetic`), embedded with the pure-numpy ``hashing`` embedder:
fit/route shapes and types, valid choice indices, determinism with a fixed seed, a non-empty
sweep whose every configuration routes (perf-cost routers), that a saved and restored router
(JSON + npz, no pickle) routes exactly as the fitted one at every sweep point, that the router only ever receives
outcome-free :class:`~routerbench_core.routing.router.QuerySet` objects at test time and train/valid
sets disjoint from test, that unknown parameters are refused, and that it beats the random
reference where the answer is known.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pytest

from routerbench_core.routing.artefact import RouterState
from routerbench_core.routing.evaluate import Evaluator
from routerbench_core.routing.router import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterError,
    Routing,
)
from routerbench_core.testing.synthetic import (
    SyntheticBench,
    make_content_bench,
    make_synthetic_bench,
)

_BENCH_CACHE: dict[str, SyntheticBench] = {}
_CONTENT_CACHE: dict[str, SyntheticBench] = {}


def conformance_bench(**options: Any) -> SyntheticBench:
    """The synthetic bench of the kit (memoised per option set)."""
    key = json.dumps(options, sort_keys=True)
    if key not in _BENCH_CACHE:
        base = {"n_clusters": 4, "n_models": 4, "queries_per_cluster": 50, "seed": 7}
        base.update(options)
        _BENCH_CACHE[key] = make_synthetic_bench(**base)
    return _BENCH_CACHE[key]


class _Spy(Router):
    """Wraps a router and records what it is handed (to prove test outcomes stay hidden)."""

    needs_embeddings: ClassVar[bool] = False

    def __init__(self, inner: Router) -> None:
        self.inner = inner
        self.ctx = inner.ctx
        self.settings = inner.settings  # type: ignore[misc]
        self.needs_embeddings = inner.needs_embeddings  # type: ignore[misc]
        self.reads_answers = inner.reads_answers  # type: ignore[misc]
        self.fit_args: list[tuple[Any, Any]] = []
        self.route_args: list[Any] = []

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        self.fit_args.append((train, valid))
        self.inner.fit(train, valid)

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        self.route_args.append(queries)
        return self.inner.route(queries, config)

    def sweep(self) -> list[dict[str, Any]]:
        return self.inner.sweep()

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


class RouterConformance:
    """Base test class; set :attr:`router_name` (or override :meth:`make_router`)."""

    #: Registered router name (looked up through the plugin host).
    router_name: ClassVar[str | None] = None
    #: Parameters passed to the router (keep training short).
    router_params: ClassVar[dict[str, Any]] = {}
    #: Options of :func:`make_synthetic_bench` (e.g. more queries for a data-hungry router).
    synthetic_options: ClassVar[dict[str, Any]] = {}
    #: Seeds used by the checks.
    seeds: ClassVar[tuple[int, ...]] = (42, 999)
    #: How much the router's AvgAcc must exceed the random reference's on the synthetic bench.
    min_gain_over_random: ClassVar[float] = 0.05
    #: Whether the router saves and restores itself (``save_state``/``load_state``, what
    #: ``rbench train --save`` and ``rbench serve`` use). A router that cannot sets this to
    #: False and must then refuse with a RouterError that says why.
    saveable: ClassVar[bool] = True

    #: How much it must exceed the dataset oracle on the content bench
    #: (:func:`~routerbench_core.testing.synthetic.make_content_bench`), where choosing one
    #: model per dataset gains nothing and reading the query gains up to 35 points (the routers in this repository that route by
    #: content reach +27 to +32 points with the kit's settings). A router
    #: that by design cannot route by content (a baseline, a strong/weak pair) sets None and
    #: says why in a comment.
    min_gain_over_dataset_oracle: ClassVar[float | None] = 0.15

    # -- hooks a subclass may override ---------------------------------------------------------

    def router_class(self) -> type[Router]:
        if self.router_name is None:
            raise NotImplementedError(
                "set router_name on your RouterConformance subclass or override make_router"
            )
        from routerbench_core.plugins.manager import make_plugin_manager

        return make_plugin_manager().load("router", self.router_name)

    def make_router(self, ctx: RouterContext, **params: Any) -> Router:
        return self.router_class()(ctx, **{**self.router_params, **params})

    # -- fixtures ------------------------------------------------------------------------------

    def bench(self) -> SyntheticBench:
        return conformance_bench(**self.synthetic_options)

    def evaluator(self, setting: str | None = None,
                  bench: SyntheticBench | None = None) -> Evaluator:
        from routerbench_core.embedding.hashing import HashingEmbedder

        m = (bench or self.bench()).matrix
        probe = self.make_router(RouterContext(models=list(m.models),
                                               model_specs=dict(m.model_specs)))
        chosen = setting or ("perf" if "perf" in probe.settings else probe.settings[0])
        return Evaluator(m, setting=chosen, seeds=self.seeds,  # type: ignore[arg-type]
                         embedder=HashingEmbedder())

    def fitted(self, ev: Evaluator, seed: int) -> tuple[Router, QuerySet]:
        router = self.make_router(ev.context(seed))
        train, valid, test = ev.views(seed)
        router.fit(train, valid)
        return router, test

    # -- the checks ----------------------------------------------------------------------------

    def test_router_declares_settings(self) -> None:
        ev = self.evaluator()
        router = self.make_router(ev.context(self.seeds[0]))
        assert router.settings, "a router must declare the settings it supports"
        assert set(router.settings) <= {"perf", "perf-cost"}, router.settings
        assert isinstance(router.describe(), dict)
        if self.router_name is not None:  # the class reads its settings from its spec
            from routerbench_core.plugins.manager import make_plugin_manager

            caps = dict(make_plugin_manager().get("router", self.router_name).capabilities)
            assert tuple(caps.get("settings", ())) == tuple(router.settings), (
                "write the settings once, in plugin.py's CAPABILITIES, and pass "
                "capabilities=CAPABILITIES to the router class"
            )

    def test_describe_is_json_ready(self) -> None:
        ev = self.evaluator()
        router, _ = self.fitted(ev, self.seeds[0])
        from routerbench_core.report.build import _clean

        described = router.describe()
        assert isinstance(described, dict)
        json.dumps(_clean(described), allow_nan=False)

    def test_fit_route_shapes_and_indices(self) -> None:
        ev = self.evaluator()
        router, test = self.fitted(ev, self.seeds[0])
        routing = router.route(test)
        assert isinstance(routing, Routing), f"route returned {type(routing).__name__}"
        choice = np.asarray(routing.choice)
        assert choice.shape == (len(test),)
        assert np.issubdtype(choice.dtype, np.integer), choice.dtype
        assert choice.min() >= 0 and choice.max() < len(test.models)
        if routing.called is not None:
            called = np.asarray(routing.called)
            assert called.shape == (len(test), len(test.models))
            assert called.dtype == bool

    def test_deterministic_with_fixed_seed(self) -> None:
        ev = self.evaluator()
        first, test = self.fitted(ev, self.seeds[0])
        second, _ = self.fitted(ev, self.seeds[0])
        a = np.asarray(first.route(test).choice)
        b = np.asarray(second.route(test).choice)
        np.testing.assert_array_equal(a, b, err_msg="same seed, same data: routing must repeat")

    def test_sweep_configs_each_route(self) -> None:
        ev = self.evaluator()
        probe = self.make_router(ev.context(self.seeds[0]))
        if "perf-cost" not in probe.settings:
            pytest.skip("not a perf-cost router")
        ev = self.evaluator("perf-cost")
        router, test = self.fitted(ev, self.seeds[0])
        configs = router.sweep()
        assert isinstance(configs, list) and configs, "sweep() must list at least one config"
        for config in configs:
            assert isinstance(config, dict)
            json.dumps(config)  # configs are reported in JSON
            choice = np.asarray(router.route(test, config).choice)
            assert choice.shape == (len(test),)
            assert choice.min() >= 0 and choice.max() < len(test.models)

    def test_never_receives_test_outcomes(self) -> None:
        ev = self.evaluator()
        seed = self.seeds[0]
        spies: list[_Spy] = []

        def factory(ctx: RouterContext) -> Router:
            spies.append(_Spy(self.make_router(ctx)))
            return spies[-1]

        ev.seeds = [seed]
        ev.run(factory, name="spy")
        spy = spies[0]
        test_keys = set(ev.matrix.keys[ev.split(seed).test].tolist())
        for train, valid in spy.fit_args:
            assert isinstance(train, LabeledSet) and isinstance(valid, LabeledSet)
            assert not test_keys & set(train.keys.tolist()), "train contains test queries"
            assert not test_keys & set(valid.keys.tolist()), "valid contains test queries"
        assert spy.route_args, "route was never called"
        for q in spy.route_args:
            assert type(q) is QuerySet, f"route got {type(q).__name__}, not a bare QuerySet"
        from routerbench_core.testing.leaks import side_doors

        handed = [*spy.route_args, *(x for pair in spy.fit_args for x in pair), spy.inner.ctx]
        doors = side_doors(handed, ev.matrix, ev.split(seed).test)
        assert not doors, "reachable from what the router was handed: " + "; ".join(doors[:5])

    def test_rejects_unknown_parameter(self) -> None:
        ev = self.evaluator()
        with pytest.raises((TypeError, ValueError, RouterError)):
            self.make_router(ev.context(self.seeds[0]), no_such_parameter_xyz=1)

    def test_beats_random_on_synthetic_bench(self) -> None:
        ev = self.evaluator()
        run = ev.run(lambda ctx: self.make_router(ctx), name=self.router_name or "router")
        acc = np.mean([s.default.avg_acc for s in run.seeds])
        rnd = np.mean([ev.references(s).random.avg_acc for s in self.seeds])
        oracle = np.mean([ev.references(s).oracle.avg_acc for s in self.seeds])
        assert acc >= rnd + self.min_gain_over_random, (
            f"AvgAcc {acc:.3f} does not beat random {rnd:.3f} by {self.min_gain_over_random} "
            f"on a synthetic bench where the oracle gets {oracle:.3f}"
        )

    def test_save_load_round_trip(self, tmp_path: Any) -> None:
        """Routing decisions are identical after save_state -> files -> load_state on a fresh
        router built with the same context and parameters (what ``rbench serve`` does)."""
        ev = self.evaluator()
        seed = self.seeds[0]
        router, test = self.fitted(ev, seed)
        if not self.saveable:
            with pytest.raises(RouterError):
                router.save_state()
            return
        state = router.save_state()
        assert isinstance(state, RouterState), f"save_state returned {type(state).__name__}"
        state.write(tmp_path)  # refuses object arrays; the JSON must be strict
        restored = self.make_router(ev.context(seed))
        restored.load_state(RouterState.read(tmp_path))
        configs: list[dict[str, Any] | None] = [None, *router.sweep()]
        for config in configs:
            before, after = router.route(test, config), restored.route(test, config)
            np.testing.assert_array_equal(
                np.asarray(before.choice), np.asarray(after.choice),
                err_msg=f"routing changed after save/load at config {config}")
            if before.called is not None or after.called is not None:
                np.testing.assert_array_equal(np.asarray(before.called), np.asarray(after.called))

    def test_routes_by_content_not_only_by_dataset(self) -> None:
        if self.min_gain_over_dataset_oracle is None:
            pytest.skip("this router does not route by query content (min_gain_over_dataset_"
                        "oracle is None)")
        bench = _CONTENT_CACHE.setdefault("default", make_content_bench(seed=7))
        ev = self.evaluator(bench=bench)
        run = ev.run(lambda ctx: self.make_router(ctx), name=self.router_name or "router")
        acc = np.mean([s.default.avg_acc for s in run.seeds])
        refs = [ev.references(s) for s in self.seeds]
        by_dataset = np.mean([r.dataset_oracle.avg_acc for r in refs])
        oracle = np.mean([r.oracle.avg_acc for r in refs])
        assert acc >= by_dataset + self.min_gain_over_dataset_oracle, (
            f"AvgAcc {acc:.3f} does not beat the dataset oracle {by_dataset:.3f} by "
            f"{self.min_gain_over_dataset_oracle} on a bench where only the query's content "
            f"tells the experts apart (oracle {oracle:.3f})"
        )
