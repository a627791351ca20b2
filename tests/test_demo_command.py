"""``rbench demo``: end to end (the whole command, in-process), router planning on a real plugin host, and
the demo bench's life in a store (reuse, regenerate, never touch a foreign bench)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pytest

from routerbench_core.commands import demo as demo_commands
from routerbench_core.data.store import Store
from routerbench_core.demo import generate as demo
from routerbench_core.plugins.hookspecs import hookimpl
from routerbench_core.plugins.manager import UnknownNameError, make_plugin_manager
from routerbench_core.routing.router import Router, Routing
from routerbench_core.schema import ModelSpec
from routerbench_core.testing import run_cli


def test_demo_command_end_to_end(tmp_path):
    out = tmp_path / "out"
    proc = run_cli("demo", "--out", out, "--embedder", "hashing", "--seeds", "42",
                   "--max-per-dataset", "20", "--training-free",
                   env={"HF_HUB_OFFLINE": "1"}, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "SYNTHETIC" in proc.stdout
    assert "embedder: hashing" in proc.stdout or "baseline routers only" in proc.stdout
    for setting, bench in (("perf", "demo-perf-n20"), ("perf-cost", "demo-perf-cost-n20")):
        report = json.loads((out / f"{bench}.json").read_text())
        assert report["setting"] == setting
        assert report["synthetic"] is True and "SYNTHETIC" in report["labels"]
        assert report["demo"]["label"] == "SYNTHETIC"
        assert report["demo"]["bench_metadata"]["source"] == "rbench-demo"
        assert report["seeds"] == [42]
        base = report["baselines"]
        assert base["random"]["avg_acc"]["mean"] < base["best_single"]["avg_acc"]["mean"]
        assert base["best_single"]["avg_acc"]["mean"] <= base["oracle"]["avg_acc"]["mean"]
        assert report["router"], "some router (a plugin or the baseline routers) must have run"
        for name in report["router"]:
            assert 0.0 <= report["metrics"][name]["avg_acc"]["mean"] <= 1.0
    png = out / "demo-perf-cost-n20.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "rbench-demo.db").is_file()
    with Store(out / "rbench-demo.db") as store:
        assert store.bench_metadata("demo-perf-n20")["synthetic"] is True


def _invoke(args: list[str]):
    from typer.testing import CliRunner

    from routerbench_core.commands.app import State, build_app

    host = make_plugin_manager()
    return CliRunner().invoke(build_app(host), args, obj=State(host=host))


def test_demo_command_refuses_bad_options(tmp_path):
    for args, message in (
        (["--setting", "fast"], "--setting must be"),
        (["--full", "--max-per-dataset", "30"], "either --full or --max-per-dataset"),
        (["--seeds", "a,b"], "--seeds must be"),
        (["--router", "avengerz"], "unknown router"),
    ):
        result = _invoke(["demo", "--out", str(tmp_path / "o"), *args])
        assert result.exit_code != 0
        assert message in result.output, result.output


class _BoomRouter(Router):
    settings = ("perf", "perf-cost")
    needs_embeddings = False

    def fit(self, train: Any, valid: Any) -> None:
        raise RuntimeError("boom in fit")

    def route(self, queries: Any, config: Any = None) -> Routing:  # pragma: no cover
        raise AssertionError("never routed")


class _FirstModel(Router):
    settings = ("perf",)
    needs_embeddings = False

    def fit(self, train: Any, valid: Any) -> None:
        pass

    def route(self, queries: Any, config: Any = None) -> Routing:
        return Routing(choice=np.zeros(len(queries), dtype=np.int64))


class _Extra:
    @staticmethod
    @hookimpl
    def register_routers(register: Any) -> None:
        register("demo-boom", _BoomRouter, "fails in fit", capabilities={"settings": ["perf", "perf-cost"], "training": "none"})
        register("demo-first", _FirstModel, "always the first model", capabilities={"settings": ["perf"], "training": "none"})
        register("demo-heavy", "nowhere_to_be_found_xyz.router:R", "needs a missing package",
                 capabilities={"settings": ["perf"]}, requires=["nowhere_to_be_found_xyz"])
        register("demo-trained", _FirstModel, "declares training", capabilities={"settings": ["perf"], "trained": True})


def _host():
    return make_plugin_manager(load_entrypoints=False, extra_plugins=[_Extra])


def test_plan_skips_missing_dependencies_and_unsupported_settings():
    host = _host()
    plan = demo_commands.plan_routers(host, "perf", None)
    assert {"demo-boom", "demo-first", "demo-trained"} <= set(plan.routers)
    assert "demo-heavy" not in plan.routers
    assert "missing dependency: nowhere_to_be_found_xyz" in plan.skipped["demo-heavy"]
    assert not {"best-single", "oracle", "random"} & set(plan.routers)  # reported as baselines

    cost = demo_commands.plan_routers(host, "perf-cost", None)
    assert cost.routers == ["demo-boom"]

    fast = demo_commands.plan_routers(host, "perf", None, only_training_free=True)
    assert "demo-trained" not in fast.routers and "demo-first" in fast.routers
    assert "--training-free" in fast.skipped["demo-trained"]

    asked = demo_commands.plan_routers(host, "perf-cost", ["demo-first"])
    assert asked.routers == [] and "does not support" in asked.skipped["demo-first"]
    with pytest.raises(UnknownNameError, match="Did you mean"):
        demo_commands.plan_routers(host, "perf", ["demo-frist"])


def test_plan_falls_back_to_baseline_routers_when_no_plugin_router_runs():
    host = make_plugin_manager(load_entrypoints=False)
    plan = demo_commands.plan_routers(host, "perf-cost", None)
    assert plan.routers == ["best-single", "random-pick", "cheapest"]
    assert plan.notes and "baseline routers only" in plan.notes[0]


def test_a_failing_router_is_skipped_and_the_demo_goes_on(tmp_path):
    from rich.console import Console

    console = Console(record=True, width=120)
    with Store(tmp_path / "s.db") as store:
        report = demo_commands.run_demo_setting(
            _host(), store, "perf", routers=["demo-boom", "demo-first"], seeds=[42],
            max_per_dataset=15, seed=0, embedder_name=None, out=tmp_path, console=console,
            embedder_cache={},
        )
    assert report["router"] == ["demo-first"]
    assert "boom in fit" in report["demo"]["skipped"]["demo-boom"]
    assert "skipped demo-boom" in console.export_text()
    saved = json.loads((tmp_path / "demo-perf-n15.json").read_text())
    assert saved["metrics"]["demo-first"]["avg_acc"]["mean"] == pytest.approx(
        report["metrics"]["demo-first"]["avg_acc"]["mean"])


def test_store_reuses_regenerates_and_protects(tmp_path):
    bench = demo.generate("perf-cost", max_per_dataset=12)
    with Store(tmp_path / "s.db") as store:
        assert demo.ensure_in_store(store, bench) == (bench.name, "generated")
        assert demo.ensure_in_store(store, bench) == (bench.name, "reused")
        store.update_bench_metadata(bench.name, generator_version="0")
        assert demo.ensure_in_store(store, bench) == (bench.name, "regenerated")
        assert store.bench_metadata(bench.name)["generator_version"] == demo.GENERATOR_VERSION

        other = demo.generate("perf", max_per_dataset=12)
        store.create_bench(other.name, source="someone-else")
        store.add_models(other.name, [ModelSpec(name="m", input_price=1, output_price=1)])
        with pytest.raises(demo.DemoError, match="not an rbench demo bench"):
            demo.ensure_in_store(store, other)
        assert [m.name for m in store.models(other.name)] == ["m"]


def test_cli_module_is_light():
    """Importing the command module (done by every `rbench` call) pulls in nothing heavy."""
    code = (
        "import sys, routerbench_core.commands.demo as m; "
        "heavy = [x for x in ('numpy', 'torch', 'sklearn', 'matplotlib', 'scipy') if x in sys.modules]; "
        "print(','.join(heavy))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_demo_options_are_in_the_help():
    result = _invoke(["demo", "--help"])
    assert result.exit_code == 0
    for option in ("--setting", "--router", "--out", "--full", "--training-free"):
        assert option in result.output
