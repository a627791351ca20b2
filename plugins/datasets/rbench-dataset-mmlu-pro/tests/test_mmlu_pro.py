"""MMLU-Pro: loader, 10-option prompt, letter extraction, scoring and subset sampling."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_mmlu_pro.dataset import MMLUPro

from routerbench_core import DatasetError, Response

FIXTURE = Path(__file__).parent / "fixtures" / "mmlu_pro_test.jsonl"


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_load_and_prompt():
    ds = MMLUPro()
    qs = ds.load(FIXTURE)
    assert [q.id for q in qs] == ["70", "11200", "11201"]
    assert qs[0].ground_truth == "I" and len(qs[0].metadata["options"]) == 9
    content = ds.build_messages(qs[0])[0]["content"]
    assert "I. Unsafe practices, Distress, Fear, Serious" in content
    assert "one of ABCDEFGHI" in content and "business" in content
    assert "Answer: $LETTER" in content


def test_known_good_and_bad_answers():
    ds = MMLUPro()
    q0, q1, q2 = ds.load(FIXTURE)
    assert ds.grade(q0, reply(q0, "Adverts must not encourage unsafe practices...\nAnswer: I")).score == 1.0
    assert ds.grade(q1, reply(q1, "7*8 = 56, minus 6 is 50. The answer is (B).")).score == 1.0
    assert ds.grade(q2, reply(q2, "Nitrogen is 78%.\n\n**Answer: D**")).score == 1.0
    wrong = ds.grade(q1, reply(q1, "Answer: D"))
    assert wrong.score == 0.0 and wrong.prediction == "D"
    none = ds.grade(q1, reply(q1, "It is fifty."))
    assert none.score == 0.0 and none.prediction is None
    # a letter beyond this item's options is not a choice
    assert ds.grade(q2, reply(q2, "Answer: J")).prediction is None


def test_subset_is_seeded_and_stable(tmp_path):
    big = tmp_path / "big.jsonl"
    with big.open("w") as f:
        for i in range(50):
            f.write(json.dumps({"question_id": i, "question": f"q{i}", "options": ["a", "b"],
                                "answer": "A", "category": "x"}) + "\n")
    a = [q.id for q in MMLUPro(subset_size=10).load(big)]
    b = [q.id for q in MMLUPro(subset_size=10).load(big)]
    c = [q.id for q in MMLUPro(subset_size=10, seed=7).load(big)]
    assert a == b and len(a) == 10 and a != c
    assert a == sorted(a, key=int)  # source order kept
    assert len(MMLUPro(subset_size=0).load(big)) == 50
    assert len(MMLUPro(setting="perf-cost").load(big)) == 50  # fewer than 3000: all
    ids = tmp_path / "ids.txt"
    ids.write_text("3\n5\n")
    assert [q.id for q in MMLUPro(ids_file=str(ids)).load(big)] == ["3", "5"]
    ids.write_text("999\n")
    with pytest.raises(DatasetError, match="not in the data"):
        MMLUPro(ids_file=str(ids)).load(big)


def test_bad_answer_letter(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"question": "q", "options": ["a", "b"], "answer": "C"}) + "\n")
    with pytest.raises(DatasetError, match="not one of the option letters"):
        MMLUPro().load(bad)


from routerbench_core.testing.datasets import DatasetConformance  # noqa: E402


class TestMMLUProConformance(DatasetConformance):
    dataset_name = "mmlu-pro"
    fixture = FIXTURE
    good_answers = {"70": "Answer: I", "11200": "56 - 6 = 50.\nAnswer: B", "11201": "Answer: D"}
    bad_answers = {"70": "Answer: A", "11200": "Answer: D", "11201": "Answer: A"}
