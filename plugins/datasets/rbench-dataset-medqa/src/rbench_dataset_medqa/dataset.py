"""MedQA (Jin et al., 2021), USMLE questions with 4 options: 1,273 test questions, 0-shot."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rbench_dataset_medqa.plugin import CAPABILITIES
from routerbench_core import (
    LETTERS,
    DatasetError,
    Query,
    TemplateDataset,
    extract_choice,
    format_choices,
    score_choice,
)

PROMPT = """The following is a multiple choice question from a medical licensing exam. Think step by step, then finish with a line of the form "Answer: $LETTER" (without quotes), where LETTER is one of {letters}.

Question: {question}

Options:
{options}"""


class MedQA(TemplateDataset, capabilities=CAPABILITIES):
    """MedQA-USMLE 4-option test split."""

    name = "medqa"
    grader_version = "1"
    hub_id = "GBaker/MedQA-USMLE-4-options"
    hub_revision = "0fb93dd23a7339b6dcd27e241cb9b5eca62d4d18"
    hub_split = "test"
    prompt_template = PROMPT
    required_fields = ("question", "options", "answer_idx")

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        raw = record["options"]
        if isinstance(raw, Mapping):
            letters = sorted(raw)
            options = [str(raw[k]) for k in letters]
        else:
            letters = list(LETTERS[: len(raw)])
            options = [str(o) for o in raw]
        if letters != list(LETTERS[: len(options)]):
            raise DatasetError(f"record {index}: option keys {letters} are not A, B, C, ...")
        gold = str(record["answer_idx"]).strip().upper()
        if gold not in letters:
            raise DatasetError(f"record {index}: answer_idx {gold!r} is not one of {letters}")
        if "answer" in record and str(record["answer"]).strip() != options[letters.index(gold)].strip():
            raise DatasetError(
                f"record {index}: answer {record['answer']!r} differs from option {gold} "
                f"({options[letters.index(gold)]!r}); the file is inconsistent"
            )
        return Query(
            dataset=self.name, id=str(record.get("id", index)), text=str(record["question"]),
            ground_truth=gold, metadata={"options": options, "meta_info": record.get("meta_info")},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        options = query.metadata["options"]
        return {"question": query.text, "options": format_choices(options),
                "letters": LETTERS[: len(options)]}

    def extract(self, output: str, query: Query) -> str | None:
        return extract_choice(output, len(query.metadata["options"]))

    def score(self, prediction: str, query: Query) -> float:
        return score_choice(prediction, query.ground_truth)
