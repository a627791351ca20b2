"""Plots of a report (matplotlib, imported only when a plot is drawn): the cost–accuracy plane
with the Pareto frontier."""

from __future__ import annotations

from typing import Any

import numpy as np

from routerbench_core.report import metrics as M
from routerbench_core.report.tables import title


def plot_pareto(report: dict[str, Any], path: str) -> None:
    """Cost–accuracy plot (mean over seeds per configuration) with the Pareto frontier."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5.5))
    allc, alla = [], []
    singles = report["points"]["singles"]
    for model, pts in singles.items():
        c, a = np.mean([p["cost"] for p in pts]), np.mean([p["avg_acc"] for p in pts])
        allc.append(c)
        alla.append(a)
        ax.scatter([c], [100 * a], color="grey", s=25, zorder=2)
        ax.annotate(model, (c, 100 * a), fontsize=7, color="grey", xytext=(3, 3),
                    textcoords="offset points")
    for name in report["router"]:
        pts = report["points"][name]
        by_config: dict[str, list[dict[str, Any]]] = {}
        for p in pts:
            by_config.setdefault(repr(p["config"]), []).append(p)
        c = [np.mean([p["cost"] for p in v]) for v in by_config.values()]
        a = [np.mean([p["avg_acc"] for p in v]) for v in by_config.values()]
        order = np.argsort(c)
        ref = name in ("oracle", "dataset-oracle", "random")
        ax.plot(np.array(c)[order], 100 * np.array(a)[order], marker="x" if ref else "o",
                linestyle=":" if ref else "-", label=name, zorder=3)
        if not ref:
            allc += c
            alla += a
    on = M.pareto_frontier(allc, alla)
    fc, fa = np.array(allc)[on], np.array(alla)[on]
    order = np.argsort(fc)
    ax.plot(fc[order], 100 * fa[order], color="black", linewidth=1, alpha=0.5,
            label="Pareto frontier", zorder=1)
    ax.set_xlabel("total test cost (USD" + (", estimated" if report.get("cost_estimated") else "")
                  + ")")
    ax.set_ylabel("AvgAcc (%)")
    ax.set_title(title(report), fontsize=10)
    if report.get("synthetic"):
        ax.text(0.5, 0.5, "SYNTHETIC", transform=ax.transAxes, fontsize=40, color="red",
                alpha=0.15, ha="center", va="center", rotation=20)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
