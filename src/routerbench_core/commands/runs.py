"""``rbench runs`` / ``show`` / ``compare`` / ``report``: the run history kept in the store.

Every ``rbench route``, ``collect`` and ``grade`` records its result and provenance in the
store it used; these commands list them, print one again in any format, put two side by
side, and write one as a self-contained HTML page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from routerbench_core.plugins.hookspecs import hookimpl

SHOW_FORMATS = ("table", "markdown", "latex", "csv", "json")


def is_route(run: dict[str, Any]) -> bool:
    return isinstance(run.get("result"), dict) and "metrics" in run["result"]


def show_text(run: dict[str, Any], fmt: str) -> str:
    """A stored run in ``markdown``, ``latex``, ``csv`` or ``json`` (``table`` is printed by
    :func:`show_table`)."""
    from routerbench_core.report import formats
    from routerbench_core.report.provenance import flat, provenance_lines

    if fmt == "json":
        return json.dumps(run, indent=2, ensure_ascii=False) + "\n"
    if is_route(run):
        body = {"markdown": formats.report_markdown, "latex": formats.report_latex,
                "csv": formats.report_csv}[fmt](run["result"])
    else:
        pairs = flat(run["result"])
        if fmt == "csv":
            import csv
            import io

            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\n")
            w.writerow(["key", "value"])
            w.writerows(pairs)
            return buf.getvalue()
        if fmt == "markdown":
            body = "| key | value |\n| --- | --- |\n" + "".join(
                f"| {k} | {v.replace('|', chr(92) + '|')} |\n" for k, v in pairs)
        else:
            esc = formats.latex_escape
            body = ("\\begin{tabular}{ll}\n\\toprule\nkey & value \\\\\n\\midrule\n"
                    + "".join(f"{esc(k)} & {esc(v)} \\\\\n" for k, v in pairs)
                    + "\\bottomrule\n\\end{tabular}\n")
    if fmt == "csv":
        return body
    prov = provenance_lines(run)
    if fmt == "markdown":
        return "".join(f"- {line.replace('|', chr(92) + '|')}\n" for line in prov) + "\n" + body
    return "".join(f"% {line}\n" for line in prov) + body


def show_table(run: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    from routerbench_core.report.provenance import flat, provenance_lines
    from routerbench_core.report.tables import render_tables

    for line in provenance_lines(run):
        console.print(line, highlight=False, markup=False)
    if is_route(run):
        render_tables(run["result"], console)
        return
    t = Table(title=f"{run['kind']} run {run['id']}")
    t.add_column("key", overflow="fold")
    t.add_column("value", overflow="fold")
    for k, v in flat(run["result"]):
        t.add_row(k, v)
    console.print(t)


def compare_grids(a: dict[str, Any], b: dict[str, Any]) -> list[Any]:
    """Two route runs side by side: headline metrics of every router/baseline in either, and
    the per-dataset difference (B − A, percentage points) of routers in both."""
    from routerbench_core.report.grid import Cell, Grid

    ra, rb = a["result"], b["result"]
    ia, ib = f"#{a['id']}", f"#{b['id']}"

    def headline(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
        out = {n: report["metrics"][n] for n in report["router"]}
        out.update({k: v for k, v in report["baselines"].items()})
        return out

    ha, hb = headline(ra), headline(rb)
    names = list(dict.fromkeys([*ha, *hb]))
    rows, cells = [], []
    for n in names:
        ma, mb = ha.get(n, {}), hb.get(n, {})
        acc_a, acc_b = Cell.of(ma.get("avg_acc"), "pct"), Cell.of(mb.get("avg_acc"), "pct")
        delta = (Cell(acc_b.mean - acc_a.mean, fmt="signed")
                 if acc_a.mean is not None and acc_b.mean is not None else None)
        rows.append(n)
        cells.append([acc_a if n in ha else None, acc_b if n in hb else None, delta,
                      Cell.of(ma.get("cost"), "money") if n in ha else None,
                      Cell.of(mb.get("cost"), "money") if n in hb else None])
    head = Grid("compare", f"Run {ia} ({ra['bench']}) vs run {ib} ({rb['bench']})", "router",
                [f"AvgAcc {ia}", f"AvgAcc {ib}", "Δ AvgAcc", f"cost {ia}", f"cost {ib}"],
                rows, cells, caption="AvgAcc in %, mean ±95% CI over seeds; Δ = B − A in "
                "percentage points")
    grids = [head]
    common = [n for n in ra["router"] if n in rb["router"]]
    datasets = [d for d in next(iter(ra["per_dataset"].values()))
                if d in next(iter(rb["per_dataset"].values()))]
    if common and datasets:
        dcells = []
        for d in datasets:
            row: list[Cell | None] = []
            for n in common:
                x = (ra["per_dataset"][n].get(d) or {}).get("mean")
                y = (rb["per_dataset"][n].get(d) or {}).get("mean")
                row.append(Cell(y - x, fmt="signed") if x is not None and y is not None else None)
            dcells.append(row)
        grids.append(Grid("compare_per_dataset", f"Per-dataset Δ accuracy, run {ib} − run {ia} "
                          "(percentage points)", "dataset", common, datasets, dcells))
    return grids


def provenance_diff(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """The provenance fields that differ between two runs (``key: A → B``)."""
    from routerbench_core.report.provenance import flat

    fa = dict(flat({k: v for k, v in (a.get("provenance") or {}).items() if k != "time"}))
    fb = dict(flat({k: v for k, v in (b.get("provenance") or {}).items() if k != "time"}))
    return [f"{k}: {fa.get(k, '—')} → {fb.get(k, '—')}"
            for k in sorted(set(fa) | set(fb)) if fa.get(k) != fb.get(k)]


RUNS_EXAMPLES = """Examples:

  rbench runs   # the newest 20 runs

  rbench runs --kind route --bench lrb --json
"""


SHOW_EXAMPLES = """Examples:

  rbench show last

  rbench show RUN --format markdown   # a table for a paper

  rbench show RUN -f latex
"""


COMPARE_EXAMPLES = """Examples:

  rbench compare RUN_A RUN_B

  rbench compare RUN_A RUN_B -f markdown
"""


REPORT_EXAMPLES = """Examples:

  rbench report last --html report/   # one self-contained HTML page
"""


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from routerbench_core.commands.app import fail, state

    def _open(ctx: typer.Context):
        from routerbench_core.data.store import StoreError

        st = state(ctx)
        try:
            return st.open_store(create=False, readonly=True)
        except StoreError as exc:
            raise fail(str(exc)) from None

    def _get(store: Any, run: str) -> dict[str, Any]:
        from routerbench_core.data.store import StoreError

        try:
            return store.get_run(run)
        except StoreError as exc:
            raise fail(str(exc)) from None

    @app.command("runs", epilog=RUNS_EXAMPLES)
    def runs_command(
        ctx: typer.Context,
        kind: str = typer.Option(None, "--kind", help="Only route, collect, grade or demo."),
        bench: str = typer.Option(None, "--bench", help="Only runs on this bench."),
        limit: int = typer.Option(20, "--limit", "-n", help="Newest N runs (0: all)."),
        as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    ) -> None:
        """List recorded runs, newest first (`rbench show RUN` prints one again)."""
        from rich.console import Console
        from rich.table import Table

        with _open(ctx) as store:
            rows = store.list_runs(kind=kind, bench=bench, limit=limit or None)
        if as_json:
            typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        console = Console()
        if not rows:
            console.print("no runs recorded in this store yet (`rbench route` records one)")
            return
        t = Table(title="Recorded runs (newest first)")
        t.add_column("id", justify="right", no_wrap=True)
        t.add_column("time (UTC)", no_wrap=True)
        t.add_column("kind", no_wrap=True)
        t.add_column("bench", overflow="fold")
        t.add_column("what", overflow="fold")
        for r in rows:
            t.add_row(str(r["id"]), r["created"].replace("T", " ").rstrip("Z"), r["kind"],
                      r["bench"] or "", _what(r["summary"]))
        console.print(t)

    @app.command("show", epilog=SHOW_EXAMPLES)
    def show_command(
        ctx: typer.Context,
        run: str = typer.Argument(..., help="Run id (from `rbench runs`) or `last`."),
        fmt: str = typer.Option("table", "--format", "-f",
                                help="table, markdown, latex, csv or json."),
    ) -> None:
        """Print a recorded run again: its provenance and tables, in any format."""
        from rich.console import Console

        if fmt not in SHOW_FORMATS:
            raise fail(f"--format must be one of {', '.join(SHOW_FORMATS)}, not {fmt!r}")
        with _open(ctx) as store:
            record = _get(store, run)
        if fmt == "table":
            show_table(record, Console())
        else:
            typer.echo(show_text(record, fmt), nl=False)

    @app.command("compare", epilog=COMPARE_EXAMPLES)
    def compare_command(
        ctx: typer.Context,
        run_a: str = typer.Argument(..., help="First run id (A)."),
        run_b: str = typer.Argument(..., help="Second run id (B)."),
        fmt: str = typer.Option("table", "--format", "-f", help="table, markdown or json."),
    ) -> None:
        """Put two route runs side by side: metrics, per-dataset differences, and what
        differs in their provenance."""
        from rich.console import Console

        from routerbench_core.report.formats import grid_markdown
        from routerbench_core.report.tables import print_grid

        if fmt not in ("table", "markdown", "json"):
            raise fail(f"--format must be table, markdown or json, not {fmt!r}")
        with _open(ctx) as store:
            a, b = _get(store, run_a), _get(store, run_b)
        for r in (a, b):
            if not is_route(r):
                raise fail(f"run {r['id']} is a {r['kind']} run; compare takes route runs")
        grids = compare_grids(a, b)
        diff = provenance_diff(a, b)
        if fmt == "json":
            typer.echo(json.dumps({"a": a["id"], "b": b["id"], "provenance_diff": diff, "tables": [
                {"key": g.key, "columns": g.columns, "rows": g.rows,
                 "cells": [[None if c is None else c.mean for c in row] for row in g.cells]}
                for g in grids]}, indent=2, ensure_ascii=False))
            return
        if fmt == "markdown":
            typer.echo("\n\n".join(grid_markdown(g) for g in grids))
            if diff:
                typer.echo("\n**What differs**\n\n" + "".join(f"- {d}\n" for d in diff))
            return
        console = Console()
        for g in grids:
            print_grid(g, console)
        console.print("what differs:" if diff else "provenance: identical apart from the time")
        for d in diff:
            console.print(f"  {d}", highlight=False, markup=False)

    @app.command("report", epilog=REPORT_EXAMPLES)
    def report_command(
        ctx: typer.Context,
        run: str = typer.Argument(..., help="Run id (from `rbench runs`) or `last`."),
        html: Path = typer.Option(..., "--html", help="Folder to write the HTML page into."),  # noqa: B008
    ) -> None:
        """Write a recorded route run as one self-contained HTML page (tables, heatmap,
        routing distribution, Pareto plot, provenance); it opens offline."""
        from routerbench_core.report.html import write_html

        with _open(ctx) as store:
            record = _get(store, run)
        if not is_route(record):
            raise fail(f"run {record['id']} is a {record['kind']} run; report takes route runs")
        try:
            html.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise fail(f"cannot create --html folder {html}: {exc}") from None
        path = write_html(record, html)
        typer.echo(f"wrote {path}")


def _what(summary: dict[str, Any]) -> str:
    if "routers" in summary:
        acc = summary.get("avg_acc") or {}
        best = max(((v, k) for k, v in acc.items() if v is not None), default=None)
        text = (f"{', '.join(summary['routers'])} · {summary.get('setting')} · seeds "
                f"{','.join(map(str, summary.get('seeds') or []))}")
        if best is not None:
            text += f" · best AvgAcc {100 * best[0]:.2f} ({best[1]})"
        labels = summary.get("labels") or []
        return (" — ".join(labels) + ": " + text) if labels else text
    return str(summary.get("text") or "")
