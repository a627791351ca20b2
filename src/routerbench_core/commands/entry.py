"""The ``rbench`` entry point: plugin host, strict checks, error handling, then the typer app.

``rbench list --json`` (what scripts and tools call, often) does not build the app at all: it
answers from the plugin host alone, so it pays neither typer's import nor the pydantic
machinery typer uses to parse options; its output is the same as the typer command's. Plain
``rbench data info`` calls do the same (``commands/data_info.py``).
"""

from __future__ import annotations

import sys

from routerbench_core.plugins.manager import PluginError, PluginHost, make_plugin_manager


def _error(message: str) -> None:
    import typer

    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)


def _host(*, commands: bool = True) -> PluginHost:
    """A fresh plugin host; under ``RBENCH_STRICT_PLUGINS`` every failure (a name clash, a
    hook error, a target typo) is found here, before any command runs."""
    host = make_plugin_manager(commands=commands)
    if host.strict:  # name clashes and hook errors are found by collecting the specs
        host.specs()
        problems = host.target_problems()
        if problems:
            raise PluginError("; ".join(problems) + " (RBENCH_STRICT_PLUGINS is set; "
                              "`rbench plugins --check` imports every target)")
    return host


def _list_json_kind(argv: list[str]) -> tuple[bool, str | None]:
    """Whether ``argv`` is exactly ``list [KIND] --json`` (KIND known), and the kind."""
    from routerbench_core.plugins.inventory import KIND_ALIASES

    if len(argv) not in (2, 3) or argv[0] != "list" or "--json" not in argv[1:]:
        return False, None
    rest = [a for a in argv[1:] if a != "--json"]
    if len(rest) != len(argv) - 2:
        return False, None
    if not rest:
        return True, None
    kind = KIND_ALIASES.get(rest[0].lower()) if not rest[0].startswith("-") else None
    return kind is not None, kind


def main(argv: list[str] | None = None) -> None:
    """The ``rbench`` command. Plugin failures never break it: a broken plugin is shown by
    ``rbench list``/``rbench plugins`` and its names are unavailable; a command that uses such
    a name gets one clear error. Under ``RBENCH_STRICT_PLUGINS`` every failure is fatal up front.
    """
    from routerbench_core.plugins.manager import UnknownNameError
    from routerbench_core.plugins.spec import PluginLoadError

    args = list(sys.argv[1:] if argv is None else argv)
    if "info" in args:
        from routerbench_core.commands.data_info import fast_info

        fast_info(args)  # exits when it answered
    fast, kind = _list_json_kind(args)
    try:
        if fast:  # the same JSON as the typer command prints, without building the CLI
            import json

            from routerbench_core.plugins.inventory import list_rows

            rows = list_rows(_host(commands=False), kind)
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            sys.exit(0)
        from routerbench_core.commands.app import State, build_app

        host = _host()
        app = build_app(host)
    except PluginError as exc:
        _error(str(exc))
        sys.exit(2)
    try:
        app(args=args, obj=State(host=host), prog_name="rbench")
    except (PluginError, UnknownNameError, PluginLoadError) as exc:  # a command that did not catch it
        _error(str(exc))
        sys.exit(2)
