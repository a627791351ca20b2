"""Terminal tables of a report (rich): the comparison, the per-dataset table and the notes."""

from __future__ import annotations

from typing import Any


def _pct(s: dict[str, Any] | None, signed: bool = False) -> str:
    if not s or s.get("mean") is None:
        return "N/A"
    mean, lo, hi = s["mean"], s["ci_low"], s["ci_high"]
    fmt = "{:+.2f}" if signed else "{:.2f}"
    text = fmt.format(100 * mean)
    if s.get("n", 1) > 1 and lo is not None and hi is not None:
        text += f" ±{100 * (hi - lo) / 2:.1f}"
    return text


def _money(s: dict[str, Any] | None) -> str:
    if not s or s.get("mean") is None:
        return "N/A"
    return f"${s['mean']:.4g}"


def _num(s: dict[str, Any] | None) -> str:
    if not s or s.get("mean") is None:
        return "N/A"
    return f"{s['mean']:.3f}"


def title(report: dict[str, Any]) -> str:
    tag = " — ".join(report.get("labels") or [])
    base = f"{report['bench']} · {report['setting']} · seeds {','.join(map(str, report['seeds']))}"
    return f"{tag}: {base}" if tag else base


def render_tables(report: dict[str, Any], console: Any) -> None:
    """Print the comparison and the per-dataset table with rich."""
    from rich.table import Table

    perf_cost = report["setting"] == "perf-cost"
    caption = "accuracies in %, mean ±95% bootstrap CI half-width over seeds; cost = total test USD"
    if report.get("cost_estimated"):
        caption += " (cost estimated from prices and text length)"
    t = Table(title=f"Routers vs baselines — {title(report)}", caption=caption)
    for c in ("router", "AvgAcc", "Gain@R", "Gain@B", "Gap@O", "cost"):
        t.add_column(c, justify="left" if c == "router" else "right")
    for name in report["router"]:
        m = report["metrics"][name]
        t.add_row(name, _pct(m["avg_acc"]), _pct(m["gain_r"], True), _pct(m["gain_b"], True),
                  _pct(m["gap_o"]), _money(m["cost"]))
    t.add_section()
    for key, b in report["baselines"].items():
        t.add_row(f"[dim]{key}[/dim]", _pct(b["avg_acc"]), "", "", "", _money(b["cost"]))
    console.print(t)
    for key in ("best_single", "cheapest"):
        picks = report["baselines"][key].get("models") or []
        if picks and len(set(picks)) == 1:
            console.print(f"{key}: {picks[0]} (every seed)")
        elif picks:
            console.print(f"{key} per seed: {', '.join(picks)}")
    if perf_cost:
        p = Table(title=f"Cost–accuracy (vs best single) — {title(report)}",
                  caption="PerfGain/CostSave in %; Pareto over every router point and model")
        for c in ("router", "PerfGain", "CostSave", "ParetoRatio", "ParetoDist", "APGR",
                  "CPT50", "AIQ"):
            p.add_column(c, justify="left" if c == "router" else "right")
        for name in report["router"]:
            m = report["metrics"][name]
            p.add_row(name, _pct(m.get("perf_gain"), True), _pct(m.get("cost_save")),
                      _num(m.get("pareto_ratio")), _num(m.get("pareto_dist")),
                      _num(m.get("apgr")), _num(m.get("cpt50")), _num(m.get("aiq")))
        console.print(p)

    d = Table(title=f"Per-dataset test accuracy (%) — {title(report)}")
    d.add_column("dataset")
    names = list(report["router"]) + [
        n for n in ("best-single", "dataset-oracle", "oracle", "random")
        if n not in report["router"]
    ]
    for n in names:
        d.add_column(n, justify="right")
    datasets = list(next(iter(report["per_dataset"].values())).keys())
    for ds in datasets:
        d.add_row(ds, *[_pct(report["per_dataset"][n].get(ds)) for n in names])
    console.print(d)
    routed = list(report["router"])
    if routed:
        r = Table(title="Routing distribution (% of test queries per model, default config)")
        r.add_column("model")
        for n in routed:
            r.add_column(n, justify="right")
        for model in next(iter(report["distribution"].values())):
            r.add_row(model, *[f"{100 * report['distribution'][n].get(model, 0.0):.1f}"
                               for n in routed])
        console.print(r)
    for name in report["router"]:
        c = report["counts"].get(name, {})
        if c.get("n_missing_choice"):
            console.print(f"[yellow]{name}: {c['n_missing_choice']} routed queries (all seeds) "
                          f"went to a model with no score there (counted per "
                          f"missing={report['missing_policy']})[/yellow]")
        if c.get("n_missing_cost"):
            console.print(f"[yellow]{name}: {c['n_missing_cost']} paid calls (all seeds) have no "
                          "recorded cost and add nothing to its cost: its cost is a lower "
                          "bound[/yellow]")
        # a router's own caveat (describe()["note"]), e.g. FrugalGPT scoring queries only
        notes = {str(d.get("note")) for d in report.get("describe", {}).get(name, [])
                 if isinstance(d, dict) and d.get("note")}
        for note in sorted(notes):
            console.print(f"[yellow]{name}: {note}[/yellow]")
    dropped = sum(s["n_dropped_cross_split_duplicates"] for s in report["splits"])
    unscorable = sum(s["n_unscorable_test_dropped"] for s in report["splits"])
    if dropped or unscorable:
        console.print(f"[yellow]dropped from test over all seeds: {dropped} cross-split "
                      f"duplicate prompts, {unscorable} queries no model has a score on[/yellow]")
