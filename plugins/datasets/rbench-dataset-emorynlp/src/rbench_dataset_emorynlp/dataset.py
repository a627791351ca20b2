"""EmoryNLP (Zahiri & Choi, 2018): the emotion of an utterance from *Friends*, in context,
asked as a 7-way multiple-choice question (Joyful, Mad, Neutral, Peaceful, Powerful, Sad, Scared).

Two source formats are accepted:

* the multiple-choice records LLMRouterBench evaluates (one per line): ``history`` (earlier
  utterances), ``utterance``, ``candidate`` (``{"A": "Joyful", ...}``) and ``answer`` (a letter);
* the official release ``emotion-detection-tst.json`` (``episodes`` → ``scenes`` →
  ``utterances`` with ``speakers``, ``transcript``, ``emotion``): every utterance becomes an
  item whose history is the earlier utterances of its scene, with the seven labels as options
  in a fixed order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from routerbench_core.datasets import DatasetError, TemplateDataset
from routerbench_core.schema import Query
from routerbench_core.scoring.choice import extract_choice, format_choices, score_choice

EMOTIONS = ("Joyful", "Mad", "Neutral", "Peaceful", "Powerful", "Sad", "Scared")

PROMPT = """Identify the emotion expressed in the current utterance of this conversation, taking the conversation so far into account. Think step by step, then finish with a line of the form "Answer: $LETTER" (without quotes), where LETTER is one of {letters}.

Conversation so far:
{history}

Current utterance:
{question}

Options:
{options}"""


def history_text(history: list[str]) -> str:
    return "\n".join(f"- {h}" for h in history) if history else "(none: this is the first utterance)"


class EmoryNLP(TemplateDataset):
    """EmoryNLP emotion detection, test split, as multiple choice."""

    name = "emorynlp"
    category = "multiple-choice"
    size = 697
    metric = "accuracy"
    settings = ("perf",)
    shots = 0
    grader_version = "1"
    hub_id = None  # released on GitHub (emorynlp/emotion-detection), not on a hub
    hub_revision = None
    prompt_template = PROMPT
    required_fields = ("utterance", "candidate", "answer")

    def load(self, data_file: Path | None = None, *, limit: int | None = None) -> list[Query]:
        if data_file is not None and Path(data_file).suffix == ".json":
            try:
                raw = json.loads(Path(data_file).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise DatasetError(f"cannot read {data_file}: {exc}") from exc
            if isinstance(raw, dict) and "episodes" in raw:
                queries = self.from_release(raw, str(data_file))
                return queries[:limit] if limit is not None else queries
        return super().load(data_file, limit=limit)

    def from_release(self, raw: Mapping[str, Any], source: str) -> list[Query]:
        """Items from the official nested release (every utterance of every scene)."""
        queries = []
        for episode in raw["episodes"]:
            for scene in episode.get("scenes", []):
                history: list[str] = []
                for utt in scene.get("utterances", []):
                    try:
                        speaker = ", ".join(utt.get("speakers") or ["Someone"])
                        line = f"{speaker}: {utt['transcript']}"
                        emotion = utt["emotion"]
                        uid = utt["utterance_id"]
                    except KeyError as exc:
                        raise DatasetError(
                            f"{source}: an utterance of scene {scene.get('scene_id')} lacks {exc}"
                        ) from None
                    if emotion not in EMOTIONS:
                        raise DatasetError(
                            f"{source}: utterance {uid} has emotion {emotion!r}, not one of {EMOTIONS}"
                        )
                    queries.append(Query(
                        dataset=self.name, id=str(uid), text=line,
                        ground_truth="ABCDEFG"[EMOTIONS.index(emotion)],
                        metadata={"history": list(history), "options": list(EMOTIONS)},
                    ))
                    history.append(line)
        if not queries:
            raise DatasetError(f"{source}: no utterances found")
        return queries

    def to_query(self, record: Mapping[str, Any], index: int) -> Query:
        candidate = record["candidate"]
        if not isinstance(candidate, Mapping) or not candidate:
            raise DatasetError(f"record {index}: candidate must be an object of letter → emotion")
        letters = sorted(candidate)
        answer = str(record["answer"]).strip().upper()
        if answer not in letters:
            raise DatasetError(f"record {index}: answer {answer!r} is not one of {letters}")
        return Query(
            dataset=self.name, id=str(record.get("id", index)), text=str(record["utterance"]),
            ground_truth=answer,
            metadata={"history": [str(h) for h in record.get("history") or []],
                      "options": [str(candidate[k]) for k in letters]},
        )

    def prompt_fields(self, query: Query) -> dict[str, Any]:
        options = query.metadata["options"]
        return {"question": query.text, "history": history_text(query.metadata["history"]),
                "options": format_choices(options), "letters": "ABCDEFGHIJ"[: len(options)]}

    def extract(self, output: str, query: Query) -> str | None:
        return extract_choice(output, len(query.metadata["options"]))

    def score(self, prediction: str, query: Query) -> float:
        return score_choice(prediction, query.ground_truth)
