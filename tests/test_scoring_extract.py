"""Answer extraction: boxed (nested), "Answer:" lines, last number, reasoning stripping."""

from __future__ import annotations

import pytest

from routerbench_core.scoring.extract import (
    answer_line,
    extract_final_answer,
    last_boxed,
    last_number,
    strip_reasoning,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so the result is \boxed{42}.", "42"),
        (r"\boxed{\frac{1}{2}}", r"\frac{1}{2}"),
        (r"first \boxed{1} then \boxed{\sqrt{x^{2}+1}}", r"\sqrt{x^{2}+1}"),
        (r"\boxed{\{1, 2\}}", r"\{1, 2\}"),
        (r"\fbox{7}", "7"),
        (r"\boxed 5 is it", "5"),
        (r"$\boxed{\text{(B)}}$", r"\text{(B)}"),
        (r"\boxed{unclosed \frac{1}{2}", None),
        ("no box here", None),
        ("", None),
    ],
)
def test_last_boxed(text: str, expected: str | None) -> None:
    assert last_boxed(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Reasoning...\nAnswer: 17", "17"),
        ("**Answer:** (C)", "(C)"),
        ("Final Answer: $\\frac{3}{4}$.", "\\frac{3}{4}"),
        ("answer: 3\nlater... Answer: 5", "5"),
        ("The answer is 12.", "12"),
        ("Answer: \\boxed{9}", "9"),
        ("nothing to see", None),
    ],
)
def test_answer_line(text: str, expected: str | None) -> None:
    assert answer_line(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("we get 3 apples and then 1,234.5 pears", "1234.5"),
        ("x = -7", "-7"),
        ("ratio 3/4", "3/4"),
        ("growth of 12.5%", "12.5%"),
        ("tiny .25 left", ".25"),
        ("avogadro 6.02e23", "6.02e23"),
        ("version v2 only", None),
        ("no digits", None),
    ],
)
def test_last_number(text: str, expected: str | None) -> None:
    assert last_number(text) == expected


def test_strip_reasoning_removes_think_blocks_and_dangling_prefix() -> None:
    assert strip_reasoning("<think>maybe \\boxed{1}</think>So \\boxed{2}") == "So \\boxed{2}"
    assert strip_reasoning("musing \\boxed{1}</think>\nAnswer: 3") == "Answer: 3"
    assert strip_reasoning("plain") == "plain"
    assert strip_reasoning("<think>so \\boxed{3} maybe, wait") == ""  # cut off mid-thought
    assert strip_reasoning("Answer: 2 <think>double-check") == "Answer: 2"


def test_extract_final_answer_order_and_reasoning() -> None:
    text = "<think>Answer: 1</think>We try 4 and 5. Answer: 6\nso \\boxed{7}"
    assert extract_final_answer(text) == ("7", "boxed")
    assert extract_final_answer(text, methods=("answer",)) == ("6", "answer")
    assert extract_final_answer("it is 3 or 8") == ("8", "number")
    assert extract_final_answer("it is 3 or 8", methods=("boxed", "answer")) == (None, None)
    assert extract_final_answer(None) == (None, None)
    with pytest.raises(ValueError, match="unknown extraction method"):
        extract_final_answer("x", methods=("nope",))
