"""MedQA (Jin et al., 2021), USMLE questions with 4 options: 1,273 test questions, 0-shot.

Reads the hub release (``answer_idx`` = the gold letter, ``answer`` = its text) and the seed's
``test.json`` (one record a line, ``answer`` = the letter).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rbench_dataset_medqa.plugin import CAPABILITIES
from routerbench_core import (
    LETTERS,
    DatasetError,
    MultipleChoiceDataset,
    Query,
    format_choices,
)

#: The seed's MedQA prompt (LLMRouterBench, MIT), kept word for word: parity needs it.
PROMPT = """Answer the following question. The last line of your response should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of {letters}.

{question}

{options}

Let's think step by step."""


class MedQA(MultipleChoiceDataset, capabilities=CAPABILITIES):
    """MedQA-USMLE 4-option test split."""

    name = "medqa"
    #: 2: the seed's prompt; ambiguous/prose letters are no answer
    grader_version = "2"
    hub_id = "GBaker/MedQA-USMLE-4-options"
    hub_revision = "0fb93dd23a7339b6dcd27e241cb9b5eca62d4d18"
    hub_split = "test"
    prompt_template = PROMPT
    required_fields = ("question", "options")

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
        if record.get("answer_idx") is not None:
            gold = str(record["answer_idx"]).strip().upper()
        elif str(record.get("answer", "")).strip() in letters:  # the seed's files: a letter
            gold = str(record["answer"]).strip()
        else:
            raise DatasetError(
                f"record {index}: needs answer_idx (a letter) or answer as one of {letters}"
            )
        if gold not in letters:
            raise DatasetError(f"record {index}: answer_idx {gold!r} is not one of {letters}")
        if record.get("answer_idx") is not None and "answer" in record and str(
                record["answer"]).strip() != options[letters.index(gold)].strip():
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
