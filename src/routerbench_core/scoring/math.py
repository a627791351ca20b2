"""Is a model's math answer the same as the reference?

Cheap checks run first and decide most cases: normalised string equality, then numbers
(thousands separators, fractions, percentages, ``\\frac``, scientific notation) compared with a
tolerance. Only then is a symbolic check tried, through the maintained `math-verify` library
(LaTeX parsing, sets, intervals, equations) with a sympy ``sympify`` fallback for plain-text
expressions such as ``sqrt(2)/2``. Symbolic parsing is guarded: long inputs are skipped and
math-verify's alarm-based timeouts are used only on the main thread (they cannot work
elsewhere), so a grader never hangs on a pathological answer.
"""

from __future__ import annotations

import math
import re
import threading
from fractions import Fraction
from typing import Any

__all__ = [
    "math_equal",
    "normalize_math_text",
    "numeric_equal",
    "parse_number",
    "rounded_equal",
]

#: Inputs longer than this are not handed to the symbolic checkers (they can be very slow).
MAX_SYMBOLIC_CHARS = 400
#: No tolerance unless a dataset defines one: 100000 and 100001 are different answers.
DEFAULT_REL_TOL: float | None = None
DEFAULT_ABS_TOL: float | None = None

_TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|mathrm|mathbf|mbox)\s*\{([^{}]*)\}")
_UNITS = re.compile(
    r"\s*(?:\\!|\\,|\\;|\\:|\\ )?\s*(?:dollars?|cents?|units?|degrees?|percent|meters?|cm|km|"
    r"inches|inch|feet|foot|ft|hours?|minutes?|seconds?|mph|sq\.?\s*units?|"
    r"millions?|billions?|thousands?|mn|bn)\s*$",
    re.IGNORECASE,
)


def normalize_math_text(text: str) -> str:
    """A canonical spelling of an answer: markup, spacing and decorations removed.

    ``\\dfrac``/``\\tfrac`` become ``\\frac``, ``\\left``/``\\right`` and ``$`` go, ``\\text{}``
    is unwrapped, degrees and trailing units/full stops are dropped, ``x = 5`` becomes ``5``
    (a single variable on the left only).
    """
    s = str(text).strip()
    s = s.replace("\\$", "").replace("$", "")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("\\displaystyle", "")
    s = _TEXT_WRAPPERS.sub(r"\1", s)
    s = s.replace("^\\circ", "").replace("^{\\circ}", "").replace("°", "")
    s = s.replace("\\%", "%").replace("−", "-")
    s = s.replace("\\!", "").replace("\\,", "").replace("\\;", "").replace("\\ ", "")
    s = re.sub(r"^\s*[a-zA-Z]\s*=\s*(?=[^=])", "", s)  # "x = 5" -> "5"
    s = s.strip().rstrip(".")
    s = _UNITS.sub("", s)
    s = s.strip().rstrip(".").strip()
    s = re.sub(r"\s+", "", s)
    return s


_FRAC = re.compile(r"^(-?)\\frac\{(-?\d+(?:\.\d+)?)\}\{(-?\d+(?:\.\d+)?)\}$")
_FRAC_SHORT = re.compile(r"^(-?)\\frac(\d)(\d)$")  # \frac12
_SLASH = re.compile(r"^(-?\d+(?:\.\d+)?)/(-?\d+(?:\.\d+)?)$")
_PLAIN = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
_SCI_LATEX = re.compile(r"^(-?\d+(?:\.\d+)?)(?:\\times|\*|x)10\^\{?(-?\d+)\}?$")


def parse_exact(text: Any) -> Fraction | None:
    """The exact rational value of a numeric answer, or None if it is not a plain number.

    Accepts ``1,234.5``, ``-3``, ``.5``, ``2.5e3``, ``3/4``, ``\\frac{3}{4}``, ``\\frac34``,
    ``1.2\\times10^{3}``, ``$5``, ``50%`` (read as 50: whether a percent means a fraction is the
    caller's choice, see :func:`math_equal`). Thousands separators are accepted only in valid
    groups of three, so ``1,2`` (a list) is not a number. Exact, so ``12345678901234567891``
    keeps its last digit (a float would not).
    """
    if text is None or isinstance(text, bool):
        return None
    if isinstance(text, int):
        return Fraction(text)
    if isinstance(text, float):
        return Fraction(text) if math.isfinite(text) else None
    s = normalize_math_text(str(text))
    s = s.rstrip("%")
    if re.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", s):
        s = s.replace(",", "")
    try:
        if _PLAIN.match(s):
            return Fraction(s)
        for pattern in (_FRAC, _FRAC_SHORT):
            m = pattern.match(s)
            if m:
                sign, num, den = m.groups()
                if Fraction(den) == 0:
                    return None
                value = Fraction(num) / Fraction(den)
                return -value if sign else value
        m = _SLASH.match(s)
        if m and Fraction(m.group(2)) != 0:
            return Fraction(m.group(1)) / Fraction(m.group(2))
        m = _SCI_LATEX.match(s)
        if m:
            return Fraction(m.group(1)) * Fraction(10) ** int(m.group(2))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return None


def parse_number(text: Any) -> float | None:
    """The value of a numeric answer as a float (see :func:`parse_exact`), or None."""
    value = parse_exact(text)
    if value is None:
        return None
    try:
        result = float(value)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def numeric_equal(
    a: float | Fraction, b: float | Fraction, *, rel_tol: float | None = DEFAULT_REL_TOL,
    abs_tol: float | None = DEFAULT_ABS_TOL,
) -> bool:
    """``a == b`` exactly, or within ``rel_tol``/``abs_tol`` when the dataset defines one."""
    if not rel_tol and not abs_tol:
        return Fraction(a) == Fraction(b)
    return math.isclose(float(a), float(b), rel_tol=rel_tol or 0.0, abs_tol=abs_tol or 0.0)


def _has_percent(text: Any) -> bool:
    return isinstance(text, str) and ("%" in text or "percent" in text.lower())


def _decimals(text: str) -> int | None:
    s = normalize_math_text(text).rstrip("%").replace(",", "")
    if not _PLAIN.match(s) or "e" in s.lower():
        return None
    return len(s.split(".", 1)[1]) if "." in s else 0


def _significant_digits(text: str) -> int:
    digits = normalize_math_text(text).rstrip("%").replace(",", "").lstrip("-+").replace(".", "")
    return len(digits.lstrip("0")) if digits.isdigit() else 0


def rounded_equal(
    pred: Any, gold: Any, *, percent: bool = True, rel_tol: float = 1e-3,
    round_to_prediction: bool = False,
) -> bool:
    """Numeric match that forgives rounding: the grader FinQA-style answers need.

    True when the prediction rounded to the reference's number of decimals equals the
    reference, or they agree within ``rel_tol`` (a zero reference needs a zero). With
    ``percent`` a value and its percentage (``0.123`` vs ``12.3%``/``12.3``) match as well,
    because reports state ratios both ways. With ``round_to_prediction`` a prediction written
    with at least two significant digits also matches the reference rounded to the
    prediction's decimals (``0.24`` for ``0.23913``), as a reader rounding the exact value would.
    """
    p, g = parse_number(pred), parse_number(gold)
    if p is None or g is None:
        return False
    candidates = [p]
    if percent:
        candidates += [p / 100.0, p * 100.0]
    places = _decimals(str(gold)) if isinstance(gold, str) else None
    for value in candidates:
        if math.isclose(value, g, rel_tol=rel_tol, abs_tol=1e-9):
            return True
        # rounding must not turn a small prediction into a match for a zero reference
        if places is not None and g != 0 and round(value, places) == round(g, places):
            return True
    if round_to_prediction and isinstance(pred, str) and _significant_digits(pred) >= 2:
        pred_places = _decimals(pred)
        if pred_places is not None:
            scale = [1.0, 100.0, 0.01] if percent else [1.0]
            for factor in scale:
                if g != 0 and round(g * factor, pred_places) == round(p, pred_places):
                    return True
    return False


def _symbolic_math_verify(pred: str, gold: str) -> bool | None:
    """math-verify's verdict, or None if it is not installed or could parse neither side."""
    try:
        from math_verify import parse, verify
    except ImportError:  # pragma: no cover - math-verify is a core test dependency
        return None
    main = threading.current_thread() is threading.main_thread()
    timeout = 5 if main else None

    def wrap(s: str) -> str:
        return s if "$" in s or "\\boxed" in s else f"${s}$"

    try:
        gold_parsed = parse(wrap(gold), parsing_timeout=timeout)
        pred_parsed = parse(wrap(pred), parsing_timeout=timeout)
        if not gold_parsed or not pred_parsed:
            return None
        return bool(verify(gold_parsed, pred_parsed, timeout_seconds=timeout))
    except Exception:  # parsing failures mean "cannot decide", not "wrong"
        return None


def _numeric_value(text: str) -> float | None:
    """The real value of a closed-form answer (``2\\pi``, ``\\sqrt{2}``), or None."""
    try:
        from math_verify import parse
    except ImportError:  # pragma: no cover
        return None
    main = threading.current_thread() is threading.main_thread()
    try:
        parsed = parse(text if "$" in text else f"${text}$", parsing_timeout=5 if main else None)
        if not parsed or isinstance(parsed[0], str):
            return None
        value = complex(parsed[0].evalf())
    except Exception:
        return None
    if abs(value.imag) > 1e-12 or not math.isfinite(value.real):
        return None
    return value.real


_PLAIN_EXPR = re.compile(r"^[0-9a-zA-Z_+\-*/^().,\s]+$")


def _symbolic_sympy(pred: str, gold: str) -> bool | None:
    """sympy's verdict for plain-text expressions (``sqrt(2)/2``), or None."""
    if not (_PLAIN_EXPR.match(pred) and _PLAIN_EXPR.match(gold)):
        return None
    try:
        import sympy
        from sympy.parsing.sympy_parser import (
            convert_xor,
            implicit_multiplication_application,
            parse_expr,
            standard_transformations,
        )
    except ImportError:  # pragma: no cover
        return None
    transformations = (
        *standard_transformations, implicit_multiplication_application, convert_xor
    )
    try:
        a = parse_expr(pred, transformations=transformations, evaluate=True)
        b = parse_expr(gold, transformations=transformations, evaluate=True)
        difference = sympy.simplify(a - b)
        if difference == 0:
            return True
        value = complex(sympy.N(difference))
        return abs(value) < 1e-9
    except Exception:
        return None


def _split_top_level(s: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in s:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p for p in parts if p]


def _closed_form_equals_decimal(closed: str, decimal: Fraction) -> bool | None:
    """Whether a closed form (``2^{-1}``, ``\\sqrt{4}``) is *exactly* the plain number, or None
    when it cannot be evaluated. A rounded decimal is never equal to an irrational value."""
    try:
        import sympy
        from math_verify import parse
    except ImportError:  # pragma: no cover - math-verify is a core dependency
        return None
    main = threading.current_thread() is threading.main_thread()
    try:
        parsed = parse(closed if "$" in closed else f"${closed}$",
                       parsing_timeout=5 if main else None)
        if not parsed or not isinstance(parsed[0], sympy.Expr):
            return None
        difference = sympy.simplify(parsed[0] - sympy.Rational(decimal.numerator,
                                                                decimal.denominator))
        return bool(difference == 0)
    except Exception:
        return None


def math_equal(
    pred: Any,
    gold: Any,
    *,
    rel_tol: float | None = DEFAULT_REL_TOL,
    abs_tol: float | None = DEFAULT_ABS_TOL,
    percent: bool = True,
    symbolic: bool = True,
    decimal_for_closed_form: bool = False,
) -> bool:
    """Whether answer ``pred`` equals reference ``gold``.

    :param rel_tol: relative tolerance for numeric answers; None (the default) compares numbers
        exactly, as rationals. Only a dataset that defines a tolerance passes one.
    :param abs_tol: absolute tolerance for numeric answers, likewise.
    :param percent: when either side carries a percent sign, ``50%`` also equals ``0.5``.
    :param symbolic: try math-verify / sympy when the cheap checks cannot decide.
    :param decimal_for_closed_form: accept a decimal for a closed form (``6.2832`` for
        ``2\\pi``) when they agree within the tolerance; off unless the dataset says so.
    """
    if pred is None or gold is None:
        return False
    p_text, g_text = str(pred).strip(), str(gold).strip()
    if not p_text or not g_text:
        return False
    p_norm, g_norm = normalize_math_text(p_text), normalize_math_text(g_text)
    if p_norm == g_norm:
        return True
    tol = {"rel_tol": rel_tol, "abs_tol": abs_tol}
    p_num, g_num = parse_exact(p_text), parse_exact(g_text)
    if p_num is not None and g_num is not None:
        if numeric_equal(p_num, g_num, **tol):
            return True
        if percent and (_has_percent(p_text) or _has_percent(g_text)):
            for a, b in ((p_num / 100, g_num), (p_num, g_num / 100)):
                if numeric_equal(a, b, **tol):
                    return True
        return False  # two plain numbers that differ: no symbolic reading can rescue them
    # "enter all solutions, separated by commas": a bare list of numbers, in any order
    p_parts, g_parts = _split_top_level(p_norm), _split_top_level(g_norm)
    if len(g_parts) > 1 and len(p_parts) == len(g_parts):
        p_values = [parse_exact(x) for x in p_parts]
        g_values = [parse_exact(x) for x in g_parts]
        if all(v is not None for v in g_values):
            if any(v is None for v in p_values):
                return False
            return all(
                numeric_equal(a, b, **tol)
                for a, b in zip(sorted(p_values), sorted(g_values), strict=True)  # type: ignore[type-var]
            )
    if not symbolic or len(p_text) > MAX_SYMBOLIC_CHARS or len(g_text) > MAX_SYMBOLIC_CHARS:
        return False
    if (p_num is None) != (g_num is None):
        # one side a plain number, the other a closed form (2\pi vs 6.2832, 2^{-1} vs 0.5):
        # equal only when the closed form is exactly that number, unless the dataset accepts
        # decimals within its tolerance. math-verify would round both to 6 places.
        known = p_num if p_num is not None else g_num
        closed = g_text if p_num is not None else p_text
        assert known is not None
        exact = _closed_form_equals_decimal(closed, known)
        if exact:
            return True
        if decimal_for_closed_form and (rel_tol or abs_tol):
            value = _numeric_value(closed)
            if value is not None:
                return numeric_equal(value, float(known), **tol)
        if exact is False:
            return False
    verdict = _symbolic_math_verify(p_text, g_text)
    if verdict:
        return True
    sympy_verdict = _symbolic_sympy(p_norm, g_norm)
    if sympy_verdict is not None:
        return sympy_verdict
    return bool(verdict)


def as_fraction(value: float, max_denominator: int = 10_000) -> Fraction:
    """A small fraction close to ``value`` (for readable predictions in grade details)."""
    return Fraction(value).limit_denominator(max_denominator)


# -- hard limits: no comparison may hang or exhaust the grader ----------------------------------
# (routerbench_core.scoring.bounded: the comparison runs in a killable worker process; a power
# tower or a huge factorial that does not finish in time is "not equal".)
import os as _os  # noqa: E402

from routerbench_core.scoring.bounded import time_limited  # noqa: E402

#: Hard wall-clock limit of one :func:`math_equal` call, seconds (``RBENCH_MATH_TIMEOUT_S``).
MATH_EQUAL_TIMEOUT_S = float(_os.environ.get("RBENCH_MATH_TIMEOUT_S") or 5.0)
_math_equal_in_process = math_equal
math_equal = time_limited(
    "routerbench_core.scoring.math:_math_equal_in_process", _math_equal_in_process,
    timeout_s=MATH_EQUAL_TIMEOUT_S, on_timeout=False, preload=("sympy",),
)
