"""``rbench train`` (fit one router, measure it, save it as an artefact) and ``rbench serve``
(run a saved router as an OpenAI-compatible endpoint). Thin: parse, call serving, print."""

from __future__ import annotations

from pathlib import Path

import typer

from routerbench_core.plugins.hookspecs import hookimpl

TRAIN_EXAMPLES = """Examples:

  rbench train -r avengers -b nim9 --save artefacts/avengers

  rbench train -r avengers-pro -b nim9 --setting perf-cost --target-share 0.2 --save art/

  rbench train -r routellm -b rb --setting perf-cost --target-cost 0.001 --save art-rl/
"""

SERVE_EXAMPLES = """Examples:

  rbench serve artefacts/avengers --config serve.yaml          # http://127.0.0.1:8000/v1

  rbench serve art/ -c serve.yaml --host 0.0.0.0 --api-key-env RBENCH_SERVE_KEY --record-text

  rbench serve art/ -c serve.yaml --workers 4                 # four processes on one port
"""


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    @app.command("train", epilog=TRAIN_EXAMPLES)
    def train_command(
        ctx: typer.Context,
        router: str = typer.Option(..., "--router", "-r", help="Router to fit."),
        bench: str = typer.Option(..., "--bench", "-b", help="Bench in the store."),
        save: Path = typer.Option(..., "--save", help="Artefact folder to write."),  # noqa: B008
        setting: str = typer.Option(
            "perf", "--setting",
            help="perf, or perf-cost to measure every sweep point (needed for calibration)."),
        seed: int = typer.Option(42, "--seed", help="The split seed the router is fitted on."),
        embedder: str = typer.Option(None, "--embedder", help="Embedder (default minilm)."),
        embedder_option: list[str] = typer.Option(  # noqa: B008
            [], "--embedder-option", help="Embedder option KEY=VALUE (repeat)."),
        embed_text: str = typer.Option("query", "--embed-text", help="query or full."),
        param: list[str] = typer.Option(  # noqa: B008
            [], "--param", "-p", help="Router parameter KEY=VALUE (repeat)."),
        target_share: float = typer.Option(
            None, "--target-share",
            help="Calibrate on validation: the share of queries sent to --share-model."),
        share_model: str = typer.Option(
            None, "--share-model", help="Model whose share is targeted (default: the dearest)."),
        target_cost: float = typer.Option(
            None, "--target-cost",
            help="Calibrate on validation: the most accurate point within this USD per query."),
        valid_fraction: float = typer.Option(0.15, "--valid-fraction"),
        test_fraction: float = typer.Option(0.3, "--test-fraction"),
        missing: str = typer.Option("wrong", "--missing", help="wrong or skip."),
        device: str = typer.Option("cpu", "--device", help="cpu or cuda."),
        fit_on: str = typer.Option(
            "split", "--fit-on",
            help="split: save the router fitted on the seed's train split; all: measure on "
            "the split, then refit on train + test (same validation) and save that one."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an artefact in --save."),
    ) -> None:
        """Fit a router on one seed's split, measure it on test, save it for `rbench serve`."""
        from routerbench_core.commands.route import parse_params
        from routerbench_core.data.store import StoreError
        from routerbench_core.embedding.base import DEFAULT_EMBEDDER, load_embedder, parse_options
        from routerbench_core.plugins.manager import UnknownNameError
        from routerbench_core.plugins.spec import PluginLoadError
        from routerbench_core.routing.evaluate import Evaluator, needs_embeddings
        from routerbench_core.routing.protocol import SplitError
        from routerbench_core.routing.router import RouterError
        from routerbench_core.serving.artefact import ArtefactError, EmbedderInfo, save_artefact
        from routerbench_core.serving.train import train_artefact

        st = state(ctx)
        if setting not in ("perf", "perf-cost"):
            raise fail(f"--setting must be perf or perf-cost, not {setting!r}")
        if embed_text not in ("query", "full"):
            raise fail(f"--embed-text must be query or full, not {embed_text!r}")
        if missing not in ("wrong", "skip"):
            raise fail(f"--missing must be wrong or skip, not {missing!r}")
        if (target_share is not None or target_cost is not None) and setting != "perf-cost":
            raise fail("--target-share/--target-cost calibrate a sweep: add --setting perf-cost")
        try:
            params = parse_params(param, [router])[router]
            st.host.get("router", router)
            store = st.open_store()
        except (ValueError, UnknownNameError, StoreError) as exc:
            raise fail(str(exc)) from None
        try:
            matrix = store.load_matrix(bench)
            emb, info = None, None
            if needs_embeddings(st.host, [router]):
                name = embedder or DEFAULT_EMBEDDER
                options = parse_options(embedder_option)
                emb = load_embedder(st.host, name, options)
                info = EmbedderInfo(name=name, options=options, cache_id=emb.cache_id,
                                    text_view=embed_text)  # type: ignore[arg-type]
            ev = Evaluator(matrix, setting=setting, seeds=[seed],  # type: ignore[arg-type]
                           test_fraction=test_fraction, valid_fraction=valid_fraction,
                           embedder=emb, store=store, device=device,
                           missing=missing, text_view=embed_text)  # type: ignore[arg-type]
            fitted, meta = train_artefact(
                ev, st.host, router, params, seed, embedder=info, target_share=target_share,
                share_model_name=share_model, target_cost=target_cost, fit_on=fit_on,
            )
            save_artefact(save, meta, fitted, overwrite=overwrite)
        except (StoreError, SplitError, RouterError, PluginLoadError, UnknownNameError,
                ArtefactError, ValueError) as exc:
            raise fail(str(exc)) from None
        finally:
            store.close()
        default = meta.point(meta.default_point)
        typer.echo(f"wrote {save}: router {router} fitted on bench {bench} seed {seed} "
                   f"(fingerprint {meta.bench.fingerprint[:12]})")
        for p in meta.points:
            v = p.valid.avg_acc if p.valid and p.valid.avg_acc is not None else float("nan")
            t = p.test
            mark = " <- default" if p is default else ""
            typer.echo(f"  {p.name:<24} valid acc {v:.4f}  test acc "
                       f"{(t.avg_acc if t and t.avg_acc is not None else float('nan')):.4f}  "
                       f"test $/query {(t.cost_per_query if t else float('nan')):.6f}{mark}")
        if meta.calibration is not None:
            c = meta.calibration
            typer.echo(f"  calibrated on validation: {c.target} {c.value:g} -> {c.point} "
                       f"(validation {c.achieved_valid:g}){' — ' + c.note if c.note else ''}")

    @app.command("serve", epilog=SERVE_EXAMPLES)
    def serve_command(
        ctx: typer.Context,
        artefact: Path = typer.Argument(..., help="Artefact folder written by `rbench train`."),  # noqa: B008
        config: Path = typer.Option(..., "--config", "-c", help="Serve config (YAML)."),  # noqa: B008
        host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
        port: int = typer.Option(8000, "--port", help="Port (0: any free port)."),
        api_key_env: str = typer.Option(
            None, "--api-key-env",
            help="Variable holding the key clients must send; required off loopback."),
        record_text: bool = typer.Option(
            None, "--record-text/--hash-only", help="Store query texts (default: the config's)."),
        shadow: str = typer.Option(None, "--shadow", help="Also ask this pool model (shadow)."),
        log_level: str = typer.Option("info", "--log-level", help="debug, info, warning."),
        workers: int = typer.Option(
            None, "--workers", min=1, max=256,
            help="Server processes sharing the port (default: the config's, 1)."),
    ) -> None:
        """Serve a saved router as an OpenAI-compatible endpoint (POST /v1/chat/completions)."""
        import os

        from routerbench_core.data.store import StoreError
        from routerbench_core.plugins.manager import UnknownNameError
        from routerbench_core.plugins.spec import PluginLoadError
        from routerbench_core.routing.router import RouterError
        from routerbench_core.serving.artefact import ArtefactError
        from routerbench_core.serving.config import ServeConfigError, load_config
        from routerbench_core.serving.server import (
            ServeError,
            build_server,
            log_to_stderr,
            serve_until_signalled,
        )

        st = state(ctx)
        key = None
        if api_key_env:
            key = os.environ.get(api_key_env)
            if not key:
                raise fail(f"--api-key-env {api_key_env}: the variable is not set")
        log_to_stderr(log_level)
        try:
            cfg = load_config(config)
            if record_text is not None:
                cfg.record_text = record_text
            if shadow is not None:
                cfg.shadow = shadow
                cfg = type(cfg).model_validate(cfg.model_dump())
            if workers is not None:
                cfg.workers = workers
            store = st.open_store()
        except (ServeConfigError, StoreError, ValueError) as exc:
            raise fail(str(exc)) from None
        if cfg.workers > 1:
            from routerbench_core.serving.workers import WorkerSpec, serve_workers

            store.close()  # each worker opens its own connection
            spec = WorkerSpec(artefact=str(artefact), config=cfg.model_dump(),
                              store_path=None if st.store_path is None else str(st.store_path),
                              bind=host, port=port, api_key=key, log_level=log_level)
            try:
                code = serve_workers(spec, cfg.workers, lambda url: print(url, flush=True))
            except ServeError as exc:
                raise fail(str(exc)) from None
            if code:
                raise typer.Exit(code)
            return
        try:
            server = build_server(str(artefact), cfg, store, st.host, bind=host, port=port,
                                  api_key=key)
        except (ArtefactError, ServeConfigError, ServeError, RouterError, PluginLoadError,
                UnknownNameError, ValueError) as exc:
            store.close()
            raise fail(str(exc)) from None

        try:
            serve_until_signalled(server, lambda started: print(started.url, flush=True))
        except KeyboardInterrupt:
            pass
        finally:
            store.close()
