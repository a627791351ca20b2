"""KOR-Bench answers: read the ``[[...]]`` answer and check it with a rule per category.

KOR-Bench (Ma et al., 2024) asks for the final answer in double square brackets. Answers are
compared after normalising them the way each category needs:

=================  ==========================================================================
category           rule
=================  ==========================================================================
``cipher``         the text with whitespace and quotes removed, case-sensitive (ciphertext and
                   plaintext are exact strings)
``counterfactual`` letters and digits only, case-insensitive
``logic``          whitespace, quotes and full stops removed; ``;``-separated parts compare as
                   a set (the order of independent conclusions does not matter)
``operation``      answers joined by "or" compare as sets; numbers and formulas by math
                   equivalence (:func:`routerbench_core.scoring.math.math_equal`); anything
                   else as text with whitespace, quotes and brackets removed
``puzzle``         per rule, as KOR-Bench's checker: rules 2 and 4 accept any word of the
                   reference's comma-separated list of valid answers; rule 3 compares the
                   words as a multiset; rule 5 the comma-separated parts as a set; rule 1
                   letters only. An equation answer (``3*8+0-0=24``, ``(7-1)*4=24``) is
                   right when the response is an arithmetic expression over the same
                   numbers with the same value (evaluated safely, no ``eval``); otherwise
                   letters and digits only, case-insensitive
=================  ==========================================================================
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from fractions import Fraction

from routerbench_core import last_boxed, math_equal, strip_reasoning

CATEGORIES = ("cipher", "counterfactual", "logic", "operation", "puzzle")
_BRACKETS = re.compile(r"\[\[(.*?)\]\]", re.S)


def unwrap(answer: str) -> str:
    """A reference answer without its ``[[ ]]`` wrapper."""
    found = _BRACKETS.findall(answer)
    return found[-1].strip() if found else answer.strip()


def extract_bracketed(text: str) -> str | None:
    """The last ``[[...]]`` of a response (else its last ``\\boxed{}``), or None."""
    visible = strip_reasoning(text)
    found = _BRACKETS.findall(visible)
    if found:
        return found[-1].strip()
    boxed = last_boxed(visible)
    return boxed.strip() if boxed else None


def _squash(s: str, extra: str = "") -> str:
    return re.sub(rf"[\s\"'`{re.escape(extra)}]+", "", s)


def _alnum(s: str) -> str:
    return re.sub(r"[^0-9A-Za-z]+", "", s).lower()


def safe_arith(expr: str) -> Fraction | None:
    """The exact value of an arithmetic expression (+ - * / and parentheses), or None."""
    expr = expr.replace("×", "*").replace("÷", "/").replace("−", "-").replace("^", "**")
    try:
        tree = ast.parse(expr.strip(), mode="eval")
    except SyntaxError:
        return None

    def value(node: ast.AST) -> Fraction:
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
            v = value(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp):
            a, b = value(node.left), value(node.right)
            if isinstance(node.op, ast.Add):
                return a + b
            if isinstance(node.op, ast.Sub):
                return a - b
            if isinstance(node.op, ast.Mult):
                return a * b
            if isinstance(node.op, ast.Div):
                return a / b
        raise ValueError("not plain arithmetic")

    try:
        return value(tree)
    except (ValueError, ZeroDivisionError):
        return None


def _numbers(expr: str) -> Counter[str]:
    return Counter(re.findall(r"\d+(?:\.\d+)?", expr))


def _equation_match(response: str, gold: str) -> bool | None:
    """For ``lhs=value`` golds: same numbers as ``lhs`` and the same value. None if not one."""
    if gold.count("=") != 1:
        return None
    lhs, rhs = gold.split("=")
    target = safe_arith(rhs)
    if target is None or safe_arith(lhs) is None:
        return None
    expr = response.split("=")[0]
    got = safe_arith(expr)
    return got is not None and got == target and _numbers(expr) == _numbers(lhs)


def _letters(s: str) -> str:
    return re.sub(r"[^A-Za-z]+", "", s).lower()


def _puzzle_rule(response: str, gold: str, rule_id: str | None) -> bool | None:
    """KOR-Bench's rule-specific puzzle checks (None: the rule has no special check)."""
    if rule_id in ("2", "4"):  # the reference lists every valid answer: any one of them
        valid = {_letters(w) for w in gold.split(",") if _letters(w)}
        return _letters(response) in valid
    if rule_id == "3":
        return sorted(w for w in re.split(r"\W+", response.lower()) if w) == sorted(
            w for w in re.split(r"\W+", gold.lower()) if w)
    if rule_id == "5":
        return sorted(p.strip() for p in response.split(",")) == sorted(
            p.strip() for p in gold.split(","))
    if rule_id == "1":
        return _letters(response) == _letters(gold)
    return None


def check(response: str | None, gold: str, category: str, rule_id: str | None = None) -> bool:
    """Whether an extracted response matches the (unwrapped) reference in ``category``
    (``rule_id``: the puzzle rule, for the rules with their own check)."""
    if response is None:
        return False
    if category == "cipher":
        return _squash(response) == _squash(gold)
    if category == "logic":
        r, g = _squash(response, "."), _squash(gold, ".")
        if ";" in g:
            return sorted(filter(None, r.split(";"))) == sorted(filter(None, g.split(";")))
        return r == g
    if category == "operation":
        if re.search(r"\bor\b", gold):
            parts = lambda s: sorted(_squash(p, "[]") for p in re.split(r"\bor\b|\\text\{or\}", s))  # noqa: E731
            return parts(response) == parts(gold)
        if math_equal(response, gold):
            return True
        return _squash(response, "[]") == _squash(gold, "[]")
    if category == "puzzle":
        by_rule = _puzzle_rule(response, gold, rule_id)
        if by_rule is not None:
            return by_rule
        eq = _equation_match(response, gold)
        if eq is not None:
            return eq
        return _alnum(response) == _alnum(gold)
    return _alnum(response) == _alnum(gold)  # counterfactual and unknown categories
