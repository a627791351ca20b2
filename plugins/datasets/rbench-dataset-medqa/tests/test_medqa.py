"""MedQA: loader (options dict), prompt, letter extraction and scoring."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_medqa.dataset import MedQA

from routerbench_core import DatasetError, Response

FIXTURE = Path(__file__).parent / "fixtures" / "medqa_test.jsonl"


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_load_prompt_and_grade():
    ds = MedQA()
    q0, q1 = ds.load(FIXTURE)
    assert (q0.ground_truth, q1.ground_truth) == ("B", "C")
    content = ds.build_messages(q0)[0]["content"]
    assert "B. Acute pyelonephritis" in content and "one of ABCD" in content
    assert ds.grade(q0, reply(q0, "White cell casts mean kidney involvement.\nAnswer: B")).score == 1.0
    assert ds.grade(q1, reply(q1, "Scurvy is vitamin C deficiency, so the answer is C.")).score == 1.0
    assert ds.grade(q0, reply(q0, "Answer: A")).score == 0.0
    assert ds.grade(q1, reply(q1, "Vitamin C")).prediction is None


def test_inconsistent_record_is_rejected(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "answer": "x", "answer_idx": "A",
                               "options": {"A": "y", "B": "x"}}) + "\n")
    with pytest.raises(DatasetError, match="inconsistent"):
        MedQA().load(bad)


from routerbench_core.testing.datasets import DatasetConformance  # noqa: E402


class TestMedQAConformance(DatasetConformance):
    dataset_name = "medqa"
    fixture = FIXTURE
    good_answers = {"0": "Answer: B", "1": "Answer: C"}
    bad_answers = {"0": "Answer: C", "1": "Answer: B"}
