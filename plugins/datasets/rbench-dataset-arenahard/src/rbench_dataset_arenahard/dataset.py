"""Arena-Hard v2 (Li et al., 2024; v2.0 prompts, 2025): 750 open-ended prompts — 500 hard
prompts (coding, math, ...) and 250 creative-writing prompts — each judged pairwise against a
baseline model's answer.

The judge compares the answer with the baseline twice, once in each position, so a judge that
favours the first (or second) answer cancels out; see
:class:`routerbench_core.scoring.judge.PairwiseJudge`. Strong preferences weigh 3, slight ones
1; the sign of the sum gives 1 (better than the baseline), 0.5 (tie) or 0 (worse). Hard prompts
use a judge instruction that first writes its own answer; creative writing does not.

Baselines follow Arena-Hard-Auto v2: ``o3-mini-2025-01-31`` for hard prompts and
``gemini-2.0-flash-001`` for creative writing, read from the release's
``model_answer/<model>.jsonl`` files (option ``baseline_files``) or from a ``baseline_answer``
field on each question record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rbench_dataset_arenahard.plugin import CAPABILITIES
from routerbench_core import (
    ARENA_CREATIVE_PROMPT,
    ARENA_HARD_PROMPT,
    DatasetError,
    Grade,
    JudgedGrading,
    PairwiseJudge,
    Query,
    Response,
    TemplateDataset,
    ensure_gradable,
    resolve_judge,
    strip_reasoning,
)

DEFAULT_BASELINES = {
    "hard_prompt": "o3-mini-2025-01-31",
    "creative_writing": "gemini-2.0-flash-001",
}


def answer_text(message_content: Any) -> str:
    """The answer in an Arena-Hard answer message (``{"answer": ...}`` or a plain string)."""
    if isinstance(message_content, Mapping):
        return str(message_content.get("answer", ""))
    return str(message_content)


def read_baseline_file(path: str | Path) -> dict[tuple[str, str], str]:
    """``(model, uid) -> answer`` from an Arena-Hard ``model_answer/<model>.jsonl`` file."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"baseline answer file {path} does not exist")
    out: dict[tuple[str, str], str] = {}
    with path.open(encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                uid = str(rec["uid"])
                model = str(rec.get("model") or path.stem)
                assistant = [m for m in rec["messages"] if m.get("role") == "assistant"]
                text = answer_text(assistant[-1]["content"])
            except (json.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
                raise DatasetError(
                    f"{path}, line {lineno}: not an Arena-Hard answer record (needs uid, model "
                    f"and messages with an assistant answer): {type(exc).__name__}: {exc}"
                ) from None
            out[(model, uid)] = text
    return out


class ArenaHard(JudgedGrading, TemplateDataset, capabilities=CAPABILITIES):
    """Arena-Hard v2.0; options: ``baseline_files`` (paths), ``baselines`` (category → model).
    Grading needs ``judge=`` (and ``judge_model=``)."""

    name = "arenahard"
    grader_version = f"1+{ARENA_HARD_PROMPT.ident}+{ARENA_CREATIVE_PROMPT.ident}"
    hub_id = None  # released in the lmarena/arena-hard-auto GitHub repository
    hub_revision = None
    prompt_template = "{question}"
    required_fields = ("uid", "prompt")

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.baselines = {**DEFAULT_BASELINES, **dict(options.get("baselines") or {})}
        files = options.get("baseline_files") or []
        if isinstance(files, str | Path):
            files = [files]
        self.baseline_answers: dict[tuple[str, str], str] = {}
        for f in files:
            self.baseline_answers.update(read_baseline_file(f))

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        uid = str(record["uid"])
        category = str(record.get("category") or "hard_prompt")
        model = str(record.get("baseline_model") or self.baselines.get(category)
                    or self.baselines["hard_prompt"])
        baseline = record.get("baseline_answer")
        if baseline is None:
            baseline = self.baseline_answers.get((model, uid))
        if baseline is None:
            raise DatasetError(
                f"question {uid} ({category}) has no baseline answer from {model}: pass "
                f"baseline_files=[.../model_answer/{model}.jsonl] or add a baseline_answer field"
            )
        return Query(
            dataset=self.name, id=uid, text=str(record["prompt"]),
            ground_truth={"baseline_model": model, "baseline_answer": str(baseline)},
            metadata={"category": category, "subcategory": record.get("subcategory")},
        )

    def extract(self, output: str, query: Query) -> str:
        return strip_reasoning(output).strip()

    def score(self, prediction: Any, query: Query) -> float:
        raise NotImplementedError("Arena-Hard is scored by a pairwise judge; call grade()")

    async def agrade(self, query: Query, response: Response, **context: Any) -> Grade:
        answer = strip_reasoning(ensure_gradable(response)).strip()
        baseline = query.ground_truth
        if not answer:  # an empty answer loses; no need to pay for two judge calls
            return self.make_grade(query, response, 0.0, None, judge_verdict="loss",
                                   reason="empty answer", baseline_model=baseline["baseline_model"])
        judge = PairwiseJudge(resolve_judge(context, dataset=self.name))
        outcome = await judge.ajudge(
            query.text, answer, baseline["baseline_answer"],
            category=query.metadata.get("category"), query_key=query.key,
        )
        return self.make_grade(query, response, outcome.score, outcome.verdict,
                               baseline_model=baseline["baseline_model"],
                               **outcome.grade_details())


__all__: Sequence[str] = ("ArenaHard", "read_baseline_file", "DEFAULT_BASELINES")
