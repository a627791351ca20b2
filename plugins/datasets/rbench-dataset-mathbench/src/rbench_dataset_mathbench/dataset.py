"""MathBench (Liu et al., 2024): hierarchical math questions from primary school to college.

rbench uses the English single-choice items (four options, one correct letter). The benchmark is
distributed as a release archive (``mathbench_v1``) rather than a hub repository, so the loader
reads a local file; records carry no ids, so ids are content hashes (stable under reordering).
LLMRouterBench publishes the 150 college-level items it evaluates (``college.jsonl``), which
load as they are.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rbench_dataset_mathbench.plugin import CAPABILITIES
from routerbench_core import (
    LETTERS,
    DatasetError,
    MultipleChoiceDataset,
    Query,
    content_id,
    format_choices,
)

#: The seed's single-choice prompt (LLMRouterBench, MIT), word for word: parity needs it.
PROMPT = """Answer the following question. The last line of your response should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of {letters}.

{question}

{options}

Let's think step by step."""

RELEASE_URL = "https://github.com/open-compass/MathBench/releases/download/v0.1.0/mathbench_v1.zip"


class MathBench(MultipleChoiceDataset, capabilities=CAPABILITIES):
    """MathBench single-choice (English), zero-shot, "Answer: X" letter, exact match."""

    name = "mathbench"
    #: 2: the seed's prompt; ambiguous/prose letters are no answer
    grader_version = "2"
    hub_id = None  # a GitHub release archive, not a hub repository
    hub_revision = "v0.1.0"
    prompt_template = PROMPT
    required_fields = ("question", "options", "answer")

    def read_source_records(self, data_file: Any) -> list[dict[str, Any]]:
        if data_file is None:
            raise DatasetError(
                "MathBench is distributed as a release archive, not a hub repository: pass "
                "--data-file PATH to LLMRouterBench's data/Mathbench/college.jsonl (the 150 items "
                f"it evaluates), or download {RELEASE_URL}, unzip it and pass a "
                "single_choice_en.jsonl"
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
        return {"question": query.text, "options": format_choices(options),
                "letters": LETTERS[: len(options)]}
