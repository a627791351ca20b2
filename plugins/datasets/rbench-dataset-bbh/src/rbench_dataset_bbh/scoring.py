"""BBH answer formats: each of the 27 tasks answers in one of five shapes.

===============  ==========================================  =================================
format           tasks (examples)                             how an answer is compared
===============  ==========================================  =================================
``choice``       date_understanding, logical_deduction_*,     the option letter: ``(B)``, ``B``,
                 tracking_shuffled_objects_*, snarks, ...     ``B)`` and ``(B) text`` all read B
``binary``       boolean_expressions (True/False),            the first word, case-insensitive
                 causal_judgement / navigate / web_of_lies
                 / sports_understanding (Yes/No),
                 formal_fallacies (valid/invalid)
``number``       multistep_arithmetic_two, object_counting    numeric equality
``sequence``     dyck_languages                               brackets with all spaces removed
``words``        word_sorting                                 the word sequence (case, commas
                                                              and spacing ignored)
===============  ==========================================  =================================

The format is read from the task name when known, else inferred from the reference answer, so
an item of a task this table does not list still grades sensibly.
"""

from __future__ import annotations

import re
from typing import Literal

from routerbench_core import (
    answer_line,
    last_boxed,
    last_number,
    numeric_equal,
    parse_number,
    strip_reasoning,
)

Format = Literal["choice", "binary", "number", "sequence", "words"]

TASK_FORMATS: dict[str, Format] = {
    "boolean_expressions": "binary", "causal_judgement": "binary", "navigate": "binary",
    "web_of_lies": "binary", "sports_understanding": "binary", "formal_fallacies": "binary",
    "multistep_arithmetic_two": "number", "object_counting": "number",
    "dyck_languages": "sequence", "word_sorting": "words",
    **{
        t: "choice"
        for t in (
            "date_understanding", "disambiguation_qa", "geometric_shapes", "hyperbaton",
            "logical_deduction_five_objects", "logical_deduction_seven_objects",
            "logical_deduction_three_objects", "movie_recommendation", "penguins_in_a_table",
            "reasoning_about_colored_objects", "ruin_names",
            "salient_translation_error_detection", "snarks", "temporal_sequences",
            "tracking_shuffled_objects_five_objects", "tracking_shuffled_objects_seven_objects",
            "tracking_shuffled_objects_three_objects",
        )
    },
}

BINARY_WORDS = {"true", "false", "yes", "no", "valid", "invalid"}
_CHOICE = re.compile(r"^\(?([A-R])\)?(?:$|[\s.:)])")


def answer_format(task: str | None, target: str) -> Format:
    """The answer shape of ``task`` (or, for an unknown task, of its reference answer)."""
    if task and task in TASK_FORMATS:
        return TASK_FORMATS[task]
    t = target.strip()
    if re.fullmatch(r"\([A-R]\)", t):
        return "choice"
    if t.lower() in BINARY_WORDS:
        return "binary"
    if parse_number(t) is not None and re.fullmatch(r"-?\d+(\.\d+)?", t):
        return "number"
    if t and set(t) <= set("()[]{}<> "):
        return "sequence"
    return "words"


def extract_answer(text: str, fmt: Format) -> str | None:
    """The final answer as written: the last "Answer:"/"the answer is" value, else the last
    ``\\boxed{}``, else (numbers only) the last number."""
    visible = strip_reasoning(text)
    found = answer_line(visible) or last_boxed(visible)
    if found is None and fmt == "number":
        found = last_number(visible)
    return found.strip() if found else None


def normalise(answer: str, fmt: Format) -> str | None:
    """The comparable form of an answer in ``fmt`` (None when it is not of that shape)."""
    a = answer.strip().strip("*`").strip()
    if fmt == "choice":
        m = _CHOICE.match(a)
        if m is None:
            m = re.search(r"\(([A-R])\)", a)
        return m.group(1) if m else None
    if fmt == "binary":
        m = re.match(r"[A-Za-z]+", a)
        word = m.group(0).lower() if m else ""
        return word if word in BINARY_WORDS else None
    if fmt == "number":
        value = parse_number(a)
        if value is None:  # "6 fruits", "a total of 6"
            value = parse_number(last_number(a))
        return None if value is None else repr(float(value))
    if fmt == "sequence":
        return re.sub(r"\s+", "", a) or None
    words = re.findall(r"[A-Za-z0-9'\-]+", a.lower())
    return " ".join(words) or None


def score_answer(predicted: str | None, target: str, fmt: Format) -> float:
    if predicted is None:
        return 0.0
    pred, gold = normalise(predicted, fmt), normalise(target, fmt)
    if pred is None or gold is None:
        return 0.0
    if fmt == "number":
        return 1.0 if numeric_equal(float(pred), float(gold)) else 0.0
    return 1.0 if pred == gold else 0.0
