"""GPQA-diamond (Rein et al., 2023): 198 graduate-level science questions, 4 options, 0-shot.

The release stores the correct answer and three incorrect ones in separate fields, so options
must be shuffled before they are shown. The shuffle is seeded by ``(seed, Record ID)``: the same
question always gets the same order, independent of which other questions are loaded, and a
different ``seed`` gives another fixed order (to measure position bias).

LLMRouterBench publishes the file it evaluates (``gpqa_diamond.json``: one record a line with
``question``, ``options`` = ``{"A": text, ...}`` already in a fixed order, and ``answer`` = a
letter). Such records are used as they are — no shuffle — so the prompts and gold letters are
the seed's.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from rbench_dataset_gpqa.plugin import CAPABILITIES
from routerbench_core import (
    LETTERS,
    DatasetError,
    MultipleChoiceDataset,
    Query,
    format_choices,
)

#: The seed's GPQA prompt (LLMRouterBench, MIT), kept word for word: parity needs it.
PROMPT = """Answer the following multiple choice question. The last line of your response should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of {letters}. Think step by step before answering.

{question}

{options}"""

INCORRECT = ("Incorrect Answer 1", "Incorrect Answer 2", "Incorrect Answer 3")


def shuffled_options(correct: str, incorrect: list[str], key: str) -> tuple[list[str], str]:
    """Options in a seeded order and the letter of the correct one."""
    options = [correct, *incorrect]
    order = list(range(len(options)))
    random.Random(key).shuffle(order)
    shuffled = [options[i] for i in order]
    return shuffled, "ABCD"[order.index(0)]


class GPQA(MultipleChoiceDataset, capabilities=CAPABILITIES):
    """GPQA-diamond; options: ``seed`` (default 0) for the per-question option shuffle."""

    name = "gpqa"
    #: 2: the seed's prompt and fixed-order files; ambiguous/prose letters are no answer
    grader_version = "2"
    hub_id = "Idavidrein/gpqa"
    hub_revision = "633f5ee89ab8ad4522a9f850766b73f62147ffdd"
    hub_config = "gpqa_diamond"
    hub_split = "train"  # the release has a single split named train
    prompt_template = PROMPT

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        if isinstance(record.get("options"), Mapping):
            return self._seed_record(record, index)
        missing = [f for f in ("Question", "Correct Answer", *INCORRECT) if record.get(f) is None]
        if missing:
            raise DatasetError(
                f"record {index} lacks {', '.join(missing)}: expected the GPQA release "
                "(Question, Correct Answer, Incorrect Answer 1-3) or the seed's file "
                "(question, options, answer)"
            )
        qid = str(record.get("Record ID") or index)
        seed = int(self.options.get("seed", 0))
        options, gold = shuffled_options(
            str(record["Correct Answer"]).strip(),
            [str(record[f]).strip() for f in INCORRECT],
            f"{seed}:{qid}",
        )
        return Query(
            dataset=self.name, id=qid, text=str(record["Question"]).strip(), ground_truth=gold,
            metadata={"options": options, "domain": record.get("High-level domain"),
                      "subdomain": record.get("Subdomain"), "shuffle_seed": seed},
        )

    def _seed_record(self, record: Mapping[str, Any], index: int) -> Query:
        raw = record["options"]
        keys = sorted(raw)
        if keys != list(LETTERS[: len(keys)]) or len(keys) < 2:
            raise DatasetError(f"record {index}: option keys {keys} are not A, B, C, ...")
        gold = str(record.get("answer", "")).strip()
        if gold not in keys:
            raise DatasetError(f"record {index}: answer {gold!r} is not one of {keys}")
        question = record.get("question") or record.get("Question")
        if not question:
            raise DatasetError(f"record {index} has no question")
        qid = str(record.get("Record ID") or record.get("id") or index)
        return Query(
            dataset=self.name, id=qid, text=str(question).strip(), ground_truth=gold,
            metadata={"options": [str(raw[k]).strip() for k in keys],
                      "domain": record.get("High-level domain"),
                      "subdomain": record.get("Subdomain"), "shuffle_seed": None},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        options = query.metadata["options"]
        return {"question": query.text, "letters": LETTERS[: len(options)],
                "options": format_choices(options, style="{letter}) {text}")}
