"""MATH-500: symbolic answers (radicals, fractions, intervals, tuples) and the conformance kit."""

from __future__ import annotations

from pathlib import Path

from rbench_dataset_math500.dataset import MATH500

from routerbench_core import Response
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "math500.jsonl"
ALGEBRA, PROB, INTERVAL, POLAR = (
    "test/algebra/9001.json", "test/counting_and_probability/9002.json",
    "test/algebra/9003.json", "test/precalculus/9004.json",
)


class TestMath500Conformance(DatasetConformance):
    dataset_name = "math500"
    fixture = FIXTURE
    good_answers = {
        ALGEBRA: "4\\sqrt3 - 2\\sqrt3 = \\boxed{\\sqrt{12}}",
        PROB: "Three of six faces are prime: \\boxed{0.5}",
        INTERVAL: "Between the roots: $\\boxed{(2, 3)}$.",
        POLAR: "So the point is $\\boxed{(3, \\tfrac{\\pi}{2})}$",
    }
    bad_answers = {
        ALGEBRA: "\\boxed{2\\sqrt{2}}",
        PROB: "\\boxed{\\frac{1}{3}}",
        INTERVAL: "\\boxed{[2,3]}",
        POLAR: "\\boxed{(3, \\pi)}",
    }


def test_metadata_and_prompt() -> None:
    ds = MATH500()
    query = ds.load(FIXTURE)[1]
    assert query.metadata == {"subject": "Counting & Probability", "level": 1}
    content = ds.build_messages(query)[0]["content"]
    assert "\n\nWhat is the probability" in content and "\\boxed{}" in content
    assert "\\frac{1}{2}" not in content


def test_answer_line_fallback_and_no_last_number_fallback() -> None:
    ds = MATH500()
    query = ds.load(FIXTURE)[1]

    def grade(text: str) -> float | None:
        return ds.grade(query, Response(query_key=query.key, model="m", raw_output=text)).score

    assert grade("Final Answer: $\\frac{1}{2}$") == 1.0
    assert grade("the chance is one half, i.e. 1/2") == 0.0  # neither boxed nor an Answer line
