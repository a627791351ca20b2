"""MathBench: lettered options, "Answer: X" grading, release-archive loading, conformance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rbench_dataset_mathbench.dataset import MathBench

from routerbench_core import DatasetError
from routerbench_core.testing.datasets import DatasetConformance

FIXTURE = Path(__file__).parent / "fixtures" / "mathbench.jsonl"
DERIV, RECT, ABS = "f47d9fef4cd7", "43aaac67cf2f", "4a2053c76ed7"


class TestMathBenchConformance(DatasetConformance):
    dataset_name = "mathbench"
    fixture = FIXTURE
    expects_hub = False  # distributed as a GitHub release archive
    good_answers = {
        DERIV: "f'(x) = 3x^2 so f'(2) = 12.\nAnswer: C",
        RECT: "Width is 4, area 24. **Answer:** (A)",
        ABS: "-2 < x - 1 < 2 gives -1 < x < 3, option A.\n\nAnswer: A",
    }
    bad_answers = {
        DERIV: "Answer: B",
        RECT: "The area is 36.\nAnswer: B",
        ABS: "I think it is (C).",
    }


def test_prompt_lists_lettered_options() -> None:
    ds = MathBench()
    query = ds.load(FIXTURE)[0]
    content = ds.build_messages(query)[0]["content"]
    assert "A. 6\nB. 8\nC. 12\nD. 4" in content
    assert "one of ABCD" in content and query.metadata["stage"] == "college"


def test_no_file_points_at_the_release() -> None:
    with pytest.raises(DatasetError, match="mathbench_v1.zip"):
        MathBench().load(None)


def test_answer_outside_the_options_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mb.jsonl"
    path.write_text(json.dumps({"question": "q", "options": ["1", "2"], "answer": "C"}) + "\n")
    with pytest.raises(DatasetError, match="not one of the option letters AB"):
        MathBench().load(path)
