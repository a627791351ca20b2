"""GPQA-diamond (Rein et al., 2023): 198 graduate-level science questions, 4 options, 0-shot.

The release stores the correct answer and three incorrect ones in separate fields, so options
must be shuffled before they are shown. The shuffle is seeded by ``(seed, Record ID)``: the same
question always gets the same order, independent of which other questions are loaded, and a
different ``seed`` gives another fixed order (to measure position bias).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

from rbench_dataset_gpqa.plugin import CAPABILITIES
from routerbench_core import Query, TemplateDataset, extract_choice, format_choices, score_choice

PROMPT = """Answer the following multiple choice question. Think step by step before answering, and make the last line of your response of the form "Answer: $LETTER" (without quotes), where LETTER is one of ABCD.

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


class GPQA(TemplateDataset, capabilities=CAPABILITIES):
    """GPQA-diamond; options: ``seed`` (default 0) for the per-question option shuffle."""

    name = "gpqa"
    grader_version = "1"
    hub_id = "Idavidrein/gpqa"
    hub_revision = "633f5ee89ab8ad4522a9f850766b73f62147ffdd"
    hub_config = "gpqa_diamond"
    hub_split = "train"  # the release has a single split named train
    prompt_template = PROMPT
    required_fields = ("Question", "Correct Answer", *INCORRECT)

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
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

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        return {"question": query.text, "options": format_choices(query.metadata["options"], style="({letter}) {text}")}

    def extract(self, output: str, query: Query) -> str | None:
        return extract_choice(output, 4)

    def score(self, prediction: str, query: Query) -> float:
        return score_choice(prediction, query.ground_truth)
