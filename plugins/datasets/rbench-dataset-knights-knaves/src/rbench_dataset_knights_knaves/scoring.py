"""Knights and Knaves answers: read each character's claimed identity, demand all of them right.

The puzzle (Xie et al., 2024, "On Memorization of Large Language Models in Logical Reasoning")
asks who among N islanders is a knight (always truthful) or a knave (always lies). A response is
correct only when it names the identity of EVERY character correctly: a partial answer or one
that leaves a character out scores 0.

Extraction reads the part after the last "CONCLUSION" (the format the prompt asks for) when
present, else the whole response, and takes the last statement made about each name
("Zoey is a knave", "(2) Oliver: knight"). Names are matched as whole words, case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

ROLE_WORDS = {"knight": "knight", "knights": "knight", "knave": "knave", "knaves": "knave"}


def conclusion_part(text: str) -> str:
    """The text after the last "CONCLUSION" marker, or all of it when there is none."""
    marks = list(re.finditer(r"conclusion\s*[:：]?", text, re.I))
    return text[marks[-1].end():] if marks else text


def extract_identities(
    text: str, names: Sequence[str], roles: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Map each name the response commits to onto ``"knight"`` or ``"knave"``.

    :param roles: alternative role words of this puzzle (the dataset's ``knight_knave`` field,
        e.g. ``{"knight": "pioneer", "knave": "laggard"}``); the defaults are always understood.
    """
    words = dict(ROLE_WORDS)
    for canonical in ("knight", "knave"):
        alt = (roles or {}).get(canonical)
        if alt:
            words[str(alt).lower()] = canonical
    role_alt = "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))
    part = conclusion_part(text)
    found: dict[str, str] = {}
    for name in names:
        pattern = re.compile(
            rf"\b{re.escape(name)}\b\W{{0,3}}(?:is|was|must be|:|-|=)?\s*(?:a|an|the)?\s*\**"
            rf"(?P<neg>not\s+(?:a|an)\s+)?\**(?P<role>{role_alt})\b",
            re.I,
        )
        last = None
        for match in pattern.finditer(part):
            last = match
        if last is None:
            continue
        role = words[last.group("role").lower()]
        if last.group("neg"):
            role = "knave" if role == "knight" else "knight"
        found[name] = role
    return found


def gold_identities(names: Sequence[str], solution: Sequence[bool]) -> dict[str, str]:
    """The dataset's ``solution`` (True = knight) as name → role."""
    if len(names) != len(solution):
        raise ValueError(f"{len(names)} names but {len(solution)} solution entries")
    return {n: "knight" if s else "knave" for n, s in zip(names, solution, strict=True)}


def score_identities(predicted: Mapping[str, str], gold: Mapping[str, str]) -> float:
    """1.0 only when every character's identity is given and right."""
    return 1.0 if all(predicted.get(n) == r for n, r in gold.items()) else 0.0
