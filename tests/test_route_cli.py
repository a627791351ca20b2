"""`rbench route` end to end on a synthetic bench in a real store, with a real embedding router
plugged in through the hooks (in-process, so the plugin can be defined here)."""

from __future__ import annotations

import json
import types
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pytest
from pydantic import Field
from typer.testing import CliRunner

from routerbench_core.commands.app import State, build_app
from routerbench_core.data.store import Store
from routerbench_core.plugins.hookspecs import hookimpl
from routerbench_core.plugins.manager import make_plugin_manager
from routerbench_core.routing.router import (
    Grid,
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterParams,
    Routing,
)
from routerbench_core.testing.synthetic import make_synthetic_bench, store_matrix

EMBED_CALLS: list[int] = []


class Centroid(Router, capabilities={"settings": ["perf", "perf-cost"]}):
    class Params(RouterParams):
        penalty: float = Field(0.0, ge=0, description="cost penalty of the default routing")
        mode: Literal["mean", "max"] = "mean"
        normalise: bool = True
        ks: Grid[int] = Field(default_factory=lambda: [1], description="a grid")

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.penalty = self.params.penalty

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        s = train.filled_score()
        self.c = (s.T @ train.embeddings()) / np.maximum(s.sum(0)[:, None], 1)
        self.cost = np.nan_to_num(train.mean_cost())

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        lam = (config or {}).get("penalty", self.penalty)
        sims = queries.embeddings() @ self.c.T
        return Routing(choice=np.argmax(sims - lam * self.cost / self.cost.max(), axis=1))

    def sweep(self) -> list[dict[str, Any]]:
        return [{"penalty": p} for p in (0.0, 0.05, 0.2, 1.0)]

    def describe(self) -> dict[str, Any]:
        return {"penalty": self.penalty, "ks": self.params.ks, "normalise": self.params.normalise}


def _counting_hashing(**options: Any):
    from routerbench_core.embedding.hashing import HashingEmbedder

    class Counting(HashingEmbedder):
        def embed(self, texts):
            EMBED_CALLS.append(len(texts))
            return super().embed(texts)

    return Counting(**options)


plugin = types.ModuleType("route-cli-test-plugin")  # plugins are modules (hashable, as pluggy needs)


@hookimpl
def register_routers(register):
    register("centroid", Centroid, "test router", capabilities={"settings": ["perf", "perf-cost"]})


@hookimpl
def register_embedders(register):
    register("counting-hashing", _counting_hashing, "hashing, counted")


plugin.register_routers = register_routers
plugin.register_embedders = register_embedders


@pytest.fixture
def env(tmp_path):
    store = Store(tmp_path / "r.db")
    bench = make_synthetic_bench(seed=4, queries_per_cluster=40)
    store_matrix(store, bench.matrix)
    store.close()
    EMBED_CALLS.clear()
    return tmp_path


def run(tmp_path, *args: str):
    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[plugin])
    app = build_app(host)
    result = CliRunner().invoke(app, ["--store", str(tmp_path / "r.db"), *args],
                                obj=State(host=host), catch_exceptions=False)
    return result


def test_perf_cost_run_with_embedding_router(env):
    out = env / "out.json"
    r = run(env, "route", "-r", "centroid", "-r", "best-single", "-r", "oracle",
            "--bench", "synthetic", "--setting", "perf-cost", "--seeds", "42,999",
            "--embedder", "counting-hashing", "--param", "centroid.penalty=0.05",
            "--json", str(out), "--plot", str(env / "p.png"))
    assert r.exit_code == 0, r.output
    assert "SYNTHETIC" in r.output
    rep = json.loads(out.read_text())
    assert rep["synthetic"] is True and rep["labels"] == ["SYNTHETIC"]
    assert rep["router"] == ["centroid", "best-single", "oracle"]
    assert rep["params"]["centroid"] == {"penalty": 0.05}
    m = rep["metrics"]["centroid"]
    for k in ("avg_acc", "gain_r", "gain_b", "gap_o", "perf_gain", "cost_save", "pareto_ratio",
              "pareto_dist", "apgr", "cpt50", "aiq"):
        assert set(m[k]) == {"mean", "ci_low", "ci_high", "n"}
    # the embedding router reads the text: it beats the best single and random by far
    assert m["avg_acc"]["mean"] > rep["baselines"]["best_single"]["avg_acc"]["mean"] + 0.2
    assert m["gain_r"]["mean"] > 0.5
    assert len(rep["points"]["centroid"]) == 2 * 4  # seeds × sweep configs
    assert {p["config"]["penalty"] for p in rep["points"]["centroid"]} == {0.0, 0.05, 0.2, 1.0}
    assert 0 < m["pareto_ratio"]["mean"] <= 1
    assert (env / "p.png").stat().st_size > 1000
    n_texts = len(set(Store(env / "r.db").load_matrix("synthetic").texts))
    assert sum(EMBED_CALLS) == n_texts  # every text once, for both seeds
    EMBED_CALLS.clear()
    r = run(env, "route", "-r", "centroid", "--bench", "synthetic", "--seeds", "42",
            "--embedder", "counting-hashing")
    assert r.exit_code == 0, r.output
    assert EMBED_CALLS == []  # the second run embeds nothing: all from the store cache


def test_perf_default_needs_no_embedder_for_baselines(env):
    r = run(env, "route", "-r", "best-single", "-r", "cheapest", "-r", "random",
            "-r", "dataset-oracle", "--bench", "synthetic", "--seeds", "42",
            "--json", str(env / "o.json"))
    assert r.exit_code == 0, r.output
    rep = json.loads((env / "o.json").read_text())
    assert rep["metrics"]["random"]["gain_r"]["mean"] == pytest.approx(0.0)
    assert rep["metrics"]["dataset-oracle"]["avg_acc"]["mean"] == pytest.approx(
        rep["baselines"]["dataset_oracle"]["avg_acc"]["mean"])
    assert "perf_gain" not in rep["metrics"]["best-single"]


def test_ood_dataset_goes_to_test(env):
    r = run(env, "route", "-r", "best-single", "--bench", "synthetic", "--seeds", "42",
            "--ood", "syn-b", "--json", str(env / "o.json"))
    assert r.exit_code == 0, r.output
    rep = json.loads((env / "o.json").read_text())
    assert rep["splits"][0]["ood"] == ["syn-b"]


@pytest.mark.parametrize(("args", "message"), [
    (["-r", "best-singel"], "Did you mean best-single"),
    (["-r", "best-single", "--param", "nope.x=1"], "not among --router"),
    (["-r", "best-single", "--param", "best-single.x=1"], "has no parameter 'x'"),
    (["-r", "oracle", "--param", "oracle.x=1"], "reference"),
    (["-r", "best-single", "--seeds", "4x"], "--seeds"),
    (["-r", "best-single", "--setting", "fast"], "--setting"),
    (["-r", "best-single", "--ood", "nowhere"], "nowhere"),
    (["-r", "centroid", "--embedder", "hashign"], "Did you mean hashing"),
])
def test_errors_are_clear(env, args, message):
    r = run(env, "route", "--bench", "synthetic", "--seeds", "42", *args)
    assert r.exit_code == 2
    assert message in r.output


@pytest.mark.parametrize(("param", "expected"), [
    ("centroid.penalty=abc", ["'centroid'", "penalty='abc'", "valid number", "expected float"]),
    ("centroid.penalty=-5", ["'centroid'", "penalty=-5", "greater than or equal to 0"]),
    ("centroid.mode=bogus", ["'centroid'", "mode='bogus'", "'mean', 'max'"]),
    ("centroid.ks=1,x", ["'centroid'", "ks='1,x'", "valid integer"]),
    ("centroid.normalise=maybe", ["'centroid'", "normalise='maybe'", "true or false"]),
    ("centroid.penalyt=1", ["'centroid' has no parameter 'penalyt'", "Did you mean penalty?"]),
])
def test_router_params_are_validated_before_anything_runs(env, param, expected):
    EMBED_CALLS.clear()
    r = run(env, "route", "--bench", "synthetic", "--seeds", "42", "-r", "centroid", "-p", param,
            "--embedder", "counting-hashing")
    assert r.exit_code == 2, r.output
    for text in expected:
        assert text in r.output, (text, r.output)
    assert not EMBED_CALLS  # failed before anything was embedded or trained


def test_router_params_are_coerced(env):
    r = run(env, "route", "--bench", "synthetic", "--seeds", "42", "-r", "centroid",
            "-p", "penalty=1", "-p", "ks=1,2", "-p", "normalise=off",
            "--embedder", "counting-hashing", "--json", str(env / "p.json"))
    assert r.exit_code == 0, r.output
    rep = json.loads((env / "p.json").read_text())
    assert rep["describe"]["centroid"][0] == {"penalty": 1.0, "ks": [1, 2], "normalise": False}


def test_unknown_bench(env):
    r = run(env, "route", "-r", "best-single", "--bench", "nim10")
    assert r.exit_code == 2 and "no bench named 'nim10'" in r.output
