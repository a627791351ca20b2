"""``rbench route``: evaluate routers on a stored bench under the leak-free protocol."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from routerbench_core.plugins.hookspecs import hookimpl


def parse_params(items: list[str], routers: list[str]) -> dict[str, dict[str, Any]]:
    """``router.key=value`` items into ``{router: {key: value}}``; values are YAML scalars
    (``0.5``, ``true``, ``[1, 2]``). A bare ``key=value`` is allowed with a single router."""
    import yaml

    out: dict[str, dict[str, Any]] = {r: {} for r in routers}
    for item in items:
        lhs, sep, raw = item.partition("=")
        if not sep:
            raise ValueError(f"--param {item!r} must look like ROUTER.KEY=VALUE")
        router, dot, key = lhs.rpartition(".")
        if not dot:
            if len(routers) != 1:
                raise ValueError(f"--param {item!r}: say which router, as ROUTER.{lhs}=VALUE")
            router, key = routers[0], lhs
        if router not in out:
            raise ValueError(
                f"--param {item!r} names router {router!r}, which is not among --router "
                f"{', '.join(routers)}"
            )
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out[router][key.strip()] = value
    return out


def device_problem(device: str) -> str | None:
    """Why ``--device`` cannot be honoured on this machine, checked once before any work and
    for every router alike (a numpy router would otherwise run on CPU without a word, and an
    embedder fail deep inside torch with an AssertionError). torch is imported only for CUDA."""
    if device == "cpu":
        return None
    try:
        from routerbench_core.routing.torch_utils import resolve_device
    except ImportError:
        return (f"--device {device} needs torch with CUDA, and torch is not installed; use "
                "--device cpu")
    from routerbench_core.routing.router import RouterError

    try:
        resolve_device(device)
    except RouterError as exc:
        return str(exc)
    return None


def validate_params(host: Any, params: dict[str, dict[str, Any]]) -> None:
    """Check every router's ``--param`` values against its ``Params`` model before anything
    is loaded or trained (a :class:`RouterError` naming router, parameter, value and type)."""
    from routerbench_core.routing.baselines import reference_name
    from routerbench_core.routing.evaluate import router_class
    from routerbench_core.routing.router import RouterError

    for name, values in params.items():
        if not values:
            continue
        cls = router_class(host, name)
        if reference_name(cls) is not None:
            raise RouterError(f"{name!r} is a reference and takes no parameters")
        cls.validate_params(values, name)


def select_datasets(matrix: Any, source_splits: list[Any] | None, keep: list[str],
                    drop: list[str]) -> tuple[Any, list[Any] | None]:
    """The matrix (and its rows' source splits) restricted by ``--datasets``/``--exclude``;
    an unknown name is an error with a "did you mean"."""
    import numpy as np

    from routerbench_core.words import did_you_mean

    if not keep and not drop:
        return matrix, source_splits
    names = matrix.dataset_names()
    for option, given in (("--datasets", keep), ("--exclude", drop)):
        for name in given:
            if name not in names:
                raise ValueError(f"{option}: no dataset {name!r} in bench {matrix.bench!r}."
                                 f"{did_you_mean(name, names)} Datasets: {', '.join(names)}")
    wanted = [d for d in names if (not keep or d in keep) and d not in drop]
    if not wanted:
        raise ValueError("--datasets/--exclude leave no dataset to route")
    rows = np.flatnonzero(np.isin(matrix.datasets, wanted))
    splits = None if source_splits is None else [source_splits[i] for i in rows.tolist()]
    return matrix.rows(rows), splits


def _csv(value: str | None) -> list[str]:
    return [p.strip() for p in (value or "").split(",") if p.strip()]


ROUTE_EXAMPLES = """Examples:

  rbench route --bench lrb --router avengers --router best-single

  rbench route -b lrb -r avengers-pro --setting perf-cost --plot pareto.png   # cost-accuracy curve

  rbench route -b lrb -r avengers -p avengers.k=32 --seeds 42 --json report.json
"""


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    @app.command("route", epilog=ROUTE_EXAMPLES)
    def route_command(
        ctx: typer.Context,
        router: list[str] = typer.Option(  # noqa: B008
            ..., "--router", "-r", help="Router to evaluate (repeat for several)."),
        bench: str = typer.Option(..., "--bench", "-b", help="Bench in the store."),
        setting: str = typer.Option("perf", "--setting", help="perf or perf-cost."),
        seeds: str = typer.Option("42,999,2024,2025,3407", "--seeds",
                                  help="Comma-separated split seeds."),
        embedder: str = typer.Option(None, "--embedder",
                                     help="Embedder for routers that need one (default minilm)."),
        embedder_option: list[str] = typer.Option(  # noqa: B008
            [], "--embedder-option", help="Embedder option KEY=VALUE (repeat)."),
        embed_text: str = typer.Option(
            "query", "--embed-text",
            help="query: embed prompts without the template a dataset's prompts share "
            "(few-shot exemplars, instructions); full: embed them as stored."),
        param: list[str] = typer.Option(  # noqa: B008
            [], "--param", "-p", help="Router parameter ROUTER.KEY=VALUE (repeat)."),
        ood: str = typer.Option(None, "--ood", help="Datasets held out wholly for test (a,b)."),
        datasets: str = typer.Option(None, "--datasets",
                                     help="Route only these datasets of the bench (a,b)."),
        exclude: str = typer.Option(None, "--exclude",
                                    help="Leave these datasets of the bench out (a,b)."),
        binarize: float = typer.Option(
            None, "--binarize",
            help="Count a score > T as correct (1) and any other as wrong (0) before routing; "
            "without it soft scores (probabilities, fractions of attempts) are averaged as they "
            "are, i.e. as expected accuracies."),
        device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
        valid_fraction: float = typer.Option(0.15, "--valid-fraction",
                                             help="Share of each dataset's train kept for valid."),
        test_fraction: float = typer.Option(0.3, "--test-fraction", help="Share for test."),
        split: str = typer.Option("protocol", "--split",
                                  help="protocol (70/30 per dataset) or source (the import's "
                                  "own train/test labels)."),
        missing: str = typer.Option("wrong", "--missing",
                                    help="A chosen model with no score counts as wrong, or skip."),
        json_out: Path = typer.Option(None, "--json", help="Write the report JSON here."),  # noqa: B008
        plot: Path = typer.Option(None, "--plot", help="Write a Pareto plot (PNG) here."),  # noqa: B008
    ) -> None:
        """Train and evaluate routers on a bench, every seed, against the baselines."""
        import json

        from rich.console import Console

        from routerbench_core.commands.progress import RunProgress, quiet_third_party_progress
        from routerbench_core.data.store import StoreError
        from routerbench_core.embedding.base import DEFAULT_EMBEDDER, load_embedder, parse_options
        from routerbench_core.plugins.manager import UnknownNameError
        from routerbench_core.plugins.spec import PluginLoadError
        from routerbench_core.report.build import build_report
        from routerbench_core.report.plots import plot_pareto
        from routerbench_core.report.provenance import utc_now
        from routerbench_core.report.tables import render_tables
        from routerbench_core.routing.evaluate import Evaluator, needs_embeddings, run_all
        from routerbench_core.routing.protocol import SplitError
        from routerbench_core.routing.router import RouterError

        started = utc_now()
        quiet_third_party_progress()
        st = state(ctx)
        host = st.host
        console = Console(stderr=False)
        if setting not in ("perf", "perf-cost"):
            raise fail(f"--setting must be perf or perf-cost, not {setting!r}")
        if embed_text not in ("query", "full"):
            raise fail(f"--embed-text must be query or full, not {embed_text!r}")
        if split not in ("protocol", "source"):
            raise fail(f"--split must be protocol or source, not {split!r}")
        if missing not in ("wrong", "skip"):
            raise fail(f"--missing must be wrong or skip, not {missing!r}")
        if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
            raise fail(f"--device must be cpu or cuda, not {device!r}")
        problem = device_problem(device)
        if problem:
            raise fail(problem)
        try:
            seed_list = [int(s) for s in _csv(seeds)]
        except ValueError:
            raise fail(f"--seeds must be comma-separated integers, got {seeds!r}") from None
        if not seed_list:
            raise fail("--seeds is empty")
        if len(set(router)) != len(router):
            raise fail("a router is named twice in --router")
        from routerbench_core.data.paths import check_output_file

        try:
            for out_path, option in ((json_out, "--json"), (plot, "--plot")):
                if out_path is not None:  # checked now, not after the whole evaluation
                    check_output_file(out_path, option)
            params = parse_params(param, list(router))
            for name in router:
                host.get("router", name)
            validate_params(host, params)
            store = st.open_store()
        except (ValueError, UnknownNameError, StoreError, RouterError, PluginLoadError) as exc:
            raise fail(str(exc)) from None
        try:
            matrix = store.load_matrix(bench)
            if matrix.n_queries == 0 or matrix.n_models == 0:
                raise fail(f"bench {bench!r} has no queries or no models")
            emb = None
            if needs_embeddings(host, router):
                options = parse_options(embedder_option)
                emb = load_embedder(host, embedder or DEFAULT_EMBEDDER, options)
                if device != "cpu" and "device" not in options and hasattr(emb, "device"):
                    emb.device = device  # type: ignore[attr-defined]  # embed on the GPU too
            source_splits = None
            if split == "source":
                source_splits = [q.source_split for q in store.queries(bench)]
            matrix, source_splits = select_datasets(matrix, source_splits, _csv(datasets),
                                                    _csv(exclude))
            unknown_ood = sorted(set(_csv(ood)) - set(matrix.dataset_names()))
            if unknown_ood:
                raise fail(f"--ood names dataset(s) {', '.join(unknown_ood)} not among the routed "
                           f"datasets: {', '.join(matrix.dataset_names())}")
            if binarize is not None:
                import dataclasses

                from routerbench_core.routing.accuracy import binarize as to_binary

                matrix = dataclasses.replace(
                    matrix, score=to_binary(matrix.score, binarize),
                    metadata={**matrix.metadata, "binarized_above": binarize})
            outputs = _Outputs(store, bench)
            ev = Evaluator(
                matrix, setting=setting, seeds=seed_list, ood=_csv(ood),  # type: ignore[arg-type]
                test_fraction=test_fraction, valid_fraction=valid_fraction, embedder=emb,
                store=store, device=device, missing=missing,  # type: ignore[arg-type]
                split_source=split, source_splits=source_splits,  # type: ignore[arg-type]
                outputs=outputs, text_view=embed_text,  # type: ignore[arg-type]
            )
            with RunProgress(Console(stderr=True), len(router) * len(seed_list)) as progress:
                ev.progress = progress.step
                runs = run_all(ev, host, list(router), params, on_seed=progress.seed_done)
            report = build_report(ev, runs)
            run_id = _record(store, host, report, started=started, routers=router, params=params,
                             embedder=(embedder or DEFAULT_EMBEDDER) if emb is not None else None,
                             embedder_options=parse_options(embedder_option), settings={
                                 "bench": bench, "setting": setting, "seeds": seed_list,
                                 "split": split, "test_fraction": test_fraction,
                                 "valid_fraction": valid_fraction, "ood": _csv(ood),
                                 "missing": missing, "embed_text": embed_text, "device": device})
        except (StoreError, SplitError, RouterError, PluginLoadError, UnknownNameError,
                ValueError) as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            # Embeddings reach the store's cache as they are computed, so nothing finished is
            # lost; routers are refitted from scratch on the rerun (they are not checkpointed).
            typer.echo(f"interrupted: the embeddings computed so far are kept in {store.path}; "
                       "run the same command again to continue (cached embeddings are not "
                       "recomputed; router training starts over)", err=True)
            raise typer.Exit(130) from None
        finally:
            store.close()
        render_tables(report, console)
        console.print(f"recorded as run {run_id} (`rbench show {run_id}`, `rbench report {run_id} "
                      "--html DIR`)")
        if json_out is not None:
            json_out.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n")
            console.print(f"wrote {json_out}")
        if plot is not None:
            if setting != "perf-cost":
                console.print("[yellow]--plot draws the cost–accuracy plane; with --setting "
                              "perf it shows one point per router[/yellow]")
            plot_pareto(report, str(plot))
            console.print(f"wrote {plot}")


def _record(store: Any, host: Any, report: dict[str, Any], *, started: str, routers: list[str],
            params: dict[str, Any], embedder: str | None, embedder_options: dict[str, Any],
            settings: dict[str, Any]) -> int:
    """Record the run in the store's history; its provenance goes into the report too."""
    from routerbench_core.report.provenance import provenance, record_route

    prov = provenance(host, started=started, components={"router": routers}, embedder=embedder,
                      embedder_options=embedder_options, settings=settings, params=params)
    return record_route(store, host, report, prov)


class _Outputs:
    """Reads stored answer texts for cascades; holds only the store handle and bench name."""

    def __init__(self, store: Any, bench: str) -> None:
        self._store = store
        self._bench = bench

    def __call__(self, model: str, keys: list[str]) -> list[str | None]:
        return self._store.outputs(self._bench, model, keys)
