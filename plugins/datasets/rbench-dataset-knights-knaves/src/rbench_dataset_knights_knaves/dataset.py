"""Knights and Knaves: the dataset (loader, prompt, grader)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rbench_dataset_knights_knaves.scoring import (
    extract_identities,
    gold_identities,
    score_identities,
)
from routerbench_core.datasets import (
    DatasetError,
    TemplateDataset,
    load_hub_records,
    require_fields,
)
from routerbench_core.schema import Query
from routerbench_core.scoring.extract import strip_reasoning

PROMPT = """Solve this logic puzzle. Every inhabitant of the island is either a knight, who always tells the truth, or a knave, who always lies. From the statements below, deduce the identity of every character.

Explain your reasoning first. Then finish with a conclusion that gives the identity of each character, one per line, in this format:

CONCLUSION:
(1) <name> is a knight/knave
(2) <name> is a knight/knave
...

### Puzzle:
{quiz}"""

#: The hub release: one split per puzzle size (2 to 8 people, 100 puzzles each = 700).
SIZES = tuple(range(2, 9))


class KnightsKnaves(TemplateDataset):
    """Knights and Knaves (Xie et al., 2024): 700 puzzles, 2 to 8 people, 100 of each."""

    name = "knights-knaves"
    category = "logic"
    size = 700
    metric = "accuracy"
    settings = ("perf",)
    shots = 0
    grader_version = "1"
    hub_id = "K-and-K/knights-and-knaves"
    hub_revision = "main"
    hub_config = "test"
    prompt_template = PROMPT
    required_fields = ("quiz", "names", "solution")

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        if data_file is not None:
            return super().load(data_file, limit=limit)
        queries: list[Query] = []
        for n in SIZES:  # the hub keeps one split per puzzle size
            split = f"{n}ppl"
            rows = load_hub_records(self.hub_id, revision=self.hub_revision, split=split,
                                    config=self.hub_config, dataset_name=self.name)
            for i, row in enumerate(rows):
                require_fields(row, self.required_fields, source=f"{self.hub_id}:{split}", index=i)
                queries.append(self.to_query({**row, "_split": split, "index": i}, i))
        return queries[:limit] if limit is not None else queries

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
            source_split=record.get("_split", f"{n_people}ppl"),
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
