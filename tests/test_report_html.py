"""The HTML report and its plots: the figures' layout is checked on the drawn matplotlib
figures (bounding boxes), the page is checked to be self-contained, and — when Chromium is
installed (`nox -s browser` installs it) — opened in a real headless browser: no console error,
tables and plots visible, no label past its axes or over a legend, a screenshot of sane size.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from routerbench_core.data.store import Store
from routerbench_core.demo import generate as demo
from routerbench_core.plugins.manager import make_plugin_manager
from routerbench_core.report import plots
from routerbench_core.report.build import build_report
from routerbench_core.report.html import render_html, write_html
from routerbench_core.report.provenance import provenance, record_route
from routerbench_core.routing.evaluate import Evaluator, run_all

sys.path.insert(0, str(Path(__file__).parent))
from browser import Browser, find_chromium  # noqa: E402

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Recorded route runs of both settings on the demo bench (baseline routers and the
    training-free routers shipped with the core's plugins when installed)."""
    path = tmp_path_factory.mktemp("html") / "r.db"
    host = make_plugin_manager()
    out = {}
    with Store(path) as store:
        for setting in ("perf", "perf-cost"):
            bench = demo.generate(setting, seed=0, max_per_dataset=20)
            name, _ = demo.ensure_in_store(store, bench)
            ev = Evaluator(store.load_matrix(name), setting=setting, seeds=[42, 999],
                           store=store)
            routers = ["best-single", "random-pick", "oracle"] + (
                ["cheapest"] if setting == "perf-cost" else [])
            report = build_report(ev, run_all(ev, host, routers, {}))
            prov = provenance(host, components={"router": routers}, settings={"setting": setting})
            run_id = record_route(store, host, report, prov)
            out[setting] = store.get_run(run_id)
    return out


@pytest.mark.parametrize("setting", ["perf", "perf-cost"])
@pytest.mark.parametrize("figure", ["pareto_figure", "heatmap_figure", "distribution_figure"])
def test_figure_labels_stay_inside_and_off_the_legend(runs, setting, figure):
    fig = getattr(plots, figure)(runs[setting]["result"])
    assert plots.layout_problems(fig) == []


def test_a_long_label_at_the_edge_is_moved_inside(runs):
    report = runs["perf-cost"]["result"]
    singles = report["points"]["singles"]
    costliest = max(singles, key=lambda m: singles[m][0]["cost"])
    long_name = costliest + "-with-a-very-long-deployment-suffix"
    report = {**report, "points": {**report["points"], "singles": {
        **{m: v for m, v in singles.items() if m != costliest}, long_name: singles[costliest]}}}
    fig = plots.pareto_figure(report)
    assert plots.layout_problems(fig) == []
    label = next(t for t in fig.axes[0].texts if t.get_text() == long_name)
    assert label.get_horizontalalignment() == "right"  # flipped to the left of its point


def test_layout_check_catches_overlap_and_overflow():
    plt = plots._plt()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="a line with a long legend entry")
    ax.legend(loc="upper left")
    ax.annotate("under the legend", (0.02, 0.97), xycoords="axes fraction", va="top")
    ax.annotate("past the right edge of the axes", (0.9, 0.5), xycoords="axes fraction")
    problems = plots.layout_problems(fig)
    plt.close(fig)
    assert any("overlaps the legend" in p for p in problems)
    assert any("runs past the axes" in p for p in problems)


def test_page_is_self_contained(runs, tmp_path):
    page = write_html(runs["perf-cost"], tmp_path)
    html = page.read_text()
    assert page.name == f"run-{runs['perf-cost']['id']}.html"
    # nothing fetched at view time: no linked file, no script or image source, no CSS url
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html)
    assert not re.search(r"<script\b(?![^>]*type=\"application/json\")", html)
    # references stay inside the page: #fragments and data: URIs (imshow's inline PNG)
    assert not re.search(r"\b(src|href)=\"(?!#|data:image/png;base64,)", html)
    assert not re.search(r"url\((?!#)", html) and "@import" not in html
    for part in ('id="provenance"', 'id="table-summary"', 'id="table-cost"', 'id="heatmap"',
                 'id="distribution"', 'id="pareto"', "oracle (per-query best)", "SYNTHETIC",
                 'class="legend"', 'class="point-label"', 'id="report-data"'):
        assert part in html, part
    assert html.count("<svg") == 3


@pytest.fixture(scope="module")
def chromium():
    exe = find_chromium()
    if exe is None:
        pytest.skip("no Chromium here: `nox -s browser` installs it (Debian package chromium) "
                    "and runs this test; or set RBENCH_CHROMIUM")
    return exe


LAYOUT_JS = r"""
(() => {
  const box = e => { const r = e.getBoundingClientRect();
                     return {x0: r.left, y0: r.top, x1: r.right, y1: r.bottom,
                             w: r.width, h: r.height}; };
  const inside = (a, b, tol) => a.x0 >= b.x0 - tol && a.y0 >= b.y0 - tol &&
                                a.x1 <= b.x1 + tol && a.y1 <= b.y1 + tol;
  const meets = (a, b) => a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
  const out = {figures: {}, tables: {}, problems: []};
  for (const t of document.querySelectorAll("table.grid")) {
    const b = box(t);
    out.tables[t.id] = {w: b.w, h: b.h, rows: t.querySelectorAll("tbody tr").length,
                        visible: getComputedStyle(t).visibility !== "hidden" && b.w > 0};
  }
  for (const fig of document.querySelectorAll("figure")) {
    const svg = fig.querySelector("svg"), s = box(svg);
    const areas = [...svg.querySelectorAll(".axes-area")].map(box);
    const legends = [...svg.querySelectorAll(".legend")].map(box);
    const labels = [...svg.querySelectorAll(".point-label, .cell-label")];
    const texts = [...svg.querySelectorAll("g[id^='text_']")];
    out.figures[fig.id] = {w: s.w, h: s.h, labels: labels.length, texts: texts.length,
                           legends: legends.length};
    for (const t of texts) {
      const b = box(t);
      if (b.w > 0 && !inside(b, s, 1)) out.problems.push(`${fig.id}: text past the figure`);
      for (const l of legends)
        if (b.w > 0 && !t.closest(".legend") && meets(b, l))
          out.problems.push(`${fig.id}: text ${t.id} overlaps the legend`);
    }
    for (const t of labels) {
      const b = box(t);
      if (!areas.some(a => inside(b, a, 1))) out.problems.push(`${fig.id}: label past its axes`);
    }
  }
  return out;
})()
"""


def test_report_renders_in_a_real_browser(runs, chromium, tmp_path):
    page = write_html(runs["perf-cost"], tmp_path)
    with Browser(chromium, width=1280, height=900) as b:
        b.open(page.as_uri())
        assert b.problems() == []
        assert b.evaluate("document.title").startswith(f"rbench run {runs['perf-cost']['id']}")
        layout = b.evaluate(LAYOUT_JS)
        shot = tmp_path / "report.png"
        size = b.screenshot(shot)
    assert layout["problems"] == []
    summary = layout["tables"]["table-summary"]
    assert summary["visible"] and summary["rows"] == 4 + 5 and summary["h"] > 100
    assert layout["tables"]["table-cost"]["visible"]
    for fig in ("heatmap", "distribution", "pareto"):
        f = layout["figures"][fig]
        assert f["w"] > 400 and f["h"] > 150, (fig, f)
        assert f["texts"] > 5
    assert layout["figures"]["pareto"]["labels"] == 13  # one per single model
    assert layout["figures"]["pareto"]["legends"] == 1
    assert layout["figures"]["heatmap"]["labels"] > 20  # numbers in the cells
    width, height = size
    assert width >= 1200 and height > 1800  # the whole page, every section below the fold
    target = os.environ.get("RBENCH_SCREENSHOT_DIR")
    if target:
        shutil.copy(shot, Path(target) / "report.png")


def test_browser_check_sees_console_errors_and_network_attempts(chromium, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>bad</title></head>'
                   '<body><img src="http://rbench-test.invalid/x.png">'
                   "<script>console.error('broken on purpose')</script></body></html>")
    with Browser(chromium) as b:
        b.open(bad.as_uri())
        problems = b.problems()
    assert any("broken on purpose" in p for p in problems)
    assert any("rbench-test.invalid" in p or "ERR_NAME_NOT_RESOLVED" in p for p in problems)


def test_render_html_perf_setting_notes_the_single_points(runs):
    html = render_html(runs["perf"])
    assert "one point per router" in html and 'id="table-cost"' not in html
