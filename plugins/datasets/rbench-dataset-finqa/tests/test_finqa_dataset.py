"""FinQA: both layouts, table rendering, rounding/percent-tolerant grading, conformance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_finqa.dataset import FinQA

from routerbench_core import DatasetError, Response
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "finqa_test.json"
REVENUE, CASH, DIVIDEND = "RBX/2019/page_12.pdf-1", "RBX/2020/page_40.pdf-2", "RBX/2021/page_7.pdf-3"


class TestFinQAConformance(DatasetConformance):
    dataset_name = "finqa"
    fixture = FIXTURE
    good_answers = {
        REVENUE: "(1250 - 1000) / 1000 = 0.25, i.e. \\boxed{25\\%}",
        CASH: "4520 / 3875 = 1.1665 so the ratio is \\boxed{1.17}",
        DIVIDEND: "0.48 > 0.44, so \\boxed{\\text{yes}}",
    }
    bad_answers = {
        REVENUE: "\\boxed{20\\%}",
        CASH: "The ratio is \\boxed{0.857}",
        DIVIDEND: "Answer: no",
    }


def test_context_renders_text_and_table() -> None:
    ds = FinQA()
    query = ds.load(FIXTURE)[0]
    content = ds.build_messages(query)[0]["content"]
    assert "| net revenue | $ 1250 | $ 1000 |" in content
    assert content.index("summarized below") < content.index("| net revenue") < content.index(
        "driven by new contracts")
    assert query.ground_truth == "0.25"  # no answer text in this record: exe_ans
    assert "please answer the following question: what was the percentage" in content
    assert "Here is the table:\n| " in content


def test_flattened_hub_layout(tmp_path: Path) -> None:
    path = tmp_path / "finqa.jsonl"
    path.write_text(json.dumps({
        "id": "X-1", "question": "what is 2+2?", "answer": "4", "pre_text": ["p"],
        "post_text": [], "table": [["a", "b"], ["1", "2"]],
    }) + "\n")
    ds = FinQA()
    (query,) = ds.load(path)
    assert (query.id, query.ground_truth) == ("X-1", "4")
    grade = ds.grade(query, Response(query_key=query.key, model="m", raw_output="so it is 4.0"))
    assert grade.score == 1.0  # last-number fallback for unboxed answers


def test_missing_table_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "finqa.jsonl"
    path.write_text(json.dumps({"id": "X", "question": "q", "answer": "1"}) + "\n")
    with pytest.raises(DatasetError, match="needs a question, an answer"):
        FinQA().load(path)


def test_reference_is_the_answer_text_and_seed_rule_is_selectable(tmp_path: Path) -> None:
    """The seed grades against ``answer`` and accepts equal integer roundings (0.4 for 0.3)."""
    import json

    record = {"id": "x-1", "question": "what share?", "answer": "0.3", "exe_ans": 0.2999,
              "pre_text": ["a ."], "post_text": ["b ."], "table": [["k", "v"], ["x", "1"]]}
    path = tmp_path / "test.json"
    path.write_text(json.dumps(record) + "\n")
    (query,) = FinQA().load(path)
    assert query.ground_truth == "0.3"
    rbench, seed = FinQA(), FinQA(grader="seed")

    def score(ds: FinQA, text: str) -> float | None:
        return ds.grade(query, Response(query_key=query.key, model="m", raw_output=text)).score

    assert score(rbench, "\\boxed{0.3}") == 1.0 and score(seed, "\\boxed{0.3}") == 1.0
    assert score(rbench, "\\boxed{0.4}") == 0.0
    assert score(seed, "\\boxed{0.4}") == 1.0  # the seed's integer rounding: a false positive
    assert seed.grader_name == "finqa:seed"


def test_hub_reads_the_parquet_conversion(monkeypatch) -> None:
    """`main` of ibm-research/finqa is a loading script current `datasets` refuses; the plugin
    reads the hub's Parquet branch, which every allowed `datasets` version loads (a stand-in
    `datasets` module records the call: tests never touch the hub)."""
    import sys
    import types

    calls = []
    row = {"id": "h-1", "question": "q?", "answer": "1", "pre_text": [], "post_text": [],
           "table": [["a", "b"]]}

    def load_dataset(repo, config, split, revision):
        calls.append((repo, config, split, revision))
        return [row]

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=load_dataset))
    (query,) = FinQA().load()
    assert calls == [("ibm-research/finqa", None, "test", "refs/convert/parquet")]
    assert query.ground_truth == "1" and query.source_split == "test"
