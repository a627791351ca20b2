"""Plots of a report (matplotlib, imported only when a plot is drawn): the cost–accuracy plane
(Pareto frontier, CI bands over seeds, the oracle point), the per-dataset heatmap and the
routing distribution.

Every figure is laid out so that no label overlaps the legend or runs past the axes or the
figure: legends sit outside the axes, and a point's label that would cross an axis edge is
moved to the point's other side. :func:`layout_problems` checks exactly that on the drawn
figure (bounding boxes from the renderer) and the tests assert it finds nothing.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from routerbench_core.report import metrics as M
from routerbench_core.report.grid import per_dataset_grid, title

REFERENCE_ROUTERS = ("oracle", "dataset-oracle", "random")


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _by_config(pts: list[dict[str, Any]]) -> list[tuple[float, float, float | None, float | None]]:
    """(mean cost, mean acc, acc CI low, acc CI high) per configuration, over seeds."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for p in pts:
        groups.setdefault(repr(p["config"]), []).append(p)
    out = []
    for v in groups.values():
        s = M.summarise([p["avg_acc"] for p in v])
        out.append((float(np.mean([p["cost"] for p in v])), float(s.mean), s.ci_low, s.ci_high))
    return sorted(out)


#: Where a point's label may go, in order of preference: (dx, dy) in points, and alignment.
_LABEL_SPOTS = (
    (3, 3, "left", "bottom"), (3, -3, "left", "top"), (-3, 3, "right", "bottom"),
    (-3, -3, "right", "top"), (3, 10, "left", "bottom"), (3, -10, "left", "top"),
    (-3, 10, "right", "bottom"), (-3, -10, "right", "top"),
)


def _place_point_labels(fig: Any, ax: Any, labels: list[Any]) -> None:
    """Put each point label in the first spot around its point that stays inside the axes
    and clear of the labels already placed; inside the axes always wins over clear."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    box = ax.get_window_extent(renderer)
    placed: list[Any] = []

    def inside(bb: Any) -> bool:
        return bb.x0 >= box.x0 and bb.x1 <= box.x1 and bb.y0 >= box.y0 and bb.y1 <= box.y1

    for text in labels:
        fallback = None
        for dx, dy, ha, va in _LABEL_SPOTS:
            text.xyann = (dx, dy)
            text.set_horizontalalignment(ha)
            text.set_verticalalignment(va)
            bb = text.get_window_extent(renderer)
            if not inside(bb):
                continue
            fallback = fallback or (dx, dy, ha, va)
            if not any(bb.overlaps(other) for other in placed):
                break
        else:
            if fallback is not None:
                text.xyann = fallback[:2]
                text.set_horizontalalignment(fallback[2])
                text.set_verticalalignment(fallback[3])
        placed.append(text.get_window_extent(renderer))


def pareto_figure(report: dict[str, Any]) -> Any:
    """The cost–accuracy plane: each single model, each router's configurations (mean over
    seeds, with a band for the 95% CI of accuracy), the oracle, and the Pareto frontier."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 5.5))
    allc, alla = [], []
    labels = []
    for model, pts in report["points"]["singles"].items():
        c, a = float(np.mean([p["cost"] for p in pts])), float(np.mean([p["avg_acc"] for p in pts]))
        allc.append(c)
        alla.append(a)
        ax.scatter([c], [100 * a], color="grey", s=22, zorder=2)
        labels.append(ax.annotate(model, (c, 100 * a), fontsize=7, color="dimgrey",
                                  xytext=(3, 3), textcoords="offset points", gid="point-label"))
    for name in report["router"]:
        cfg = _by_config(report["points"][name])
        c = np.array([x[0] for x in cfg])
        a = 100 * np.array([x[1] for x in cfg])
        ref = name in REFERENCE_ROUTERS
        (line,) = ax.plot(c, a, marker="x" if ref else "o", markersize=4,
                          linestyle=":" if ref else "-", label=name, zorder=3)
        lo = [x[2] for x in cfg]
        hi = [x[3] for x in cfg]
        if all(v is not None for v in lo + hi) and len(cfg) > 0:
            ax.fill_between(c, 100 * np.array(lo), 100 * np.array(hi), color=line.get_color(),
                            alpha=0.15, linewidth=0, zorder=1)
        if not ref:
            allc += c.tolist()
            alla += (a / 100).tolist()
    oracle = report["baselines"].get("oracle")
    if oracle and oracle["avg_acc"].get("mean") is not None:
        oc, oa = oracle["cost"]["mean"] or 0.0, 100 * oracle["avg_acc"]["mean"]
        ax.scatter([oc], [oa], marker="*", s=160, color="gold", edgecolor="black", zorder=4,
                   label="oracle (per-query best)")
        lo, hi = oracle["avg_acc"].get("ci_low"), oracle["avg_acc"].get("ci_high")
        if lo is not None and hi is not None and hi > lo:
            ax.errorbar([oc], [oa], yerr=[[oa - 100 * lo], [100 * hi - oa]], color="black",
                        capsize=3, linewidth=1, zorder=4)
    if allc:
        on = M.pareto_frontier(allc, alla)
        fc, fa = np.array(allc)[on], np.array(alla)[on]
        order = np.argsort(fc)
        ax.plot(fc[order], 100 * fa[order], color="black", linewidth=1, alpha=0.5,
                label="Pareto frontier", zorder=1)
    ax.patch.set_gid("axes-area")
    ax.set_xlabel("total test cost (USD" + (", estimated" if report.get("cost_estimated") else "")
                  + ")")
    ax.set_ylabel("AvgAcc (%)")
    ax.set_title(title(report), fontsize=10)
    if report.get("synthetic"):
        ax.text(0.5, 0.5, "SYNTHETIC", transform=ax.transAxes, fontsize=40, color="red",
                alpha=0.12, ha="center", va="center", rotation=20, gid="watermark")
    ax.margins(x=0.08, y=0.08)
    legend = ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                       borderaxespad=0.0, title="band: 95% CI over seeds", title_fontsize=7)
    legend.set_gid("legend")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _place_point_labels(fig, ax, labels)
    return fig


def heatmap_figure(report: dict[str, Any]) -> Any:
    """Per-dataset test accuracy (%), routers and references × datasets, numbers in cells."""
    plt = _plt()
    grid = per_dataset_grid(report)
    data = np.array([[np.nan if c is None or c.mean is None else 100 * c.mean for c in row]
                     for row in grid.cells], dtype=float)
    n_rows, n_cols = data.shape
    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * n_cols + 2.5), max(2.5, 0.42 * n_rows + 1.8)))
    im = ax.imshow(data, aspect="auto", cmap="viridis", vmin=0, vmax=100)
    ax.patch.set_gid("axes-area")
    ax.set_xticks(range(n_cols), grid.columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n_rows), grid.rows, fontsize=8)
    for i in range(n_rows):
        for j in range(n_cols):
            if not np.isnan(data[i, j]):
                ax.text(j, i, f"{data[i, j]:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if data[i, j] < 60 else "black", gid="cell-label")
    bar = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    bar.set_label("test accuracy (%)", fontsize=8)
    ax.set_title("Per-dataset test accuracy (%), mean over seeds", fontsize=10)
    fig.tight_layout()
    return fig


def distribution_figure(report: dict[str, Any]) -> Any:
    """Share of test queries each router sends to each model (default configuration)."""
    plt = _plt()
    routed = list(report["router"])
    models = list(next(iter(report["distribution"].values())))
    shares = np.array([[100 * report["distribution"][r].get(m, 0.0) for m in models]
                       for r in routed])
    used = [k for k in range(len(models)) if shares[:, k].max() > 0] or list(range(len(models)))
    cmap = plt.get_cmap("tab20")
    ncol = 1 if len(used) <= 14 else 2
    legend_rows = -(-len(used) // ncol)
    # tall enough that the legend beside the axes ends above the x tick labels
    height = max(2.2, 0.5 * len(routed) + 1.6, 0.16 * legend_rows + 1.6)
    fig, ax = plt.subplots(figsize=(9, height))
    left = np.zeros(len(routed))
    for n, k in enumerate(used):
        ax.barh(range(len(routed)), shares[:, k], left=left, color=cmap(n % 20),
                label=models[k], edgecolor="white", linewidth=0.5)
        left += shares[:, k]
    ax.set_yticks(range(len(routed)), routed, fontsize=8)
    ax.patch.set_gid("axes-area")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of test queries (default configuration)")
    ax.set_title("Routing distribution", fontsize=10)
    legend = ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                       ncol=ncol, title="model", title_fontsize=7)
    legend.set_gid("legend")
    fig.tight_layout()
    return fig


def _drawn_ticklabels(axis: Any) -> list[Any]:
    """Tick labels inside the view limits (matplotlib keeps, but does not draw, the others)."""
    lo, hi = sorted(axis.get_view_interval())
    span = (hi - lo) or 1.0
    return [tick.label1 for tick in axis.get_major_ticks()
            if lo - 1e-9 * span <= tick.get_loc() <= hi + 1e-9 * span]


def layout_problems(fig: Any) -> list[str]:
    """Text that overlaps a legend, leaves its axes (point and cell labels) or leaves the
    figure (any text): the checks behind "labels never overlap the legend or run past the
    axes". Empty when the layout is clean."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    fbox = fig.bbox
    problems = []
    for ax in fig.axes:
        abox = ax.get_window_extent(renderer)
        legend = ax.get_legend()
        lbox = legend.get_window_extent(renderer) if legend is not None else None
        legend_texts = set(legend.get_texts()) | {legend.get_title()} if legend is not None else set()
        texts = [t for t in ax.texts if t.get_visible() and t.get_text()]
        axis_texts = [t for t in (ax.title, ax.xaxis.label, ax.yaxis.label,
                                  *_drawn_ticklabels(ax.xaxis), *_drawn_ticklabels(ax.yaxis))
                      if t.get_visible() and t.get_text()]
        for t in texts + axis_texts + list(legend_texts):
            bb = t.get_window_extent(renderer)
            if bb.x0 < fbox.x0 - 0.5 or bb.x1 > fbox.x1 + 0.5 or bb.y0 < fbox.y0 - 0.5 \
                    or bb.y1 > fbox.y1 + 0.5:
                problems.append(f"{t.get_text()!r} runs past the figure")
        for t in texts:
            if t.get_gid() == "watermark":
                continue
            bb = t.get_window_extent(renderer)
            if bb.x0 < abox.x0 - 0.5 or bb.x1 > abox.x1 + 0.5 or bb.y0 < abox.y0 - 0.5 \
                    or bb.y1 > abox.y1 + 0.5:
                problems.append(f"label {t.get_text()!r} runs past the axes")
            if lbox is not None and bb.overlaps(lbox):
                problems.append(f"label {t.get_text()!r} overlaps the legend")
        if lbox is not None:
            for t in axis_texts:
                if t.get_window_extent(renderer).overlaps(lbox):
                    problems.append(f"{t.get_text()!r} overlaps the legend")
    return problems


#: Artist ids set on the figures, turned into classes in the page (ids must be unique there,
#: and several figures have a legend).
SVG_CLASSES = ("legend", "point-label", "cell-label", "axes-area", "watermark")


def figure_svg(fig: Any) -> str:
    """The figure as an inline ``<svg>`` element with no XML prologue and no external
    reference. Glyphs are drawn as paths (``svg.fonttype=path``): the page then looks exactly
    as laid out here, whatever fonts the viewer has, so the layout checks made on the figure
    hold in every browser. Labelled artists carry the classes of :data:`SVG_CLASSES`."""
    import io

    plt = _plt()
    buf = io.StringIO()
    with plt.rc_context({"svg.fonttype": "path", "svg.hashsalt": "rbench"}):
        fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"\s*<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    for name in SVG_CLASSES:
        svg = svg.replace(f'id="{name}"', f'class="{name}"')
    return svg


def plot_pareto(report: dict[str, Any], path: str) -> None:
    """Write the cost–accuracy plot (PNG or SVG, by the file's suffix)."""
    plt = _plt()
    fig = pareto_figure(report)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
