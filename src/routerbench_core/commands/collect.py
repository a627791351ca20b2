"""Built-in commands ``rbench collect`` and ``rbench grade`` (the first pipeline stages).

Imports of the collector, store and rich stay inside the commands so ``rbench --help`` is fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from routerbench_core.plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from routerbench_core.collection.runconfig import RunConfig


class RichProgress:
    """A rich progress bar: done/total, rate, ETA, spend so far and failures."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = Console(stderr=True)
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TaskProgressColumn(), TextColumn("{task.fields[rate]}"), TimeElapsedColumn(),
            TextColumn("ETA"), TimeRemainingColumn(),
            TextColumn("spend ${task.fields[spend]:.4f}"),
            TextColumn("[red]{task.fields[failures]} failed"),
            console=console, transient=False, disable=not console.is_terminal,
        )
        self.task: Any = None
        self.spend = 0.0
        self.failures = 0

    def start(self, total: int, description: str) -> None:
        import time

        self.spend, self.failures, self.t0 = 0.0, 0, time.perf_counter()
        self.progress.start()
        self.task = self.progress.add_task(description, total=total, rate="", spend=0.0,
                                           failures=0)

    def advance(self, n: int, *, cost: float, failures: int) -> None:
        import time

        self.spend += cost
        self.failures += failures
        task = self.progress.tasks[-1]
        elapsed = max(time.perf_counter() - self.t0, 1e-9)
        rate = f"{(task.completed + n) / elapsed:.1f} req/s"
        self.progress.update(self.task, advance=n, spend=self.spend, failures=self.failures,
                             rate=rate)

    def finish(self) -> None:
        self.progress.stop()


def build_config(
    config_path: Path | None, *, models: list[str], datasets: list[str], backend: str | None,
    api_model: str | None, base_url: str | None, api_key_env: str | None,
    input_price: float | None, output_price: float | None, free: bool,
    gpu_hour_price: float | None, temperature: float | None, max_tokens: int | None, splits: list[str],
    data_file: Path | None, limit: int | None, concurrency: int | None, bench: str | None,
    refresh: bool, allow_unpriced: bool, grade: bool,
) -> RunConfig:
    """The run config from a YAML file and/or flags (flags override the file's run options;
    ``--model``/``--dataset`` pick from the file's lists, or define them without a file)."""
    from pydantic import ValidationError

    from routerbench_core.collection.runconfig import (
        DatasetConfig,
        RunConfigError,
        RunOptions,
        load_run_config,
        parse_run_config,
    )

    if config_path is not None:
        cfg = load_run_config(config_path)
        if models:
            known = {m.name for m in cfg.models}
            unknown = [m for m in models if m not in known]
            if unknown:
                raise RunConfigError(f"--model {unknown[0]!r} is not in {config_path} "
                                     f"(models: {', '.join(sorted(known))})")
            cfg.models = [m for m in cfg.models if m.name in models]
        if datasets:
            listed = {d.name: d for d in cfg.datasets}
            cfg.datasets = [listed.get(d) or DatasetConfig(name=d) for d in datasets]
    else:
        if not models or not datasets:
            raise RunConfigError("give --config run.yaml, or at least one --model and one "
                                 "--dataset")
        if len(models) > 1 and (api_model or base_url):
            raise RunConfigError("--api-model/--base-url apply to a single --model; use a "
                                 "config file for several models")
        model_entries = []
        for name in models:
            entry: dict[str, Any] = {"name": name.replace("/", "--"), "backend": backend or "openai",
                                     "api_model": api_model or name}
            for key, value in (("base_url", base_url), ("api_key_env", api_key_env),
                               ("input_price", input_price), ("output_price", output_price),
                               ("gpu_hour_price", gpu_hour_price),
                               ("temperature", temperature), ("max_tokens", max_tokens)):
                if value is not None:
                    entry[key] = value
            if free:
                entry["free"] = True
            model_entries.append(entry)
        dataset_entries = []
        for name in datasets:
            d: dict[str, Any] = {"name": name}
            if splits:
                d["splits"] = list(splits)
            if data_file is not None:
                if len(datasets) > 1:
                    raise RunConfigError("--data-file applies to a single --dataset")
                d["data_file"] = str(data_file)
            dataset_entries.append(d)
        cfg = parse_run_config({"models": model_entries, "datasets": dataset_entries},
                               "command line")
    if backend is not None and config_path is not None:
        for m in cfg.models:
            m.backend = backend
    run = cfg.run
    overrides: dict[str, Any] = {
        "refresh": run.refresh or refresh, "allow_unpriced": run.allow_unpriced or allow_unpriced,
        "grade": run.grade and grade,
    }
    for key, value in (("limit", limit), ("concurrency", concurrency), ("bench", bench)):
        if value is not None:
            overrides[key] = value
    try:  # validated like the file's run options, so --concurrency 0 is refused as clearly
        cfg.run = RunOptions.model_validate({**run.model_dump(), **overrides})
    except ValidationError as exc:
        err = exc.errors()[0]
        option = "--" + str(err["loc"][0]).replace("_", "-")
        raise RunConfigError(f"{option} {err.get('input')!r}: "
                             f"{err['msg'].removeprefix('Value error, ')}") from None
    return cfg


COLLECT_EXAMPLES = """Examples:

  rbench collect -m gpt-4o-mini -d aime -d math500 --input-price 0.15 --output-price 0.6   # answers, graded

  rbench collect -c run.yaml   # models, datasets and prices from a run config

  rbench collect -c run.yaml --limit 5 --no-grade   # a quick try: 5 queries per split
"""


GRADE_EXAMPLES = """Examples:

  rbench grade --bench collected   # grade what is not graded yet

  rbench grade --regrade --dataset math500   # re-score stored answers, no new calls

  rbench grade --judge-model gpt-4.1 --judge-input-price 2 --judge-output-price 8   # judged datasets
"""


def _now() -> str:
    from routerbench_core.report.provenance import utc_now

    return utc_now()


def _record(db: Any, host: Any, kind: str, bench: str, report: Any, started: str, *,
            models: list[str], components: dict[str, list[str]],
            settings: dict[str, Any]) -> None:
    """Record a collect/grade run in the store's history (``rbench runs``)."""
    from routerbench_core.report.provenance import provenance, record_result

    prov = provenance(host, started=started, components=components, settings=settings)
    record_result(db, kind=kind, bench=bench, result=report, prov=prov,
                  summary={"models": models, "text": report.lines()[0]})


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    @app.command("collect", epilog=COLLECT_EXAMPLES)
    def collect_command(
        ctx: typer.Context,
        config: Path = typer.Option(None, "--config", "-c", help="YAML run config."),  # noqa: B008
        backend: str = typer.Option(None, "--backend", help="openai or vllm (default openai)."),
        model: list[str] = typer.Option([], "--model", "-m", help="Model (repeatable)."),  # noqa: B008
        dataset: list[str] = typer.Option([], "--dataset", "-d", help="Dataset (repeatable)."),  # noqa: B008
        split: list[str] = typer.Option([], "--split", help="Dataset split (repeatable)."),  # noqa: B008
        data_file: Path = typer.Option(None, "--data-file", help="Local data file."),  # noqa: B008
        api_model: str = typer.Option(None, "--api-model", help="Provider model id."),
        base_url: str = typer.Option(None, "--base-url", help="OpenAI-compatible base URL."),
        api_key_env: str = typer.Option(None, "--api-key-env", help="Env var with the key."),
        input_price: float = typer.Option(None, "--input-price", help="USD / M input tokens."),
        output_price: float = typer.Option(None, "--output-price", help="USD / M output tokens."),
        free: bool = typer.Option(False, "--free", help="Own hardware: cost is $0 (stated)."),
        gpu_hour_price: float = typer.Option(None, "--gpu-hour-price",
                                             help="vllm: USD per GPU-hour."),
        temperature: float = typer.Option(None, "--temperature"),
        max_tokens: int = typer.Option(None, "--max-tokens"),
        limit: int = typer.Option(None, "--limit", help="At most N queries per dataset split."),
        concurrency: int = typer.Option(None, "--concurrency", help="Requests in flight."),
        bench: str = typer.Option(None, "--bench", help="Bench to write (default collected)."),
        store: Path = typer.Option(None, "--store", help="Store file (overrides rbench --store)."),  # noqa: B008
        refresh: bool = typer.Option(False, "--refresh", help="Ignore cached answers."),
        allow_unpriced: bool = typer.Option(False, "--allow-unpriced",
                                            help="Allow models with no price."),
        no_grade: bool = typer.Option(False, "--no-grade", help="Do not grade afterwards."),
        no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    ) -> None:
        """Ask models the queries of datasets and store every answer (cached, resumable)."""
        from routerbench_core.collection.backends import BackendError
        from routerbench_core.collection.collector import CollectError, preflight
        from routerbench_core.collection.runconfig import RunConfigError
        from routerbench_core.data.store import StoreError, store_for_command
        from routerbench_core.plugins.spec import PluginLoadError
        from routerbench_core.schema import UnpricedModelError
        from routerbench_core.scoring.datasets import DatasetError
        from routerbench_core.scoring.grading import collect_and_grade

        st = state(ctx)
        try:
            cfg = build_config(
                config, models=model, datasets=dataset, backend=backend, api_model=api_model,
                base_url=base_url, api_key_env=api_key_env, input_price=input_price,
                output_price=output_price, free=free, gpu_hour_price=gpu_hour_price,
                temperature=temperature,
                max_tokens=max_tokens, splits=split, data_file=data_file, limit=limit,
                concurrency=concurrency, bench=bench, refresh=refresh,
                allow_unpriced=allow_unpriced, grade=not no_grade,
            )
        except RunConfigError as exc:
            raise fail(str(exc)) from None
        path = store or cfg.run.store or st.store_path
        progress = None if (no_progress or not cfg.run.progress) else RichProgress()
        try:
            preflight(cfg, st.host)  # a refused run opens (and creates) no store
            with store_for_command(path) as db:
                started = _now()
                report = collect_and_grade(cfg, st.host, db, progress=progress)
                _record(db, st.host, "collect", report.bench, report, started,
                        models=[m.name for m in cfg.models],
                        components={"dataset": [d.name for d in cfg.datasets],
                                    "backend": sorted({m.backend for m in cfg.models})},
                        settings={**cfg.run.model_dump(mode="json"),
                                  "models": [m.spec().model_dump(mode="json")
                                             for m in cfg.models]})
        except (CollectError, RunConfigError, StoreError, UnpricedModelError, BackendError,
                DatasetError, PluginLoadError) as exc:
            raise fail(str(exc)) from None
        for line in report.lines():
            typer.echo(line)
        if report.failed:
            raise typer.Exit(1)

    @app.command("grade", epilog=GRADE_EXAMPLES)
    def grade_command(
        ctx: typer.Context,
        bench: str = typer.Option("collected", "--bench", help="Bench to grade."),
        regrade: bool = typer.Option(False, "--regrade",
                                     help="Re-grade every answer, not only ungraded/stale."),
        model: str = typer.Option(None, "--model", help="Only this model."),
        dataset: str = typer.Option(None, "--dataset", help="Only this dataset."),
        store: Path = typer.Option(None, "--store", help="Store file (overrides rbench --store)."),  # noqa: B008
        workers: int = typer.Option(
            0, "--workers", help="Parallel graders for code execution (default: one per core)."
        ),
        judge_backend: str = typer.Option(
            "openai", "--judge-backend", help="Backend of the LLM judge (judged datasets)."
        ),
        judge_model: str = typer.Option(
            None, "--judge-model", help="Judge model for HLE/SimpleQA/ArenaHard answers."
        ),
        judge_base_url: str = typer.Option(None, "--judge-base-url", help="Judge API base URL."),
        judge_api_key_env: str = typer.Option(
            None, "--judge-api-key-env", help="Variable holding the judge API key."
        ),
        judge_input_price: float = typer.Option(
            None, "--judge-input-price", help="Judge price, USD per million input tokens."
        ),
        judge_output_price: float = typer.Option(
            None, "--judge-output-price", help="Judge price, USD per million output tokens."
        ),
        allow_unpriced: bool = typer.Option(
            False, "--allow-unpriced", help="Allow a judge model with no price (cost unknown)."
        ),
        unsafe_local_exec: bool = typer.Option(
            False, "--unsafe-local-exec",
            help="Run code answers WITHOUT the kernel sandbox (only for code you trust; "
                 "docs/sandbox.md).",
        ),
    ) -> None:
        """Grade stored answers with their dataset's grader (no new model calls).

        Judged datasets (HLE, SimpleQA, ArenaHard) need a judge: --judge-model (and
        --judge-base-url / --judge-api-key-env for a non-OpenAI endpoint). Judge calls are
        cached in the store like any request.
        """
        from routerbench_core.collection.runconfig import check_base_url, check_env_var_name
        from routerbench_core.data.store import Store, StoreError
        from routerbench_core.scoring.grading import grade_bench
        from routerbench_core.scoring.sandbox import SandboxError, default_workers

        st = state(ctx)
        for option, value, check in (("--judge-api-key-env", judge_api_key_env,
                                      check_env_var_name),
                                     ("--judge-base-url", judge_base_url, check_base_url)):
            try:
                if value:
                    check(value)
            except ValueError as exc:
                raise fail(f"{option}: {exc}") from None
        if unsafe_local_exec:
            from routerbench_core.scoring.sandbox import UNSAFE_ENV

            os.environ[UNSAFE_ENV] = "1"
            typer.echo("warning: --unsafe-local-exec: code answers run without isolation", err=True)
        try:
            with Store(store or st.store_path, create=False) as db:
                context: dict[str, object] = {}
                if judge_model:
                    from routerbench_core.schema import ModelSpec
                    from routerbench_core.scoring.judge import judge_context

                    options: dict[str, object] = {"allow_unpriced": allow_unpriced}
                    if judge_base_url:
                        options["base_url"] = judge_base_url
                    if judge_api_key_env:
                        options["api_key_env"] = judge_api_key_env
                    spec = ModelSpec(name=judge_model, input_price=judge_input_price,
                                     output_price=judge_output_price)
                    context = judge_context(st.host, judge_backend, spec, store=db,
                                            backend_options=options)
                started = _now()
                report = grade_bench(db, bench, st.host, regrade=regrade, model=model,
                                     dataset=dataset, context=context,
                                     workers=workers or default_workers())
                _record(db, st.host, "grade", bench, report, started,
                        models=[model] if model else [], components={},
                        settings={"bench": bench, "regrade": regrade, "model": model,
                                  "dataset": dataset, "judge_model": judge_model})
        except StoreError as exc:
            raise fail(str(exc)) from None
        except SandboxError as exc:  # cannot isolate: no code is run, nothing recorded
            raise fail(str(exc)) from None
        for line in report.lines():
            typer.echo(line)
        if report.n_errors:
            raise typer.Exit(1)
