"""Multiple-choice answers: formatting options as lettered lines and reading the chosen letter.

Prompts ask for "Answer: X". Models mostly comply, but dress the letter up: ``$B$``,
``$\\text{B}$``, ``\\textbf{B}``, ``[B]``, ``(B)``, ``**B**``, ``\\boxed{B}``, full-width ``Ｂ``,
"the answer is B", or a last line that is only ``B)``. :func:`read_choice` accepts exactly these
*statements of an answer* and nothing else:

- a letter is never fished out of prose ("(A) and (C) look close" states no answer);
- a statement naming two different letters ("Answer: A, C", "A or C") is **ambiguous**: no
  answer, and the reading says so, so the grade records why;
- the last statement wins (models revise), reasoning blocks are ignored.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from routerbench_core.scoring.extract import last_boxed, strip_reasoning

__all__ = [
    "LETTERS",
    "ChoiceReading",
    "choice_letters",
    "extract_choice",
    "format_choices",
    "read_choice",
    "score_choice",
    "seed_choice",
]

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


@dataclass(frozen=True)
class ChoiceReading:
    """What a response says about its choice: the letter, or why there is none.

    ``status`` is ``"answered"`` (``letter`` set), ``"ambiguous"`` (one statement names
    several different letters, listed in ``letters``) or ``"none"`` (no statement of an answer).
    """

    letter: str | None
    status: str
    letters: tuple[str, ...] = ()
    form: str | None = None

    @property
    def reason(self) -> str:
        if self.status == "ambiguous":
            return f"ambiguous: the answer names {', '.join(self.letters)}"
        if self.status == "none":
            return "no answer found"
        return "answered"


# A letter token with the decorations models put around it. ``{L}`` is replaced by the class
# of allowed letters. Inside math mode ($...$) \text{}, \textbf{}, \mathrm{} wrap the letter.
_TOKEN = (
    r"(?:\*\*|__)?\s*(?:\$\s*)?(?:\\(?:text|textbf|mathrm|mathbf)\s*\{{\s*)?"
    r"[(\[{{]?\s*(?P<{name}>{L})\s*[)\]}}]?"
    r"(?:\s*\}})?(?:\s*\$)?\s*(?:\*\*|__)?"
)
_SEPARATOR = r"\s*(?:,|/|&|;|\bor\b|\band\b)\s*"
_END = r"(?=$|[\s.:;,!?)\]*_$]|\b)"


def _token(letters: str, name: str) -> str:
    return _TOKEN.format(name=name, L=f"[{letters}]")


def _statement_value(letters: str) -> re.Pattern[str]:
    """The value of an answer statement: a letter token, optionally listing more letters."""
    first = _token(letters, "first")
    more = _token(letters, "more")
    return re.compile(rf"\s*(?:option|choice)?\s*{first}(?P<rest>(?:{_SEPARATOR}{more})*){_END}")


def _keyword_patterns() -> list[re.Pattern[str]]:
    return [
        # "Answer: B", "**Final Answer:** B", "ANSWER - B", "Answer is B"
        re.compile(
            r"(?i:(?:final\s+|correct\s+)?answer)\s*(?:\*\*|__)?\s*(?:(?i:is)\s*)?[:：\-]?"
            r"\s*(?:\*\*|__)?"
        ),
        # "the answer is B", "the correct option is (B)", "my choice would be C"
        re.compile(r"(?i:answer|option|choice)\s+(?i:is|would\s+be|should\s+be)\s*[:：]?"),
    ]


def _letters_in(rest: str, letters: str) -> list[str]:
    """The letters of the further tokens of a list value (``, C``, `` or (D)``)."""
    more = re.compile(rf"{_SEPARATOR}{_token(letters + letters.lower(), 'more')}")
    return [m.group("more").upper() for m in more.finditer(rest)]


def _normalise(text: str) -> str:
    # full-width letters, colons and brackets (Ａ, ：, （Ｂ）) read as their ASCII forms
    return unicodedata.normalize("NFKC", text)


def _boxed_reading(visible: str, letters: str) -> ChoiceReading | None:
    boxed = last_boxed(visible)
    if boxed is None:
        return None
    inner = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}", r"\1", boxed).strip()
    m = re.fullmatch(
        rf"\(?\s*([{letters}])\s*\)?(?P<rest>(?:{_SEPARATOR}\(?[{letters}]\)?)*)(?:[.:)]\s*.*)?",
        inner, re.DOTALL,
    )
    if not m:
        return None
    found = [m.group(1), *_letters_in(m.group("rest") or "", letters)]
    return _verdict(found, "boxed")


def _verdict(found: Sequence[str], form: str) -> ChoiceReading:
    distinct = tuple(dict.fromkeys(found))
    if len(distinct) > 1:
        return ChoiceReading(None, "ambiguous", distinct, form)
    return ChoiceReading(distinct[0], "answered", distinct, form)


def read_choice(text: str | None, n_choices: int = 10) -> ChoiceReading:
    """The letter a response states as its answer (upper case), or why there is none.

    :param n_choices: how many options the item has; letters beyond them are not options.
    """
    if not text:
        return ChoiceReading(None, "none")
    letters = choice_letters(n_choices)
    visible = _normalise(strip_reasoning(text))
    value = _statement_value(letters + letters.lower())
    candidates: list[tuple[int, ChoiceReading]] = []
    for keyword in _keyword_patterns():
        for m in keyword.finditer(visible):
            v = value.match(visible, m.end())
            if v is None:
                continue
            first = v.group("first")
            # a bare lower-case letter after "answer" is a word ("the answer is a prime"),
            # unless it is bracketed: "(b)"
            span_text = visible[m.end():v.end()]
            bracketed = re.search(r"[(\[{$]\s*" + first, span_text) is not None
            if first.islower() and not bracketed:
                continue
            # "Answer: I think ..." / "Answer: A detailed ...": English words, not options
            if first in "AI" and not bracketed and not v.group("rest") and re.match(
                    rf"[ \t]*{first}[ \t]+[a-z]", visible[m.end():]):
                continue
            found = [first.upper(), *_letters_in(v.group("rest") or "", letters)]
            candidates.append((m.start(), _verdict(found, "statement")))
    boxed = _boxed_reading(visible, letters)
    if boxed is not None:
        at = visible.rfind("\\boxed")
        candidates.append((at if at >= 0 else visible.rfind("\\fbox"), boxed))
    if candidates:
        return max(candidates, key=lambda c: c[0])[1]
    # a last line that is only the letter: "B", "(B)", "**B**", "$B$", "B) the third option"
    lines = [line.strip() for line in visible.splitlines() if line.strip()]
    if lines:
        last = lines[-1]
        whole = re.fullmatch(rf"{_token(letters, 'first')}\.?", last)
        # "B) Paris", "B. Paris", "D (eyeglasses)" or a cut-off "D (": the option restated
        restated = re.fullmatch(rf"(?P<first>[{letters}])(?:[.:)]\s+\S.*|\s+\(.*)", last)
        m = whole or restated
        if m:
            return ChoiceReading(m.group("first"), "answered", (m.group("first"),), "last line")
    return ChoiceReading(None, "none")


def extract_choice(text: str | None, n_choices: int = 10) -> str | None:
    """The letter the model chose (upper case), or None when it stated none or several."""
    return read_choice(text, n_choices).letter


def score_choice(prediction: str | None, gold: str) -> float:
    """1.0 when the extracted letter equals the reference letter (case-insensitive), else 0.0."""
    if prediction is None:
        return 0.0
    return 1.0 if prediction.strip().upper() == str(gold).strip().upper() else 0.0


def seed_choice(text: str | None, letters: str) -> str:
    """The prediction LLMRouterBench's own multiple-choice graders read (``grader: seed``).

    Reproduced from the seed's behaviour so its published grades can be re-derived: a short
    answer (at most 10 characters, no "Answer"/"box") is taken whole; else the letter right
    after the last "Answer:" (any case, an optional ``$``); else the letter after a
    "Final Answer" line break; else the first ``\\boxed{}`` content; else "". The caller
    compares it to the gold letter exactly, so ``b`` or ``B.`` does not match ``B``.
    """
    if not text:
        return ""
    if len(text) <= 10 and "Answer" not in text and "box" not in text:
        return text.lstrip()
    found = re.findall(rf"(?i)answer\s*:\s*\$?([{letters}])", text)
    if found:
        return found[-1].strip()
    after_heading = re.search(rf"(?i)final answer\s\n+\s*\$?([{letters}])", text)
    if after_heading:
        return after_heading.group(1).strip()
    at = text.find("\\boxed{")
    if at < 0:
        return ""
    depth, out = 1, []
    for ch in text[at + len("\\boxed{"):]:
        depth += ch == "{"
        depth -= ch == "}"
        if depth == 0:
            break
        out.append(ch)
    return "".join(out).strip()
