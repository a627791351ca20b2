"""``rbench report RUN --html DIR``: one self-contained HTML page per recorded route run.

Everything the page shows is inside the file: CSS in a ``<style>`` element, plots as inline
SVG (text kept as text), the report JSON in a non-executed ``<script type="application/json">``
block. It loads nothing from anywhere, so it opens offline, mails as one attachment and
archives with the paper.

Sections: the run's provenance, the summary table (best per column in bold), the cost–accuracy
table (perf-cost), the per-dataset heatmap and table, the routing distribution, the Pareto plot
with CI bands and the oracle point.
"""

from __future__ import annotations

import html as _html
import json
from pathlib import Path
from typing import Any

from routerbench_core.report.grid import Grid, report_grids, title

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto;
       max-width: 1200px; padding: 0 1rem; color: #1d1d1f; background: #fff; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
.label { display: inline-block; background: #c62828; color: #fff; font-weight: 700;
         padding: .1rem .5rem; border-radius: 3px; margin-right: .4rem; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .85rem; }
th, td { padding: .25rem .6rem; border-bottom: 1px solid #e5e5e5; white-space: nowrap; }
th { background: #f5f5f7; text-align: right; } th:first-child, td:first-child { text-align: left; }
td { text-align: right; font-variant-numeric: tabular-nums; }
tr.baseline td { color: #555; } tr.section td { border-top: 2px solid #999; }
td.best { font-weight: 700; background: #e8f5e9; }
.ci { color: #777; font-size: .8em; } caption { caption-side: bottom; text-align: left;
      color: #666; font-size: .8rem; padding-top: .3rem; }
.scroll { overflow-x: auto; } figure { margin: .5rem 0; } figure svg { max-width: 100%;
          height: auto; } dl.prov { display: grid; grid-template-columns: max-content 1fr;
          gap: .2rem 1rem; font-size: .85rem; } dl.prov dt { font-weight: 600; color: #444; }
dl.prov dd { margin: 0; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
"""


def _e(text: Any) -> str:
    return _html.escape(str(text), quote=True)


def grid_html(grid: Grid) -> str:
    """A grid as an HTML table: mean and CI in separate spans, best cells marked."""
    best = grid.best()
    out = [f'<div class="scroll"><table class="grid" id="table-{_e(grid.key)}">']
    if grid.caption or best:
        note = grid.caption + ("; bold: best per column (oracles excluded)" if best else "")
        out.append(f"<caption>{_e(note)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in [grid.corner, *grid.columns])
               + "</tr></thead><tbody>")
    for i, label in enumerate(grid.rows):
        classes = []
        if grid.section_at is not None and i >= grid.section_at:
            classes.append("baseline")
            if i == grid.section_at and i > 0:
                classes.append("section")
        cls = f' class="{" ".join(classes)}"' if classes else ""
        cells = []
        for j, c in enumerate(grid.cells[i]):
            mark = ' class="best"' if (i, j) in best else ""
            if c is None:
                cells.append("<td></td>")
                continue
            ci = c.ci()
            text = _e(c.main()) + (f' <span class="ci">±{_e(ci)}</span>' if ci else "")
            cells.append(f"<td{mark}>{text}</td>")
        out.append(f"<tr{cls}><td>{_e(label)}</td>{''.join(cells)}</tr>")
    out.append("</tbody></table></div>")
    return "\n".join(out)


def provenance_html(run: dict[str, Any]) -> str:
    from routerbench_core.report.provenance import provenance_items

    items = [f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in provenance_items(run)]
    return f'<dl class="prov" id="provenance">{"".join(items)}</dl>'


def _figure(fig_id: str, svg: str, caption: str) -> str:
    return (f'<figure id="{fig_id}">{svg}<figcaption class="ci">{_e(caption)}</figcaption>'
            "</figure>")


def render_html(run: dict[str, Any]) -> str:
    """The page for one recorded route run (``store.get_run`` output)."""
    from routerbench_core.report import plots

    report = run["result"]
    grids = {g.key: g for g in report_grids(report)}
    head = title(report)
    labels = "".join(f'<span class="label">{_e(lab)}</span>' for lab in report.get("labels") or [])
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>rbench run {_e(run['id'])} — {_e(head)}</title>",
        f"<style>{CSS}</style></head><body>",
        f"<h1>{labels}rbench run {_e(run['id'])}: {_e(', '.join(report['router']))}</h1>",
        f"<p>{_e(head)}</p>",
        "<h2>Provenance</h2>", provenance_html(run),
        "<h2>Summary</h2>", grid_html(grids["summary"]),
    ]
    if "cost" in grids:
        parts += ["<h2>Cost–accuracy</h2>", grid_html(grids["cost"])]
    parts += [
        "<h2>Per-dataset accuracy</h2>",
        _figure("heatmap", plots.figure_svg(plots.heatmap_figure(report)),
                "test accuracy (%) per dataset, mean over seeds"),
        "<details><summary>per-dataset table (mean ± 95% CI)</summary>",
        grid_html(grids["per_dataset"]), "</details>",
    ]
    if "distribution" in grids:
        parts += ["<h2>Routing distribution</h2>",
                  _figure("distribution", plots.figure_svg(plots.distribution_figure(report)),
                          "share of test queries sent to each model, default configuration")]
    parts += [
        "<h2>Cost–accuracy plane</h2>",
        _figure("pareto", plots.figure_svg(plots.pareto_figure(report)),
                "each router's configurations (mean over seeds; band: 95% CI of accuracy), "
                "single models (grey), the oracle (star) and the Pareto frontier"),
    ]
    if report["setting"] != "perf-cost":
        parts.append('<p class="ci">performance setting: routers have one configuration '
                     "each, so the plane shows one point per router.</p>")
    data = json.dumps(run, ensure_ascii=False).replace("</", "<\\/")
    parts += [f'<script type="application/json" id="report-data">{data}</script>',
              "</body></html>"]
    return "\n".join(parts) + "\n"


def write_html(run: dict[str, Any], folder: Path) -> Path:
    """Write ``run-<id>.html`` into ``folder``; returns its path."""
    path = Path(folder) / f"run-{run['id']}.html"
    path.write_text(render_html(run), encoding="utf-8")
    return path
