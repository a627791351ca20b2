"""Run history: `rbench route` / `grade` record their runs (result + provenance) in a real store;
`rbench runs`, `show` (every format), `compare` read them back; the route JSON carries the same
provenance."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import types
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from routerbench_core.commands.app import State, build_app
from routerbench_core.data.store import Store, StoreError
from routerbench_core.plugins.hookspecs import hookimpl
from routerbench_core.plugins.manager import make_plugin_manager
from routerbench_core.routing.router import (
    LabeledSet,
    QuerySet,
    Router,
    RouterContext,
    RouterParams,
    Routing,
)
from routerbench_core.testing.synthetic import make_synthetic_bench, store_matrix


class Nearest(Router, capabilities={"settings": ["perf", "perf-cost"]}):
    """Sends each query to the best model of the most similar train centroid (needs text)."""

    class Params(RouterParams):
        scale: float = 1.0

    def __init__(self, ctx: RouterContext, **params: Any) -> None:
        super().__init__(ctx, **params)
        self.scale = self.params.scale

    def fit(self, train: LabeledSet, valid: LabeledSet) -> None:
        s = train.filled_score()
        self.c = (s.T @ train.embeddings()) / np.maximum(s.sum(0)[:, None], 1)
        self.ctx.report("nearest: fitted", 1.0)

    def route(self, queries: QuerySet, config: Mapping[str, Any] | None = None) -> Routing:
        return Routing(choice=np.argmax(self.scale * queries.embeddings() @ self.c.T, axis=1))


plugin = types.ModuleType("rbench_test_runs_plugin")  # hashable, as pluggy needs


@hookimpl
def register_routers(register):
    register("nearest", Nearest, "test router", capabilities={"settings": ["perf", "perf-cost"]})


plugin.register_routers = register_routers


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "r.db"
    with Store(path) as store:
        store_matrix(store, make_synthetic_bench(seed=4, queries_per_cluster=30).matrix)
    return path


def cli(store_path, *args: str):
    import sys
    from unittest import mock

    argv = ["--store", str(store_path), *args]
    host = make_plugin_manager(load_entrypoints=False, extra_plugins=[plugin])
    with mock.patch.object(sys, "argv", ["/venv/bin/rbench", *argv]):  # as the real command
        return CliRunner().invoke(build_app(host), argv, obj=State(host=host),
                                  catch_exceptions=False)


def route(store_path, *extra: str, json_out=None):
    args = ["route", "-r", "nearest", "-r", "best-single", "--bench", "synthetic",
            "--seeds", "42,999", "--embedder", "hashing", "--embedder-option", "dim=64", *extra]
    if json_out is not None:
        args += ["--json", str(json_out)]
    r = cli(store_path, *args)
    assert r.exit_code == 0, r.output
    m = re.search(r"recorded as run (\d+)", r.output)
    assert m, r.output
    return int(m.group(1))


def test_store_runs_table_add_list_get(tmp_path):
    with Store(tmp_path / "s.db") as store:
        a = store.add_run(kind="route", bench="b1", summary={"x": 1}, provenance={"time": "T1"},
                          result={"metrics": {}})
        b = store.add_run(kind="grade", bench="b2", summary={}, provenance={}, result={"n": 2})
        assert b > a
        assert [r["id"] for r in store.list_runs()] == [b, a]  # newest first
        assert [r["id"] for r in store.list_runs(kind="route")] == [a]
        assert [r["id"] for r in store.list_runs(bench="b2")] == [b]
        assert store.get_run(a)["created"] == "T1"
        assert store.get_run("last")["id"] == b
        assert store.get_run(f"#{a}")["result"] == {"metrics": {}}
        with pytest.raises(StoreError, match=rf"no run 999 .*latest: {b}, {a}"):
            store.get_run(999)
        with pytest.raises(StoreError, match="not a run id"):
            store.get_run("yesterday")


def test_runs_table_is_added_to_a_store_made_before_it(tmp_path):
    path = tmp_path / "old.db"
    with Store(path) as store:
        store_matrix(store, make_synthetic_bench(seed=1, queries_per_cluster=5).matrix)
    con = sqlite3.connect(path)
    con.execute("DROP TABLE IF EXISTS runs")  # as a store written before runs existed
    con.commit()
    con.close()
    with Store(path) as store:
        assert store.list_runs() == []
        assert store.bench_names() == ["synthetic"]  # nothing else touched
        with pytest.raises(StoreError, match="no runs yet"):
            store.get_run("last")


def test_route_run_is_recorded_with_provenance_and_json_carries_it(store_path, tmp_path):
    out = tmp_path / "o.json"
    run_id = route(store_path, "--param", "nearest.scale=0.5", json_out=out)
    report = json.loads(out.read_text())
    prov = report["provenance"]
    assert prov["run"] == run_id
    assert prov["command"][:3] == ["rbench", "--store", str(store_path)]  # no venv path
    assert prov["command"][3:7] == ["route", "-r", "nearest", "-r"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", prov["time"])
    from routerbench_core import __version__

    assert prov["rbench"] == __version__
    assert prov["embedder"]["name"] == "hashing" and prov["embedder"]["options"] == {"dim": "64"}
    assert prov["embedder"]["distribution"] == "rbench"
    assert set(prov["plugins"]["router"]) == {"nearest", "best-single"}
    assert prov["plugins"]["router"]["best-single"]["distribution"] == "rbench"
    assert prov["settings"]["seeds"] == [42, 999] and prov["settings"]["split"] == "protocol"
    assert prov["settings"]["test_fraction"] == 0.3
    assert prov["params"]["nearest"] == {"scale": 0.5}
    with Store(store_path) as store:
        stored = store.get_run(run_id)
    assert stored["kind"] == "route" and stored["bench"] == "synthetic"
    assert stored["provenance"]["embedder"] == prov["embedder"]
    # the full result: the same numbers as the JSON
    assert stored["result"]["metrics"] == report["metrics"]
    assert stored["result"]["per_dataset"] == report["per_dataset"]


def test_runs_lists_route_runs(store_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    first = route(store_path)
    second = route(store_path, "--setting", "perf-cost")
    r = cli(store_path, "runs")
    assert r.exit_code == 0, r.output
    assert r.output.index(f" {second} ") < r.output.index(f" {first} ")
    assert "nearest, best-single" in r.output and "perf-cost" in r.output
    listed = json.loads(cli(store_path, "runs", "--json").output)
    assert [x["id"] for x in listed] == [second, first]
    assert listed[0]["summary"]["setting"] == "perf-cost"
    assert listed[0]["summary"]["avg_acc"]["nearest"] > 0


def _markdown_tables(text: str) -> list[list[list[str]]]:
    tables, current = [], []
    for line in text.splitlines():
        if line.startswith("|"):
            current.append([c.strip() for c in line.strip().strip("|").split(" | ")])
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def test_show_markdown_prints_valid_tables(store_path):
    run_id = route(store_path)
    r = cli(store_path, "show", str(run_id), "--format", "markdown")
    assert r.exit_code == 0, r.output
    tables = _markdown_tables(r.output)
    assert len(tables) >= 3  # summary, per-dataset, distribution
    for t in tables:
        assert len(t) >= 3
        assert all(re.fullmatch(r"-{3}:?", c) for c in t[1]), t[1]  # the header rule
        assert {len(row) for row in t} == {len(t[0])}, t  # every row as wide as the header
    summary = tables[0]
    assert summary[0] == ["router", "AvgAcc", "Gain@R", "ΔR", "Gain@B", "ΔB", "Gap@O", "ΔO",
                          "cost"]
    rows = {row[0]: row for row in summary[2:]}
    assert re.fullmatch(r"(\*\*)?\d+\.\d\d(\*\*)? ± \d+\.\d", rows["nearest"][1])
    # best AvgAcc is bold and is never an oracle row
    bold = [name for name, row in rows.items() if row[1].startswith("**")]
    assert bold and not {"oracle", "dataset_oracle"} & set(bold)
    assert f"- run: {run_id} · route" in r.output
    assert "- embedder: hashing (rbench" in r.output


def test_show_latex_csv_json_and_table(store_path, monkeypatch):
    run_id = route(store_path)
    tex = cli(store_path, "show", str(run_id), "--format", "latex").output
    assert tex.count(r"\begin{tabular}") == tex.count(r"\end{tabular}") >= 3
    assert r"\toprule" in tex and r"\textbf{" in tex and r"$\pm$" in tex
    assert "best\\_single" in tex  # underscores escaped
    for block in re.findall(r"\\begin\{tabular\}\{(l r*)\}(.*?)\\end\{tabular\}", tex, re.S):
        ncols = len(block[0])
        for row in re.findall(r"^(.*)\\\\$", block[1], re.M):
            assert row.count("&") == ncols - 1, row
    rows = list(csv.DictReader(io.StringIO(cli(store_path, "show", str(run_id), "-f", "csv").output)))
    acc = next(r for r in rows if r["table"] == "summary" and r["row"] == "nearest"
               and r["column"] == "AvgAcc")
    with Store(store_path) as store:
        stored = store.get_run(run_id)
    assert float(acc["mean"]) == stored["result"]["metrics"]["nearest"]["avg_acc"]["mean"]
    assert json.loads(cli(store_path, "show", str(run_id), "-f", "json").output) == stored
    monkeypatch.setenv("COLUMNS", "80")
    table = cli(store_path, "show", "last").output
    assert "Routers vs baselines" in table and "…" not in table
    assert "command: rbench --store" in table
    assert cli(store_path, "show", str(run_id), "-f", "yaml").exit_code == 2
    assert "no run 77" in cli(store_path, "show", "77").output


def test_compare_two_runs(store_path):
    a = route(store_path, "--seeds", "42")
    b = route(store_path, "--seeds", "42,999")
    r = cli(store_path, "compare", str(a), str(b), "--format", "markdown")
    assert r.exit_code == 0, r.output
    tables = _markdown_tables(r.output)
    head = tables[0]
    assert head[0] == ["router", f"AvgAcc #{a}", f"AvgAcc #{b}", "Δ AvgAcc", f"cost #{a}",
                       f"cost #{b}"]
    with Store(store_path) as store:
        ra, rb = store.get_run(a)["result"], store.get_run(b)["result"]
    row = next(x for x in head if x[0] == "nearest")
    want = 100 * (rb["metrics"]["nearest"]["avg_acc"]["mean"]
                  - ra["metrics"]["nearest"]["avg_acc"]["mean"])
    assert float(row[3]) == pytest.approx(want, abs=0.006)
    assert "settings.seeds: 42 → 42,999" in r.output
    plain = cli(store_path, "compare", str(a), str(b))
    assert plain.exit_code == 0 and "Per-dataset Δ accuracy" in plain.output


def test_grade_runs_are_recorded(store_path):
    r = cli(store_path, "grade", "--bench", "synthetic")
    assert r.exit_code == 0, r.output
    with Store(store_path) as store:
        runs = store.list_runs(kind="grade")
        assert len(runs) == 1
        record = store.get_run(runs[0]["id"])
    assert record["result"]["bench"] == "synthetic"
    assert "graded" in record["summary"]["text"]
    assert record["provenance"]["settings"]["bench"] == "synthetic"
    md = cli(store_path, "show", str(record["id"]), "-f", "markdown").output
    assert "| key | value |" in md and "| graded |" in md
    assert "is a grade run" in cli(store_path, "report", str(record["id"]), "--html",
                                   str(store_path.parent / "h")).output


def test_collect_runs_are_recorded_with_model_specs_but_no_key(tmp_path, capsys, monkeypatch):
    """A real collection against a loopback OpenAI-compatible server, through the CLI."""
    import importlib.util
    from pathlib import Path

    from routerbench_core.testing.openai_server import OpenAIServer

    spec = importlib.util.spec_from_file_location(
        "rbench_test_collect_support", Path(__file__).with_name("test_collect_support.py"))
    assert spec and spec.loader
    support = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(support)
    monkeypatch.setenv("TOY_KEY", "sk-secret-never-stored")
    db = tmp_path / "c.db"
    with OpenAIServer(reply=support.toy_reply) as server:
        cfg = tmp_path / "run.yaml"
        cfg.write_text(
            "models:\n"
            f"  - name: toy\n    api_model: vendor/toy\n    base_url: {server.url}\n"
            "    api_key_env: TOY_KEY\n    input_price: 0.5\n    output_price: 1.5\n"
            "datasets:\n  - name: toyadd\n    options: {n: 5}\n"
            "run:\n  concurrency: 2\n")
        support.run_cli(["collect", "--config", str(cfg), "--store", str(db), "--bench", "c",
                         "--no-progress"])
    capsys.readouterr()
    with Store(db) as store:
        (row,) = store.list_runs(kind="collect")
        record = store.get_run(row["id"])
    assert row["bench"] == "c" and row["summary"]["models"] == ["toy"]
    prov = record["provenance"]
    assert prov["plugins"]["dataset"]["toyadd"]["distribution"]
    assert set(prov["plugins"]["backend"]) == {"openai"}
    model = prov["settings"]["models"][0]
    assert model["input_price"] == 0.5 and model["base_url"] == server.url
    assert record["result"]["models"][0]["asked"] == 5
    assert record["result"]["grading"]["graded"] == 5  # collect grades by default
    assert "sk-secret-never-stored" not in json.dumps(record)
