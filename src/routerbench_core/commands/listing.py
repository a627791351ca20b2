"""Built-in commands that belong to the core itself: ``rbench list`` and ``rbench plugins``."""

from __future__ import annotations

import json
from typing import Any

import typer

from routerbench_core.plugins.hookspecs import hookimpl

KIND_ALIASES = {
    "backends": "backend", "backend": "backend",
    "datasets": "dataset", "dataset": "dataset",
    "routers": "router", "router": "router",
    "embedders": "embedder", "embedder": "embedder",
    "importers": "importer", "importer": "importer",
}


def _format_capabilities(caps: dict[str, Any]) -> str:
    parts = []
    for key, value in caps.items():
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        parts.append(f"{key}={value}")
    return " ".join(parts)


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    @app.command("list")
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
        specs = host.specs(wanted)  # type: ignore[arg-type]
        rows = [s.as_dict() for s in specs]
        broken = [
            {
                "kind": "plugin", "name": r.name, "distribution": r.distribution,
                "version": r.version, "status": r.status, "summary": "plugin failed to load",
                "capabilities": {},
            }
            for r in host.records
            if r.failed
        ]
        if as_json:
            typer.echo(json.dumps(rows + broken, indent=2))
            return
        from rich.console import Console
        from rich.table import Table

        console = Console()
        for kind_name in ("backend", "dataset", "router", "embedder", "importer"):
            kind_rows = [r for r in rows if r["kind"] == kind_name]
            if not kind_rows:
                continue
            table = Table(title=f"{kind_name}s", title_justify="left", expand=False)
            table.add_column("name", no_wrap=True, style="bold", min_width=8)
            table.add_column("distribution", overflow="fold", min_width=12)
            table.add_column("version", no_wrap=True, min_width=7)
            table.add_column("status", overflow="fold", min_width=6)
            table.add_column("summary", overflow="ellipsis", no_wrap=True, max_width=44)
            table.add_column("capabilities", overflow="ellipsis", no_wrap=True, max_width=36)
            for row in kind_rows:
                status = row["status"]
                table.add_row(
                    row["name"], row["distribution"], row["version"],
                    status if status == "ok" else f"[yellow]{status}[/yellow]",
                    row["summary"], _format_capabilities(row["capabilities"]),
                )
            console.print(table)
        for b in broken:
            console.print(
                f"[red]plugin {b['name']} ({b['distribution']}) {b['status']}[/red] — the "
                "other plugins still work"
            )

    @app.command("plugins")
    def plugins_command(
        ctx: typer.Context,
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List loaded plugins (entry points and built-ins) with their hooks and status."""
        host = state(ctx).host
        host.specs()
        rows = [
            {"name": r.name, "distribution": r.distribution, "version": r.version,
             "status": r.status, "hooks": r.hooks}
            for r in host.records
        ]
        if as_json:
            typer.echo(json.dumps(rows, indent=2))
            return
        for r in rows:
            typer.echo(
                f"{r['name']:<32} {r['distribution']:<28} {r['version']:<8} {r['status']:<10} "
                f"{','.join(r['hooks'])}"
            )
