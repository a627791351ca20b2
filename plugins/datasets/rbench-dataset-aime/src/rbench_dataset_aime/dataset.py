"""AIME 2024 and 2025: 60 competition problems whose answers are integers from 0 to 999.

The two years live in different hub repositories with different field spellings
(``problem``/``Problem``, ``answer``/``Answer``); both, and local files in either spelling, are
read. Item ids carry the year (``2024-60``) so the two years never collide.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rbench_dataset_aime.plugin import CAPABILITIES
from routerbench_core import BoxedMathDataset, DatasetError, HubSource, Query

_FIELDS = {
    "problem": ("problem", "Problem", "question"),
    "answer": ("answer", "Answer"),
    "id": ("id", "ID", "problem_id"),
}


def _field(record: Mapping[str, Any], key: str) -> Any:
    for name in _FIELDS[key]:
        if record.get(name) not in (None, ""):
            return record[name]
    return None


class AIME(BoxedMathDataset, capabilities=CAPABILITIES):
    """AIME 2024 + 2025, zero-shot, answer in ``\\boxed{}``, exact integer match."""

    name = "aime"
    #: 2: the seed's prompt and last-integer fallback; exact numbers, no decimal for a
    #: closed form
    grader_version = "2"
    extraction = ("boxed", "answer", "integer")
    seed_integer_fallback = True  # the seed's evaluator reads the last integer when unboxed
    hub_id = "HuggingFaceH4/aime_2024"
    hub_revision = "2fe88a2f1091d5048c0f36abc874fb997b3dd99a"
    hub_sources = (
        HubSource("HuggingFaceH4/aime_2024", "2fe88a2f1091d5048c0f36abc874fb997b3dd99a", "train"),
        HubSource("math-ai/aime25", "563bb8404243c5f09de6ec262f2db674fe5bce9b", "test"),
    )

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        problem, answer = _field(record, "problem"), _field(record, "answer")
        if problem is None or answer is None:
            raise DatasetError(
                f"AIME record {index} needs a problem (problem/Problem/question) and an answer "
                f"(answer/Answer); it has {', '.join(sorted(record)) or 'no fields'}"
            )
        year = str(record.get("year") or "")
        if not year:
            source = str(record.get("_hub_source", ""))
            year = "2025" if "aime25" in source else "2024" if "2024" in source else ""
        raw_id = _field(record, "id")
        raw_id = str(index) if raw_id is None else str(raw_id)
        qid = raw_id if not year or raw_id.startswith(year) else f"{year}-{raw_id}"
        gold = str(answer).strip()
        if not re.fullmatch(r"\d{1,3}", gold.lstrip("0") or "0"):
            raise DatasetError(f"AIME record {index} ({qid}): answer {gold!r} is not 0-999")
        return Query(
            dataset=self.name, id=qid, text=str(problem).strip(), ground_truth=str(int(gold)),
            metadata={"year": year or None, "url": record.get("url")},
        )
