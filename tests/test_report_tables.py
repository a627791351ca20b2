"""Terminal tables never cut a number or a name: the real `rbench demo` output at 80 and 120
columns, and wide synthetic grids, are checked cell by cell; Markdown/LaTeX mark the best
value per column and never an oracle."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from rich.console import Console

from routerbench_core.report.formats import grid_latex, grid_markdown
from routerbench_core.report.grid import Cell, Grid, per_dataset_grid, summary_grid
from routerbench_core.report.tables import abbreviate, grid_tables, print_grid


def _rbench(*args: str, columns: int, cwd) -> str:
    env = dict(os.environ, COLUMNS=str(columns), HF_HUB_OFFLINE="1")
    env.pop("RBENCH_STORE", None)
    proc = subprocess.run([sys.executable, "-m", "routerbench_core", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The training-free demo, both settings, printed at 80 columns; its reports and store."""
    out = tmp_path_factory.mktemp("demo")
    text = _rbench("demo", "--training-free", "--embedder", "hashing", "--seeds", "42,999",
                   "--max-per-dataset", "20", "--out", str(out), columns=80, cwd=out)
    reports = {r: json.loads((out / f"demo-{r}-n20.json").read_text()) for r in ("perf", "perf-cost")}
    return out, text, reports


def _shown(text: str, width: int) -> tuple[set[str], dict[str, str]]:
    """The cells of every table in ``text`` (checked to fit ``width``) and the legend."""
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in text
    cells = {c.strip() for line in lines for c in re.split(r"[│┃]", line)}
    legend = dict(re.findall(r"(\S+) = ([^,\s]+)", "\n".join(
        line for line in lines if not re.search(r"[│┃┏┗┡└]", line))))
    return cells, legend


def _has_name(name: str, cells: set[str], legend: dict[str, str]) -> bool:
    return name in cells or any(v == name and k in cells for k, v in legend.items())


def _check_fits(text: str, width: int, report: dict) -> None:
    cells, legend = _shown(text, width)
    grid = per_dataset_grid(report)
    for i, name in enumerate(grid.rows):
        assert _has_name(name, cells, legend), f"router {name} missing at {width} columns"
        for j, dataset in enumerate(grid.columns):
            assert dataset in cells, f"dataset {dataset} cut at {width} columns"
            want = grid.cells[i][j].text()
            assert want in cells, f"{name}/{dataset}: {want} not shown whole at {width} columns"


def test_demo_tables_fit_80_columns(demo):
    _, text, reports = demo
    perf_part = text[: text.index("demo-perf-cost-n20")]
    _check_fits(perf_part, 80, reports["perf"])
    _check_fits(text, 80, reports["perf-cost"])
    # the demo run is recorded with its provenance, from the real command line
    prov = reports["perf"]["provenance"]
    assert prov["command"][:3] == ["rbench", "demo", "--training-free"]
    assert prov["embedder"]["name"] == "hashing"


@pytest.mark.parametrize("columns", [80, 120])
def test_show_of_the_demo_run_fits(demo, columns):
    out, _, reports = demo
    text = _rbench("--store", str(out / "rbench-demo.db"), "show", str(reports["perf"]["provenance"]["run"]),
                   columns=columns, cwd=out)
    assert "Per-dataset test accuracy" in text
    _check_fits(text, columns, reports["perf"])


def _wide_grid() -> Grid:
    routers = ["avengers-pro", "graphrouter-balance", "routellm-mf-strong", "hybridllm-margin",
               "frugalgpt", "best-single", "dataset-oracle", "oracle"]
    datasets = ["AIME", "MATH500", "MATHBench", "LiveCodeBench", "KnightsKnaves", "MMLU-Pro",
                "GPQA", "FinQA", "MedQA", "EmoryNLP", "MELD", "KORBench", "BBH", "MBPP",
                "HumanEval"]
    cells = [[Cell(0.5 + 0.01 * i + 0.001 * j, 0.45, 0.6, 5) for j in range(len(datasets))]
             for i in range(len(routers))]
    return Grid("per_dataset", "wide", "router", datasets, routers, cells,
                better=["max"] * len(datasets))


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("transposed", [False, True])
def test_wide_grid_is_split_never_cut(width, transposed):
    grid = _wide_grid().transposed() if transposed else _wide_grid()
    console = Console(width=width, record=True, force_terminal=False, color_system=None)
    print_grid(grid, console)
    text = console.export_text()
    cells, legend = _shown(text, width)
    for i, row in enumerate(grid.cells):
        assert _has_name(grid.rows[i], cells, legend)
        for j, c in enumerate(row):
            assert _has_name(grid.columns[j], cells, legend)
            assert c.text() in cells
    # 8 routers × 15 datasets of "55.40 ±7.5" never fit in one table at these widths
    assert text.count("(1/") == 1


def test_abbreviations_are_unique_short_and_explained():
    taken: set[str] = set()
    shorts = []
    for name in ("graphrouter-balance", "graphrouter-basic", "ParetoRatio", "ParetoDist", "x"):
        s = abbreviate(name, 8, taken)
        taken.add(s)
        shorts.append(s)
    assert len(set(shorts)) == 5 and all(len(s) <= 8 for s in shorts)
    assert shorts[2] == "Par-Rat" and shorts[-1] == "x"
    grid = _wide_grid().transposed()
    _, legend = grid_tables(grid, 80)
    assert legend.startswith("abbreviations: ") and "= graphrouter-balance" in legend


def test_best_marks_skip_oracles_and_follow_direction(demo):
    report = demo[2]["perf"]
    g = summary_grid(report)
    best = g.best()
    col = g.columns.index("AvgAcc")
    marked = [g.rows[i] for i, j in best if j == col]
    candidates = {n: (g.cells[i][col].mean) for i, n in enumerate(g.rows)
                  if n not in ("oracle", "dataset_oracle")}
    top = max(candidates.values())
    assert sorted(marked) == sorted(n for n, v in candidates.items() if v == top)  # ties: all
    gap = g.columns.index("Gap@O")
    gaps = {g.rows[i]: g.cells[i][gap].mean for i in range(len(g.rows))
            if g.cells[i][gap] is not None}
    if len(gaps) > 1:
        low = min(gaps.values())  # lower wins
        assert sorted(g.rows[i] for i, j in best if j == gap) == sorted(
            n for n, v in gaps.items() if v == low)
    md = grid_markdown(g)
    assert md.count("**") >= 2 and "oracles excluded" in md
    tex = grid_latex(per_dataset_grid(report))
    assert r"\textbf{" in tex and tex.count(r"\midrule") == 2  # header rule + baseline rule
    oracle_line = next(line for line in tex.splitlines() if line.startswith("oracle &"))
    assert r"\textbf" not in oracle_line
