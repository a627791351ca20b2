"""The math grading of LLMRouterBench's evaluation (``grader: seed`` on AIME, MATH500,
LiveMathBench), re-implemented to re-derive the seed's published grades.

rbench's default math scorer (:func:`routerbench_core.scoring.math.math_equal`) is stricter; this
module reproduces the seed's verdicts, its lenient and its harsh ones alike, as read from its
``evaluation/deepscaler_rm.py`` (the Hendrycks MATH answer normaliser plus a sympy check, in the
DeepScaleR form) and the AIME/MATH500/LiveMathBench evaluators:

* **Extraction.** When the output says "Final Answer" and has no ``\\boxed``, the last
  ``Answer: X`` line (else the line after "Final Answer" and a blank line) is the answer;
  otherwise the content of the last ``\\boxed{...}`` (balanced braces; a ``\\fbox`` or a box
  never closed gives nothing). AIME and LiveMathBench then fall back to the last integer of the
  text; MATH500 does not. Reasoning (``<think>``) is not removed.
* **Verdict.** Equal when either test passes: (1) the two strings are equal after the MATH
  normaliser (``\\text{}`` unwrapped, ``\\left``/``\\right``, degrees, ``\\$``, ``\\%`` and units
  after ``\\text{ `` dropped, ``tfrac``/``dfrac`` → ``frac``, ``\\frac12`` → ``\\frac{1}{2}``,
  ``\\sqrt2`` → ``\\sqrt{2}``, ``0.5`` → ``\\frac{1}{2}``, ``a/b`` → ``\\frac{a}{b}``, a short
  ``x =`` dropped, spaces removed); (2) after a second normaliser (units and words like
  "million" rewritten, LaTeX turned into text by ``pylatexenc``, lower case, a float that is an
  integer written as that integer *through a float*, so 20-digit integers that differ in the
  last digits are equal), the tuples have the same brackets and length and each element pair
  is equal: two fractions only if written identically (``2/6`` ≠ ``1/3``), an integer never
  against a non-integer, otherwise when sympy simplifies their difference to 0 (refused for
  expressions with more than two letters or with ``^{``, ``^(`` or multi-digit exponents).

The LaTeX-to-text step needs ``pylatexenc``, the library the seed itself uses (the ``seed``
extra installs it); rbench does not imitate it, so verdicts match where the seed's depend on
it. sympy runs in the same killable worker as rbench's own math comparison.
"""

from __future__ import annotations

import re

from routerbench_core.scoring.bounded import time_limited

_ANSWER_LINE = re.compile(r"(?i)Answer\s*:\s*([^\n]+)")
_FINAL_ANSWER_BLOCK = re.compile(r"(?i)Final Answer\s\n+\s*([^\n]+)")
_INTEGER = re.compile(r"\b\d+\b")
_TEXT_ONLY = re.compile(r"^\\text\{(?P<text>.+?)\}$")


class SeedMathUnavailable(RuntimeError):
    """``grader: seed`` for math needs pylatexenc; the message says how to install it."""


# -- extraction ---------------------------------------------------------------------------------


def last_boxed(text: str) -> str | None:
    """The content of the last ``\\boxed{...}``: braces balanced from the box on; None when
    the last box is a ``\\fbox``, has no brace right after it, or never closes."""
    start = text.rfind("\\boxed")
    if start < 0:
        start = text.rfind("\\fbox")
        if start < 0:
            return None
    depth = 0
    for pos in range(start, len(text)):
        ch = text[pos]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                whole = text[start:pos + 1]
                return whole[len("\\boxed{"):-1] if whole.startswith("\\boxed{") else None
    return None


def _answer_line(text: str) -> str:
    """The seed's "Answer:" reader, used only for outputs with "Final Answer" and no box."""
    found = _ANSWER_LINE.findall(text)
    if found:
        answer = found[-1].strip()
        if answer.lower().startswith("answer: "):
            answer = answer[len("answer:"):].strip()
        return answer
    block = _FINAL_ANSWER_BLOCK.search(text)
    return block.group(1).strip() if block else ""


def seed_math_extract(text: str, *, integer_fallback: bool) -> str:
    """The answer the seed reads from ``text`` ("" when none)."""
    if "Final Answer" in text and "\\boxed" not in text:
        answer: str | None = _answer_line(text)
    else:
        answer = last_boxed(text) if "\\boxed" in text else None
    if answer is None and integer_fallback:
        integers = _INTEGER.findall(text)
        answer = integers[-1] if integers else None
    return answer or ""


def seed_math_gold(answer: str) -> str | None:
    """The reference as the seed reads it: a boxed reference is unboxed."""
    return last_boxed(answer) if "\\boxed" in answer else answer


# -- test 1: the MATH normaliser, string equality -----------------------------------------------


class _Unparsed(Exception):
    """A step of the MATH normaliser could not read the string; it is compared as it was."""


def _braced_sqrt(s: str) -> str:
    head, *rest = s.split("\\sqrt")
    out = [head]
    for part in rest:
        if not part:
            raise _Unparsed
        out.append("\\sqrt" + (part if part[0] == "{" else "{" + part[0] + "}" + part[1:]))
    return "".join(out)


def _braced_frac(s: str) -> str:
    head, *rest = s.split("\\frac")
    out = [head]
    for part in rest:
        if not part:
            raise _Unparsed
        if part[0] == "{":
            out.append("\\frac" + part)
            continue
        if len(part) < 2:
            return s  # "\frac1": left as it was
        a, b, tail = part[0], part[1], part[2:]
        out.append("\\frac{" + a + "}" + (b + tail if b == "{" else "{" + b + "}" + tail))
    return "".join(out)


def _slash_as_frac(s: str) -> str:
    parts = s.split("/")
    if len(parts) != 2:
        return s
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return s
    return f"\\frac{{{a}}}{{{b}}}" if s == f"{a}/{b}" else s


def _mathd_steps(s: str) -> str:
    for old, new in (("\n", ""), ("\\!", ""), ("\\\\", "\\"), ("tfrac", "frac"),
                     ("dfrac", "frac"), ("\\left", ""), ("\\right", ""), ("^{\\circ}", ""),
                     ("^\\circ", ""), ("\\$", "")):
        s = s.replace(old, new)
    if "\\text{ " in s:  # units: what follows "\text{ " goes
        pieces = s.split("\\text{ ")
        if len(pieces) != 2:
            raise _Unparsed
        s = pieces[0]
    s = s.replace("\\%", "").replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    sides = s.split("=")
    if len(sides) == 2 and len(sides[0]) <= 2:
        s = sides[1]
    s = _braced_frac(_braced_sqrt(s).replace(" ", ""))
    if s == "0.5":
        s = "\\frac{1}{2}"
    return _slash_as_frac(s)


def mathd_form(answer: str) -> str:
    """``answer`` after the MATH normaliser (as it was, less ``\\text{}``, if a step fails)."""
    answer = answer.strip()
    only_text = _TEXT_ONLY.search(answer)
    if only_text is not None:
        answer = only_text.group("text").strip()
    try:
        return _mathd_steps(answer)
    except (_Unparsed, IndexError):
        return answer


# -- test 2: the sympy normaliser and element-wise check ----------------------------------------

_UNITS = ("degree", "cm", "centimeter", "meter", "mile", "second", "minute", "hour", "day",
          "week", "month", "year", "foot", "feet", "inch", "yard")
_UNIT_PATTERNS = [re.compile(unit + r"(es)?(s)? *(\^[0-9]+)?") for unit in _UNITS]
_GROUPED = re.compile(r"(\d)(,)(\d\d\d)($|\D)")
_LATEX_SYMBOLS = (("√", "sqrt"), ("π", "pi"), ("∞", "inf"), ("∪", "U"), ("·", "*"), ("×", "*"))
_BRACKETS = "()[]"
_FRACTION = re.compile(r"^-?[0-9]+.?/0*[1-9][0-9]*.?$")


def _float_or_none(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _near_integer(x: float) -> bool:
    try:
        return abs(x - int(round(x))) <= 1e-7
    except (OverflowError, ValueError):
        return False


def _ungrouped(text: str) -> str:
    """Thousands separators (``1,000``) removed, tuple commas kept."""
    while True:
        fewer = _GROUPED.sub(r"\1\3\4", text)
        if fewer == text:
            return text
        text = fewer


def _is_integer_text(text: str) -> bool:
    value = _float_or_none(_ungrouped(text))
    return value is not None and _near_integer(value)


def require_latex_reader() -> None:
    """Fail with an install hint, before grading, when pylatexenc is missing."""
    import importlib.util

    if importlib.util.find_spec("pylatexenc") is None:
        raise SeedMathUnavailable(
            "grader=seed for math datasets needs pylatexenc (the LaTeX reader the seed's "
            "grader uses): `pip install 'rbench[seed]'` or `pip install pylatexenc`")


def _latex_as_text(expr: str) -> str:
    require_latex_reader()
    from pylatexenc import latex2text

    expr = expr.replace("\\tfrac", "\\frac").replace("\\dfrac", "\\frac")
    text = latex2text.LatexNodes2Text().latex_to_text(expr.replace("\\frac", " \\frac"))
    for symbol, word in _LATEX_SYMBOLS:
        text = text.replace(symbol, word)
    return text.strip()


def sympy_form(expr: str) -> str:
    """``expr`` after the seed's second normaliser (the one its sympy check reads)."""
    only_text = _TEXT_ONLY.search(expr)
    if only_text is not None:
        expr = only_text.group("text")
    for old, new in (("\\%", "%"), ("\\$", "$"), ("$", ""), ("%", ""), (" or ", " , "),
                     (" and ", " , "), ("million", "*10^6"), ("billion", "*10^9"),
                     ("trillion", "*10^12")):
        expr = expr.replace(old, new)
    for pattern in _UNIT_PATTERNS:
        expr = pattern.sub("", expr)
    expr = re.sub(r"\^ *\\circ", "", expr)
    if expr and expr[0] == "{" and expr[-1] == "}":
        expr = expr[1:-1]
    expr = re.sub(r",\\! *", "", expr)
    value = _float_or_none(expr)
    if value is not None and _near_integer(value):
        expr = str(int(round(value)))  # through a float: digits past the 17th are lost
    if "\\" in expr:
        try:
            expr = _latex_as_text(expr)
        except SeedMathUnavailable:
            raise
        except Exception:  # noqa: BLE001 - the seed keeps the string when the reader fails
            pass
    expr = re.sub("- *", "-", expr)
    expr = re.sub("([0-9]) +([0-9])", r"\1+\2", expr)  # 7 3/4 is 7+3/4
    expr = expr.replace(" ", "").replace("{", "").replace("}", "").lower()
    if _is_integer_text(expr):
        expr = str(int(float(expr.replace(",", ""))))  # truncated, as the seed does
    return expr


def _tuple_items(expr: str) -> list[str]:
    expr = _ungrouped(expr)
    if not expr:
        return []
    if (len(expr) > 2 and expr[0] in _BRACKETS and expr[-1] in _BRACKETS
            and not any(ch in expr[1:-1] for ch in _BRACKETS)):
        return [item.strip() for item in expr[1:-1].split(",")]
    return [expr]


def _may_evaluate(expr: str) -> bool:
    """The seed's guard before sympy: at most two distinct letters (``sqrt``/``frac`` aside),
    no ``^{``/``^(`` and no multi-digit or chained exponents."""
    letters = {ch for ch in expr.replace("sqrt", "").replace("frac", "") if ch.isalpha()}
    if len(letters) > 2 or "^{" in expr or "^(" in expr:
        return False
    return re.search(r"\^[0-9]+\^", expr) is None and re.search(r"\^[0-9][0-9]+", expr) is None


def _sympy_zero(gold: str, given: str) -> bool:
    difference = f"({gold})-({given})"
    if not _may_evaluate(difference):
        return False
    try:
        import sympy
        from sympy.parsing import sympy_parser

        parsed = sympy_parser.parse_expr(
            difference.replace("^", "**"),
            transformations=(*sympy_parser.standard_transformations,
                             sympy_parser.implicit_multiplication_application))
        return bool(sympy.simplify(parsed) == 0)
    except Exception:  # noqa: BLE001 - an unparsable answer is "not equal", as in the seed
        return False


def _sympy_equal(prediction: str, gold: str) -> bool:
    gold_n, given_n = sympy_form(gold), sympy_form(prediction)
    if gold_n == given_n:
        return True
    if not given_n:
        return False
    gold_items, given_items = _tuple_items(gold_n), _tuple_items(given_n)
    if len(gold_items) > 1 and (gold_n[0] != given_n[0] or gold_n[-1] != given_n[-1]):
        return False
    if len(gold_items) != len(given_items):
        return False
    for want, got in zip(gold_items, given_items, strict=True):
        if _FRACTION.search(want) and _FRACTION.search(got):
            same = want == got  # unreduced fractions are not simplified
        elif _is_integer_text(want) != _is_integer_text(got):
            same = False
        else:
            same = _sympy_zero(want, got)
        if not same:
            return False
    return True


def _seed_math_equal_in_process(prediction: str, gold: str) -> bool:
    if not prediction:
        return False
    return mathd_form(prediction) == mathd_form(gold) or _sympy_equal(prediction, gold)


#: Hard wall-clock limit of one comparison, as for rbench's own math scorer.
seed_math_equal = time_limited(
    "routerbench_core.scoring.seed_math:_seed_math_equal_in_process",
    _seed_math_equal_in_process, timeout_s=5.0, on_timeout=False, preload=("sympy",),
)
seed_math_equal.__doc__ = """The seed's verdict: ``prediction`` (as :func:`seed_math_extract`
read it) equals the reference (as :func:`seed_math_gold` read it); False for an empty one."""
