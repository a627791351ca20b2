"""A report's tables as text to paste elsewhere: Markdown and LaTeX for a paper (mean ± CI,
best per column in bold, oracles never marked), CSV for a spreadsheet (one number per line,
with its CI and seed count).

Markdown tables are GitHub-flavoured (a header row, a ``---`` rule, one row per line, ``|``
in a name escaped); LaTeX tables use booktabs rules (``\\usepackage{booktabs}``).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from routerbench_core.report.grid import Cell, Grid, report_grids

FORMATS = ("table", "markdown", "latex", "csv", "json")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _md_cell(cell: Cell | None, best: bool) -> str:
    if cell is None:
        return ""
    main, ci = cell.main(), cell.ci()
    if best:
        main = f"**{main}**"
    return f"{main} ± {ci}" if ci else main


def grid_markdown(grid: Grid) -> str:
    best = grid.best()
    lines = [f"**{_md_escape(grid.title)}**", ""]
    lines.append("| " + " | ".join(_md_escape(h) for h in [grid.corner, *grid.columns]) + " |")
    lines.append("|" + "|".join([" --- "] + [" ---: "] * len(grid.columns)) + "|")
    for i, label in enumerate(grid.rows):
        cells = [_md_cell(c, (i, j) in best) for j, c in enumerate(grid.cells[i])]
        lines.append("| " + " | ".join([_md_escape(label), *cells]) + " |")
    if grid.caption or best:
        note = grid.caption
        if best:
            note += ("; " if note else "") + "bold: best per column (oracles excluded)"
        lines += ["", f"*{_md_escape(note)}*"]
    return "\n".join(lines)


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{",
                  "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                  "\\": r"\textbackslash{}"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _tex_cell(cell: Cell | None, best: bool) -> str:
    if cell is None:
        return ""
    main, ci = latex_escape(cell.main()), cell.ci()
    if best:
        main = rf"\textbf{{{main}}}"
    return rf"{main}\,{{\scriptsize$\pm${ci}}}" if ci else main


def grid_latex(grid: Grid) -> str:
    best = grid.best()
    caption = grid.title + (f". {grid.caption}" if grid.caption else "")
    if best:
        caption += "; bold: best per column (oracles excluded)"
    lines = [
        r"\begin{table}[t]", r"\centering", r"\small",
        rf"\caption{{{latex_escape(caption)}}}",
        rf"\label{{tab:rbench-{grid.key.replace('_', '-')}}}",
        r"\begin{tabular}{l" + "r" * len(grid.columns) + "}",
        r"\toprule",
        " & ".join(latex_escape(h) for h in [grid.corner, *grid.columns]) + r" \\",
        r"\midrule",
    ]
    for i, label in enumerate(grid.rows):
        if grid.section_at is not None and i == grid.section_at and i > 0:
            lines.append(r"\midrule")
        cells = [_tex_cell(c, (i, j) in best) for j, c in enumerate(grid.cells[i])]
        lines.append(" & ".join([latex_escape(label), *cells]) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines)


def report_markdown(report: dict[str, Any]) -> str:
    return "\n\n".join(grid_markdown(g) for g in report_grids(report)) + "\n"


def report_latex(report: dict[str, Any]) -> str:
    head = "% rbench tables; needs \\usepackage{booktabs}\n"
    return head + "\n\n".join(grid_latex(g) for g in report_grids(report)) + "\n"


def report_csv(report: dict[str, Any]) -> str:
    """Long format: ``table,row,column,mean,ci_low,ci_high,n,best``; accuracies and gains as
    fractions (as in the JSON), costs in USD."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["table", "row", "column", "mean", "ci_low", "ci_high", "n", "best"])
    for g in report_grids(report):
        best = g.best()
        for i, label in enumerate(g.rows):
            for j, c in enumerate(g.cells[i]):
                if c is None:
                    continue
                w.writerow([g.key, label, g.columns[j], _num(c.mean), _num(c.ci_low),
                            _num(c.ci_high), c.n, int((i, j) in best)])
    return buf.getvalue()


def _num(x: float | None) -> str:
    return "" if x is None else repr(float(x))
