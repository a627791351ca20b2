"""Knights and Knaves: the dataset (loader, prompt, grader)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_knights_knaves.plugin import CAPABILITIES
from rbench_dataset_knights_knaves.scoring import (
    extract_identities,
    gold_identities,
    score_identities,
)
from routerbench_core import (
    DatasetError,
    HubSource,
    Query,
    TemplateDataset,
    load_hub_records,
    strip_reasoning,
)

#: The seed's prompt (LLMRouterBench, MIT), word for word: parity needs it.
PROMPT = """Your task is to solve a logical reasoning problem. You are given set of statements from which you must logically deduce the identity of a set of characters.

You must infer the identity of each character. First, explain your reasoning. At the end of your answer, you must clearly state the identity of each character by following the format:

CONCLUSION:
(1) ...
(2) ...
(3) ...

### Question:
{quiz}
"""

#: The hub release: one split per puzzle size (2 to 8 people, 100 puzzles each = 700).
SIZES = tuple(range(2, 9))

#: The commit public evaluation code pins for K-and-K/knights-and-knaves; not checked against
#: the hub from here (offline): see README.
REVISION = "2f68547989981b1af37cb3dde5fdefa847aa8619"


class KnightsKnaves(TemplateDataset, capabilities=CAPABILITIES):
    """Knights and Knaves (Xie et al., 2024): 700 puzzles, 2 to 8 people, 100 of each."""

    name = "knights-knaves"
    grader_version = "1"
    hub_id = "K-and-K/knights-and-knaves"
    hub_revision = REVISION
    hub_config = "test"
    prompt_template = PROMPT
    required_fields = ("quiz", "names", "solution")

    #: The hub keeps one split per puzzle size.
    hub_sources = tuple(
        HubSource("K-and-K/knights-and-knaves", REVISION, f"{n}ppl", "test") for n in SIZES
    )

    def read_source_records(self, data_file: Path | None) -> list[dict[str, Any]]:
        if data_file is not None:
            return super().read_source_records(data_file)
        rows: list[dict[str, Any]] = []
        for src in self.sources():  # keep each row's split: it names the puzzle size
            rows += [{**r, "_split": src.split} for r in load_hub_records(
                src.repo_id, revision=src.revision, split=src.split, config=src.config,
                dataset_name=self.name)]
        return rows

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        names = [str(n) for n in record["names"]]
        try:
            gold = gold_identities(names, [bool(s) for s in record["solution"]])
        except ValueError as exc:
            raise DatasetError(f"record {index}: {exc}") from None
        n_people = len(names)
        qid = str(record.get("id") or f"{n_people}ppl-{record.get('index', index)}")
        roles = {k: str(v) for k, v in dict(record.get("knight_knave") or {}).items()
                 if k in ("knight", "knave")}
        return Query(
            dataset=self.name, id=qid, text=str(record["quiz"]), ground_truth=gold,
            # the puzzle size is metadata, not a split: --split source reads this field
            source_split="test" if record.get("_split") else None,
            metadata={"names": names, "n_people": n_people, "roles": roles},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        return {"quiz": query.text}

    def extract(self, output: str, query: Query) -> dict[str, str] | None:
        found = extract_identities(
            strip_reasoning(output), query.metadata["names"], query.metadata.get("roles")
        )
        return found or None

    def score(self, prediction: dict[str, str], query: Query) -> tuple[float, dict[str, Any]]:
        gold = query.ground_truth
        missing = [n for n in gold if n not in prediction]
        wrong = [n for n in gold if n in prediction and prediction[n] != gold[n]]
        return score_identities(prediction, gold), {"missing": missing, "wrong": wrong}
