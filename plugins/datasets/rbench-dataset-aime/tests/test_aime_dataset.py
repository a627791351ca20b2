"""AIME: loading both years' spellings, the boxed prompt, integer grading, the conformance kit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_aime.dataset import AIME

from routerbench_core import DatasetError, Response
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "aime.jsonl"


class TestAimeConformance(DatasetConformance):
    dataset_name = "aime"
    fixture = FIXTURE
    good_answers = {
        "2024-1": "n must be 2 or 3 mod 5, so there are $\\boxed{40}$ such integers.",
        "2024-2": "The divisor sum is 1170, remainder \\boxed{170}.",
        "2025-3": "P = (6/10)(5/9) = 1/3, so m + n = 4.\n\nAnswer: 4",
    }
    bad_answers = {
        "2024-1": "Only n = 2 mod 5 works: \\boxed{20}",
        "2024-2": "\\boxed{1170}",
        "2025-3": "P = 1/3 hence \\boxed{\\frac{1}{3}}",
    }


def test_ids_carry_the_year_and_answers_are_normalised(tmp_path: Path) -> None:
    queries = AIME().load(FIXTURE)
    assert [q.id for q in queries] == ["2024-1", "2024-2", "2025-3"]
    pascal = tmp_path / "aime_2024.jsonl"
    pascal.write_text(json.dumps({"ID": "2024-II-4", "Problem": "p", "Answer": "007"}) + "\n")
    (query,) = AIME().load(pascal)
    assert (query.id, query.ground_truth) == ("2024-II-4", "7")


def test_prompt_asks_for_a_boxed_answer() -> None:
    query = AIME().load(FIXTURE)[0]
    (message,) = AIME().build_messages(query)
    assert f"\n\n{query.text}\n\n" in message["content"]  # the seed's prompt around it
    assert "\\boxed{}" in message["content"]


def test_grading_reads_the_last_box_and_ignores_reasoning() -> None:
    ds = AIME()
    query = ds.load(FIXTURE)[0]
    grade = ds.grade(query, Response(
        query_key=query.key, model="m",
        raw_output="<think>maybe \\boxed{40}?</think> Recount: \\boxed{20} no... final \\boxed{040}",
    ))
    assert (grade.score, grade.prediction) == (1.0, "040")
    wrong_think = ds.grade(query, Response(
        query_key=query.key, model="m", raw_output="<think>\\boxed{40}</think>I give up."))
    assert wrong_think.score == 0.0 and wrong_think.details["reason"] == "no answer found"


def test_bad_answer_field_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": 9, "problem": "p", "answer": "1.5"}) + "\n")
    with pytest.raises(DatasetError, match="not 0-999"):
        AIME().load(path)
