"""LiveMathBench: content ids, symbolic and multiple-choice items, the conformance kit."""

from __future__ import annotations

from pathlib import Path

from rbench_dataset_livemathbench.dataset import LiveMathBench

from routerbench_core import content_id
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "livemathbench.jsonl"
QUESTIONS = [q.text for q in LiveMathBench().load(FIXTURE)]
ODD, CUBIC, ROOTS, PRIME = (content_id(q) for q in QUESTIONS)


class TestLiveMathBenchConformance(DatasetConformance):
    dataset_name = "livemathbench"
    fixture = FIXTURE
    good_answers = {
        ODD: "n^2 = 169 gives \\boxed{13}",
        CUBIC: "f(-1) = 2 and f(2) = 2, so the maximum is \\boxed{2}.",
        ROOTS: "$\\boxed{x = \\pm \\sqrt{2}}$",
        PRIME: "29 has no divisors. Answer: C",
    }
    bad_answers = {
        ODD: "\\boxed{12}",
        CUBIC: "\\boxed{-2}",
        ROOTS: "\\boxed{\\sqrt{2}}",
        PRIME: "Answer: (A)",
    }


def test_ids_are_content_hashes_independent_of_order(tmp_path: Path) -> None:
    lines = FIXTURE.read_text().splitlines()
    reversed_file = tmp_path / "rev.jsonl"
    reversed_file.write_text("\n".join(reversed(lines)))
    forward = {q.id: q.text for q in LiveMathBench().load(FIXTURE)}
    backward = {q.id: q.text for q in LiveMathBench().load(reversed_file)}
    assert forward == backward


def test_subset_and_type_metadata() -> None:
    query = LiveMathBench().load(FIXTURE)[3]
    assert query.metadata == {"question_type": "Multiple-Choice", "subset": "v202412_AMC_en"}
