"""FinQA (Chen et al., EMNLP 2021): numeric reasoning over earnings-report text and tables.

Each item gives the text before a table, the table and the text after it, and asks a question
whose answer is a computed number (a ratio, a change, a percentage) or, rarely, yes/no. The
reference is the executed gold program's value (``exe_ans``), so graders must forgive rounding
and the percent/ratio ambiguity — :func:`routerbench_core.scoring.math.rounded_equal` does.
Both the original release layout (``qa.question`` …) and the flattened hub layout (``question``,
``answer`` …) load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rbench_dataset_finqa.plugin import CAPABILITIES
from routerbench_core import (
    DatasetError,
    Query,
    TemplateDataset,
    content_id,
    extract_final_answer,
    parse_number,
    rounded_equal,
)

PROMPT = (
    "Read the following excerpt of a financial report and answer the question.\n\n"
    "{context}\n\nQuestion: {question}\n\n"
    "Please reason step by step, and put your final answer (a number, or yes/no) within "
    "\\boxed{{}}."
)

_YES = {"yes", "true"}
_NO = {"no", "false"}


def render_table(table: Sequence[Sequence[Any]]) -> str:
    """A table as Markdown-style rows (``| a | b |``), header first."""
    return "\n".join("| " + " | ".join(str(c).strip() for c in row) + " |" for row in table)


def _lines(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "\n".join(str(v).strip() for v in value if str(v).strip())
    return str(value or "").strip()


class FinQA(TemplateDataset, capabilities=CAPABILITIES):
    """FinQA test set (1147), zero-shot, boxed answer, rounding-tolerant numeric match."""

    name = "finqa"
    grader_version = "1"
    hub_id = "ibm-research/finqa"
    hub_revision = None  # no verified commit offline: see README
    hub_split = "test"
    prompt_template = PROMPT

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        qa = record.get("qa") if isinstance(record.get("qa"), Mapping) else {}
        question = qa.get("question") or record.get("question")
        gold: Any = qa.get("exe_ans")
        if gold is None:
            gold = qa.get("answer") if qa.get("answer") not in (None, "") else record.get("answer")
        if question is None or gold is None or "table" not in record:
            raise DatasetError(
                f"FinQA record {index} needs a question, an answer (qa.exe_ans/answer) and a "
                f"table; it has {', '.join(sorted(record)) or 'no fields'}"
            )
        table = record["table"]
        if not isinstance(table, list | tuple) or not all(isinstance(r, list | tuple) for r in table):
            raise DatasetError(f"FinQA record {index}: table must be a list of rows")
        gold_text = str(gold).strip()
        if isinstance(gold, bool):
            gold_text = "yes" if gold else "no"
        context = "\n\n".join(
            part for part in (_lines(record.get("pre_text")), render_table(table),
                              _lines(record.get("post_text"))) if part
        )
        question = str(question).strip()
        return Query(
            dataset=self.name, id=str(record.get("id") or content_id(question, context)),
            text=question, ground_truth=gold_text,
            metadata={"context": context, "program": qa.get("program") or record.get("program")},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        return {"question": query.text, "context": query.metadata["context"]}

    def extract(self, output: str, query: Query) -> str | None:
        answer, _ = extract_final_answer(output, methods=("boxed", "answer", "number"))
        return answer

    def score(self, prediction: str, query: Query) -> float:
        gold = str(query.ground_truth).strip().lower()
        if gold in _YES | _NO:
            said = str(prediction).strip().lower().rstrip(".")
            said = said.replace("\\text{", "").replace("}", "").strip()
            return 1.0 if (said in _YES and gold in _YES) or (said in _NO and gold in _NO) else 0.0
        if parse_number(gold) is None:
            raise DatasetError(f"FinQA item {query.id}: reference {gold!r} is not a number")
        return 1.0 if rounded_equal(prediction, gold, round_to_prediction=True) else 0.0
