"""LiveMathBench (OpenCompass, Dec 2024): recent contest problems (AMC, CNMO, CCEE, WLPMC).

Most answers are expressions checked by the shared symbolic grader; the few multiple-choice
items (``question_type`` containing "choice") are graded by option letter instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rbench_dataset_livemathbench.plugin import CAPABILITIES
from routerbench_core import (
    BoxedMathDataset,
    HubSource,
    Query,
    ScoreResult,
    content_id,
    extract_choice,
)

#: The English December-2024 configurations of the hub repository.
ENGLISH_CONFIGS = ("v202412_AMC_en", "v202412_CCEE_en", "v202412_CNMO_en", "v202412_WLPMC_en")


class LiveMathBench(BoxedMathDataset, capabilities=CAPABILITIES):
    """LiveMathBench (English), zero-shot, boxed answer, symbolic equivalence."""

    name = "livemathbench"
    #: 2: the seed's prompt and last-integer fallback; exact numbers, no decimal for a
    #: closed form
    grader_version = "2"
    extraction = ("boxed", "answer", "integer")
    seed_integer_fallback = True  # the seed's evaluator reads the last integer when unboxed
    hub_id = "opencompass/LiveMathBench"
    hub_revision = None  # no verified commit was available offline: see README
    hub_sources = tuple(HubSource("opencompass/LiveMathBench", None, "test", c) for c in ENGLISH_CONFIGS)
    required_fields = ("question", "answer")

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        question = str(record["question"]).strip()
        subset = record.get("subset") or str(record.get("_hub_source", "")).split("@")[0] or None
        qid = str(record.get("id") or content_id(question))
        return Query(
            dataset=self.name, id=qid, text=question, ground_truth=str(record["answer"]).strip(),
            metadata={"question_type": record.get("question_type"), "subset": subset},
        )

    @staticmethod
    def _is_choice(query: Query) -> bool:
        kind = str(query.metadata.get("question_type") or "").lower()
        return "choice" in kind and len(str(query.ground_truth)) == 1

    def extract(self, output: str, query: Query) -> Any:
        if self._is_choice(query) and not self.seed_grader:  # the seed grades these as math
            return extract_choice(output, 5)
        return super().extract(output, query)

    def score(self, prediction: Any, query: Query) -> ScoreResult:
        if self._is_choice(query) and not self.seed_grader:
            return 1.0 if str(prediction).upper() == str(query.ground_truth).upper() else 0.0
        return super().score(prediction, query)
