"""Multiple-choice letters: formatting and extraction from the forms models really write."""

from __future__ import annotations

import pytest

from routerbench_core.scoring.choice import (
    choice_letters,
    extract_choice,
    format_choices,
    read_choice,
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
        ("I pick **B**", 4, None),  # bold in prose is not a statement of the answer
        ("**B**", 4, "B"),
        ("Answer: $B$", 4, "B"),
        ("Answer: $\\text{D}$", 4, "D"),
        ("Answer: [B]", 4, "B"),
        ("Answer: **B**", 4, "B"),
        ("Answer: \\textbf{C}", 4, "C"),
        ("Answer：Ｂ", 4, "B"),  # full-width colon and letter
        ("Answer: （Ｃ）", 4, "C"),
        ("Answer: A, C", 4, None),  # two different letters: ambiguous
        ("Answer: A or C", 4, None),
        ("Answer: (A)/(B)", 4, None),
        ("\\boxed{A, C}", 4, None),
        ("Answer: A and A", 4, "A"),  # the same letter twice is one answer
        ("Answer: B. A is wrong because", 4, "B"),
        ("(A) is tempting but (B) is right", 4, None),  # prose: no letter fished out
        ("The answer could involve (C) somehow", 4, None),
        ("Answer: Because the", 4, None),  # a word starting with a letter is no letter
        ("Answer: I think it is B", 10, None),
        ("Answer: C\nOn reflection, Answer: D", 4, "D"),
        ("D (eyeglasses)", 4, "D"),  # the option restated after its letter
        ("D (", 4, "D"),  # ... cut off (a real RouterBench ARC answer)
        ("A questioning mind", 4, None),  # the question echoed, not an answer
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


def test_ambiguous_answers_are_recorded_as_such() -> None:
    reading = read_choice("Answer: A, C", 4)
    assert reading.letter is None and reading.status == "ambiguous"
    assert reading.letters == ("A", "C") and "ambiguous" in reading.reason
    assert read_choice("no idea", 4).status == "none"
    assert read_choice("Answer: B", 4).status == "answered"


def test_score_choice() -> None:
    assert score_choice("b", "B") == 1.0
    assert score_choice("C", "B") == 0.0
    assert score_choice(None, "B") == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Reasoning...\nAnswer: B", "B"),
        ("Answer: Because it fails", "B"),  # the seed's false positive, kept for grader=seed
        ("Answer: A, C", "A"),
        ("B", "B"),
        ("B.", "B."),  # short answers are taken whole, so "B." is not "B" there
        ("answer: D", "answer: D"),
        ("Answer: $\\text{D}$ and more text", ""),
        ("The answer is \\boxed{C} indeed.", "C"),
        ("Final Answer\n\nD is my choice", "D"),
        ("", ""),
    ],
)
def test_seed_choice_reads_as_the_seed(text: str, expected: str) -> None:
    from routerbench_core.scoring.choice import seed_choice

    assert seed_choice(text, "ABCD") == expected
