"""The tables of a report as plain data (rows × columns of mean/CI cells), built once and
rendered by every output: the terminal (:mod:`.tables`), Markdown, LaTeX and CSV
(:mod:`.formats`) and the HTML page (:mod:`.html`). One builder means a number reads the same
in each of them, and "best per column" is decided in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

Fmt = Literal["pct", "signed", "money", "num", "share"]
Better = Literal["max", "min"] | None

#: Rows that are upper bounds (they see test labels): never marked best.
ORACLE_ROWS = frozenset({"oracle", "dataset_oracle", "dataset-oracle"})


#: What the row labels are once a grid of this key is transposed.
TRANSPOSED_CORNER = {"per_dataset": "dataset", "summary": "metric", "cost": "metric",
                     "distribution": "router"}


@dataclass(frozen=True)
class Cell:
    """One number: the mean over seeds and its bootstrap CI, and how to print it."""

    mean: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    n: int = 1
    fmt: Fmt = "pct"

    @classmethod
    def of(cls, summary: dict[str, Any] | None, fmt: Fmt) -> Cell:
        s = summary or {}
        return cls(s.get("mean"), s.get("ci_low"), s.get("ci_high"), int(s.get("n") or 0), fmt)

    @property
    def half_width(self) -> float | None:
        """CI half-width in display units (percentage points for accuracies)."""
        if self.n < 2 or self.ci_low is None or self.ci_high is None:
            return None
        scale = 100.0 if self.fmt in ("pct", "signed", "share") else 1.0
        return scale * (self.ci_high - self.ci_low) / 2

    def main(self) -> str:
        """The mean as printed (no CI); ``N/A`` when there is none."""
        if self.mean is None:
            return "N/A"
        if self.fmt == "pct" or self.fmt == "share":
            return f"{100 * self.mean:.{1 if self.fmt == 'share' else 2}f}"
        if self.fmt == "signed":
            return f"{100 * self.mean:+.2f}"
        if self.fmt == "money":
            return f"${self.mean:.4g}"
        return f"{self.mean:.3f}"

    def ci(self) -> str:
        """The CI half-width as printed, or '' (one seed, or not a percentage)."""
        hw = self.half_width
        if hw is None or self.fmt in ("money", "num", "share"):
            return ""
        return f"{hw:.1f}"

    def text(self) -> str:
        """Terminal/CSV text: ``72.22 ±8.3``."""
        ci = self.ci()
        return f"{self.main()} ±{ci}" if ci else self.main()


@dataclass
class Grid:
    """A table: row labels × column headers of cells (None = blank)."""

    key: str
    title: str
    corner: str
    columns: list[str]
    rows: list[str]
    cells: list[list[Cell | None]]
    better: list[Better] = field(default_factory=list)  # per column
    section_at: int | None = None  # rows from here on are baselines (a rule above them)
    caption: str = ""
    #: rows never marked best (oracles: upper bounds that see the test labels)
    unmarked: frozenset[str] = ORACLE_ROWS
    #: best cells fixed in advance (a transposed grid keeps its original's marks)
    marked: frozenset[tuple[int, int]] | None = None

    def best(self) -> set[tuple[int, int]]:
        """(row, column) of the best value in each column that has a direction; ties all
        marked."""
        if self.marked is not None:
            return set(self.marked)
        out: set[tuple[int, int]] = set()
        for j, direction in enumerate(self.better or [None] * len(self.columns)):
            if direction is None:
                continue
            vals = [(i, row[j].mean) for i, row in enumerate(self.cells)
                    if row[j] is not None and row[j].mean is not None
                    and self.rows[i] not in self.unmarked]
            if len(vals) < 2:
                continue
            target = max(v for _, v in vals) if direction == "max" else min(v for _, v in vals)
            out.update((i, j) for i, v in vals if abs(v - target) <= 1e-12)
        return out

    def transposed(self) -> Grid:
        """Columns become rows; the best marks move with their cells."""
        cells = [[self.cells[i][j] for i in range(len(self.rows))]
                 for j in range(len(self.columns))]
        marked = frozenset((j, i) for i, j in self.best())
        return replace(self, columns=list(self.rows), rows=list(self.columns), cells=cells,
                       better=[], section_at=None, marked=marked,
                       corner=TRANSPOSED_CORNER.get(self.key, ""))


def title(report: dict[str, Any]) -> str:
    """The run in one line: labels (SYNTHETIC …), bench, setting, seeds."""
    tag = " — ".join(report.get("labels") or [])
    base = f"{report['bench']} · {report['setting']} · seeds {','.join(map(str, report['seeds']))}"
    return f"{tag}: {base}" if tag else base


def _names(report: dict[str, Any]) -> list[str]:
    """Routers, then the references not already among them (their per-dataset rows)."""
    routed = list(report["router"])
    return routed + [n for n in ("best-single", "dataset-oracle", "oracle", "random")
                     if n not in routed]


def summary_grid(report: dict[str, Any]) -> Grid:
    """Routers and baselines: AvgAcc (and its ID/OOD parts when there are OOD datasets), the
    relative metrics each with its difference in points beside it, and cost."""
    ood = bool(report.get("ood"))
    spec: list[tuple[str, str, Fmt, Better]] = [("AvgAcc", "avg_acc", "pct", "max")]
    if ood:
        spec += [("ID", "avg_acc_id", "pct", "max"), ("OOD", "avg_acc_ood", "pct", "max")]
    spec += [
        ("Gain@R", "gain_r", "signed", "max"), ("ΔR", "diff_r", "signed", "max"),
        ("Gain@B", "gain_b", "signed", "max"), ("ΔB", "diff_b", "signed", "max"),
        ("Gap@O", "gap_o", "pct", "min"), ("ΔO", "diff_o", "pct", "min"),
        ("cost", "cost", "money", None),
    ]
    baseline_keys = {"avg_acc", "avg_acc_id", "avg_acc_ood", "cost"}
    rows, cells = [], []
    for name in report["router"]:
        m = report["metrics"][name]
        rows.append(name)
        cells.append([Cell.of(m.get(k), f) for _, k, f, _ in spec])
    section = len(rows)
    for key, b in report["baselines"].items():
        rows.append(key)
        cells.append([Cell.of(b.get(k), f) if k in baseline_keys else None
                      for _, k, f, _ in spec])
    caption = ("AvgAcc" + (", ID, OOD" if ood else "") + " in %, mean ±95% bootstrap CI "
               "half-width over seeds. Gain@R = Acc/Acc_R − 1, Gain@B = Acc/Acc_B − 1 and "
               "Gap@O = 1 − Acc/Acc_O are RELATIVE (% of the reference); ΔR, ΔB and ΔO "
               "(= Acc_O − Acc) are the same comparisons in points. cost = total test USD")
    if report.get("cost_estimated"):
        caption += " (cost estimated from prices and text length)"
    if report.get("score_rule"):
        caption += f". Scores: {report['score_rule']}"
    if ood:
        caption += f". OOD (wholly test): {', '.join(report['ood'])}"
    return Grid("summary", f"Routers vs baselines — {title(report)}", "router",
                [c[0] for c in spec], rows, cells, better=[c[3] for c in spec],
                section_at=section, caption=caption)


def cost_grid(report: dict[str, Any]) -> Grid | None:
    if report["setting"] != "perf-cost":
        return None
    spec: list[tuple[str, str, Fmt, Better]] = [
        ("PerfGain", "perf_gain", "signed", "max"), ("PerfΔ", "perf_diff", "signed", "max"),
        ("CostSave", "cost_save", "pct", "max"),
        ("ParetoRatio", "pareto_ratio", "num", "max"), ("ParetoDist", "pareto_dist", "num", "min"),
        ("APGR", "apgr", "num", "max"), ("CPT50", "cpt50", "num", "min"), ("AIQ", "aiq", "num", "max"),
    ]
    rows = list(report["router"])
    cells = [[Cell.of(report["metrics"][r].get(k), f) for _, k, f, _ in spec] for r in rows]
    return Grid("cost", f"Cost–accuracy (vs best single) — {title(report)}", "router",
                [s[0] for s in spec], rows, cells, better=[s[3] for s in spec],
                caption="PerfGain = max Acc/Acc_B − 1 and CostSave = 1 − Cost/Cost_B are "
                "RELATIVE (%); PerfΔ = max Acc − Acc_B in points; Pareto over every router "
                "point and model")


def per_dataset_grid(report: dict[str, Any]) -> Grid:
    """Routers (and references) × datasets, the paper's orientation."""
    names = _names(report)
    datasets = list(next(iter(report["per_dataset"].values())).keys())
    cells = [[Cell.of(report["per_dataset"][n].get(d), "pct") for d in datasets] for n in names]
    return Grid("per_dataset", f"Per-dataset test accuracy (%) — {title(report)}", "router",
                datasets, names, cells, better=["max"] * len(datasets),
                section_at=len(report["router"]),
                caption="mean ±95% bootstrap CI half-width over seeds")


def distribution_grid(report: dict[str, Any]) -> Grid | None:
    routed = list(report["router"])
    if not routed or not report.get("distribution"):
        return None
    models = list(next(iter(report["distribution"].values())))
    cells = [[Cell(report["distribution"][r].get(m, 0.0), fmt="share") for r in routed]
             for m in models]
    return Grid("distribution", "Routing distribution (% of test queries per model, default "
                "config)", "model", routed, models, cells)


def report_grids(report: dict[str, Any]) -> list[Grid]:
    """Every table of a route report, in print order."""
    grids = [summary_grid(report), cost_grid(report), per_dataset_grid(report),
             distribution_grid(report)]
    return [g for g in grids if g is not None]
