"""MathBench (Liu et al., 2024): hierarchical math questions from primary school to college.

rbench uses the English single-choice items (four options, one correct letter). The benchmark is
distributed as a release archive (``mathbench_v1``) rather than a hub repository, so the loader
reads a local file; records carry no ids, so ids are content hashes (stable under reordering).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rbench_dataset_mathbench.plugin import CAPABILITIES
from routerbench_core import (
    LETTERS,
    DatasetError,
    Query,
    TemplateDataset,
    content_id,
    extract_choice,
    format_choices,
    score_choice,
)

PROMPT = (
    "Answer the following multiple choice question. Think step by step, then make the last "
    'line of your response of the form "Answer: $LETTER" (without quotes), where LETTER is '
    "one of {letters}.\n\n{question}\n\n{options}"
)

RELEASE_URL = "https://github.com/open-compass/MathBench/releases/download/v0.1.0/mathbench_v1.zip"


class MathBench(TemplateDataset, capabilities=CAPABILITIES):
    """MathBench single-choice (English), zero-shot, "Answer: X" letter, exact match."""

    name = "mathbench"
    grader_version = "1"
    hub_id = None  # a GitHub release archive, not a hub repository
    hub_revision = "v0.1.0"
    prompt_template = PROMPT
    required_fields = ("question", "options", "answer")

    def read_source_records(self, data_file: Any) -> list[dict[str, Any]]:
        if data_file is None:
            raise DatasetError(
                "MathBench is distributed as a release archive, not a hub repository: download "
                f"{RELEASE_URL}, unzip it and pass --data-file PATH to a single_choice_en.jsonl "
                "(or a JSONL of such records)"
            )
        return super().read_source_records(data_file)

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        options = [str(o).strip() for o in record["options"]]
        if not 2 <= len(options) <= len(LETTERS):
            raise DatasetError(f"MathBench record {index} has {len(options)} options")
        gold = str(record["answer"]).strip().upper()
        if gold not in LETTERS[: len(options)]:
            raise DatasetError(
                f"MathBench record {index}: answer {record['answer']!r} is not one of the "
                f"option letters {LETTERS[: len(options)]}"
            )
        question = str(record["question"]).strip()
        return Query(
            dataset=self.name, id=str(record.get("id") or content_id(question, *options)),
            text=question, ground_truth=gold,
            metadata={"options": options, "stage": record.get("stage")},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        options = query.metadata["options"]
        return {
            "question": query.text,
            "options": format_choices(options, style="({letter}) {text}"),
            "letters": LETTERS[: len(options)],
        }

    def extract(self, output: str, query: Query) -> str | None:
        return extract_choice(output, len(query.metadata["options"]))

    def score(self, prediction: str, query: Query) -> float:
        return score_choice(prediction, query.ground_truth)
