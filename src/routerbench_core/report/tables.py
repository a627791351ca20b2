"""Terminal tables of a report (rich) that always fit the console: no number or name is ever
cut to "…".

When a table is wider than the console, column headers longer than their numbers are
abbreviated (a legend under the table spells them out); if it is still too wide, its columns
are split over several tables, each repeating the row labels. Rich is never left to shrink a
column, because shrinking is what cuts.
"""

from __future__ import annotations

import re
from typing import Any

from routerbench_core.report.grid import Grid, report_grids, title

#: Abbreviated headers keep at least this many characters, even over narrower numbers.
MIN_ABBREVIATION = 7

__all__ = ["abbreviate", "grid_tables", "plan_layout", "print_grid", "render_tables", "title"]


def table_width(widths: list[int]) -> int:
    """Width of a rich table (heavy-head box, padding 1) whose columns' contents are
    ``widths`` wide: two edges, one rule between columns, a space either side of each cell."""
    return sum(widths) + 3 * len(widths) + 1


def abbreviate(name: str, width: int, taken: set[str]) -> str:
    """A short form of ``name`` at most ``width`` wide (at least 3), unique among ``taken``:
    each hyphen/underscore part cut to the same length (``avengers-pro`` → ``aven-pro``)."""
    width = max(width, 3)
    if len(name) <= width and name not in taken:
        return name
    parts = [p for p in re.split(r"[-_ ./]+|(?<=[a-z])(?=[A-Z])", name) if p] or [name]
    sep = "-" if len(parts) > 1 else ""
    candidates = []
    for k in range(max(len(p) for p in parts), 0, -1):
        short = sep.join(p[:k] for p in parts)
        if len(short) <= width:
            candidates.append(short)
    if not candidates:
        candidates = [name[:width]]
    for short in candidates:
        if short not in taken:
            return short
    base = candidates[-1][: width - 1]
    for i in range(2, 100):
        short = f"{base[: width - len(str(i))]}{i}"
        if short not in taken:
            return short
    raise ValueError(f"cannot abbreviate {name!r} to {width} characters uniquely")


def _texts(grid: Grid) -> list[list[str]]:
    return [["" if c is None else c.text() for c in row] for row in grid.cells]


def plan_layout(grid: Grid, width: int) -> tuple[list[str], list[list[int]], dict[str, str]]:
    """Headers to print, column groups (one table each) and the abbreviation legend, for a
    console ``width`` wide."""
    texts = _texts(grid)
    cell_w = [max([len(r[j]) for r in texts] or [0]) for j in range(len(grid.columns))]
    label_w = max([len(grid.corner), *map(len, grid.rows)])
    headers = list(grid.columns)
    legend: dict[str, str] = {}
    if table_width([label_w, *(max(len(h), w) for h, w in zip(headers, cell_w, strict=True))]) > width:
        taken: set[str] = set()
        for j, h in enumerate(grid.columns):
            room = max(cell_w[j], MIN_ABBREVIATION)
            short = abbreviate(h, room, taken) if len(h) > room else h
            taken.add(short)
            headers[j] = short
            if short != h:
                legend[short] = h
    col_w = [max(len(h), w) for h, w in zip(headers, cell_w, strict=True)]
    return headers, split_columns(col_w, label_w, width), legend


def split_columns(col_w: list[int], label_w: int, width: int) -> list[list[int]]:
    """Consecutive column groups, each fitting ``width`` beside the label column: as few
    groups as a greedy packing needs, then as even as still fits (not 5 columns and 1)."""
    def fits(group: list[int]) -> bool:
        return table_width([label_w, *(col_w[k] for k in group)]) <= width

    greedy: list[list[int]] = [[]]
    for j in range(len(col_w)):
        if greedy[-1] and not fits([*greedy[-1], j]):
            greedy.append([j])
        else:
            greedy[-1].append(j)
    n = len(greedy)
    if n == 1:
        return greedy
    size = -(-len(col_w) // n)
    even = [list(range(i, min(i + size, len(col_w)))) for i in range(0, len(col_w), size)]
    return even if len(even) == n and all(fits(g) for g in even) else greedy


def grid_tables(grid: Grid, width: int) -> tuple[list[Any], str]:
    """The rich tables showing ``grid`` within ``width`` columns, and the legend line ('' if
    nothing was abbreviated)."""
    from rich.table import Table

    headers, groups, legend = plan_layout(grid, width)
    texts = _texts(grid)
    best = grid.best()
    out = []
    for g, cols in enumerate(groups):
        part = f" ({g + 1}/{len(groups)})" if len(groups) > 1 else ""
        t = Table(title=grid.title + part, caption=grid.caption if g == len(groups) - 1 else None)
        t.add_column(grid.corner, no_wrap=True, overflow="fold")
        for j in cols:
            t.add_column(headers[j], justify="right", no_wrap=True, overflow="fold")
        for i, label in enumerate(grid.rows):
            if grid.section_at is not None and i == grid.section_at and i > 0:
                t.add_section()
            shown = f"[dim]{label}[/dim]" if grid.section_at is not None and i >= grid.section_at else label
            t.add_row(shown, *[f"[bold]{texts[i][j]}[/bold]" if (i, j) in best else texts[i][j]
                               for j in cols])
        out.append(t)
    return out, legend_lines(legend, width)


def legend_lines(legend: dict[str, str], width: int) -> str:
    """``abbreviations: a = b, c = d`` broken between entries (never inside one) at
    ``width``."""
    if not legend:
        return ""
    lines = ["abbreviations:"]
    for k, v in legend.items():
        entry = f"{k} = {v}"
        sep = " " if lines[-1].endswith(":") else ", "
        if len(lines[-1]) + len(sep) + len(entry) + 1 > width and not lines[-1].endswith(":"):
            lines[-1] += ","
            lines.append("  " + entry)
        else:
            lines[-1] += sep + entry
    return "\n".join(lines)


def orient(grid: Grid, width: int, *, prefer_transposed: bool = False) -> Grid:
    """The grid or its transpose, whichever needs fewer tables at ``width`` (ties: the
    preferred one). A one-router cost table reads better down the page than split across."""
    flipped = grid.transposed()
    first, second = (flipped, grid) if prefer_transposed else (grid, flipped)
    n_first = len(plan_layout(first, width)[1])
    n_second = len(plan_layout(second, width)[1])
    return second if n_second < n_first else first


def print_grid(grid: Grid, console: Any, *, prefer_transposed: bool = False) -> None:
    """Print ``grid`` fitted to the console (abbreviated, transposed or split as needed)."""
    grid = orient(grid, console.width, prefer_transposed=prefer_transposed)
    tables, legend = grid_tables(grid, console.width)
    for t in tables:
        console.print(t)
    if legend:
        console.print(legend, soft_wrap=True, highlight=False, markup=False)


def render_tables(report: dict[str, Any], console: Any) -> None:
    """Print every table of the report, and its notes, fitted to the console's width."""
    for grid in report_grids(report):
        # the terminal shows datasets down the side: a few router columns fit, 15 datasets not
        print_grid(grid, console, prefer_transposed=grid.key == "per_dataset")
        if grid.key == "summary":
            for key in ("best_single", "cheapest"):
                picks = report["baselines"][key].get("models") or []
                if picks and len(set(picks)) == 1:
                    console.print(f"{key}: {picks[0]} (every seed)")
                elif picks:
                    console.print(f"{key} per seed: {', '.join(picks)}")
    for line in notes(report):
        console.print(f"[yellow]{line}[/yellow]")


def notes(report: dict[str, Any]) -> list[str]:
    """Caveats worth a line each: missing outcomes, uncosted calls, routers' own notes."""
    out = []
    for name in report["router"]:
        c = report["counts"].get(name, {})
        if c.get("n_missing_choice"):
            out.append(f"{name}: {c['n_missing_choice']} routed queries (all seeds) went to a "
                       f"model with no score there (counted per "
                       f"missing={report['missing_policy']})")
        if c.get("n_missing_cost"):
            out.append(f"{name}: {c['n_missing_cost']} paid calls (all seeds) have no recorded "
                       "cost and add nothing to its cost: its cost is a lower bound")
        # a router's own caveat (describe()["note"]), e.g. FrugalGPT scoring queries only
        seen = {str(d.get("note")) for d in report.get("describe", {}).get(name, [])
                if isinstance(d, dict) and d.get("note")}
        out.extend(f"{name}: {note}" for note in sorted(seen))
    line = dropped_line(report["splits"])
    if line:
        out.append(line)
    return out


def _per_seed(values: list[int], what: str) -> str:
    if len(set(values)) == 1:
        return f"{values[0]} {what}" + (" per seed" if len(values) > 1 else "")
    return f"{what} per seed: {', '.join(str(v) for v in values)}"


def dropped_line(splits: list[dict[str, Any]]) -> str:
    """What was dropped from test, counted per seed (a sum over seeds would count a prompt
    once for every seed it is dropped in)."""
    dropped = [int(s["n_dropped_cross_split_duplicates"]) for s in splits]
    unscorable = [int(s["n_unscorable_test_dropped"]) for s in splits]
    if not any(dropped) and not any(unscorable):
        return ""
    return (f"dropped from test: {_per_seed(dropped, 'cross-split duplicate prompts')}, "
            f"{_per_seed(unscorable, 'queries no model has a score on')}")
