"""``rbench demo``: the whole routing job on the embedded SYNTHETIC demo benchmark.

Nothing to download: the bench is generated (:mod:`routerbench_core.demo.generate`), stored, routed by
every installed router that supports the setting, compared with the baselines by the same
evaluator and report as ``rbench route``, and written out as JSON and a Pareto plot. Routers
that cannot run here (a missing dependency, no stored answer texts) are skipped with a note, so
the demo works on a bare core install too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from routerbench_core.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from rich.console import Console

    from routerbench_core.embedding.base import Embedder
    from routerbench_core.plugins.manager import PluginHost

DEMO_SEEDS = "42,999,2024"
FALLBACK_EMBEDDER = "hashing"


@dataclass
class DemoPlan:
    """Which routers run on one setting, and which were skipped and why."""

    routers: list[str]
    skipped: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def training_free(capabilities: dict[str, Any]) -> bool:
    """Whether a router declares it learns nothing heavier than statistics (no training loop)."""
    return capabilities.get("training") == "none" or capabilities.get("trained") is False


def plan_routers(
    host: PluginHost, setting: str, wanted: list[str] | None, *, only_training_free: bool = False,
) -> DemoPlan:
    """Every installed, runnable router that supports ``setting`` (or the ``wanted`` ones).

    Baseline routers (best single, cheapest, random pick) and the references are reported by
    the evaluator for every run, so they are not listed as routers unless asked for, or unless
    no other router is installed (then the baseline routers stand in, with a note).
    """
    specs = {s.name: s for s in host.specs("router")}
    if wanted:
        for name in wanted:
            host.get("router", name)  # "did you mean" error for a typo
        candidates = list(dict.fromkeys(wanted))
    else:
        candidates = [
            n for n, s in specs.items()
            if not s.capabilities.get("baseline") and not s.capabilities.get("reference")
        ]
    plan = DemoPlan(routers=[])
    for name in candidates:
        spec = specs[name]
        settings = spec.capabilities.get("settings") or ["perf"]
        if setting not in settings:
            if wanted:
                plan.skipped[name] = f"does not support the {setting} setting"
            continue
        if spec.status != "ok":
            plan.skipped[name] = spec.status
            continue
        if spec.capabilities.get("external") and not wanted:  # e.g. openrouter: online/replay
            plan.skipped[name] = "answers from outside the pool (online or replayed); ask for it"
            continue
        if only_training_free and not wanted and not training_free(dict(spec.capabilities)):
            plan.skipped[name] = "trained router (left out by --training-free)"
            continue
        plan.routers.append(name)
    if not plan.routers and not wanted:
        plan.routers = ["best-single", "random-pick"] + (["cheapest"] if setting == "perf-cost" else [])
        plan.notes.append(
            "no router plugin to run for this setting here; showing the baseline routers only "
            "(install router plugins, e.g. `pip install rbench-router-avengers`, "
            "or drop --training-free)"
        )
    return plan


def choose_embedder(host: PluginHost, name: str | None) -> tuple[Embedder, str]:
    """The named embedder, else the default (MiniLM) when it loads here, else ``hashing``."""
    import os

    from routerbench_core.embedding.base import DEFAULT_EMBEDDER, load_embedder

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if name:
        return load_embedder(host, name), f"{name} (asked for)"
    try:
        emb = load_embedder(host, DEFAULT_EMBEDDER)
        emb.embed(["rbench demo probe"])  # loads the model now, so a failure falls back here
        return emb, f"{DEFAULT_EMBEDDER} (the default embedder)"
    except Exception as exc:  # any failure to load the default: fall back, and say why
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        emb = load_embedder(host, FALLBACK_EMBEDDER)
        return emb, f"{FALLBACK_EMBEDDER} (default {DEFAULT_EMBEDDER} unavailable: {reason})"


def run_demo_setting(
    host: PluginHost, store: Any, setting: str, *, routers: list[str] | None, seeds: list[int],
    max_per_dataset: int | None, seed: int, embedder_name: str | None, out: Path,
    console: Console, embedder_cache: dict[str, Any], only_training_free: bool = False,
) -> dict[str, Any]:
    """Generate, store, route and report one setting; returns the report dict (JSON-ready)."""
    import json

    from routerbench_core.demo import generate as demo
    from routerbench_core.report.build import build_report
    from routerbench_core.report.plots import plot_pareto
    from routerbench_core.report.tables import render_tables
    from routerbench_core.routing.evaluate import Evaluator, needs_embeddings, run_registered

    t0 = time.perf_counter()
    bench = demo.generate(setting, seed=seed, max_per_dataset=max_per_dataset)  # type: ignore[arg-type]
    name, what = demo.ensure_in_store(store, bench)
    console.print(f"{demo.describe(bench)} ({what} in {store.path})")
    matrix = store.load_matrix(name)
    plan = plan_routers(host, setting, routers, only_training_free=only_training_free)
    for note in plan.notes:
        console.print(f"[yellow]note: {note}[/yellow]")
    for skipped, why in plan.skipped.items():
        console.print(f"[yellow]skipped {skipped}: {why}[/yellow]")

    emb = None
    embedder_label = None
    if plan.routers and needs_embeddings(host, plan.routers):
        if "emb" not in embedder_cache:
            embedder_cache["emb"] = choose_embedder(host, embedder_name)
        emb, embedder_label = embedder_cache["emb"]
        console.print(f"embedder: {embedder_label}")
    ev = Evaluator(matrix, setting=setting, seeds=seeds, embedder=emb, store=store)  # type: ignore[arg-type]
    runs = []
    from rich.console import Console

    from routerbench_core.commands.progress import RunProgress

    with RunProgress(Console(stderr=True), max(len(plan.routers), 1) * len(seeds)) as progress:
        ev.progress = progress.step
        for router in plan.routers:
            progress.describe(router)
            done = progress.done
            try:
                runs.append(run_registered(
                    ev, host, router, None,
                    on_seed=lambda s, r=router: progress.seed_done(r, s)))  # type: ignore[misc]
            except Exception as exc:  # one router's failure must not end the demo
                plan.skipped[router] = f"failed: {type(exc).__name__}: {exc}"
                progress.skip(done + len(seeds) - progress.done)
                console.print(f"[yellow]skipped {router}: {plan.skipped[router]}[/yellow]")
    report = build_report(ev, runs)
    report["demo"] = {
        "label": demo.LABEL,
        "note": "SYNTHETIC benchmark: outcomes are simulated, calibrated to published "
                "per-model, per-dataset figures; not evidence about any real router or model",
        "bench_metadata": matrix.metadata,
        "embedder": embedder_label,
        "skipped": plan.skipped,
        "notes": plan.notes,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    _record_demo(host, store, report, setting=setting, seeds=seeds, routers=plan.routers,
                 embedder=emb, max_per_dataset=max_per_dataset, seed=seed)
    render_tables(report, console)
    stem = out / f"{name}"
    json_path = stem.with_suffix(".json")
    json_path.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
    console.print(f"wrote {json_path}")
    if setting == "perf-cost":
        png = stem.with_suffix(".png")
        plot_pareto(report, str(png))
        console.print(f"wrote {png} (Pareto plot, labelled SYNTHETIC)")
    else:
        console.print("(no Pareto plot for the performance setting: its models are unpriced)")
    console.print(f"{setting}: {report['demo']['seconds']:.1f} s")
    return report


DEMO_EXAMPLES = """Examples:

  rbench demo   # every installed router on the synthetic bench, in seconds

  rbench demo --training-free --setting perf   # the fastest look

  rbench demo -r avengers -r best-single --out demo/
"""


def _record_demo(host: PluginHost, store: Any, report: dict[str, Any], *, setting: str,
                 seeds: list[int], routers: list[str], embedder: Any,
                 max_per_dataset: int | None, seed: int) -> None:
    """Record the demo run in the demo store's history, like ``rbench route`` does."""
    from routerbench_core.report.provenance import provenance, record_route

    emb_name = getattr(embedder, "name", None) or (type(embedder).__name__ if embedder else None)
    prov = provenance(host, components={"router": routers}, embedder=emb_name, settings={
        "bench": report["bench"], "setting": setting, "seeds": seeds, "split": "protocol",
        "max_per_dataset": max_per_dataset, "generator_seed": seed})
    record_route(store, host, report, prov, kind="demo")


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    @app.command("demo", epilog=DEMO_EXAMPLES)
    def demo_command(
        ctx: typer.Context,
        setting: str = typer.Option("both", "--setting", help="perf, perf-cost or both."),
        router: list[str] = typer.Option(  # noqa: B008
            None, "--router", "-r",
            help="Router to run (repeat); default: every installed router for the setting."),
        out: Path = typer.Option(  # noqa: B008
            Path("rbench-demo"), "--out", help="Folder for the reports, plot and demo store."),
        full: bool = typer.Option(False, "--full", help="The paper's full dataset sizes "
                                  "(24k queries; minutes, not seconds)."),
        max_per_dataset: int = typer.Option(
            None, "--max-per-dataset", help="Queries per dataset (default 100; --full: all)."),
        seeds: str = typer.Option(DEMO_SEEDS, "--seeds", help="Comma-separated split seeds."),
        embedder: str = typer.Option(
            None, "--embedder", help="Embedder (default minilm if it loads, else hashing)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the demo generator."),
        only_training_free: bool = typer.Option(
            False, "--training-free", help="Only routers with no training loop (fastest)."),
    ) -> None:
        """Route the embedded SYNTHETIC demo benchmark with every installed router (no data needed)."""
        from rich.console import Console

        from routerbench_core.commands.progress import quiet_third_party_progress
        from routerbench_core.data.store import Store, StoreError
        from routerbench_core.demo import generate as demo
        from routerbench_core.plugins.manager import UnknownNameError

        quiet_third_party_progress()
        console = Console()
        settings = {"both": ["perf", "perf-cost"], "perf": ["perf"], "perf-cost": ["perf-cost"]}
        if setting not in settings:
            raise fail(f"--setting must be perf, perf-cost or both, not {setting!r}")
        if full and max_per_dataset is not None:
            raise fail("give either --full or --max-per-dataset, not both")
        cap = None if full else (max_per_dataset or demo.DEFAULT_MAX_PER_DATASET)
        try:
            seed_list = [int(s) for s in seeds.split(",") if s.strip()]
        except ValueError:
            raise fail(f"--seeds must be comma-separated integers, got {seeds!r}") from None
        if not seed_list:
            raise fail("--seeds is empty")
        st = state(ctx)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise fail(f"cannot create --out folder {out}: {exc}") from None
        store_path = st.store_path or out / "rbench-demo.db"
        console.print(
            "[bold red]SYNTHETIC DEMO[/] — a generated benchmark calibrated to the LLMRouterBench "
            "paper's published accuracies and costs (arXiv:2601.07206); its outcomes are "
            "simulated, so the numbers show how rbench works, not how good any router is."
        )
        t0 = time.perf_counter()
        cache: dict[str, Any] = {}
        try:
            with Store(store_path) as store:
                for s in settings[setting]:
                    run_demo_setting(
                        st.host, store, s, routers=list(router or []) or None, seeds=seed_list,
                        max_per_dataset=cap, seed=seed, embedder_name=embedder, out=out,
                        console=console, embedder_cache=cache,
                        only_training_free=only_training_free,
                    )
        except (demo.DemoError, StoreError, UnknownNameError, ValueError) as exc:
            raise fail(str(exc)) from None
        console.print(f"[bold red]SYNTHETIC[/] demo done in {time.perf_counter() - t0:.1f} s; "
                      f"outputs in {out}/")
