"""SimpleQA (Wei et al., 2024): 4,326 short fact-seeking questions, graded by an LLM judge.

The judge (``routerbench_core.scoring.judge``, prompt ``simpleqa``) gives one of SimpleQA's
three grades: correct, incorrect or not attempted. The score is 1 for correct and 0 otherwise
(the routing matrix needs one number); the grade is kept in ``details.judge_verdict`` so the
"correct given attempted" rate and F-score can still be computed. A judge failure leaves the
score ``None`` with the error in ``details`` (never a 0).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from rbench_dataset_simpleqa.plugin import CAPABILITIES
from routerbench_core import (
    SIMPLEQA_PROMPT,
    Grade,
    JudgedGrading,
    Query,
    ReferenceJudge,
    Response,
    TemplateDataset,
    ensure_gradable,
    resolve_judge,
    strip_reasoning,
)


def parse_metadata(raw: Any) -> dict[str, Any]:
    """The release stores metadata as a Python-literal string; read it without eval."""
    if isinstance(raw, Mapping):
        return dict(raw)
    if isinstance(raw, str) and raw.strip():
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            return {"raw": raw}
        return dict(value) if isinstance(value, Mapping) else {"raw": raw}
    return {}


class SimpleQA(JudgedGrading, TemplateDataset, capabilities=CAPABILITIES):
    """SimpleQA test set; needs ``judge=`` (and ``judge_model=``) to grade."""

    name = "simpleqa"
    grader_version = f"1+{SIMPLEQA_PROMPT.ident}"
    hub_id = "basicv8vc/SimpleQA"
    hub_revision = "e319282ab125c3dbd0c7fd00be2e4dd54e7e8f94"
    hub_split = "test"
    prompt_template = "{question}"
    required_fields = ("problem", "answer")

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        meta = parse_metadata(record.get("metadata"))
        return Query(
            dataset=self.name, id=str(record.get("id", index)), text=str(record["problem"]).strip(),
            ground_truth=str(record["answer"]).strip(),
            metadata={"topic": meta.get("topic"), "answer_type": meta.get("answer_type"),
                      "urls": meta.get("urls")},
        )

    def extract(self, output: str, query: Query) -> str:
        return strip_reasoning(output).strip()

    def score(self, prediction: Any, query: Query) -> float:
        raise NotImplementedError("SimpleQA is scored by an LLM judge; call grade()")

    async def agrade(self, query: Query, response: Response, **context: Any) -> Grade:
        output = strip_reasoning(ensure_gradable(response)).strip()
        if not output.strip():  # nothing to judge: no need to pay for a judge call
            return self.make_grade(query, response, 0.0, None, judge_verdict="not_attempted",
                                   reason="empty answer")
        judge = ReferenceJudge(resolve_judge(context, dataset=self.name), SIMPLEQA_PROMPT)
        outcome = await judge.ajudge(query.text, str(query.ground_truth), output,
                                     query_key=query.key)
        return self.make_grade(query, response, outcome.score, output[-500:] or None,
                               **outcome.grade_details())
