"""MATH-500: the 500-problem subset of MATH (Hendrycks et al.) chosen by OpenAI's PRM800K work.

Answers are LaTeX expressions (fractions, radicals, intervals, tuples, text), so grading goes
through the shared symbolic checker rather than string equality.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rbench_dataset_math500.plugin import CAPABILITIES
from routerbench_core import BoxedMathDataset, Query


class MATH500(BoxedMathDataset, capabilities=CAPABILITIES):
    """MATH-500, zero-shot, answer in ``\\boxed{}``, symbolic/numeric equivalence."""

    name = "math500"
    #: 2: the seed's prompt; numbers compare exactly, no decimal for a closed form
    grader_version = "2"
    hub_id = "HuggingFaceH4/MATH-500"
    hub_revision = "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be"
    hub_split = "test"
    required_fields = ("problem", "answer")

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        qid = str(record.get("unique_id") or index)
        return Query(
            dataset=self.name, id=qid, text=str(record["problem"]).strip(),
            ground_truth=str(record["answer"]).strip(),
            metadata={"subject": record.get("subject"), "level": record.get("level")},
        )
