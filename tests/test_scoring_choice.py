"""Multiple-choice letters: formatting and extraction from the forms models really write."""

from __future__ import annotations

import pytest

from routerbench_core.scoring.choice import (
    choice_letters,
    extract_choice,
    format_choices,
    score_choice,
)


def test_format_choices_and_letters() -> None:
    assert format_choices(["red", " blue "]) == "A. red\nB. blue"
    assert format_choices(["x"], style="({letter}) {text}") == "(A) x"
    assert choice_letters(10) == "ABCDEFGHIJ"
    with pytest.raises(ValueError, match="1 to 10 options"):
        choice_letters(11)
    with pytest.raises(ValueError):
        format_choices([])


@pytest.mark.parametrize(
    ("text", "n", "expected"),
    [
        ("Let me think.\nAnswer: B", 4, "B"),
        ("Answer: (C)", 4, "C"),
        ("**Answer:** D", 4, "D"),
        ("answer: (b)", 4, "B"),
        ("Thus the answer is (A).", 4, "A"),
        ("The correct option is C because ...", 4, "C"),
        ("I pick **B**", 4, "B"),
        ("So \\boxed{D}", 4, "D"),
        ("So $\\boxed{\\text{(B)}}$", 4, "B"),
        ("Options (A) and (C) look close; answer: C", 4, "C"),
        ("blah\nB", 4, "B"),
        ("blah\nC) the third", 4, "C"),
        ("Answer: J", 10, "J"),
        ("Answer: J", 4, None),  # only A-D exist
        ("<think>Answer: A</think>Answer: B", 4, "B"),
        ("The answer is a prime number", 4, None),
        ("A cat sat on the mat", 4, None),
        ("Answer: Among these, none", 4, None),
        ("", 4, None),
    ],
)
def test_extract_choice(text: str, n: int, expected: str | None) -> None:
    assert extract_choice(text, n) == expected


def test_score_choice() -> None:
    assert score_choice("b", "B") == 1.0
    assert score_choice("C", "B") == 0.0
    assert score_choice(None, "B") == 0.0
