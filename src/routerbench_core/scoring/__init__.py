"""Stage 2, grade: the dataset interface and its families (``datasets``), the grader that scores
stored answers (``grading``), the LLM judge (``judge``), and the scorers shared by the dataset
plugins: extraction, math equivalence, choices, code, sandbox.

Every dataset plugin composes these instead of re-implementing them, so a fix here fixes every
benchmark at once (and must bump the affected plugins' ``grader_version``). Only the standard
library is imported at module level; sympy and math-verify are imported when first needed.

The scorer submodules:

- :mod:`~routerbench_core.scoring.extract` – final-answer extraction (``\\boxed{}``, "Answer:",
  last number, reasoning-block stripping)
- :mod:`~routerbench_core.scoring.math` – equivalence of math answers (numeric, fractions,
  percentages, LaTeX, symbolic)
- :mod:`~routerbench_core.scoring.choice` – multiple-choice letters A–J
- :mod:`~routerbench_core.scoring.code` – code extraction from model output and sanitising
- :mod:`~routerbench_core.scoring.sandbox` – running untrusted code isolated by the kernel
  (bubblewrap fork servers)
- :mod:`~routerbench_core.scoring.verdicts` – pass/fail decided in the grader from plain data
- :mod:`~routerbench_core.scoring.bounded` – hard time limits for scorers that may not return
"""

from routerbench_core.scoring.choice import extract_choice, format_choices, score_choice
from routerbench_core.scoring.code import extract_code, sanitize_code
from routerbench_core.scoring.extract import (
    answer_line,
    extract_final_answer,
    last_boxed,
    last_number,
    strip_reasoning,
)
from routerbench_core.scoring.math import math_equal, numeric_equal, parse_number

__all__ = [
    "answer_line",
    "extract_choice",
    "extract_code",
    "extract_final_answer",
    "format_choices",
    "last_boxed",
    "last_number",
    "math_equal",
    "numeric_equal",
    "parse_number",
    "sanitize_code",
    "score_choice",
    "strip_reasoning",
]
