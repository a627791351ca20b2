"""MMLU-Pro (Wang et al., 2024): 10-option multiple choice, letters A–J, 0-shot.

LLMRouterBench evaluates a 1,000-question sample in the performance setting and a
3,000-question sample in the performance–cost setting, and publishes both (``test.json``,
``test_3000.json``: one record a line, ``options`` as ``{"A": text, ...}``). Pass one as
``--data-file`` and it is evaluated whole, as published. From the hub, the sample is a seeded
draw (``seed``, default 42) of question ids, kept in source order; ``subset_size=0`` keeps
everything and ``ids_file`` (one question_id per line) picks any subset exactly.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_mmlu_pro.plugin import CAPABILITIES
from routerbench_core import (
    LETTERS,
    DatasetError,
    MultipleChoiceDataset,
    Query,
    format_choices,
)

#: The seed's MMLU-Pro prompt (LLMRouterBench, MIT), kept word for word: parity needs it.
PROMPT = """Answer the following {subject} question. The last line of your response should be of the following format: 'Answer: $LETTER' (without quotes) where LETTER is one of {letters}.

{question}

{options}

Let's think step by step."""

SUBSET_SIZES = {"perf": 1000, "perf-cost": 3000}


class MMLUPro(MultipleChoiceDataset, capabilities=CAPABILITIES):
    """MMLU-Pro test split; options: ``setting`` (perf|perf-cost), ``subset_size``, ``seed``,
    ``ids_file``."""

    name = "mmlu-pro"
    #: 2: the seed's prompt and dict options; ambiguous/prose letters are no answer
    grader_version = "2"
    hub_id = "TIGER-Lab/MMLU-Pro"
    hub_revision = "b189ec765aa7ed75c8acfea42df31fdae71f97be"
    hub_split = "test"
    prompt_template = PROMPT
    required_fields = ("question", "options", "answer")

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        queries = super().load(data_file)
        ids_file = self.options.get("ids_file")
        if ids_file:
            try:
                lines = Path(ids_file).read_text(encoding="utf-8").splitlines()
            except OSError as exc:
                raise DatasetError(f"cannot read ids_file {ids_file}: {exc}") from exc
            wanted = [line.strip() for line in lines if line.strip()]
            by_id = {q.id: q for q in queries}
            unknown = [i for i in wanted if i not in by_id]
            if unknown:
                raise DatasetError(
                    f"ids_file {ids_file}: {len(unknown)} question ids are not in the data, "
                    f"e.g. {unknown[:3]}"
                )
            queries = [by_id[i] for i in wanted]
        elif data_file is None or "subset_size" in self.options:
            # a local file is taken as the subset it is (the seed publishes its subsets)
            setting = self.options.get("setting", "perf")
            if setting not in SUBSET_SIZES:
                raise DatasetError(f"mmlu-pro: unknown setting {setting!r}; use perf or perf-cost")
            n = int(self.options.get("subset_size", SUBSET_SIZES[setting]))
            if 0 < n < len(queries):
                rng = random.Random(int(self.options.get("seed", 42)))
                keep = sorted(rng.sample(range(len(queries)), n))
                queries = [queries[i] for i in keep]
        return queries[:limit] if limit is not None else queries

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        raw = record["options"]
        if isinstance(raw, Mapping):  # the seed's files: {"A": text, "B": text, ...}
            keys = sorted(raw)
            if keys != list(LETTERS[: len(keys)]):
                raise DatasetError(f"record {index}: option keys {keys} are not A, B, C, ...")
            options = [str(raw[k]) for k in keys]
        else:
            options = [str(o) for o in raw]
        if not 2 <= len(options) <= 10:
            raise DatasetError(f"record {index}: {len(options)} options; MMLU-Pro has 2 to 10")
        answer = str(record["answer"]).strip().upper()
        if answer not in LETTERS[: len(options)] or len(answer) != 1:
            raise DatasetError(f"record {index}: answer {answer!r} is not one of the option letters")
        qid = str(record.get("question_id", record.get("id", index)))
        return Query(
            dataset=self.name, id=qid, text=str(record["question"]), ground_truth=answer,
            metadata={"options": options, "subject": str(record.get("category") or "general"),
                      "src": record.get("src")},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        options = query.metadata["options"]
        return {
            "question": query.text, "subject": query.metadata["subject"],
            "options": format_choices(options), "letters": LETTERS[: len(options)],
        }
