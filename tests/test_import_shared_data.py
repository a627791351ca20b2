"""Done-when checks of issue #2 on the real routing data in ../shared/data (skipped without it).

The figures below were verified against the files themselves (see docs/data-formats.md):
llmrouter-nim9 scores 5,608 train + 500 test questions; the per-task counts are of those
scored questions (queries_train.jsonl alone has 5,616 lines: 8 question texts are listed under
two tasks, and queries_test.jsonl has 206 lines without scores).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from routerbench_core.data.store import Store
from routerbench_core.testing import run_cli

NIM9_TASKS = {
    "agentverse-logicgrid": 200, "agentverse-mgsm": 250, "arc_challenge": 498,
    "commongen": 200, "commonsense_qa": 500, "gpqa": 498, "gsm8k": 550, "human_eval": 214,
    "math": 504, "mbpp": 548, "mmlu": 550, "natural_qa": 550, "openbook_qa": 496,
    "trivia_qa": 550,
}
RB_MODELS = {
    "WizardLM/WizardLM-13B-V1.2", "claude-instant-v1", "claude-v1", "claude-v2",
    "gpt-3.5-turbo-1106", "gpt-4-1106-preview", "meta/code-llama-instruct-34b-chat",
    "meta/llama-2-70b-chat", "mistralai/mistral-7b-chat", "mistralai/mixtral-8x7b-chat",
    "zero-one-ai/Yi-34B-Chat",
}


def cli(store: Path, *args: str) -> str:
    proc = run_cli("--store", store, *args, env={"HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_nim9_import(shared_data: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    out = cli(store, "data", "import", "llmrouter", str(shared_data / "llmrouter-nim9"),
              "--name", "nim9")
    assert "6,108 queries × 9 models" in out and "ESTIMATES" in out
    info = json.loads(cli(store, "data", "info", "nim9", "--json"))
    assert info["queries"] == 6108 and info["n_models"] == 9
    assert info["datasets"] == NIM9_TASKS
    assert info["source_splits"] == {"train": 5608, "test": 500}
    assert info["responses"] == info["grades"] == 6108 * 9
    assert info["cost_estimated"] is True and info["cost_sources"] == {"estimated": 6108 * 9}

    models = json.loads((shared_data / "llmrouter-nim9" / "models.json").read_text())
    with Store(store) as s:
        m = s.load_matrix("nim9")
        assert not np.isnan(m.score).any() and (m.cost > 0).all()
        for name, spec in m.model_specs.items():
            assert spec.input_price == models[name]["input_price"]
            assert spec.description == models[name]["feature"]
        dups = [q for q in s.queries("nim9") if "cross_split_duplicate" in q.metadata]
        test_dups = [q for q in dups if q.source_split == "test"]
        assert len(test_dups) == 119 and len(dups) == 238
        by_key = {q.key: q for q in dups}
        for q in test_dups:
            [twin] = q.metadata["cross_split_duplicate"]
            assert by_key[twin].text == q.text and by_key[twin].source_split == "train"
    # the scores really are the files' scores: check every test row against the source
    rows = json.loads((shared_data / "llmrouter-nim9" / "scores_test.json").read_text())
    text_row = {t: i for i, t in enumerate(m.texts) if m.keys[i].split("/")[-1].startswith("test")}
    for row in rows:
        i = text_row[row["question"]]
        for model, score in row["scores"].items():
            assert m.score[i, m.model_index(model)] == score


def test_routerbench_subset_import(shared_data: Path, tmp_path: Path) -> None:
    store = tmp_path / "s.db"
    cli(store, "data", "import", "routerbench", str(shared_data / "routerbench-subset"),
        "--name", "rb")
    info = json.loads(cli(store, "data", "info", "rb", "--json"))
    assert info["queries"] == 3178 and set(info["models"]) == RB_MODELS
    assert info["datasets"] == {"arc-challenge": 1484, "mbpp": 427, "winogrande": 1267}
    assert info["source_splits"] == {"test": 953, "train": 2225}
    assert info["cost_estimated"] is False and set(info["cost_sources"]) == {"reported"}
    text = cli(store, "data", "info", "rb")
    assert "3,178" in text and "reported" in text
    with Store(store) as s:
        m = s.load_matrix("rb")
        assert m.shape == (3178, 11)
        # real per-query cost: every cell has one, and it varies from query to query
        assert not np.isnan(m.cost).any()
        gpt4 = m.cost[:, m.model_index("gpt-4-1106-preview")]
        assert len(np.unique(gpt4)) > 300 and gpt4.min() > 0
        # the few empty score cells in the source stay missing (never 0)
        assert 0 < np.isnan(m.score).sum() < 200
        sample = [q for q in s.queries("rb") if q.metadata.get("sample_id") == "mbpp.dev.1"]
        assert len(sample) == 1 and sample[0].source_split == "test"
        assert sample[0].text == "Write a python function to identify non-prime numbers."
        # and it is the file's own number for that query and model
        import csv

        csv.field_size_limit(2**31 - 1)
        with open(shared_data / "routerbench-subset" / "mbpp_test.csv", newline="",
                  encoding="utf-8") as fh:
            first = next(csv.DictReader(fh))
        row = list(m.keys).index(f"mbpp/{first['']}")
        for model in RB_MODELS:
            assert m.cost[row, m.model_index(model)] == float(first[f"{model}|total_cost"])
