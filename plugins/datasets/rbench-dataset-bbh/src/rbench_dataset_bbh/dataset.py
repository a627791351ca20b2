"""BIG-Bench Hard (Suzgun et al., 2022): 27 hard BIG-Bench tasks, 3-shot, per-task answer formats.

LLMRouterBench evaluates 1,080 items (40 per task) with three worked examples per task. Items
come with their exemplars in one of two ways:

* a ``fewshot_template`` field on each record (the evaluation file LLMRouterBench ships) is used
  as the 3-shot block as is;
* otherwise the first three items of each task (in source order) become that task's exemplars,
  shown as question and answer, and are not evaluated.

When a task has more than ``per_task`` (default 40) remaining items, a seeded sample (``seed``,
default 42) of that many is kept, in source order; ``per_task=0`` keeps all.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_bbh.plugin import CAPABILITIES
from rbench_dataset_bbh.scoring import TASK_FORMATS, answer_format, extract_answer, score_answer
from routerbench_core import (
    DatasetError,
    HubSource,
    Query,
    TemplateDataset,
    load_hub_records,
    read_records,
)

#: The seed's BBH prompt (LLMRouterBench, MIT), word for word: parity needs it.
PROMPT = """Answer the logical question, Write a line of the form "Answer: $ANSWER" at the end of your response. Let's think step by step.

Here are 3 examples to help you understand how to answer the question:
{shots}

Question: {question}"""

N_SHOTS = 3


class BBH(TemplateDataset, capabilities=CAPABILITIES):
    """BBH; options: ``per_task`` (default 40), ``seed`` (default 42)."""

    name = "bbh"
    #: 2: the seed's prompt; numbers compare exactly; choice letters read without fishing
    grader_version = "2"
    hub_id = "lukaemon/bbh"
    hub_revision = "982bb89fd79532a8ac676a61fc42eb1aeec63f99"
    hub_split = "test"
    prompt_template = PROMPT
    required_fields = ("input", "target")
    #: One hub config per task.
    hub_sources = tuple(
        HubSource("lukaemon/bbh", "982bb89fd79532a8ac676a61fc42eb1aeec63f99", "test", task)
        for task in sorted(TASK_FORMATS)
    )

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        if data_file is None:
            records = []
            for src in self.sources():  # one hub config per task
                rows = load_hub_records(src.repo_id, revision=src.revision, split=src.split,
                                        config=src.config, dataset_name=self.name)
                records += [{**r, "task": src.config, "_hub_split": src.split} for r in rows]
            queries = self._from_records(records, f"{self.hub_id}@{self.sources()[0].revision}")
        else:
            queries = self._from_records(read_records(data_file), str(data_file))
        if not queries:
            raise DatasetError(f"{data_file or self.hub_id}: no BBH items found")
        return queries[:limit] if limit is not None else queries

    def _from_records(self, records: list[dict[str, Any]], source: str) -> list[Query]:
        by_task: dict[str, list[tuple[int, dict[str, Any]]]] = {}
        for i, rec in enumerate(records):
            for f in self.required_fields:
                if f not in rec:
                    raise DatasetError(f"{source}: record {i} lacks field {f!r}")
            by_task.setdefault(str(rec.get("task") or "bbh"), []).append((i, rec))
        per_task = int(self.options.get("per_task", 40))
        rng_seed = int(self.options.get("seed", 42))
        out: list[tuple[int, Query]] = []
        for task, items in by_task.items():
            if all("fewshot_template" in r for _, r in items):
                shots_text, pool = None, items
            else:
                if len(items) <= N_SHOTS:
                    raise DatasetError(
                        f"{source}: task {task!r} has {len(items)} item(s) and no "
                        f"fewshot_template; it needs more than {N_SHOTS} (the first {N_SHOTS} "
                        "become its exemplars)"
                    )
                shots_text = "\n\n".join(
                    f"Question: {r['input']}\nAnswer: {r['target']}" for _, r in items[:N_SHOTS]
                )
                pool = items[N_SHOTS:]
            if 0 < per_task < len(pool):
                keep = sorted(random.Random(f"{rng_seed}:{task}").sample(range(len(pool)), per_task))
                pool = [pool[k] for k in keep]
            for i, rec in pool:
                out.append((i, self._query(rec, i, task, shots_text)))
        return [q for _, q in sorted(out, key=lambda t: t[0])]

    def _query(self, rec: Mapping[str, Any], index: int, task: str, shots: str | None) -> Query:
        target = str(rec["target"]).strip()
        return Query(
            dataset=self.name, id=str(rec.get("id") or f"{task}-{index}"),
            # the task is metadata, not a split: --split source reads this field
            text=str(rec["input"]).strip(), ground_truth=target,
            source_split=str(rec["_hub_split"]) if rec.get("_hub_split") else None,
            metadata={"task": task, "shots": shots if shots is not None else str(rec["fewshot_template"]),
                      "format": answer_format(task if task != "bbh" else None, target)},
        )

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        """One record with its own ``fewshot_template`` (records without one need their task's
        other items for exemplars: :meth:`load` handles whole files)."""
        if "fewshot_template" not in record:
            raise DatasetError(f"record {index}: no fewshot_template; load the whole file")
        task = str(record.get("task") or "bbh")
        return self._query(record, index, task, None)

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        return {"question": query.text, "shots": query.metadata["shots"]}

    def extract(self, output: str, query: Query) -> str | None:
        return extract_answer(output, query.metadata["format"])

    def score(self, prediction: str, query: Query) -> tuple[float, dict[str, Any]]:
        return score_answer(prediction, str(query.ground_truth), query.metadata["format"]), {
            "task": query.metadata["task"], "format": query.metadata["format"]}
