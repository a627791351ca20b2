"""Done-when checks: `rbench data import` + `rbench route` on the real shared data, with every
reported number recomputed directly from the source files with numpy."""

from __future__ import annotations

import ast
import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest

from routerbench_core.routing.protocol import DEFAULT_SEEDS, make_split
from routerbench_core.testing import run_cli

ENV = {"RBENCH_DISABLE_PLUGIN_AUTOLOAD": "1", "COLUMNS": "120"}


def rbench(*args: str, cwd: Path) -> str:
    out = run_cli(*args, cwd=cwd, env=ENV)
    assert out.returncode == 0, out.stderr + out.stdout
    return out.stdout


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").split("\n") if x.strip()]


def nim9_from_files(base: Path):
    """(datasets, texts, score, cost, models) straight from the nim9 files; cost estimated as
    the importer documents it: ceil(chars/4) prompt tokens + 256 completion tokens × prices."""
    task: dict[str, str] = {}
    for part in ("train", "test"):
        for q in _lines(base / f"queries_{part}.jsonl"):
            task.setdefault(q["query"], q["task_name"])
    prices = json.loads((base / "models.json").read_text())
    rows = [r for part in ("train", "test")
            for r in json.loads((base / f"scores_{part}.json").read_text(encoding="utf-8"))]
    models = sorted({m for r in rows for m in r["scores"]})  # models.json lists more
    score = np.array([[r["scores"].get(m, np.nan) for m in models] for r in rows], dtype=float)
    texts = [r["question"] for r in rows]
    ptok = np.array([math.ceil(len(t) / 4) for t in texts], dtype=float)
    cin = np.array([prices[m]["input_price"] for m in models])
    cout = np.array([prices[m]["output_price"] for m in models])
    cost = (ptok[:, None] * cin[None, :] + 256 * cout[None, :]) / 1e6
    ds = np.array([task[t] for t in texts], dtype=object)
    return ds, texts, score, cost, models


def rb_from_files(base: Path):
    csv.field_size_limit(1 << 30)
    ds, texts, scores, costs = [], [], [], []
    models: list[str] | None = None
    for stem in ("arc_challenge", "mbpp", "winograde"):
        for part in ("train", "test"):
            with open(base / f"{stem}_{part}.csv", newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                if models is None:
                    models = [c for c in reader.fieldnames if c and "|" not in c and c not in
                              ("sample_id", "prompt", "eval_name", "oracle_model_to_route_to")]
                for row in reader:
                    ds.append(row["eval_name"])
                    p = ast.literal_eval(row["prompt"])
                    texts.append(p if isinstance(p, str) else "\n\n".join(p))
                    scores.append([float(row[m]) if row[m] != "" else np.nan for m in models])
                    costs.append([float(row[m + "|total_cost"]) if row[m + "|total_cost"] != ""
                                  else np.nan for m in models])
    return (np.array(ds, dtype=object), texts, np.array(scores), np.array(costs), models)


def direct_references(ds, texts, score, cost, models, seed):
    """Best single (chosen on train+valid, missing = wrong), oracle, dataset oracle, random —
    AvgAcc over datasets and total test cost, computed without the evaluator."""
    s = make_split(ds, texts, seed)
    test = s.test[~np.isnan(score[s.test]).all(axis=1)]
    fit = np.concatenate([s.train, s.valid])
    names = list(dict.fromkeys(ds.tolist()))
    filled = np.nan_to_num(score)

    def avg(values, rows):
        return float(np.mean([values[ds[rows] == d].mean() for d in names]))

    train_acc = np.mean([filled[fit][ds[fit] == d].mean(axis=0) for d in names], axis=0)
    b = int(np.argmax(train_acc))
    t_score, t_cost = filled[test], cost[test]
    best = t_score.max(axis=1)
    oracle_cost = np.where(score[test] == best[:, None], np.nan_to_num(t_cost, nan=np.inf),
                           np.inf).min(axis=1)
    dso = float(np.mean([t_score[ds[test] == d].mean(axis=0).max() for d in names]))
    return {
        "best_model": models[b],
        "best_acc": avg(t_score[:, b], test), "best_cost": float(np.nansum(t_cost[:, b])),
        "oracle_acc": avg(best, test), "oracle_cost": float(oracle_cost.sum()),
        "dso_acc": dso, "random_acc": avg(t_score.mean(axis=1), test),
    }


def _check_refs(report, direct):
    seeds = report["seeds"]
    mean = lambda k: float(np.mean([d[k] for d in direct]))  # noqa: E731
    b = report["baselines"]
    assert b["best_single"]["models"] == [d["best_model"] for d in direct]
    assert b["best_single"]["avg_acc"]["mean"] == pytest.approx(mean("best_acc"), abs=1e-9)
    assert b["best_single"]["cost"]["mean"] == pytest.approx(mean("best_cost"), rel=1e-6)
    assert b["oracle"]["avg_acc"]["mean"] == pytest.approx(mean("oracle_acc"), abs=1e-9)
    assert b["oracle"]["cost"]["mean"] == pytest.approx(mean("oracle_cost"), rel=1e-6)
    assert b["dataset_oracle"]["avg_acc"]["mean"] == pytest.approx(mean("dso_acc"), abs=1e-9)
    assert b["random"]["avg_acc"]["mean"] == pytest.approx(mean("random_acc"), abs=1e-9)
    m = report["metrics"]
    assert m["best-single"]["avg_acc"]["mean"] == pytest.approx(mean("best_acc"), abs=1e-9)
    assert m["oracle"]["avg_acc"]["mean"] == pytest.approx(mean("oracle_acc"), abs=1e-9)
    gap = [1 - d["best_acc"] / d["oracle_acc"] for d in direct]
    assert m["best-single"]["gap_o"]["mean"] == pytest.approx(np.mean(gap), abs=1e-9)
    gr = [d["oracle_acc"] / d["random_acc"] - 1 for d in direct]
    assert m["oracle"]["gain_r"]["mean"] == pytest.approx(np.mean(gr), abs=1e-9)
    assert m["best-single"]["gain_b"]["mean"] == pytest.approx(0.0, abs=1e-12)
    for key in ("avg_acc", "gain_r", "gain_b", "gap_o"):
        s = m["oracle"][key]
        assert set(s) >= {"mean", "ci_low", "ci_high"} and s["n"] == len(seeds)
        assert s["ci_low"] <= s["mean"] + 1e-12 and s["mean"] <= s["ci_high"] + 1e-12


@pytest.fixture(scope="module")
def nim9_dir(tmp_path_factory):
    """A store with nim9 imported once through `rbench data import` (shared by the tests)."""
    from routerbench_core.testing import shared_data_dir

    data = shared_data_dir()
    if data is None or not (data / "llmrouter-nim9").is_dir():
        pytest.skip("real routing data not found: set RBENCH_SHARED_DATA or place "
                    "../shared/data beside the repository")
    path = tmp_path_factory.mktemp("nim9")
    rbench("--store", "s.db", "data", "import", "llmrouter", str(data / "llmrouter-nim9"),
           "--name", "nim9", cwd=path)
    return path


def test_route_nim9_matches_numpy(shared_data, nim9_dir, tmp_path):
    out = rbench("--store", str(nim9_dir / "s.db"), "route", "--router", "best-single",
                 "--router", "oracle", "--bench", "nim9", "--json", "out.json", cwd=tmp_path)
    assert "cost estimated" in out
    report = json.loads((tmp_path / "out.json").read_text())
    for key in ("router", "setting", "seeds", "metrics", "baselines", "per_dataset", "points"):
        assert key in report
    assert report["router"] == ["best-single", "oracle"] and report["setting"] == "perf"
    assert report["seeds"] == list(DEFAULT_SEEDS)
    assert report["cost_estimated"] is True and "cost estimated" in report["labels"]
    data = nim9_from_files(shared_data / "llmrouter-nim9")
    _check_refs(report, [direct_references(*data, seed) for seed in DEFAULT_SEEDS])
    assert len(report["per_dataset"]["oracle"]) == 14
    # duplicates of the source's own split are grouped, never split across train and test
    assert all(s["n_duplicate_rows_within_dataset"] == 238 for s in report["splits"])


def test_route_rb_perf_cost_matches_numpy(shared_data, tmp_path):
    rbench("--store", "s.db", "data", "import", "routerbench",
           str(shared_data / "routerbench-subset"), "--name", "rb", cwd=tmp_path)
    rbench("--store", "s.db", "route", "--router", "best-single", "--router", "oracle",
           "--router", "cheapest", "--bench", "rb", "--setting", "perf-cost", "--json",
           "out.json", "--plot", "pareto.png", cwd=tmp_path)
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["setting"] == "perf-cost" and report["cost_estimated"] is False
    assert (tmp_path / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = rb_from_files(shared_data / "routerbench-subset")
    direct = [direct_references(*data, seed) for seed in DEFAULT_SEEDS]
    _check_refs(report, direct)
    m = report["metrics"]
    for key in ("perf_gain", "cost_save", "pareto_ratio", "pareto_dist"):
        assert key in m["best-single"]
    assert m["best-single"]["perf_gain"]["mean"] == pytest.approx(0.0, abs=1e-12)
    assert m["best-single"]["cost_save"]["mean"] == pytest.approx(0.0, abs=1e-12)
    save = [1 - d["oracle_cost"] / d["best_cost"] for d in direct]
    assert m["oracle"]["cost_save"]["mean"] == pytest.approx(np.mean(save), rel=1e-6)
    assert 0.0 <= m["cheapest"]["pareto_ratio"]["mean"] <= 1.0
    assert len(report["points"]["best-single"]) == len(DEFAULT_SEEDS)


def test_route_nim9_source_split_drops_the_119_overlaps(nim9_dir, tmp_path):
    out = rbench("--store", str(nim9_dir / "s.db"), "route", "--router", "oracle", "--bench", "nim9",
                 "--seeds", "42", "--split", "source", "--json", "out.json", cwd=tmp_path)
    assert "119 cross-split duplicate" in out
    split = json.loads((tmp_path / "out.json").read_text())["splits"][0]
    assert split["source"] == "source"
    assert split["n_dropped_cross_split_duplicates"] == 119 and split["n_test"] == 381
