"""A routing data release in RouterDC's format, used as a new user would: repeated questions,
files of datasets one does not want, test-only out-of-distribution files without a split
suffix. It imports with a duplicate policy named on the command line and routes with
``--split source`` as it is; the report gives ID and OOD means apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from routerbench_core.commands.app import State, build_app
from routerbench_core.data.importers import DataFormatError, parse
from routerbench_core.data.store import Store
from routerbench_core.plugins.manager import make_plugin_manager

MODELS = ("alpha", "beta", "gamma")


def _rows(dataset: str, n: int, rng: np.random.Generator, expert: int) -> list[dict]:
    rows = []
    for i in range(n):
        scores = {m: float(rng.random() < (0.8 if j == expert else 0.3))
                  for j, m in enumerate(MODELS)}
        rows.append({"question": f"{dataset} question {i}: what is {i} + {i}?", "scores": scores})
    return rows


@pytest.fixture
def release(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    d = tmp_path / "release"
    d.mkdir()
    for name, expert in (("gsm8k", 0), ("mmlu", 1), ("unwanted", 2)):
        rows = _rows(name, 60, rng, expert)
        train, test = rows[:42], rows[42:]
        if name == "gsm8k":  # two repeats, one with conflicting scores, one identical
            train.append({"question": train[0]["question"],
                          "scores": {m: 1.0 - v for m, v in train[0]["scores"].items()}})
            train.append(dict(train[1]))
        (d / f"{name}_train.json").write_text(json.dumps(train))
        (d / f"{name}_test.json").write_text(json.dumps(test))
    (d / "ood_plain.json").write_text(json.dumps(_rows("ood_plain", 25, rng, 0)))
    (d / "ood_suffixed_test.json").write_text(json.dumps(_rows("ood_suffixed", 25, rng, 1)))
    return d


def run(store: Path, *args: str):
    host = make_plugin_manager(load_entrypoints=False)
    return CliRunner().invoke(build_app(host), ["--store", str(store), *args],
                              obj=State(host=host), catch_exceptions=False)


def test_repeats_are_listed_then_merged_by_the_named_policy(release: Path) -> None:
    with pytest.raises(DataFormatError) as err:
        parse("routerdc", release)
    msg = str(err.value)
    assert "2 question(s) repeated inside a file (1 with conflicting scores)" in msg
    assert "gsm8k_train.json records 0, 42 (conflicting scores)" in msg
    assert "gsm8k_train.json records 1, 43: " in msg
    first = parse("routerdc", release, options={"on_duplicate": "first"})
    mean = parse("routerdc", release, options={"on_duplicate": "mean"})
    assert first.metadata["duplicates"] == {"policy": "first", "repeated_questions": 2,
                                            "extra_rows": 2, "conflicting": 1}
    assert len(first.queries) == len(mean.queries) == 3 * 60 + 50
    assert mean.metadata["duplicates"]["policy"] == "mean"


def test_release_imports_and_routes_with_source_split(release: Path, tmp_path: Path) -> None:
    store = tmp_path / "r.db"
    r = run(store, "data", "import", "routerdc", str(release), "--name", "dc")
    assert r.exit_code == 2 and "--on-duplicate" in r.output
    with Store(store) as s:
        assert not s.has_bench("dc")  # nothing stored
    r = run(store, "data", "import", "routerdc", str(release), "--name", "dc",
            "--on-duplicate", "mean")
    assert r.exit_code == 0, r.output
    with Store(store) as s:
        m = s.load_matrix("dc")
    rows = [i for i, t in enumerate(m.texts) if t.startswith("gsm8k question 0:")]
    assert len(rows) == 1 and np.all(m.score[rows[0]] == 0.5)  # the conflict, averaged
    r = run(store, "route", "--bench", "dc", "--split", "source", "--ood", "made_up",
            "-r", "best-single", "--seeds", "42")
    assert r.exit_code == 2 and "made_up" in r.output  # --ood is validated under source too
    out = tmp_path / "report.json"
    r = run(store, "route", "--bench", "dc", "--split", "source", "--exclude", "unwanted",
            "-r", "best-single", "-r", "random-pick", "-r", "oracle", "--seeds", "42,7",
            "--json", str(out))
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    assert rep["ood"] == ["ood_plain", "ood_suffixed"]  # test-only files: wholly test
    assert "unwanted" not in rep["per_dataset"]["best-single"]
    m = rep["metrics"]["best-single"]
    assert m["avg_acc_id"]["mean"] is not None and m["avg_acc_ood"]["mean"] is not None
    per = rep["per_dataset"]["best-single"]
    want_id = np.mean([per["gsm8k"]["mean"], per["mmlu"]["mean"]])
    assert m["avg_acc_id"]["mean"] == pytest.approx(want_id, abs=1e-9)
    assert rep["baselines"]["oracle"]["avg_acc_ood"]["mean"] is not None
    assert "ID" in r.output and "OOD" in r.output and "RELATIVE" in r.output
    assert "soft scores" in rep["score_rule"]  # the merged conflict made a 0.5 score
    # the same routed with --binarize 0.5 counts that 0.5 as wrong and says so
    r = run(store, "route", "--bench", "dc", "--split", "source", "--datasets", "gsm8k,mmlu",
            "-r", "best-single", "--seeds", "42", "--binarize", "0.5", "--json", str(out))
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    assert rep["score_rule"].startswith("scores binarised: a score > 0.5")
    assert set(rep["per_dataset"]["best-single"]) == {"gsm8k", "mmlu"} and rep["ood"] == []
    r = run(store, "route", "--bench", "dc", "--datasets", "gsm8kk", "-r", "best-single")
    assert r.exit_code == 2 and "Did you mean gsm8k?" in r.output
