"""Humanity's Last Exam (Phan et al., 2025), text-only questions, graded by an LLM judge.

LLMRouterBench uses the 2,158 questions without an image. A response is judged against the
reference answer by a judge model (``routerbench_core.scoring.judge``, prompt ``hle``): the
judge extracts the final answer and says whether it matches; score 1 or 0. A judge failure
leaves the grade's score ``None`` with the error in ``details`` (never a 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rbench_dataset_hle.plugin import CAPABILITIES
from routerbench_core import (
    HLE_PROMPT,
    Grade,
    JudgedGrading,
    Query,
    ReferenceJudge,
    Response,
    TemplateDataset,
    answer_line,
    content_id,
    ensure_gradable,
    resolve_judge,
    strip_reasoning,
)

#: The seed's HLE prompt (LLMRouterBench, MIT), word for word: one user message, the format
#: instructions before the question.
PROMPT = (
    "Your response should be in the following format:\nExplanation: {{your explanation for your "
    "answer choice}}\nAnswer: {{your chosen answer}}\nConfidence: {{your confidence score "
    "between 0% and 100% for your answer}}. {question}"
)


class HLE(JudgedGrading, TemplateDataset, capabilities=CAPABILITIES):
    """HLE test split, questions without images; needs ``judge=`` (and ``judge_model=``)."""

    name = "hle"
    #: 2: the seed's prompt (one user message); records without an id load (content hash)
    grader_version = f"2+{HLE_PROMPT.ident}"
    hub_id = "cais/hle"
    hub_revision = "5a81a4c7271a2a2a312b9a690f0c2fde837e4c29"
    hub_split = "test"
    required_fields = ("question", "answer")

    def load(self, data_file=None, *, limit=None):  # type: ignore[no-untyped-def]
        queries = super().load(data_file)
        text_only = [q for q in queries if not q.metadata.get("has_image")]
        return text_only[:limit] if limit is not None else text_only

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        return Query(
            dataset=self.name, id=str(record.get("id") or content_id(record["question"])),
            text=str(record["question"]),
            ground_truth=str(record["answer"]),
            metadata={
                "answer_type": record.get("answer_type") or "exactMatch",
                "has_image": bool(record.get("image")),
                "category": record.get("category"), "raw_subject": record.get("raw_subject"),
            },
        )

    def build_messages(self, query: Query) -> list[dict[str, Any]]:
        return [{"role": "user", "content": PROMPT.format(question=query.text).strip()}]

    # unused by grade() below, kept for the TemplateDataset contract
    def extract(self, output: str, query: Query) -> str | None:
        return answer_line(strip_reasoning(output))

    def score(self, prediction: Any, query: Query) -> float:
        raise NotImplementedError("HLE is scored by an LLM judge; call grade()")

    async def agrade(self, query: Query, response: Response, **context: Any) -> Grade:
        output = strip_reasoning(ensure_gradable(response))
        if not output.strip():  # nothing to judge: no need to pay for a judge call
            return self.make_grade(query, response, 0.0, None, judge_verdict="incorrect",
                                   reason="empty answer")
        judge = ReferenceJudge(resolve_judge(context, dataset=self.name), HLE_PROMPT)
        outcome = await judge.ajudge(query.text, str(query.ground_truth), output,
                                     query_key=query.key)
        return self.make_grade(query, response, outcome.score, answer_line(output),
                               **outcome.grade_details())
