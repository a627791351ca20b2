"""Multiple-choice answers: formatting options as lettered lines and reading the chosen letter.

Prompts ask for "Answer: X". Models mostly comply but also write ``(B)``, ``**B**``,
``\\boxed{B}``, "the answer is B" or ``B) text``. The extractor tries the explicit forms first,
from the end of the text, and only then a standalone letter on the last line, so an article
"A" inside a sentence is not taken for a choice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from routerbench_core.scoring.extract import last_boxed, strip_reasoning

__all__ = ["LETTERS", "choice_letters", "extract_choice", "format_choices", "score_choice"]

LETTERS = "ABCDEFGHIJ"


def choice_letters(n: int) -> str:
    """The first ``n`` option letters (A–J)."""
    if not 1 <= n <= len(LETTERS):
        raise ValueError(f"a multiple-choice item needs 1 to {len(LETTERS)} options, got {n}")
    return LETTERS[:n]


def format_choices(options: Sequence[str], *, style: str = "{letter}. {text}") -> str:
    """Options as lines ``A. first`` / ``B. second`` ... (at most ten)."""
    letters = choice_letters(len(options))
    return "\n".join(
        style.format(letter=letter, text=str(text).strip())
        for letter, text in zip(letters, options, strict=True)
    )


def _patterns(letters: str) -> list[re.Pattern[str]]:
    up = f"[{letters}]"
    # keywords match in any case; the letter itself must be upper case (or parenthesised), so
    # "the answer is a prime" does not read as option A
    return [
        # Answer: B / Answer: (B) / **Answer:** B / Final answer - B / Answer: (b)
        re.compile(
            rf"(?i:(?:final\s+)?answer)\s*(?:\*\*|__)?\s*(?i:is)?\s*[:：\-]?\s*(?:\*\*|__)?\s*"
            rf"(?i:option|choice)?\s*(?:({up})|\(({up.lower()}|{up})\))\s*[)\].]?(?![A-Za-z])"
        ),
        # "the answer is (B)" / "correct option is B"
        re.compile(
            rf"(?i:answer|option|choice)\s+(?i:is|would\s+be|should\s+be)\s*[:：]?\s*"
            rf"(?:\*\*)?\s*[(\[]?({up})[)\]]?(?![A-Za-z])"
        ),
        # **B** or **(B)** or **B.**
        re.compile(rf"\*\*\s*[(\[]?({up})[)\].:]?\s*\*\*"),
        # (B) anywhere
        re.compile(rf"\(({up})\)"),
    ]


def extract_choice(text: str | None, n_choices: int = 10) -> str | None:
    """The letter the model chose (upper case), or None when no choice can be read.

    :param n_choices: how many options the item has; letters beyond them are ignored.
    """
    if not text:
        return None
    letters = choice_letters(n_choices)
    visible = strip_reasoning(text)
    boxed = last_boxed(visible)
    if boxed is not None:
        inner = re.sub(r"\\text\{([^{}]*)\}|\\textbf\{([^{}]*)\}", r"\1\2", boxed).strip()
        m = re.fullmatch(rf"\(?([{letters}])\)?(?:[.:)]\s*.*)?", inner, re.DOTALL)
        if m:
            return m.group(1)
    for pattern in _patterns(letters):
        found = list(pattern.finditer(visible))
        if found:
            last = found[-1]
            return next(g for g in last.groups() if g).upper()
    # last resort: the last non-empty line is just a letter ("B", "B.", "B) text")
    lines = [line.strip() for line in visible.splitlines() if line.strip()]
    if lines:
        m = re.match(rf"^[(\[]?([{letters}])(?:[)\].:]|\s*$)", lines[-1])
        if m:
            return m.group(1)
    return None


def score_choice(prediction: str | None, gold: str) -> float:
    """1.0 when the extracted letter equals the reference letter (case-insensitive), else 0.0."""
    if prediction is None:
        return 0.0
    return 1.0 if prediction.strip().upper() == str(gold).strip().upper() else 0.0
