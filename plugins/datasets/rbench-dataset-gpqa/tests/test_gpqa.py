"""GPQA-diamond: CSV loader, seeded option shuffle, letter extraction and scoring."""

from __future__ import annotations

from pathlib import Path

import pytest
from rbench_dataset_gpqa.dataset import GPQA, shuffled_options

from routerbench_core import DatasetError, Response

FIXTURE = Path(__file__).parent / "fixtures" / "gpqa_diamond.csv"


def reply(q, text):
    return Response(query_key=q.key, model="m", raw_output=text)


def test_load_shuffle_is_seeded_per_record():
    qs = GPQA().load(FIXTURE)
    assert [q.id for q in qs] == ["recFixture0001", "recFixture0002"]
    again = GPQA().load(FIXTURE)
    assert [q.metadata["options"] for q in qs] == [q.metadata["options"] for q in again]
    for q in qs:  # the gold letter points at the correct answer
        correct = {"recFixture0001": "1/2", "recFixture0002": "3"}[q.id]
        assert q.metadata["options"]["ABCD".index(q.ground_truth)] == correct
    # order does not depend on the other records loaded
    assert shuffled_options("x", ["a", "b", "c"], "0:rec1") == shuffled_options("x", ["a", "b", "c"], "0:rec1")
    orders = {tuple(shuffled_options("x", ["a", "b", "c"], f"{s}:rec1")[0]) for s in range(20)}
    assert len(orders) > 1  # the seed really changes the order
    golds = {shuffled_options("x", ["a", "b", "c"], f"0:rec{i}")[1] for i in range(40)}
    assert golds == set("ABCD")  # the correct answer is not always in one position


def test_prompt_and_grading():
    ds = GPQA()
    q = ds.load(FIXTURE)[0]
    content = ds.build_messages(q)[0]["content"]
    assert q.text in content and "\nA) " in content and "one of ABCD" in content
    assert ds.grade(q, reply(q, f"|1/sqrt2|^2.\nAnswer: {q.ground_truth}")).score == 1.0
    wrong = next(letter for letter in "ABCD" if letter != q.ground_truth)
    assert ds.grade(q, reply(q, f"Answer: {wrong}")).score == 0.0
    assert ds.grade(q, reply(q, "no idea")).prediction is None


def test_missing_column_is_clear(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Question,Correct Answer\nq,a\n")
    with pytest.raises(DatasetError, match="Incorrect Answer 1"):
        GPQA().load(bad)


from routerbench_core.testing.datasets import DatasetConformance  # noqa: E402

# Letters depend on the seeded shuffle: derive them from the correct answer's text.
_GOLD = {q.id: q.ground_truth for q in GPQA().load(FIXTURE)}


class TestGPQAConformance(DatasetConformance):
    dataset_name = "gpqa"
    fixture = FIXTURE
    good_answers = {qid: f"Working...\nAnswer: {letter}" for qid, letter in _GOLD.items()}
    bad_answers = {qid: f"Answer: {'A' if letter != 'A' else 'B'}" for qid, letter in _GOLD.items()}


def test_seed_file_keeps_its_option_order(tmp_path):
    """The seed's gpqa_diamond.json: JSONL named .json, options already ordered, no shuffle."""
    import json

    path = tmp_path / "gpqa_diamond.json"
    records = [{"question": "Which is heavier?", "options": {"A": "lead", "B": "air", "C": "foam",
                                                           "D": "down"},
                "answer": "A", "High-level domain": "Physics", "Record ID": "recSeed1"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    (q,) = GPQA(seed=3).load(path)
    assert q.metadata["options"] == ["lead", "air", "foam", "down"] and q.ground_truth == "A"
    assert "A) lead\nB) air" in GPQA().build_messages(q)[0]["content"]
