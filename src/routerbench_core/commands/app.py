"""The ``rbench`` command line: a typer app whose commands come from plugins (built-ins too).

Startup stays light: building the app imports the plugin manager and typer only; each command
imports what it needs when it runs.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from routerbench_core.plugins.manager import PluginError, PluginHost, make_plugin_manager

if TYPE_CHECKING:
    from routerbench_core.data.store import Store


@dataclass
class State:
    """Per-invocation state shared by commands through ``ctx.obj``."""

    host: PluginHost
    store_path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def open_store(self, *, create: bool = True, readonly: bool = False) -> Store:
        """The store: ``readonly`` never writes (read commands); ``create=False`` refuses a
        missing file instead of making an empty one."""
        from routerbench_core.data.store import Store

        return Store(self.store_path, create=create, readonly=readonly)


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State), "rbench commands must run under routerbench_core.commands.app.main"
    return obj


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print an error for the user and return the Exit to raise."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def build_app(host: PluginHost) -> typer.Typer:
    app = typer.Typer(
        name="rbench",
        help="Benchmark LLM routers: collect, grade, import, route and report.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        ctx: typer.Context,
        store: Path = typer.Option(
            None, "--store", envvar="RBENCH_STORE", help="Store file (default ./rbench.db)."
        ),
    ) -> None:
        obj = ctx.obj
        if isinstance(obj, State):
            obj.store_path = store

    host.add_commands(app)
    return app


def main(argv: list[str] | None = None) -> None:
    """The ``rbench`` command. Plugin failures never break it: a broken plugin is shown by
    ``rbench list``/``rbench plugins`` and its names are unavailable; a command that uses such
    a name gets one clear error. Under ``RBENCH_STRICT_PLUGINS`` every failure is fatal up front.
    """
    from routerbench_core.plugins.manager import UnknownNameError
    from routerbench_core.plugins.spec import PluginLoadError

    try:
        host = make_plugin_manager()
        app = build_app(host)
        if host.strict:  # name clashes and hook errors are found by collecting the specs
            host.specs()
    except PluginError as exc:
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    try:
        app(args=argv, obj=State(host=host), prog_name="rbench")
    except (PluginError, UnknownNameError, PluginLoadError) as exc:  # a command that did not catch it
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)


if __name__ == "__main__":  # `python -m routerbench_core.commands.app`: use the importable module's
    from routerbench_core.commands.app import main as _main  # State, not a second copy in __main__

    _main()
