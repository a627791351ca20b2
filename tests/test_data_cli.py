"""``rbench data ...`` run for real against a temporary store: the whole command (plugin host,
argument parsing, error handling, exit codes) in this process (``run_cli``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from routerbench_core.data.store import Store
from routerbench_core.testing import CliResult, run_cli


def rbench(*args: str, store: Path, check: bool = True) -> CliResult:
    proc = run_cli(*args, env={"RBENCH_STORE": str(store), "HF_HUB_OFFLINE": "1"})
    if check and proc.returncode != 0:
        raise AssertionError(f"rbench {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """A two-model, two-dataset LLMRouterBench release."""
    root = tmp_path / "release"
    for model, skill in (("big", 1.0), ("small", 0.0)):
        for dataset, n in (("aime", 3), ("gsm8k", 2)):
            folder = root / "results" / "bench" / dataset / "test" / model
            folder.mkdir(parents=True)
            records = [
                {"index": i, "origin_query": f"{dataset} q{i}", "prompt": f"{dataset} q{i}",
                 "prediction": "1", "ground_truth": "1", "score": skill, "prompt_tokens": 5,
                 "completion_tokens": 7, "cost": 0.01 if model == "big" else 0.001,
                 "raw_output": "1"}
                for i in range(n)
            ]
            (folder / f"{model}_20250101_120000.json").write_text(
                json.dumps({"dataset_name": dataset, "split": "test", "model_name": model,
                            "records": records}))
    return root


def test_import_info_list_export_delete(tmp_path: Path, release: Path) -> None:
    store = tmp_path / "s.db"
    out = rbench("data", "import", "llmrouterbench", str(release), "--name", "lrb", store=store)
    assert "5 queries × 2 models (10 records)" in out.stdout

    info = json.loads(rbench("data", "info", "lrb", "--json", store=store).stdout)
    assert info["queries"] == 5 and info["models"] == ["big", "small"]
    assert info["datasets"] == {"aime": 3, "gsm8k": 2}
    assert (info["responses"], info["failures"], info["grades"]) == (10, 0, 10)
    assert info["cost_sources"] == {"imported": 10} and info["cost_estimated"] is False
    text = rbench("data", "info", "lrb", store=store).stdout
    assert "aime" in text and "10 scored" in text

    listed = json.loads(rbench("data", "list", "--json", store=store).stdout)
    assert [(b["name"], b["queries"], b["models"]) for b in listed] == [("lrb", 5, 2)]

    rbench("data", "export", "lrb", "llmrouterbench", str(tmp_path / "exp"), store=store)
    rbench("data", "import", "llmrouterbench", str(tmp_path / "exp"), "--name", "again",
           store=store)
    with Store(store) as s:
        a, b = s.load_matrix("lrb"), s.load_matrix("again")
        assert a.score.tolist() == b.score.tolist() and a.cost.tolist() == b.cost.tolist()

    rbench("data", "delete", "again", store=store)
    every = json.loads(rbench("data", "info", "--json", store=store).stdout)
    assert [b["name"] for b in every] == ["lrb"]


def test_errors_exit_nonzero_and_store_nothing(tmp_path: Path, release: Path) -> None:
    store = tmp_path / "s.db"
    rbench("data", "import", "llmrouterbench", str(release), "--name", "lrb", store=store)
    with Store(store) as s:
        before = s.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    again = rbench("data", "import", "llmrouterbench", str(release), "--name", "lrb",
                   store=store, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr and "--replace" in again.stderr

    bad = release / "results" / "bench" / "gsm8k" / "test" / "small" / "small_20250101_120000.json"
    doc = json.loads(bad.read_text())
    doc["records"][1]["score"] = "wrong"
    bad.write_text(json.dumps(doc))
    proc = rbench("data", "import", "llmrouterbench", str(release), "--name", "lrb",
                  "--replace", store=store, check=False)
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and "record 1" in proc.stderr and "'score'" in proc.stderr
    assert "nothing was stored" in proc.stderr

    unknown = rbench("data", "info", "lbr", store=store, check=False)
    assert unknown.returncode == 2 and "Did you mean lrb" in unknown.stderr
    fmt = rbench("data", "import", "csvv", str(release), "--name", "x", store=store, check=False)
    assert fmt.returncode == 2 and "unknown import format" in fmt.stderr
    with Store(store) as s:
        assert s.bench_names() == ["lrb"]
        assert s.execute("SELECT COUNT(*) FROM responses").fetchone()[0] == before


def test_replace_and_store_option(tmp_path: Path, release: Path) -> None:
    store = tmp_path / "other.db"
    env_store = tmp_path / "unused.db"
    rbench("--store", str(store), "data", "import", "llmrouterbench", str(release), "--name",
           "b", store=env_store)
    assert store.exists()
    only_aime = tmp_path / "aime_only"
    (only_aime / "results" / "bench").mkdir(parents=True)
    (release / "results" / "bench" / "aime").rename(only_aime / "results" / "bench" / "aime")
    rbench("--store", str(store), "data", "import", "llmrouterbench", str(only_aime), "--name",
           "b", "--replace", store=env_store)
    info = json.loads(rbench("--store", str(store), "data", "info", "b", "--json",
                             store=env_store).stdout)
    assert info["datasets"] == {"aime": 3}


def test_reading_commands_never_create_a_store(tmp_path: Path) -> None:
    store = tmp_path / "absent.db"
    assert json.loads(rbench("data", "list", "--json", store=store).stdout) == []
    assert json.loads(rbench("data", "info", "--json", store=store).stdout) == []
    for args in (("data", "info", "x"), ("data", "delete", "x"),
                 ("data", "export", "x", "parquet", str(tmp_path / "o"))):
        proc = rbench(*args, store=store, check=False)
        assert proc.returncode == 2 and "no store at" in proc.stderr
    assert not store.exists()


def test_plain_info_answers_without_the_cli_and_says_the_same(tmp_path: Path,
                                                               release: Path) -> None:
    """``data info [BENCH] [--json]`` is answered before typer is imported (its start-up is
    most of the command's time); ``data info -- BENCH`` still goes through the typer command:
    both print the same, errors included."""
    import subprocess
    import sys

    store = tmp_path / "s.db"
    rbench("data", "import", "llmrouterbench", str(release), "--name", "lrb", store=store)
    for fast, slow in ((["lrb"], ["--", "lrb"]), (["lrb", "--json"], ["--json", "--", "lrb"]),
                       ([], ["--"]), (["lbr"], ["--", "lbr"])):
        a = rbench("data", "info", *fast, store=store, check=False)
        b = rbench("data", "info", *slow, store=store, check=False)
        assert (a.exit_code, a.stdout, a.stderr) == (b.exit_code, b.stdout, b.stderr), fast
    assert "Did you mean lrb" in a.stderr and a.exit_code == 2
    code = ("import sys\nfrom routerbench_core.commands.entry import main\n"
            "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('typer', 'numpy', 'pydantic') if m in sys.modules]\n"
            "print('HEAVY', heavy)\n")
    for args in (["data", "info", "lrb"], ["data", "info", "--", "lrb"]):
        out = subprocess.run([sys.executable, "-c", code, "--store", str(store), *args],
                             capture_output=True, text=True, check=True).stdout
        assert "queries   5" in out
        heavy = out.split("HEAVY", 1)[1]
        assert ("[]" in heavy) == (args[2] != "--"), (args, heavy)
