"""The ``rbench`` command line: a typer app whose commands come from plugins (built-ins too).

Startup stays light: building the app imports the plugin manager and typer only; each command
imports what it needs when it runs. The ``rbench`` entry point itself is
:func:`routerbench_core.commands.entry.main` (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from routerbench_core.commands.entry import main
from routerbench_core.plugins.manager import PluginHost

if TYPE_CHECKING:
    from routerbench_core.data.store import Store

__all__ = ["State", "build_app", "cli_fail", "cli_state", "fail", "main", "state"]


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


ROOT_EPILOG = """Examples:

  rbench demo                                  route the built-in synthetic bench (no data)

  rbench data import llmrouterbench results/ --name lrb

  rbench route --bench lrb --router avengers --router best-single

  rbench list routers                          what is installed, with its status

  rbench --install-completion                  tab completion for your shell
"""


def _show_flags_as_flags() -> None:
    """Typer renders a boolean flag as ``--regrade <bool>``, and users then type
    ``--regrade true``; a flag takes no value, so its help shows none (display only)."""
    from typer.core import TyperOption

    if getattr(TyperOption, "_rbench_flags", False):
        return
    display = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        if self.is_flag and self.metavar is None:
            return None
        return display(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]
    TyperOption._rbench_flags = True  # type: ignore[attr-defined]


def _version(value: bool) -> None:
    if value:
        from routerbench_core import __version__

        typer.echo(f"rbench {__version__}")
        raise typer.Exit()


#: The public names of the two helpers for plugins' commands (``routerbench_core.cli_state``).
cli_state = state
cli_fail = fail


def build_app(host: PluginHost) -> typer.Typer:
    _show_flags_as_flags()
    app = typer.Typer(
        name="rbench",
        help="Benchmark LLM routers: collect, grade, import, route and report.",
        epilog=ROOT_EPILOG,
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
    )

    @app.callback()
    def _root(
        ctx: typer.Context,
        store: Path = typer.Option(
            None, "--store", envvar="RBENCH_STORE", help="Store file (default ./rbench.db)."
        ),
        version: bool = typer.Option(
            False, "--version", callback=_version, is_eager=True,
            help="Print the rbench version and exit."),
    ) -> None:
        obj = ctx.obj
        if isinstance(obj, State):
            obj.store_path = store

    host.add_commands(app)
    return app


if __name__ == "__main__":  # `python -m routerbench_core.commands.app`: use the importable module's
    from routerbench_core.commands.app import main as _main  # State, not a second copy in __main__

    _main()
