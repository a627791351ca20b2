"""Built-in commands that belong to the core itself: ``rbench list`` and ``rbench plugins``.

Both must stay readable at 80 columns and in a pipe (where the console is 80 columns wide):
the name and the status are never cut (a status wraps instead), the summary gives way first,
the capabilities only appear where there is room. ``--json`` prints everything, unabridged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import typer

from routerbench_core.plugins.hookspecs import hookimpl
from routerbench_core.plugins.inventory import KIND_ALIASES, list_rows, plugin_rows

if TYPE_CHECKING:
    from rich.console import Console

    from routerbench_core.plugins.manager import PluginHost

__all__ = ["KIND_ALIASES", "list_rows", "plugin_rows", "register_commands"]

KIND_ORDER = ("backend", "dataset", "router", "embedder", "importer")

LIST_EXAMPLES = """Examples:

  rbench list                      everything installed, by kind

  rbench list routers              routers only (also: backends, datasets, embedders, importers)

  rbench list --json | jq -r '.[] | select(.status != "ok") | .name'
"""
PLUGINS_EXAMPLES = """Examples:

  rbench plugins                   each plugin's distribution, version, status and hooks

  rbench plugins --check           also import every registered target and report typos

  rbench plugins --check mine-knn  only one plugin (entry-point or distribution name)

  RBENCH_STRICT_PLUGINS=1 rbench plugins --check   (in CI: any problem fails)
"""


def _format_capabilities(caps: dict[str, Any]) -> str:
    parts = []
    for key, value in caps.items():
        if isinstance(value, dict):  # e.g. an import format's options: their names suffice
            value = ",".join(str(k) for k in value)
        elif isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return " ".join(parts)


def _status_style(status: str) -> str | None:
    if status == "ok":
        return None
    return "red" if status.startswith("failed") else "yellow"


def _wrap(text: str, width: int, max_lines: int | None = None, hyphens: bool = False) -> list[str]:
    """``text`` in lines of at most ``width``; past ``max_lines`` the last line ends in "…"."""
    import textwrap

    lines = textwrap.wrap(text, width, break_on_hyphens=hyphens) or [""]
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines]
        last = lines[-1] if len(lines[-1]) < width else lines[-1][: width - 1]
        cut = last.rfind(" ")
        lines[-1] = (last[:cut] if cut > width // 2 else last).rstrip(" ,;") + "…"
    return lines


@dataclass
class Column:
    """One column of a plain table: its width and how a cell too long for it is shown."""

    header: str
    width: int
    max_lines: int | None = None  # None: wrap the whole text (never cut), else abbreviate
    bold: bool = False
    hyphens: bool = False  # may a line break after a hyphen (distribution names)


def render_table(console: Console, columns: list[Column], rows: list[list[str]],
                 styles: list[list[str | None]] | None = None) -> None:
    """Print a table whose columns have exactly the widths given: nothing is cut that the
    column says must stay whole, and the same layout comes out in a terminal and in a pipe."""
    from rich.markup import escape

    def line(cells: list[str], cell_styles: list[str | None]) -> str:
        parts = []
        for col, cell, style in zip(columns, cells, cell_styles, strict=True):
            text = escape(cell.ljust(col.width)) if col is not columns[-1] else escape(cell)
            parts.append(f"[{style}]{text}[/{style}]" if style and cell.strip() else text)
        return "  ".join(parts).rstrip()

    console.print(line([c.header for c in columns], ["bold"] * len(columns)),
                  highlight=False, soft_wrap=True)
    for i, row in enumerate(rows):
        row_styles = styles[i] if styles else [None] * len(columns)
        row_styles = [s or ("bold" if c.bold else None) for c, s in zip(columns, row_styles,
                                                                         strict=True)]
        cells = [_wrap(cell, c.width, c.max_lines, c.hyphens)
                 for c, cell in zip(columns, row, strict=True)]
        for k in range(max(len(c) for c in cells)):
            console.print(line([c[k] if k < len(c) else "" for c in cells], row_styles),
                          highlight=False, soft_wrap=True)


def print_specs(console: Console, rows: list[dict[str, Any]]) -> None:
    """The ``rbench list`` tables, one per kind: name and status whole, the summary
    abbreviated to two lines, distribution and capabilities only where the summary keeps room
    (``--json`` has everything)."""
    width = max(console.width, 60)
    left_out = False
    for kind_name in KIND_ORDER:
        kind_rows = [r for r in rows if r["kind"] == kind_name]
        if not kind_rows:
            continue
        name_w = max(4, *(len(r["name"]) for r in kind_rows))
        longest_word = max(len(w) for r in kind_rows for w in r["status"].split())
        status_w = min(max(6, *(len(r["status"]) for r in kind_rows)),
                       max(12, longest_word, (width - name_w) // 3))
        rest = width - name_w - status_w - 4  # what the summary (and the optional columns) get
        dist = [f"{r['distribution']} {r['version']}".strip() for r in kind_rows]
        dist_w = min(max(len(d) for d in dist), 34)
        show_dist = rest - dist_w - 2 >= 30
        if show_dist:
            rest -= dist_w + 2
        caps = [_format_capabilities(r["capabilities"]) for r in kind_rows]
        caps_w = min(max(len(c) for c in caps), rest * 2 // 5)
        show_caps = caps_w >= 20 and rest - caps_w - 2 >= 40
        if show_caps:
            rest -= caps_w + 2
        left_out = left_out or not (show_dist and show_caps)

        columns = [Column("name", name_w, bold=True), Column("status", status_w)]
        cells = [[r["name"], r["status"]] for r in kind_rows]
        if show_dist:
            columns.append(Column("distribution", dist_w, max_lines=1))
            for c, d in zip(cells, dist, strict=True):
                c.append(d)
        columns.append(Column("summary", max(rest, 16), max_lines=2))
        for c, r in zip(cells, kind_rows, strict=True):
            c.append(r["summary"])
        if show_caps:
            columns.append(Column("capabilities", caps_w, max_lines=2))
            for c, cap in zip(cells, caps, strict=True):
                c.append(cap)
        console.print(f"[bold]{kind_name}s[/bold] ({len(kind_rows)})", highlight=False)
        styles = [[None, _status_style(r["status"])] + [None] * (len(columns) - 2)
                  for r in kind_rows]
        render_table(console, columns, cells, styles)
        console.print()
    if left_out:
        console.print("[dim]distributions, capabilities and whole summaries: `rbench list "
                      "--json`, or a wider terminal[/dim]", highlight=False)


def _check_rows(host: PluginHost, plugins: set[str]) -> list[dict[str, Any]]:
    """Import every target ``plugins`` registered; a problem per thing that cannot be loaded."""
    problems = []
    for spec in host.specs():
        if spec.plugin not in plugins:
            continue
        missing = not callable(spec.target) and bool(spec.missing_requirements())
        try:
            spec.load()
        except Exception as exc:  # report every problem, whatever the plugin raised
            problems.append({"kind": spec.kind, "name": spec.name, "plugin": spec.plugin,
                             "distribution": spec.distribution, "target": spec.as_dict()["target"],
                             "problem": f"{type(exc).__name__}: {exc}",
                             "missing_dependency": missing})
    return problems


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    @app.command("list", epilog=LIST_EXAMPLES)
    def list_command(
        ctx: typer.Context,
        kind: str = typer.Argument(
            None, help="backends, datasets, routers, embedders or importers (default: all)"
        ),
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """List installed backends, datasets, routers, embedders and import formats."""
        host = state(ctx).host
        wanted = None
        if kind is not None:
            wanted = KIND_ALIASES.get(kind.lower())
            if wanted is None:
                raise fail(
                    f"unknown kind {kind!r}; choose backends, datasets, routers, embedders or "
                    "importers"
                )
        rows = list_rows(host, wanted)
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        from rich.console import Console

        console = Console()
        print_specs(console, [r for r in rows if r["kind"] != "plugin"])
        for b in (r for r in rows if r["kind"] == "plugin"):
            console.print(
                f"[red]plugin {b['name']} ({b['distribution']}) {b['status']}[/red] — the "
                "other plugins still work", highlight=False,
            )

    @app.command("plugins", epilog=PLUGINS_EXAMPLES)
    def plugins_command(
        ctx: typer.Context,
        names: list[str] = typer.Argument(  # noqa: B008
            None, metavar="[PLUGIN]...", help="Only these plugins (entry-point or distribution "
            "names; default: all)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
        check: bool = typer.Option(
            False, "--check",
            help="Import every registered target (module:attr) and report the ones that fail; "
                 "exit 1 if any does."),
    ) -> None:
        """List loaded plugins (entry points and built-ins) with their hooks and status."""
        host = state(ctx).host
        rows = plugin_rows(host)
        if names:
            unknown = sorted(set(names) - {r["name"] for r in rows}
                             - {r["distribution"] for r in rows})
            if unknown:
                raise fail(f"no plugin named {', '.join(unknown)}; see `rbench plugins`")
            rows = [r for r in rows if r["name"] in names or r["distribution"] in names]
        chosen = {r["name"] for r in rows}
        problems = _check_rows(host, chosen) if check else []
        if as_json:
            typer.echo(json.dumps({"plugins": rows, "problems": problems} if check else rows,
                                  indent=2))
        else:
            from rich.console import Console
            from rich.markup import escape

            console = Console()
            short = ["ok" if r["status"] == "ok" else r["status"].split(":")[0] for r in rows]
            cells = [[r["name"], r["distribution"], r["version"], st,
                      ", ".join(h.removeprefix("register_") for h in r["hooks"])]
                     for r, st in zip(rows, short, strict=True)]
            widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in
                      enumerate(("plugin", "distribution", "version", "status", "hooks"))]
            room = max(console.width, 60) - widths[0] - widths[2] - widths[3] - 8
            hooks_w = max(10, min(widths[4], room - widths[1]))
            dist_w = max(12, min(widths[1], room - hooks_w))
            columns = [Column("plugin", widths[0], bold=True),
                       Column("distribution", dist_w, hyphens=True),
                       Column("version", widths[2]), Column("status", widths[3]),
                       Column("hooks", hooks_w)]
            render_table(console, columns, cells,
                         [[None, None, None, _status_style(r["status"]), None] for r in rows])
            for r in rows:
                if r["status"].startswith("failed"):
                    console.print(f"[red]plugin {escape(r['name'])} ({escape(r['distribution'])})"
                                  f" {escape(r['status'])}[/red]", highlight=False)
            if check:
                for p in problems:
                    colour = "yellow" if p["missing_dependency"] else "red"
                    console.print(
                        f"[{colour}]{p['kind']} {p['name']!r} ({p['distribution']}): cannot load "
                        f"{escape(p['target'])}: {escape(p['problem'])}[/{colour}]",
                        highlight=False)
                n = sum(1 for spec in host.specs() if spec.plugin in chosen)
                failed = sum(1 for p in problems if not p["missing_dependency"])
                optional = len(problems) - failed
                parts = ([f"[red]{failed} failed[/red]"] if failed else []) + (
                    [f"[yellow]{optional} need a dependency that is not installed "
                     "(optional extras: not an error)[/yellow]"] if optional else [])
                console.print(f"checked {n} registered targets: "
                              + (", ".join(parts) if parts else "all load"))
        # a target whose optional dependency is not installed (vllm without a GPU) is reported,
        # not a failure: the plugin says so at the moment it is used
        if any(not p["missing_dependency"] for p in problems):
            raise typer.Exit(1)
